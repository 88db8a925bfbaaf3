// Peer-to-peer migration between two tsvirtd, driven by real virsh: the client
// calls the source alone, whose driver opens its own connection to the
// destination URI; libvirt's errors for --tunnelled without --p2p, for a
// destination nobody listens on, for the source's own daemon, for a bad
// migration URI and a busy port; the guest renamed and answering at the
// destination, which listens on the loopback only (--migrateuri,
// --listen-address); the way back tunnelled (QEMU's stream inside the daemons'
// connection) under the old name; an offline one; last, slowed-down migrations
// interrupted: a tunnelled one aborted with domjobabort, one whose destination
// QEMU dies, and a plain one whose destination daemon stops; each time the
// guest runs on at the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { waitUntil } from './guest.js';
import { qemuPidsMentioning } from '../helpers/qemu-processes.js';
import { agentAnswers, migrationSkip, SRC_HOST_UUID, startGuestOnSource, twoHosts, VIRSH, virsh, virshOk } from './migration-hosts.js';

const missing = migrationSkip('peer-to-peer migration test');

/** The cgroup (v1 cpu controller, or v2) of the one QEMU under a daemon's root. */
function guestCgroup(root: string): string {
  const [pid] = qemuPidsMentioning(root);
  assert.ok(pid, `no QEMU under ${root}`);
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  return lines.find((l) => /^\d+:[^:]*\bcpu\b[^:]*:/.test(l)) ?? lines.find((l) => l.startsWith('0::')) ?? '';
}

test('virsh migrate --p2p between two tsvirtd: the source daemon drives the destination', { skip: missing, timeout: 120_000 }, async (t) => {
  const hosts = await twoHosts(t);
  const { S, D } = hosts;
  await startGuestOnSource(hosts, 'p2p');

  const notP2P = await virsh('-c', S, 'migrate', '--live', '--tunnelled', 'p2p', D);
  assert.equal(notP2P.code, 1);
  assert.equal(notP2P.stderr, 'error: cannot perform tunnelled migration without using peer2peer flag\n');

  const nowhere = join(hosts.src.root, 'nobody-listens');
  const unreachable = await virsh('-c', S, 'migrate', '--live', '--p2p', 'p2p', `qemu+unix:///system?socket=${nowhere}`);
  assert.equal(unreachable.code, 1);
  assert.equal(unreachable.stderr, `error: Failed to connect socket to '${nowhere}': No such file or directory\n`);
  assert.equal(await virshOk('-c', S, 'domstate', 'p2p'), 'running\n\n');

  // the source's own daemon as the destination: its Prepare refuses the source's cookie
  const self = await virsh('-c', S, 'migrate', '--live', '--p2p', 'p2p', S);
  assert.equal(self.stderr, `error: internal error: Attempt to migrate guest to the same host ${SRC_HOST_UUID}\n`);

  // the destination's Prepare refuses a bad migration URI and fails on a busy port, as libvirtd's (compared by hand)
  const scheme = await virsh('-c', S, 'migrate', '--live', '--p2p', 'p2p', D, '--migrateuri', 'foo://x:1');
  assert.equal(scheme.stderr, 'error: argument unsupported: unsupported scheme foo in migration URI foo://x:1\n');
  const busy = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve) => busy.listen({ port: 0, host: '::' }, resolve));
  t.after(() => busy.close());
  const busyPort = (busy.address() as net.AddressInfo).port;
  const taken = await virsh('-c', S, 'migrate', '--live', '--p2p', 'p2p', D, '--migrateuri', `tcp://127.0.0.1:${busyPort}`);
  assert.equal(taken.stderr, "error: internal error: unable to execute QEMU command 'migrate-incoming': Failed to find an available port: Address already in use\n");
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');

  // on the loopback alone: the destination takes a port of its range for the URI without one; renamed there
  const sourceCgroup = guestCgroup(hosts.src.root);
  const there = await virsh('-c', S, 'migrate', '--live', '--p2p', '--persistent', '--verbose', 'p2p', D, '--migrateuri', 'tcp://127.0.0.1', '--listen-address', '127.0.0.1', '--dname', 'p2p-there');
  assert.equal(there.code, 0, there.stderr);
  // both daemons number the guest 1: its machine cgroup must still be each daemon's own (a shared one made Confirm wait ~12 s)
  if (sourceCgroup.includes('machine')) assert.notEqual(guestCgroup(hosts.dst.root), sourceCgroup);
  assert.match(there.stderr, /Migration: \[100 %\]/);
  assert.equal(await virshOk('-c', S, 'domstate', 'p2p', '--reason'), 'shut off (migrated)\n\n');
  assert.equal(await virshOk('-c', D, 'domstate', 'p2p-there', '--reason'), 'running (migrated)\n\n');
  assert.match(await virshOk('-c', D, 'dominfo', 'p2p-there'), /^Persistent: +yes$/m);
  await agentAnswers(D, 'p2p-there');

  // tunnelled, the old name back
  const back = await virsh('-c', D, 'migrate', '--live', '--p2p', '--tunnelled', '--verbose', 'p2p-there', S, '--dname', 'p2p');
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stderr, /Migration: \[100 %\]/);
  assert.equal(await virshOk('-c', S, 'domstate', 'p2p', '--reason'), 'running (migrated)\n\n');
  assert.equal(await virshOk('-c', D, 'domstate', 'p2p-there', '--reason'), 'shut off (migrated)\n\n');
  await agentAnswers(S, 'p2p');

  // offline, the definition alone moves; the destination's goes with --undefinesource
  await virshOk('-c', D, 'migrate', '--offline', '--persistent', '--undefinesource', '--p2p', 'p2p-there', S, '--dname', 'p2p');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');
  assert.match(await virshOk('-c', S, 'dominfo', 'p2p'), /^Persistent: +yes$/m);

  // slowed down to 1 MiB/s, a migration runs long enough to be aborted, or to lose its destination
  await virshOk('-c', S, 'migrate-setspeed', 'p2p', '1');
  const slowMigration = async (interrupt: () => Promise<void>, how = ['--tunnelled']): Promise<string> => {
    const slow = spawn(VIRSH, ['-c', S, 'migrate', '--live', '--p2p', ...how, 'p2p', D], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    slow.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const end = new Promise<number | null>((resolve) => slow.on('close', resolve));
    t.after(() => slow.kill());
    await waitUntil('the migration job on the source', 30_000, async () => (/^Job type: +Unbounded *$/m.test((await virsh('-c', S, 'domjobinfo', 'p2p')).stdout) ? true : undefined));
    await interrupt();
    assert.equal(await end, 1);
    assert.equal(await virshOk('-c', S, 'domstate', 'p2p'), 'running\n\n');
    return stderr;
  };
  const aborted = await slowMigration(async () => void (await virshOk('-c', S, 'domjobabort', 'p2p')));
  assert.equal(aborted, 'error: operation aborted: migration out: canceled by client\n');
  assert.equal(await virshOk('-c', D, 'list', '--name'), '\n');
  // the destination's QEMU dies: the tunnel breaks and the source's migration fails instead of waiting
  const lost = await slowMigration(async () => {
    for (const pid of qemuPidsMentioning(hosts.dst.root)) process.kill(pid, 'SIGKILL');
  });
  assert.match(lost, /^error: /);
  assert.equal(await virshOk('-c', D, 'list', '--name'), '\n');
  // last, without the tunnel, the destination's daemon goes away: the source ends QEMU's migration
  const gone = await slowMigration(() => hosts.dst.kill(), []);
  assert.equal(gone, 'error: operation failed: Lost connection to destination host\n');
  await agentAnswers(S, 'p2p');
});
