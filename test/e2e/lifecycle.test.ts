// Real guests through tsvirsh: start, ACPI shutdown, destroy, reboot, crashes of
// tsvirsh and of QEMU, and concurrent starts. Every test has its own embed root
// and kills whatever QEMU it leaves behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tsvirsh } from '../helpers/shared.js';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, waitUntil } from './guest.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function defineGuest(sb: Sandbox, name: string, extra = ''): Promise<SerialLog> {
  if ('skip' in guest) throw new Error('unreachable');
  const serial = new SerialLog(sb.file(`${name}.serial.log`));
  await sb.define(guestDomainXML({ name, machine: 'q35', serialPath: serial.path, guest, extra }));
  return serial;
}

async function state(sb: Sandbox, name: string): Promise<string> {
  return (await sb.ok('domstate', name, '--reason')).stdout.trim();
}

test('start runs the guest; ACPI shutdown and destroy leave no process and no status file', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = await defineGuest(sb, 'life');

  const t0 = performance.now();
  const started = await sb.ok('start', 'life');
  assert.equal(started.stdout.trim(), "Domain 'life' started");
  assert.equal(await state(sb, 'life'), 'running (booted)');
  assert.equal(sb.qemuPids().length, 1);
  assert.ok(existsSync(sb.statusFile('life')));
  await serial.waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS);
  t.diagnostic(`tsvirsh start: ${ms(started.ms)}; start -> guest marker: ${ms(performance.now() - t0)}`);
  assert.match((await sb.ok('list')).stdout, /^\s*\d+\s+life\s+running$/m);
  // booting under TCG takes CPU: dominfo shows the QEMU process's CPU time like libvirt without cgroups
  const cpu = /^CPU time:\s+(\d+\.\d)s$/m.exec((await sb.ok('dominfo', 'life')).stdout);
  assert.ok(cpu && Number(cpu[1]) > 0, 'dominfo reports CPU time of a running guest');

  const shutdown = await sb.ok('shutdown', 'life');
  assert.equal(shutdown.stdout.trim(), "Domain 'life' is being shutdown");
  await serial.waitFor(/^@@POWEROFF/, 30_000);
  await waitUntil('life shut off', 30_000, async () => ((await state(sb, 'life')).startsWith('shut off') ? true : undefined));
  assert.deepEqual(sb.qemuPids(), []);
  assert.ok(!existsSync(sb.statusFile('life')));
  t.diagnostic(`tsvirsh shutdown (guest powers off, QEMU gone): ${ms(shutdown.ms)}`);

  await sb.ok('start', 'life');
  await serial.waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS);
  const destroyed = await sb.ok('destroy', 'life');
  assert.equal(destroyed.stdout.trim(), "Domain 'life' destroyed");
  assert.deepEqual(sb.qemuPids(), []);
  assert.ok(!existsSync(sb.statusFile('life')));
  assert.match(await state(sb, 'life'), /^shut off/);
  t.diagnostic(`tsvirsh destroy (QEMU gone): ${ms(destroyed.ms)}`);

  const again = await sb.run('destroy', 'life');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /error: Requested operation is not valid: domain is not running/);
});

test('suspend, resume and reboot; on_poweroff=restart keeps the guest running', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = await defineGuest(sb, 'power', '<on_poweroff>restart</on_poweroff>');
  await sb.ok('start', 'power', '--paused');
  assert.equal(await state(sb, 'power'), 'paused (user)');
  await sb.ok('resume', 'power');
  assert.equal(await state(sb, 'power'), 'running (unpaused)');
  const up = await serial.waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS);
  await sb.ok('suspend', 'power');
  assert.equal(await state(sb, 'power'), 'paused (user)');
  await sb.ok('resume', 'power');

  // reboot: the guest powers off through ACPI and comes back, same QEMU
  const pid = sb.qemuPids();
  await sb.ok('reboot', 'power');
  const second = await serial.waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS, up.index + 1);
  assert.deepEqual(sb.qemuPids(), pid);
  assert.equal(await state(sb, 'power'), 'running (booted)');

  // on_poweroff=restart: a shutdown restarts the guest instead of stopping QEMU
  await sb.ok('shutdown', 'power');
  await serial.waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS, second.index + 1);
  assert.deepEqual(sb.qemuPids(), pid);
  assert.match(await state(sb, 'power'), /^running/);
  await sb.ok('destroy', 'power');
});

