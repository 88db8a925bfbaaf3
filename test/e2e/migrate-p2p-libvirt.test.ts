// Peer-to-peer migration between libvirt 9.0's own libvirtd (qemu:///system)
// and a spawned tsvirtd, both ways, driven by real virsh: libvirtd drives a
// tunnelled migration into tsvirtd (PrepareTunnel3Params, Finish3Params on
// tsvirtd, renamed there), and tsvirtd drives a plain one back into libvirtd
// (under the old name, on the loopback: --migrateuri, --listen-address); the
// guest's agent answers at each destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestDomainXML, testGuest, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh, SYSTEM_URI } from '../helpers/libvirt.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';
import { AGENT_CHANNEL, agentAnswers, DST_HOST_UUID, migrationSkip, virsh, virshOk } from './migration-hosts.js';

/** libvirtd's socket: a unix-socket URI is what virsh accepts as another host's on this machine */
const LIBVIRTD = 'qemu+unix:///system?socket=/var/run/libvirt/libvirt-sock';

const missing = migrationSkip('libvirt interoperability migration test') || libvirtUnavailable();
if (typeof missing === 'string') process.stderr.write(`*** libvirt interoperability migration test SKIPPED: ${missing} ***\n`);

test('virsh migrate --p2p between libvirtd and tsvirtd, tunnelled there and plain back', { skip: missing, timeout: 120_000 }, async (t) => {
  const tsvirtd = await spawnDaemon(`host_uuid = "${DST_HOST_UUID}"\n`);
  t.after(() => tsvirtd.stopWithGuests());
  const T = tsvirtd.uri('qemu', '/system');
  const guest = testGuest() as TestGuest;
  const { name } = await defineOnSystemLibvirt(t, 'p2p', (n) => guestDomainXML({ name: n, machine: 'q35', serialPath: 'pty', guest, devices: AGENT_CHANNEL }));
  const started = await runSystemVirsh('start', name);
  assert.equal(started.code, 0, started.stderr);

  // renamed at tsvirtd, and back under the old name
  const renamed = `${name}-ts`;
  const there = await runSystemVirsh('migrate', '--live', '--p2p', '--tunnelled', name, T, '--dname', renamed);
  assert.equal(there.code, 0, there.stderr);
  assert.equal(await virshOk('-c', T, 'domstate', renamed, '--reason'), 'running (migrated)\n\n');
  assert.equal((await runSystemVirsh('domstate', name, '--reason')).stdout, 'shut off (migrated)\n\n');
  await agentAnswers(T, renamed);

  // libvirtd listens on the loopback alone and answers tcp://127.0.0.1:PORT, which tsvirtd's QEMU takes in its own syntax
  const back = await virsh('-c', T, 'migrate', '--live', '--p2p', renamed, LIBVIRTD, '--dname', name, '--migrateuri', 'tcp://127.0.0.1', '--listen-address', '127.0.0.1');
  assert.equal(back.code, 0, back.stderr);
  assert.equal((await runSystemVirsh('domstate', name, '--reason')).stdout, 'running (migrated)\n\n');
  assert.equal((await virsh('-c', T, 'list', '--all', '--name')).stdout, '\n');
  await agentAnswers(SYSTEM_URI, name);
});
