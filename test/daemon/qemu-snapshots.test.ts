// Snapshots over tsvirtd: the qemu driver's snapshot procedures reach clients
// through the daemon's dispatch (remote driver of tsvirsh), on a shut-off guest
// with a qcow2 disk (qemu-img makes the internal snapshots, no QEMU runs); the
// read-only socket refuses what changes snapshots and serves what reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tsvirsh } from '../helpers/shared.js';
import { guestDomainXML, testGuest } from '../e2e/guest.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

async function client(uri: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [tsvirsh, '-c', uri, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

test('snapshot procedures through tsvirtd: create, list, current, revert, delete, undefine, read-only refusal', { skip }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  const ro = `qemu+unix:///system?socket=${daemon.readonlySocket}`;
  const image = join(daemon.root, 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);
  chmodSync(image, 0o666);
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
  const xml = join(daemon.root, 'g.xml');
  await writeFile(xml, guestDomainXML({ name: 'g', machine: 'q35', serialPath: join(daemon.root, 'g.serial'), guest, devices: disk }));
  const ok = async (...args: string[]) => {
    const r = await client(uri, ...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('define', xml);
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
