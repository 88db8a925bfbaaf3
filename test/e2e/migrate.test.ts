// Live migration of the running test guest between two tsvirtd on this host,
// driven by real virsh as a user drives it: each daemon with its own state root
// and host UUID (host_uuid in tsvirtd.conf), the same-host refusal, the guest
// answering at the destination (its guest agent: a console stream through
// tsvirtd gets no answer from the guest, migrated or not), the lifecycle events
// on both sides, --persistent/--undefinesource, and the way back without them;
// before that, a slowed-down migration watched with domjobinfo and aborted;
// last, the offline migration of the definition alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { waitUntil } from './guest.js';
import { agentAnswers, migrationSkip, SRC_HOST_UUID, startGuestOnSource, twoHosts, VIRSH, virsh, virshOk } from './migration-hosts.js';

/** the event listeners' bound: they are interrupted once both migrations are done */
const LISTEN_SECONDS = 120;

const missing = migrationSkip('migration test');

/** `virsh event --all --loop` on a URI; stop() interrupts it (SIGINT) and gives its whole output. */
function listenEvents(uri: string): { stop: () => Promise<string> } {
  const child = spawn(VIRSH, ['-c', uri, 'event', '--all', '--loop', '--timeout', String(LISTEN_SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const closed = new Promise<string>((resolve) => child.on('close', () => resolve(out)));
  return {
    stop: () => {
      child.kill('SIGINT');
      return closed;
    },
  };
}

test('virsh migrate --live between two tsvirtd: the guest runs on at the destination, events and definitions as libvirt', { skip: missing, timeout: 150_000 }, async (t) => {
  const hosts = await twoHosts(t);
  const { S, D } = hosts;
  await startGuestOnSource(hosts, 'mig');

  const self = await virsh('-c', S, 'migrate', '--live', 'mig', S);
  assert.equal(self.code, 1);
  assert.equal(self.stderr, `error: internal error: Attempt to migrate guest to the same host ${SRC_HOST_UUID}\n`);

  // slowed down to 1 MiB/s, the migration runs long enough to be watched and aborted
  await virshOk('-c', S, 'migrate-setspeed', 'mig', '1');
  const slow = spawn(VIRSH, ['-c', S, 'migrate', '--live', '--verbose', 'mig', D], { stdio: ['ignore', 'ignore', 'pipe'] });
  let progress = '';
  slow.stderr.setEncoding('utf8').on('data', (s: string) => (progress += s));
  const slowEnd = new Promise<number | null>((resolve) => slow.on('close', resolve));
  t.after(() => slow.kill());
  await waitUntil('the migration job on the source', 30_000, async () => (/^Job type: +Unbounded *$/m.test((await virsh('-c', S, 'domjobinfo', 'mig')).stdout) ? true : undefined));
  assert.match(await virshOk('-c', S, 'domjobinfo', 'mig'), /^Operation: +Outgoing migration *$/m);
  // virsh polls the job info twice a second and prints its progress line
  await waitUntil("virsh's progress line", 30_000, () => (/\rMigration: \[ *\d+ %\]/.test(progress) ? true : undefined));
  await virshOk('-c', S, 'domjobabort', 'mig');
  assert.equal(await slowEnd, 1);
  assert.match(progress, /\]error: operation aborted: migration out: canceled by client\n/);
  assert.equal(await virshOk('-c', S, 'domstate', 'mig'), 'running\n\n');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');
  await virshOk('-c', S, 'migrate-setspeed', 'mig', '8796093022207');

  const events = [listenEvents(S), listenEvents(D)];
  t.after(() => Promise.all(events.map((e) => e.stop())));
  // both listeners register in their own time
  await new Promise((r) => setTimeout(r, 2000));
  const there = await virsh('-c', S, 'migrate', '--live', '--persistent', '--undefinesource', '--verbose', 'mig', D);
  assert.equal(there.code, 0, there.stderr);
  assert.match(there.stderr, /Migration: \[100 %\]/);
  assert.equal(await virshOk('-c', S, 'list', '--all', '--name'), '\n');
  assert.equal(await virshOk('-c', D, 'domstate', 'mig', '--reason'), 'running (migrated)\n\n');
  assert.match(await virshOk('-c', D, 'dominfo', 'mig'), /^Persistent: +yes$/m);

  await agentAnswers(D, 'mig');

  // back without --persistent: a transient guest at the source, the destination keeps its definition
  const back = await virsh('-c', D, 'migrate', '--live', 'mig', S);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(await virshOk('-c', S, 'domstate', 'mig', '--reason'), 'running (migrated)\n\n');
  assert.match(await virshOk('-c', S, 'dominfo', 'mig'), /^Persistent: +no$/m);
  assert.equal(await virshOk('-c', D, 'domstate', 'mig', '--reason'), 'shut off (migrated)\n\n');

  // the last events reach the listeners a moment after the calls that caused them
  await new Promise((r) => setTimeout(r, 1000));
  const [srcEvents, dstEvents] = await Promise.all(events.map((e) => e.stop()));
  const lifecycle = (text: string) => text.split('\n').filter((l) => l.startsWith("event 'lifecycle'")).map((l) => l.replace("event 'lifecycle' for domain 'mig': ", ''));
  assert.deepEqual(lifecycle(srcEvents!), ['Suspended Migrated', 'Stopped Migrated', 'Undefined Removed', 'Started Migrated', 'Resumed Migrated']);
  assert.deepEqual(lifecycle(dstEvents!), ['Started Migrated', 'Defined Added', 'Resumed Migrated', 'Suspended Migrated', 'Stopped Migrated']);

  // offline: the definition alone moves, and only with --persistent
  await virshOk('-c', S, 'destroy', 'mig');
  const notPersistent = await virsh('-c', D, 'migrate', '--offline', 'mig', S);
  assert.equal(notPersistent.stderr, 'error: Requested operation is not valid: offline migration must be specified with the persistent flag set\n');
  await virshOk('-c', D, 'migrate', '--offline', '--persistent', '--undefinesource', 'mig', S);
  assert.equal(await virshOk('-c', S, 'list', '--all'), ' Id   Name   State\n-----------------------\n -    mig    shut off\n\n');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');
});
