// The guest's serial console through a pty: virDomainOpenConsole's stream in
// the library API (exclusive sessions, --force takeover, libvirt's errors) and
// `tsvirsh console` on a terminal (made with script(1)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Duplex } from 'node:stream';
import { connect } from '../../src/api/connection.js';
import { DomainConsoleFlags } from '../../src/api/types.js';
import { tsvirsh } from '../helpers/shared.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil } from './guest.js';

const run = promisify(execFile);

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

/** Everything a console stream delivered so far, \r stripped. */
function collect(stream: Duplex): { text: () => string; closed: () => boolean } {
  let text = '';
  let closed = false;
  stream.on('data', (d: Buffer) => (text += d.toString('utf8').replace(/\r/g, '')));
  stream.on('error', () => undefined); // EIO when QEMU goes away
  stream.on('close', () => (closed = true));
  return { text: () => text, closed: () => closed };
}

async function definePtyGuest(sb: Sandbox, name: string, serialPath = 'pty'): Promise<void> {
  if ('skip' in guest) throw new Error('unreachable');
  await sb.define(guestDomainXML({ name, machine: 'q35', serialPath, guest }));
}

test('openConsole streams the pty serial console: marker, commands, one session unless forced', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await definePtyGuest(sb, 'con');
  const conn = await connect(sb.uri);
  t.after(() => conn.close());
  const dom = await conn.lookupDomainByName('con');
  await assert.rejects(dom.openConsole(), { message: 'Requested operation is not valid: domain is not running' });

  await sb.ok('start', 'con');
  const first = collect(await dom.openConsole());
  await waitUntil('the guest marker on the console', BOOT_TIMEOUT_MS, () => (/^@@GUEST-UP /m.test(first.text()) ? true : undefined));

  const pty = /<console type='pty' tty='(\/dev\/pts\/\d+)'>\n\s*<source path='\1'\/>/.exec(await dom.getXMLDesc());
  assert.ok(pty, 'the live XML names the pty QEMU opened');
  await assert.rejects(dom.openConsole('nosuch'), { message: 'internal error: cannot find character device nosuch' });
  await assert.rejects(dom.openConsole('serial0'), { message: 'operation failed: Active console session exists for this domain' });

  const second = await dom.openConsole('serial0', DomainConsoleFlags.FORCE);
  const seen = collect(second);
  await waitUntil('the first session closed by the forced one', 5_000, () => (first.closed() ? true : undefined));
  // Under heavy host load the guest's console reader may not be up yet right
  // after the forced takeover: the command is re-sent every 5 s until it answers.
  let lastSent = 0;
  await waitUntil('the command output', 30_000, () => {
    if (/^console-42\n@@DONE rc=0$/m.test(seen.text())) return true;
    if (Date.now() - lastSent > 5_000) {
      second.write('echo console-$((6*7))\n');
      lastSent = Date.now();
    }
    return undefined;
  });

  await sb.ok('destroy', 'con');
  await waitUntil('the session ends with the domain', 5_000, () => (seen.closed() ? true : undefined));
  assert.ok(!existsSync(`${sb.root}/run/qemu/con.console`), 'the session record is gone');
});

test('openConsole refuses a serial port that is not a pty with libvirt\'s error', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await definePtyGuest(sb, 'filecon', sb.file('serial.log'));
  await sb.ok('start', 'filecon', '--paused');
  const conn = await connect(sb.uri);
  t.after(() => conn.close());
  await assert.rejects((await conn.lookupDomainByName('filecon')).openConsole(), { message: 'internal error: character device serial0 is not using a PTY' });
  await sb.ok('destroy', 'filecon');
});

const haveScript = existsSync('/usr/bin/script');

