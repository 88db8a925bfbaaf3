// Drives the interactive shell in a real pseudo-terminal through tmux: types
// commands, uses tab completion, reads the screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsvirsh } from '../helpers/shared.js';

function haveTmux(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });

async function waitFor(session: string, pattern: RegExp, timeoutMs = 15000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < deadline) {
    screen = tmux('capture-pane', '-p', '-t', session);
    if (pattern.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${pattern} on screen:\n${screen}`);
}

test('interactive shell: prompt, tab completion, commands, quit', { timeout: 60_000 }, async (t) => {
  if (!haveTmux()) {
    const message = '*** tmux is not installed (apt-get install -y tmux): interactive shell test SKIPPED ***';
    if (process.env.CI === 'true') throw new Error(`${message} (CI=true requires it)`);
    process.stderr.write(`${message}\n`);
    return t.skip(message);
  }
  const session = `tsvirsh-test-${process.pid}`;
  const cache = mkdtempSync(join(tmpdir(), 'tsvirsh-history-'));
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `env XDG_CACHE_HOME=${cache} ${process.execPath} ${tsvirsh} -c test:///default`);
  try {
    await waitFor(session, /^tsvirsh #$/m);
    // command name completion, then domain name completion
    tmux('send-keys', '-t', session, 'domuu', 'Tab');
    await waitFor(session, /^tsvirsh # domuuid$/m);
    tmux('send-keys', '-t', session, 'te', 'Tab');
    await waitFor(session, /^tsvirsh # domuuid test$/m);
    tmux('send-keys', '-t', session, 'Enter');
    await waitFor(session, /^6695eb01-f6a4-8304-79aa-97f2502e193f$/m);
    // option completion
    tmux('send-keys', '-t', session, 'domstate test --rea', 'Tab');
    await waitFor(session, /^tsvirsh # domstate test --reason$/m);
    tmux('send-keys', '-t', session, 'Enter');
    const screen = await waitFor(session, /^running \(unknown\)$/m);
    assert.match(screen, /Welcome to tsvirsh, the virtualization interactive terminal\./);
    // history: Up recalls the last command (capture-pane drops trailing blanks)
    tmux('send-keys', '-t', session, 'Up');
    await waitFor(session, /^tsvirsh # domstate test --reason$/m);
    tmux('send-keys', '-t', session, 'C-u', 'quit', 'Enter');
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && spawnSync('tmux', ['has-session', '-t', session]).status === 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.notEqual(spawnSync('tmux', ['has-session', '-t', session]).status, 0, 'quit should end the shell');
    // the history survives the session, oldest command first
    assert.equal(readFileSync(join(cache, 'tsvirsh', 'history'), 'utf8'), 'domuuid test \ndomstate test --reason \nquit\n');
  } finally {
    spawnSync('tmux', ['kill-session', '-t', session]);
    rmSync(cache, { recursive: true, force: true });
  }
});
