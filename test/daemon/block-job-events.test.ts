// Block job events of the qemu driver inside tsvirtd: libvirt's own virsh,
// connected to tsvirtd, waits for a block copy through the BLOCK_JOB and
// BLOCK_JOB_2 events (it registers both and then waits for an event, not for
// the job's progress), and a second virsh listening with `event --loop` hears
// the copy become ready and complete, as libvirtd's clients do; blkdeviotune's
// live change is a TUNABLE event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { guestDomainXML, testGuest, waitUntil } from '../e2e/guest.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
/** TCG on a loaded 2-core machine */
const TIMEOUT_S = 120;

const guest = testGuest();
const missing = 'skip' in guest ? guest.skip : !existsSync('/usr/bin/virsh') ? 'virsh is not installed' : false;
if (typeof missing === 'string' && !('skip' in guest)) {
  if (process.env.CI === 'true') throw new Error(`block job events test: ${missing} (CI=true requires it)`);
  process.stderr.write(`*** block job events test SKIPPED: ${missing} ***\n`);
}

test('tsvirtd qemu driver: virsh blockcopy --pivot waits on block job events, and event --loop hears ready and completed', { skip: missing, timeout: (TIMEOUT_S + 60) * 1000 }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  const image = join(daemon.root, 'disk.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
  const xmlFile = join(daemon.root, 'bj.xml');
  await writeFile(xmlFile, guestDomainXML({ name: 'bj', machine: 'q35', serialPath: join(daemon.root, 'bj.serial'), guest, devices: disk }));
  await run('virsh', ['-c', uri, 'define', xmlFile]);
  await run('virsh', ['-c', uri, 'start', 'bj']);

  const listener = spawn('virsh', ['-c', uri, 'event', '--domain', 'bj', '--event', 'block-job-2', '--loop', '--timeout', String(TIMEOUT_S)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let heard = '';
  listener.stdout.setEncoding('utf8').on('data', (s: string) => (heard += s));
  t.after(() => listener.kill());
  // virsh says nothing until an event comes: give it time to register first
  await new Promise((r) => setTimeout(r, 2000));

  // with --timeout virsh gives up (and aborts the copy) instead of waiting forever for an event that never comes
  const copy = await run('virsh', ['-c', uri, 'blockcopy', 'bj', 'vda', join(daemon.root, 'copy.qcow2'), '--transient-job', '--pivot', '--timeout', String(TIMEOUT_S)], { timeout: (TIMEOUT_S + 30) * 1000 });
  assert.equal(copy.stdout.trim(), 'Successfully pivoted');
  await waitUntil('the completed event', 30_000, () => (heard.includes('completed') ? true : undefined));
  assert.deepEqual(heard.trim().split('\n'), [
    "event 'block-job-2' for domain 'bj': Block Copy for vda ready",
    "event 'block-job-2' for domain 'bj': Block Copy for vda completed",
  ]);
  const { stdout: live } = await run('virsh', ['-c', uri, 'domblklist', 'bj']);
  assert.match(live, /vda +\S+copy\.qcow2/);

  // a live blkdeviotune is a TUNABLE event naming the disk and what was set
  const tunable = spawn('virsh', ['-c', uri, 'event', '--domain', 'bj', '--event', 'tunable', '--timeout', String(TIMEOUT_S)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let tuned = '';
  tunable.stdout.setEncoding('utf8').on('data', (s: string) => (tuned += s));
  t.after(() => tunable.kill());
  await new Promise((r) => setTimeout(r, 2000));
  await run('virsh', ['-c', uri, 'blkdeviotune', 'bj', 'vda', '--total-bytes-sec', '1000', '--live']);
  await waitUntil('the tunable event', 30_000, () => (tuned.includes('total_bytes_sec') ? true : undefined));
  assert.match(tuned, /event 'tunable' for domain 'bj':\n\tblkdeviotune\.disk: vda\n\tblkdeviotune\.total_bytes_sec: 1000\n/);
});
