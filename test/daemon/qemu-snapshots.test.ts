// Snapshots over tsvirtd: the qemu driver's snapshot procedures reach clients
// through the daemon's dispatch (remote driver of tsvirsh), on a shut-off guest
// with a qcow2 disk (qemu-img makes the internal snapshots, no QEMU runs); the
// read-only socket refuses what changes snapshots and serves what reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { testGuest } from '../e2e/guest.js';
import { client, qcow2GuestDaemon } from './qcow2-guest-daemon.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

test('snapshot procedures through tsvirtd: create, list, current, revert, delete, undefine, read-only refusal', { skip }, async (t) => {
  if ('skip' in guest) return;
  const { uri, ro, image, ok } = await qcow2GuestDaemon(t, guest);
  assert.equal(await ok('snapshot-create-as', 'g', 's1'), 'Domain snapshot s1 created\n');
  await ok('snapshot-create-as', 'g', 's2', '--description', 'second');
  assert.equal(await ok('snapshot-list', 'g', '--tree'), 's1\n  |\n  +- s2\n    \n\n');
  assert.equal(await ok('snapshot-current', 'g', '--name'), 's2\n');
  const tags = () => execFileSync('qemu-img', ['snapshot', '-l', image], { encoding: 'utf8' }).split('\n').slice(2).map((l) => l.split(/\s+/)[1]).filter(Boolean);
  assert.deepEqual(tags(), ['s1', 's2']);

  // the read-only socket reads snapshots, but changes none
  assert.equal((await client(ro, 'snapshot-list', 'g', '--name')).stdout, 's1\ns2\n\n');
  const refused = await client(ro, 'snapshot-delete', 'g', 's1');
  assert.match(refused.stderr, /operation forbidden: read only access prevents virDomainSnapshotDelete/);

  await ok('snapshot-revert', 'g', 's1');
  assert.equal(await ok('snapshot-current', 'g', '--name'), 's1\n');
  const undefine = await client(uri, 'undefine', 'g');
  assert.match(undefine.stderr, /Requested operation is not valid: cannot delete inactive domain with 2 snapshots/);
  await ok('snapshot-delete', 'g', 's2');
  assert.deepEqual(tags(), ['s1']);
  await ok('undefine', 'g', '--snapshots-metadata');
  assert.equal((await client(uri, 'list', '--all', '--name')).stdout, '\n');
});
