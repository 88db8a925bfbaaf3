// Detached children, liveness by pid (zombies and reused pids count as dead), and killing with escalation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive, processStartTime, spawnDetached, terminateProcess, waitForExit } from '../../src/util/process.js';

test('spawnDetached: own session, output appended to the log after a command-line header', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'process-test-'));
  try {
    const logPath = path.join(dir, 'log', 'vm.log');
    const p = await spawnDetached({ binary: '/bin/sh', args: ['-c', 'echo out; echo err >&2; exec sleep 30'], env: { LC_ALL: 'C' }, logPath });
    p.release();
    assert.ok(isProcessAlive(p.pid, p.startTime));
    assert.equal(processStartTime(p.pid), p.startTime);
    const sid = spawnSync('ps', ['-o', 'sid=', '-p', String(p.pid)], { encoding: 'utf8' }).stdout.trim();
    assert.equal(Number(sid), p.pid, 'the child leads its own session');
    await terminateProcess(p.pid, { graceMs: 5000, startTime: p.startTime });
    assert.ok(!isProcessAlive(p.pid));
    const log = readFileSync(logPath, 'utf8');
    assert.match(log, /: starting up\nLC_ALL=C \\\n\/bin\/sh \\\n-c \\\n'echo out; echo err >&2; exec sleep 30'\n/);
    assert.equal(log.slice(p.logOffset), 'out\nerr\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spawnDetached holds the binary at a gate: the same pid runs it after release(), never if the caller dies first', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'process-test-'));
  try {
    const marker = path.join(dir, 'ran');
    const p = await spawnDetached({ binary: '/bin/sh', args: ['-c', `touch ${marker}; exec sleep 30`], env: {}, logPath: path.join(dir, 'l') });
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!existsSync(marker), 'nothing ran before release()');
    p.release();
    await waitUntilExists(marker);
    assert.ok(isProcessAlive(p.pid, p.startTime), 'the released binary runs under the pid and start time reported at spawn');
    await terminateProcess(p.pid, { graceMs: 0, force: true });

    // a caller that dies before release(): its gate exits, the binary never runs
    const script = `import { spawnDetached } from ${JSON.stringify(new URL('../../src/util/process.js', import.meta.url).href)};
      const p = await spawnDetached({ binary: '/bin/touch', args: [${JSON.stringify(marker + '2')}], env: {}, logPath: ${JSON.stringify(path.join(dir, 'l2'))} });
      console.log(p.pid); process.kill(process.pid, 'SIGKILL');`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const gatePid = Number(out.stdout.trim());
    assert.ok(gatePid > 0, out.stderr);
    assert.equal(await waitForExit(gatePid, 5000), true, 'the orphaned gate exits');
    assert.ok(!existsSync(marker + '2'), 'the binary never ran');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitUntilExists(file: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 10));
}

test('a different start time means another process: not alive', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'process-test-'));
  try {
    const p = await spawnDetached({ binary: '/bin/sleep', args: ['30'], env: {}, logPath: path.join(dir, 'l') });
    p.release();
    assert.ok(isProcessAlive(p.pid));
    assert.ok(!isProcessAlive(p.pid, p.startTime + 1));
    await terminateProcess(p.pid, { graceMs: 0, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('terminateProcess escalates to SIGKILL when SIGTERM is ignored', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'process-test-'));
  try {
    const p = await spawnDetached({ binary: '/bin/sh', args: ['-c', "trap '' TERM; echo ready; while :; do sleep 0.05; done"], env: {}, logPath: path.join(dir, 'l') });
    p.release();
    const t0 = Date.now();
    // (the log header repeats the command line: look only at what the shell printed)
    while (!readFileSync(path.join(dir, 'l'), 'utf8').slice(p.logOffset).includes('ready')) await new Promise((r) => setTimeout(r, 10));
    await terminateProcess(p.pid, { graceMs: 300, startTime: p.startTime });
    const took = Date.now() - t0;
    assert.ok(!isProcessAlive(p.pid));
    assert.ok(took >= 300, `waited the grace period (${took} ms)`);
    assert.equal(await waitForExit(p.pid, 10), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing pids are dead', () => {
  assert.equal(isProcessAlive(2 ** 22 + 12345), false);
  assert.equal(processStartTime(2 ** 22 + 12345), undefined);
});
