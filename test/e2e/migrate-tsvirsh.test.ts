// tsvirsh migrate as the client between two tsvirtd, beside real virsh doing
// the same: the errors (unknown domain, tunnelled without p2p, a destination
// nobody listens on, a flag tsvirt's driver refuses) equal virsh's; a plain
// live migration each way, one driven by virsh and one by tsvirsh, both with
// --verbose (the same output but for how many progress lines the timing
// allowed); then peer-to-peer and peer-to-peer tunnelled by tsvirsh; last, a
// slowed-down migration that SIGINT does not stop off a terminal and domjobabort
// does, reported as virsh reports it; the guest answers at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { tsvirsh } from '../helpers/shared.js';
import { waitUntil } from './guest.js';
import { agentAnswers, migrationSkip, startGuestOnSource, twoHosts, VIRSH, virsh, virshOk } from './migration-hosts.js';

const missing = migrationSkip('tsvirsh migrate test');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runTsvirsh(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsvirsh, ...args], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

/**
 * --verbose's stderr: progress lines "\rMigration: [ NN %]", the last one at 100 %
 * (a poll that finds no data left while the job still runs prints 100 % before it, as virsh's).
 */
const VERBOSE_PROGRESS = /^(\rMigration: \[ {0,2}\d{1,3} %\])*\rMigration: \[100 %\]$/;

test('tsvirsh migrate between two tsvirtd: live, --p2p, --p2p --tunnelled, --verbose and errors as virsh', { skip: missing, timeout: 120_000 }, async (t) => {
  const hosts = await twoHosts(t);
  const { S, D } = hosts;
  await startGuestOnSource(hosts, 'tsmig');

  const nowhere = `qemu+unix:///system?socket=${join(hosts.src.root, 'nobody-listens')}`;
  const refusals = [
    ['--live', 'nosuch', D],
    ['--live', '--tunnelled', 'tsmig', D],
    ['--live', 'tsmig', nowhere],
    ['--live', '--p2p', 'tsmig', nowhere],
    ['--live', '--p2p', 'tsmig', 'qemu:///system'],
    ['--live', 'tsmig', 'bogus:///nothing'],
    ['--live', '--direct', 'tsmig', D],
    ['--live', '--p2p', '--tunnelled', '--parallel', 'tsmig', D],
    ['--live', '--offline', 'tsmig', D],
    ['--offline', '--timeout', '5', 'tsmig', D],
    ['--live', '--timeout-suspend', 'tsmig', D],
    ['--live', '--persistent-xml', 'p.xml', 'tsmig', D],
    ['--live', '--xml', join(hosts.src.root, 'no-such.xml'), 'tsmig', D],
    // a flag and a parameter virsh knows and tsvirt's driver does not support: the driver's own errors
    ['--live', '--compressed', 'tsmig', D],
    ['--live', '--disks-port', '5000', 'tsmig', D],
    // the destination's refusal of a migration URI
    ['--live', '--migrateuri', 'foo://x:1', 'tsmig', D],
  ];
  for (const args of refusals) {
    const theirs = await virsh('-c', S, 'migrate', ...args);
    const ours = await runTsvirsh('-c', S, 'migrate', ...args);
    assert.notEqual(theirs.code, 0, `virsh migrate ${args.join(' ')} should fail`);
    assert.deepEqual(ours, theirs, `tsvirsh migrate ${args.join(' ')}`);
  }
  assert.equal(await virshOk('-c', S, 'domstate', 'tsmig'), 'running\n\n');

  // virsh there, tsvirsh back: the same answer; slowed down so that the job is polled while it runs
  await virshOk('-c', S, 'migrate-setspeed', 'tsmig', '20');
  const theirs = await virsh('-c', S, 'migrate', '--live', '--verbose', 'tsmig', D);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(await virshOk('-c', D, 'domstate', 'tsmig', '--reason'), 'running (migrated)\n\n');
  await virshOk('-c', D, 'migrate-setspeed', 'tsmig', '20');
  const ours = await runTsvirsh('-c', D, 'migrate', '--live', '--verbose', 'tsmig', S);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  assert.match(theirs.stderr, VERBOSE_PROGRESS);
  assert.match(ours.stderr, VERBOSE_PROGRESS);
  assert.ok(ours.stderr.split('\r').length > 2, `tsvirsh polled the running job: ${JSON.stringify(ours.stderr)}`);
  assert.equal(await virshOk('-c', S, 'domstate', 'tsmig', '--reason'), 'running (migrated)\n\n');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');

  // peer-to-peer: tsvirsh calls the source alone, which drives the destination
  const p2p = await runTsvirsh('-c', S, 'migrate', '--live', '--p2p', '--persistent', 'tsmig', D);
  assert.deepEqual(p2p, { code: 0, stdout: '\n', stderr: '' });
  assert.equal(await virshOk('-c', D, 'domstate', 'tsmig', '--reason'), 'running (migrated)\n\n');
  assert.match(await virshOk('-c', D, 'dominfo', 'tsmig'), /^Persistent: +yes$/m);

  const tunnelled = await runTsvirsh('-c', D, 'migrate', '--live', '--p2p', '--tunnelled', '--undefinesource', 'tsmig', S);
  assert.deepEqual(tunnelled, { code: 0, stdout: '\n', stderr: '' });
  assert.equal(await virshOk('-c', S, 'domstate', 'tsmig', '--reason'), 'running (migrated)\n\n');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');

  // slowed to 1 MiB/s, a client-driven migration runs until domjobabort ends it; off a terminal
  // SIGINT does not stop the client (virsh catches it too); both report the same failure
  await virshOk('-c', S, 'migrate-setspeed', 'tsmig', '1');
  const aborted = async (argv: string[]): Promise<Run> => {
    const child = spawn(argv[0]!, [...argv.slice(1), '-c', S, 'migrate', '--live', 'tsmig', D], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    const run: Run = { code: -1, stdout: '', stderr: '' };
    child.stdout.setEncoding('utf8').on('data', (s: string) => (run.stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (run.stderr += s));
    const end = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitUntil('the migration job on the source', 30_000, async () => (/^Job type: +Unbounded *$/m.test((await virsh('-c', S, 'domjobinfo', 'tsmig')).stdout) ? true : undefined));
    child.kill('SIGINT');
    await virshOk('-c', S, 'domjobabort', 'tsmig');
    run.code = (await end) ?? -1;
    return run;
  };
  const virshAborted = await aborted([VIRSH]);
  assert.equal(virshAborted.code, 1, virshAborted.stderr);
  assert.deepEqual(await aborted([process.execPath, tsvirsh]), virshAborted);
  assert.equal(await virshOk('-c', S, 'domstate', 'tsmig'), 'running\n\n');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');
  await agentAnswers(S, 'tsmig');
});