/** `tsvirsh console` on a terminal: script(1) gives it one, and its input is what we type. */
function terminalConsole(uri: string, name: string, globalOptions = '') {
  const session = spawn('script', ['-qfc', `${process.execPath} ${tsvirsh} ${globalOptions} -c '${uri}' console ${name}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const state = { out: '', session, exited: new Promise<number | null>((resolve) => session.on('close', resolve)) };
  session.stdout.setEncoding('utf8').on('data', (s: string) => (state.out += s.replace(/\r/g, '')));
  return state;
}

test('tsvirsh console and ttyconsole: virsh\'s banner, raw passthrough, ^] leaves; virsh\'s errors off a terminal or a stopped domain', { skip: skip || (!haveScript && 'script(1) missing') }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await definePtyGuest(sb, 'term');
  const stopped = await sb.run('console', 'term');
  assert.equal(stopped.code, 1);
  assert.equal(stopped.stderr, 'error: The domain is not running\n');
  await sb.ok('start', 'term');
  assert.match((await sb.ok('ttyconsole', 'term')).stdout, /^\/dev\/pts\/\d+\n\n$/, 'ttyconsole prints the pty of the console');
  const noTty = await sb.run('console', 'term');
  assert.equal(noTty.stderr, 'error: Cannot run interactive console without a controlling TTY\n');

  const open = (globalOptions: string) => terminalConsole(sb.uri, 'term', globalOptions);
  const first = open('');
  await waitUntil('the banner', 30_000, () => (first.out.includes('(Ctrl + ])\n') ? true : undefined));
  assert.ok(first.out.startsWith("Connected to domain 'term'\nEscape character is ^] (Ctrl + ])\n"), first.out);
  await waitUntil('the guest marker', BOOT_TIMEOUT_MS, () => (/^@@GUEST-UP /m.test(first.out) ? true : undefined));
  first.session.stdin.write('echo typed-$((2+3))\r');
  await waitUntil('the command output', 30_000, () => (/^typed-5\n@@DONE rc=0$/m.test(first.out) ? true : undefined));
  first.session.stdin.write('\x1d');
  assert.equal(await first.exited, 0);
  assert.equal((await sb.ok('domstate', 'term')).stdout.trim(), 'running', 'leaving the console keeps the guest running');

  // -e ^Q: Ctrl+Q leaves, Ctrl+] is an ordinary byte for the guest now
  const second = open("-e '^Q'");
  await waitUntil('the banner', 30_000, () => (second.out.includes('(Ctrl + Q)\n') ? true : undefined));
  assert.ok(second.out.startsWith("Connected to domain 'term'\nEscape character is ^Q (Ctrl + Q)\n"), second.out);
  // the guest shell gets ^] as a (failing) command line of its own
  second.session.stdin.write('\x1d\r');
  second.session.stdin.write('echo still-$((3+4))\r');
  await waitUntil('output after ^]', 30_000, () => (/^still-7$/m.test(second.out) ? true : undefined));
  second.session.stdin.write('\x11');
  assert.equal(await second.exited, 0);
  await sb.ok('destroy', 'term');
});

test('tsvirsh console through tsvirtd: typed bytes reach the guest, ^] gives the session back, the guest\'s end ends it', { skip: skip || (!haveScript && 'script(1) missing') }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  const xml = join(daemon.root, 'remote-con.xml');
  await writeFile(xml, guestDomainXML({ name: 'remotecon', machine: 'q35', serialPath: 'pty', guest }));
  const virsh = (...args: string[]) => run(process.execPath, [tsvirsh, '-c', uri, ...args]);
  await virsh('create', xml);

  const first = terminalConsole(uri, 'remotecon');
  await waitUntil('the guest marker', BOOT_TIMEOUT_MS, () => (/^@@GUEST-UP /m.test(first.out) ? true : undefined));
  let lastSent = 0;
  await waitUntil('the typed command\'s output', 30_000, () => {
    if (/^remote-8\n@@DONE rc=0$/m.test(first.out)) return true;
    if (Date.now() - lastSent > 5_000) {
      first.session.stdin.write('echo remote-$((4+4))\r');
      lastSent = Date.now();
    }
    return undefined;
  });
  first.session.stdin.write('\x1d');
  assert.equal(await first.exited, 0);

  // the daemon let the pty go: a new session needs no --force
  const second = terminalConsole(uri, 'remotecon');
  await waitUntil('the banner', 30_000, () => (second.out.includes('(Ctrl + ])\n') ? true : undefined));
  second.session.stdin.write('echo again-$((5+5))\r');
  await waitUntil('output in the second session', 30_000, () => (/^again-10$/m.test(second.out) ? true : undefined));
  assert.doesNotMatch(second.out, /Active console session/);
  await virsh('destroy', 'remotecon');
  assert.equal(await second.exited, 0, 'the session ends with the guest');
});
