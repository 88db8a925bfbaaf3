// Why a domain is shut off survives the process that saw it stop: every
// tsvirsh run below is a new process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, waitUntil } from './guest.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

test('domstate --reason in later processes: destroyed, crashed, shutdown; a start clears the reason', { skip }, async (t) => {
  if ('skip' in guest) return;
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = new SerialLog(sb.file('why.serial.log'));
  await sb.define(guestDomainXML({ name: 'why', machine: 'q35', serialPath: serial.path, guest }));
  const state = async () => (await sb.ok('domstate', 'why', '--reason')).stdout.trim();
  const reasonFile = `${sb.root}/run/qemu/why.shutoff`;
  assert.equal(await state(), 'shut off (unknown)');

  await sb.ok('start', 'why', '--paused');
  await sb.ok('destroy', 'why');
  assert.equal(await state(), 'shut off (destroyed)');
  assert.equal(await state(), 'shut off (destroyed)');

  await sb.ok('start', 'why', '--paused');
  assert.ok(!existsSync(reasonFile), 'start removes the recorded reason');
  const [pid] = sb.qemuPids();
  process.kill(pid, 'SIGKILL');
  await waitUntil('QEMU gone', 10_000, () => (sb.qemuPids().length === 0 ? true : undefined));
  assert.equal(await state(), 'shut off (crashed)'); // this process finds the dead QEMU
  assert.equal(await state(), 'shut off (crashed)'); // and the next one is told

  await sb.ok('start', 'why');
  await serial.waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS);
  await sb.ok('shutdown', 'why');
  await waitUntil('why shut off', 30_000, async () => ((await state()).startsWith('shut off') ? true : undefined));
  assert.equal(await state(), 'shut off (shutdown)');
  assert.match((await sb.ok('dominfo', 'why')).stdout, /^State:\s+shut off$/m);
});
