// Real virsh against tsvirtd on libvirt's QEMU program with the tiny test guest
// (TCG): qemu-monitor-command (QMP, --pretty, --return-value, --hmp),
// tsvirsh's remote driver, qemu-agent-command's error without an agent, qemu-monitor-event --loop hearing
// the guest's STOP and RESUME, the read-only socket's refusal, and the test
// driver, which has no QEMU, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tsvirsh } from '../helpers/shared.js';
import { guestDomainXML, testGuest, waitUntil } from '../e2e/guest.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const VIRSH = '/usr/bin/virsh';
/** TCG on a loaded 2-core machine */
const TIMEOUT_MS = 240_000;

const guest = testGuest();
const missing = 'skip' in guest ? guest.skip : !existsSync(VIRSH) ? 'virsh is not installed' : false;
if (typeof missing === 'string' && !('skip' in guest)) {
  if (process.env.CI === 'true') throw new Error(`qemu monitor virsh test: ${missing} (CI=true requires it)`);
  process.stderr.write(`*** qemu monitor virsh test SKIPPED: ${missing} ***\n`);
}

/** virsh's stdout and stderr, whatever its exit status. */
async function virsh(uri: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(VIRSH, ['-c', uri, ...args]).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout, stderr: e.stderr }));
}

test('real virsh through tsvirtd: qemu-monitor-command, qemu-agent-command and qemu-monitor-event --loop on a running guest', { skip: missing, timeout: TIMEOUT_MS + 60_000 }, async (t) => {
  if ('skip' in guest) return;
  const listeners: Array<ReturnType<typeof spawn>> = [];
  const daemon = await spawnDaemon();
  t.after(async () => {
    // the listeners go first: they would report the daemon's going away
    for (const child of listeners) child.kill();
    await daemon.stopWithGuests();
  });
  const uri = daemon.uri('qemu', '/system');
  const xmlFile = join(daemon.root, 'qm.xml');
  await writeFile(xmlFile, guestDomainXML({ name: 'qm', machine: 'q35', serialPath: join(daemon.root, 'qm.serial'), guest }));
  await run(VIRSH, ['-c', uri, 'define', xmlFile]);
  await run(VIRSH, ['-c', uri, 'start', 'qm']);

  // QEMU's whole reply, compact, with the daemon's command id
  const plain = await virsh(uri, 'qemu-monitor-command', 'qm', '{"execute":"query-status"}');
  assert.match(plain.stdout, /^\{"return":\{"status":"running","singlestep":false,"running":true\},"id":"[\w-]+"\}\n\n$/, plain.stderr);
  const wrapped = await virsh(uri, 'qemu-monitor-command', 'qm', '--return-value', 'query-status');
  assert.equal(wrapped.stdout, '{"status":"running","singlestep":false,"running":true}\n');
  const pretty = await virsh(uri, 'qemu-monitor-command', 'qm', '--pretty', '{"execute":"cont"}');
  assert.match(pretty.stdout, /^\{\n {2}"return": \{\n\n {2}\},\n {2}"id": "[\w-]+"\n\}\n$/);
  // a QMP error is QEMU's reply, not a failure
  const unknown = await virsh(uri, 'qemu-monitor-command', 'qm', 'nosuch');
  assert.match(unknown.stdout, /"error":\{"class":"CommandNotFound","desc":"The command nosuch has not been found"\}/);
  const hmp = await virsh(uri, 'qemu-monitor-command', 'qm', '--hmp', 'info', 'status');
  assert.equal(hmp.stdout, 'VM status: running\r\n\n\n');
  // tsvirsh through its remote driver prints the same
  const viaTsvirsh = await run(process.execPath, [tsvirsh, '-c', uri, 'qemu-monitor-command', 'qm', '--return-value', 'query-status']);
  assert.equal(viaTsvirsh.stdout, wrapped.stdout);
  const agent = await virsh(uri, 'qemu-agent-command', 'qm', '{"execute":"guest-ping"}');
  assert.equal(agent.stderr.trim(), 'error: argument unsupported: QEMU guest agent is not configured');
  const ro = await virsh(`qemu+unix:///system?socket=${daemon.readonlySocket}`, 'qemu-monitor-command', 'qm', 'query-status');
  assert.equal(ro.stderr.trim(), 'error: operation forbidden: read only access prevents virDomainQemuMonitorCommand');

  // two listeners: every event of qm, and STOP only, case-insensitively
  const listen = (...args: string[]) => {
    const child = spawn(VIRSH, ['-c', uri, 'qemu-monitor-event', '--loop', '--timeout', String(TIMEOUT_MS / 1000), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    listeners.push(child);
    return () => out;
  };
  const all = listen('--domain', 'qm');
  const stops = listen('--event', 'stop', '--no-case');
  // the listeners register in their own time: pause and resume until both heard a pair
  await waitUntil('both listeners heard STOP and RESUME', TIMEOUT_MS, async () => {
    await run(VIRSH, ['-c', uri, 'suspend', 'qm']);
    await run(VIRSH, ['-c', uri, 'resume', 'qm']);
    await new Promise((r) => setTimeout(r, 1000));
    return /event RESUME/.test(all()) && /event STOP/.test(stops()) ? true : undefined;
  });
  assert.match(all(), /^event STOP at \d+\.\d{6} for domain 'qm': <null>$/m);
  assert.match(all(), /^event RESUME at \d+\.\d{6} for domain 'qm': <null>$/m);
  assert.doesNotMatch(stops(), /RESUME/);
});

test('real virsh through tsvirtd: the test driver has no QEMU monitor', { skip: existsSync(VIRSH) ? false : 'virsh is not installed' }, async (t) => {
  const daemon = await spawnDaemon();
  t.after(() => daemon.stop());
  const cmd = await virsh(daemon.uri(), 'qemu-monitor-command', 'test', 'query-status');
  assert.equal(cmd.stderr.trim(), 'error: this function is not supported by the connection driver: virDomainQemuMonitorCommand');
  const events = await virsh(daemon.uri(), 'qemu-monitor-event', '--timeout', '1');
  assert.equal(events.stderr.trim(), 'error: this function is not supported by the connection driver: virConnectDomainQemuMonitorEventRegister');
});
