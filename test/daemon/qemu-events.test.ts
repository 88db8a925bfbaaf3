// Events of the qemu driver inside tsvirtd: a python3-libvirt client (libvirt's
// own remote driver) hears the lifecycle of a real test guest as libvirtd's
// clients do, including the guest powering itself off, which nobody asked for
// through the API; virsh then finds it shut off (shutdown) without any call
// having acted on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, tsvirsh } from '../helpers/shared.js';
import { qemuPidsMentioning } from '../helpers/qemu-processes.js';
import { guestDomainXML, testGuest, waitUntil } from '../e2e/guest.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const CLIENT = join(projectRoot, 'test', 'daemon', 'qemu-events-client.py');
/** TCG on a loaded 2-core machine: boot, suspend, resume and poweroff may take minutes. */
const TIMEOUT_S = 300;

const guest = testGuest();
const hasPythonLibvirt = existsSync(PYTHON) && (await run(PYTHON, ['-c', 'import libvirt']).then(() => true, () => false));
const missing = 'skip' in guest ? guest.skip : !hasPythonLibvirt ? 'python3-libvirt is not installed' : !existsSync('/usr/bin/virsh') ? 'virsh is not installed' : false;
if (typeof missing === 'string' && !('skip' in guest)) {
  if (process.env.CI === 'true') throw new Error(`qemu events test: ${missing} (CI=true requires it)`);
  process.stderr.write(`*** qemu events test SKIPPED: ${missing} ***\n`);
}

/** virDomainEventType numbers (include/libvirt/libvirt-domain.h) */
const DEFINED = 0, UNDEFINED = 1, STARTED = 2, SUSPENDED = 3, RESUMED = 4, STOPPED = 5, SHUTDOWN = 6;

test('tsvirtd qemu driver: lifecycle events of start, suspend, resume and a guest that powers itself off', { skip: missing, timeout: (TIMEOUT_S + 60) * 1000 }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  const xmlFile = join(daemon.root, 'ev.xml');
  await writeFile(xmlFile, guestDomainXML({ name: 'ev', machine: 'q35', serialPath: 'pty', guest }));

  const { stdout } = await run(PYTHON, [CLIENT, uri, xmlFile, String(TIMEOUT_S)], { timeout: (TIMEOUT_S + 30) * 1000 });
  const events = stdout.split('\n').filter((l) => l.startsWith('EVENT ev ')).map((l) => l.slice('EVENT ev '.length));
  // libvirt's numbers: DEFINED ADDED, STARTED BOOTED, SUSPENDED PAUSED, RESUMED
  // UNPAUSED, SHUTDOWN FINISHED_GUEST (the guest's own poweroff), STOPPED SHUTDOWN
  assert.deepEqual(events, [`${DEFINED} 0`, `${STARTED} 0`, `${SUSPENDED} 0`, `${RESUMED} 0`, `${SHUTDOWN} 1`, `${STOPPED} 0`], stdout);
  // VIR_DOMAIN_SHUTOFF (5), VIR_DOMAIN_SHUTOFF_SHUTDOWN (1)
  assert.match(stdout, /^STATE 5 1$/m);

  const { stdout: state } = await run('virsh', ['-c', uri, 'domstate', 'ev', '--reason']);
  assert.equal(state.trim(), 'shut off (shutdown)');
});

test('tsvirtd qemu driver: a domain found running when the driver opens is watched; its QEMU dying is STOPPED FAILED and shut off (crashed)', { skip: missing, timeout: (TIMEOUT_S + 60) * 1000 }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  // started by an embedded tsvirsh on the same state folders, before any client opened the daemon's driver
  const embed = `qemu:///embed?root=${daemon.root}`;
  const xmlFile = join(daemon.root, 'gone.xml');
  await writeFile(xmlFile, guestDomainXML({ name: 'gone', machine: 'q35', serialPath: join(daemon.root, 'gone.serial'), guest }));
  await run(process.execPath, [tsvirsh, '-c', embed, 'define', xmlFile]);
  await run(process.execPath, [tsvirsh, '-c', embed, 'start', 'gone', '--paused']);
  const [pid] = qemuPidsMentioning(daemon.root);
  assert.ok(pid, 'QEMU runs');

  const uri = daemon.uri('qemu', '/system');
  const client = spawn(PYTHON, [CLIENT, uri, '--watch', String(TIMEOUT_S)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  client.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const exited = new Promise<number | null>((resolve) => client.once('exit', resolve));
  t.after(() => client.kill());
  await waitUntil('the client registered', TIMEOUT_S * 1000, () => (stdout.includes('READY\n') ? true : undefined));
  process.kill(pid, 'SIGKILL');
  assert.equal(await exited, 0, stdout);
  // STOPPED FAILED: QEMU went away without the guest shutting down
  assert.deepEqual(stdout.split('\n').filter((l) => l.startsWith('EVENT ')), [`EVENT gone ${STOPPED} 5`], stdout);
  const { stdout: state } = await run('virsh', ['-c', uri, 'domstate', 'gone', '--reason']);
  assert.equal(state.trim(), 'shut off (crashed)');
});

test("tsvirtd qemu driver: one connection hears the lifecycle events of another's define, paused start, destroy, redefine and undefine", { skip: missing, timeout: (TIMEOUT_S + 60) * 1000 }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const xmlFile = join(daemon.root, 'api.xml');
  await writeFile(xmlFile, guestDomainXML({ name: 'api', machine: 'q35', serialPath: join(daemon.root, 'api.serial'), guest }));
  const { stdout } = await run(PYTHON, [CLIENT, daemon.uri('qemu', '/system'), '--api', xmlFile, String(TIMEOUT_S)], { timeout: (TIMEOUT_S + 30) * 1000 });
  const events = stdout.split('\n').filter((l) => l.startsWith('EVENT api ')).map((l) => l.slice('EVENT api '.length));
  // DEFINED ADDED, STARTED BOOTED, SUSPENDED PAUSED (start --paused), STOPPED DESTROYED, DEFINED UPDATED, UNDEFINED REMOVED
  assert.deepEqual(events, [`${DEFINED} 0`, `${STARTED} 0`, `${SUSPENDED} 0`, `${STOPPED} 1`, `${DEFINED} 1`, `${UNDEFINED} 0`], stdout);
});
