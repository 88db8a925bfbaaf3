// Checkpoints over tsvirtd: the qemu driver's checkpoint procedures reach
// clients through the daemon's dispatch (remote driver of tsvirsh), on a
// shut-off guest (checkpoints are redefined from their XML, as a backup
// application restores its metadata); the read-only socket refuses what changes
// checkpoints and serves what reads them, and the offline refusals are libvirt's.
// Then a push backup of the started guest sends the job-completed event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testGuest } from '../e2e/guest.js';
import { client, qcow2GuestDaemon } from './qcow2-guest-daemon.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;

test('checkpoint procedures through tsvirtd: redefine, list, parent, dumpxml, offline refusals, read-only refusal, backup with its job-completed event, undefine', { skip }, async (t) => {
  if ('skip' in guest) return;
  const { daemon, uri, ro, ok } = await qcow2GuestDaemon(t, guest);
  const c1 = join(daemon.root, 'c1.xml');
  const c2 = join(daemon.root, 'c2.xml');
  await writeFile(c1, "<domaincheckpoint><name>c1</name><creationTime>1796572097</creationTime><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>");
  await writeFile(c2, "<domaincheckpoint><name>c2</name><parent><name>c1</name></parent><creationTime>1796572100</creationTime><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>");
  assert.equal(await ok('checkpoint-create', 'g', c1, '--redefine'), `Domain checkpoint c1 created from '${c1}'\n`);
  await ok('checkpoint-create', 'g', c2, '--redefine');
  assert.equal(await ok('checkpoint-list', 'g', '--tree'), 'c1\n  |\n  +- c2\n    \n\n');
  assert.equal(await ok('checkpoint-parent', 'g', 'c2'), 'c1\n');
  assert.equal(await ok('checkpoint-dumpxml', 'g', 'c2'), `<domaincheckpoint>
  <name>c2</name>
  <parent>
    <name>c1</name>
  </parent>
  <creationTime>1796572100</creationTime>
  <disks>
    <disk name='vda' checkpoint='bitmap' bitmap='c2'/>
  </disks>
</domaincheckpoint>

`);
  assert.equal(await ok('list', '--all', '--with-checkpoint', '--name'), 'g\n\n');

  // without a running QEMU there are no bitmaps to add or remove: libvirt's refusals
  assert.match((await client(uri, 'checkpoint-create-as', 'g', 'c3')).stderr, /Operation not supported: cannot create checkpoint for inactive domain/);
  assert.match((await client(uri, 'checkpoint-delete', 'g', 'c1')).stderr, /Operation not supported: cannot delete checkpoint for inactive domain/);
  assert.match((await client(uri, 'backup-begin', 'g')).stderr, /Operation not supported: cannot perform disk backup for inactive domain/);

  // the read-only socket reads checkpoints, but changes none
  assert.equal((await client(ro, 'checkpoint-list', 'g', '--name')).stdout, 'c1\nc2\n\n');
  assert.match((await client(ro, 'checkpoint-delete', 'g', 'c1', '--metadata')).stderr, /operation forbidden: read only access prevents virDomainCheckpointDelete/);

  // metadata only: c2 moves up to the root
  await ok('checkpoint-delete', 'g', 'c1', '--metadata');
  assert.equal(await ok('checkpoint-list', 'g', '--roots', '--name'), 'c2\n\n');
  // a push backup of the running guest ends with libvirt's job-completed event, which travels to a listening client
  await ok('start', 'g');
  const events = client(uri, 'event', 'g', '--event', 'job-completed', '--timeout', '120');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const backup = join(daemon.root, 'backup.xml');
  await writeFile(backup, `<domainbackup><disks><disk name='vda' type='file'><target file='${join(daemon.root, 'full.qcow2')}'/></disk></disks></domainbackup>`);
  assert.equal(await ok('backup-begin', 'g', backup), 'Backup started\n\n');
  assert.match((await events).stdout, /^event 'job-completed' for domain 'g':\n\toperation: 9\n\ttime_elapsed: \d+\n\tdisk_total: 16777216\n\tdisk_processed: 16777216\n\tdisk_remaining: 0\n\tsuccess: 1\n/);
  assert.equal(JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', join(daemon.root, 'full.qcow2')], { encoding: 'utf8' }))['virtual-size'], 16777216);
  await ok('destroy', 'g');
  assert.match((await client(uri, 'undefine', 'g')).stderr, /Requested operation is not valid: cannot delete inactive domain with 1 checkpoints/);
  await ok('undefine', 'g', '--checkpoints-metadata');
  assert.equal((await client(uri, 'list', '--all', '--name')).stdout, '\n');
});