test('kill -9 of tsvirsh while the guest runs: the next tsvirsh sees it running and shuts it down', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = await defineGuest(sb, 'orphan');

  // An interactive tsvirsh that started the guest and is killed without any cleanup.
  const shell = spawn(process.execPath, [tsvirsh, '-c', sb.uri], { stdio: ['pipe', 'pipe', 'pipe'] });
  // a failed start must fail the test, not leave the shell holding the runner open
  t.after(() => void (shell.exitCode === null && shell.kill('SIGKILL')));
  let out = '';
  shell.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  shell.stdin.write('start orphan\n');
  await waitUntil('start in the interactive tsvirsh', 60_000, () => (out.includes("Domain 'orphan' started") ? true : undefined));
  await serial.waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS);
  const exited = new Promise((r) => shell.once('exit', r));
  shell.kill('SIGKILL');
  await exited;

  assert.equal(sb.qemuPids().length, 1, 'QEMU outlives the tsvirsh that started it');
  assert.equal(await state(sb, 'orphan'), 'running (booted)');
  assert.match((await sb.ok('list')).stdout, /orphan\s+running/);
  await sb.ok('shutdown', 'orphan');
  await waitUntil('orphan shut off', 30_000, async () => ((await state(sb, 'orphan')).startsWith('shut off') ? true : undefined));
  assert.deepEqual(sb.qemuPids(), []);
  assert.ok(!existsSync(sb.statusFile('orphan')));
});

test('kill -9 of QEMU: the next tsvirsh shows the domain shut off (crashed) and removes its status', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await defineGuest(sb, 'victim');
  await sb.ok('start', 'victim');
  const [pid] = sb.qemuPids();
  process.kill(pid, 'SIGKILL');
  await waitUntil('QEMU gone', 10_000, () => (sb.qemuPids().length === 0 ? true : undefined));

  assert.equal(await state(sb, 'victim'), 'shut off (crashed)');
  assert.ok(!existsSync(sb.statusFile('victim')));
  assert.match((await sb.ok('list', '--all')).stdout, /victim\s+shut off/);
  // and it starts again
  await sb.ok('start', 'victim');
  assert.equal(sb.qemuPids().length, 1);
  await sb.ok('destroy', 'victim');
});

test('ten parallel starts of one domain launch exactly one QEMU', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await defineGuest(sb, 'race');
  const results = await Promise.all(Array.from({ length: 10 }, () => sb.run('start', 'race')));
  const ok = results.filter((r) => r.code === 0);
  const refused = results.filter((r) => r.code !== 0);
  assert.equal(ok.length, 1, results.map((r) => r.stderr).join(''));
  // virsh's own check ("Domain is already active") or, when the race reaches the driver, libvirt's error
  for (const r of refused) assert.match(r.stderr, /^error: (Domain is already active|Failed to start domain 'race'\nerror: Requested operation is not valid: domain is already running)\n$/);
  assert.equal(sb.qemuPids().length, 1);
  await sb.ok('destroy', 'race');
  assert.deepEqual(sb.qemuPids(), []);
});

test('a start failure reports QEMU\'s own error and leaves nothing behind', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  if ('skip' in guest) return;
  await sb.define(guestDomainXML({ name: 'broken', machine: 'q35', serialPath: sb.file('b.log'), guest: { ...guest, kernel: sb.file('no-such-kernel') } }));
  const r = await sb.run('start', 'broken');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: Failed to start domain 'broken'\nerror: internal error: process exited while connecting to monitor: .*could not open kernel file '[^']*no-such-kernel'/);
  assert.deepEqual(sb.qemuPids(), []);
  assert.ok(!existsSync(sb.statusFile('broken')));
  assert.match(await state(sb, 'broken'), /^shut off/);
});

test('start refuses what domxml-to-native refuses, with the same first error (libvirt\'s start validation order)', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  if ('skip' in guest) return;
  // no hugetlbfs is mounted here (the conformance host had none either)
  if (readFileSync('/proc/mounts', 'utf8').includes(' hugetlbfs ')) return t.skip('hugetlbfs is mounted on this host');
  const extra = "<memoryBacking><hugepages/></memoryBacking>";
  await sb.define(guestDomainXML({ name: 'huge', machine: 'q35', serialPath: sb.file('h.log'), guest, extra }));
  const message = 'error: internal error: hugetlbfs filesystem is not mounted or disabled by administrator config\n';
  const start = await sb.run('start', 'huge');
  assert.equal(start.stderr, `error: Failed to start domain 'huge'\n${message}`);
  const argv = await sb.run('domxml-to-native', 'qemu-argv', '--domain', 'huge');
  assert.equal(argv.stderr, message);
  assert.deepEqual(sb.qemuPids(), []);
  assert.match(await state(sb, 'huge'), /^shut off/);
});
