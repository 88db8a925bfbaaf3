// Domain snapshots (issue 14, snapshot rows): the same snapshot-* commands on
// tsvirt (embed) and the installed libvirt (qemu:///system), each on the tiny
// test guest with a qcow2 disk under TCG; outputs must match once domain
// names, image folders, times and uuids are normalised. Internal snapshots
// offline (qemu-img) and running (savevm, revert through -loadvm: the guest
// runs on without booting again), the tree and its lists, current, parent,
// errors, undefine's refusal, delete, external disk-only overlays (offline
// with qemu-img, running with blockdev-snapshot) and memory in a save image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, SerialLog, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable } from '../helpers/libvirt.js';
import { differingRows, normalise, qcow2GuestSides, type Outcome, type SideHost } from './side-by-side.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** snapshots: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);
const NIC = "<interface type='user'><mac address='52:54:00:5a:4e:02'/><model type='virtio'/></interface>";

type Host = SideHost;

/** The snapshot XML outside the embedded definitions (and QEMU's CPU cookie, which tsvirt does not record). */
function snapshotHead(xml: string): string {
  return xml.replace(/\n {2}<cookie>[\s\S]*?\n {2}<\/cookie>/, '').replace(/\n {2}<(domain|inactiveDomain)\b[\s\S]*?\n {2}<\/\1>/g, '\n  <$1/>');
}

function tags(image: string): string[] {
  const out = execFileSync('qemu-img', ['snapshot', '-U', '-l', image], { encoding: 'utf8' });
  return out.split('\n').slice(2).map((l) => l.split(/\s+/)[1] ?? '').filter(Boolean).sort();
}

/**
 * The rows of the session, in order: each is a command and what to compare of
 * its outcome (all of it, unless a row says otherwise).
 */
async function session(host: Host, serial: SerialLog, image: string): Promise<{ outcomes: Outcome[]; tags: string[][] }> {
  const outcomes: Outcome[] = [];
  const d = host.name;
  const row = async (...args: string[]) => {
    const o = normalise(host, await host.run(...args));
    outcomes.push(o);
    return o;
  };
  // offline: qemu-img snapshot -c, and the errors of a create
  await row('snapshot-create-as', d, 'off1', '--description', 'offline one');
  await row('snapshot-create-as', d, 'a/b');
  await row('snapshot-create-as', d, 'off1');
  await row('snapshot-create-as', d, 'q', '--quiesce');
  await row('snapshot-create-as', d, 'x', '--memspec', 'file=/tmp/x.mem');
  await row('snapshot-current', d, '--name');
  await row('start', d);
  await serial.bootPciDevices(BOOT_TIMEOUT_MS);
  // running: savevm, with libvirt's refusals
  await row('snapshot-create-as', d, 'run1');
  await row('snapshot-create-as', d, 'q', '--disk-only', '--quiesce');
  await row('snapshot-create-as', d, '--live');
  await row('snapshot-create-as', d, 'nm', '--no-metadata');
  await row('domstate', d, '--reason');
  // the tree and its lists
  for (const opts of [[], ['--tree'], ['--parent'], ['--roots'], ['--leaves'], ['--name'], ['--internal'], ['--external'], ['--from', 'off1'], ['--current', '--name'], ['--active'], ['--inactive']]) {
    await row('snapshot-list', d, ...opts);
  }
  await row('snapshot-info', d, 'run1');
  await row('snapshot-info', d, '--current');
  await row('snapshot-parent', d, 'run1');
  await row('snapshot-parent', d, 'off1');
  await row('snapshot-info', d, 'nosuch');
  const xml = await row('snapshot-dumpxml', d, 'run1');
  xml.stdout = snapshotHead(xml.stdout);
  // revert to the running snapshot: QEMU restarts on its state, the guest does not boot again
  await row('snapshot-revert', d, 'run1');
  await row('domstate', d, '--reason');
  const nic = path.join(host.dir, 'nic.xml');
  writeFileSync(nic, NIC);
  const booted = serial.lines().filter((l) => l.startsWith('@@GUEST-UP')).length;
  await row('attach-device', d, nic, '--live');
  await serial.waitFor(/^@@PCI-ADD /, 60_000);
  assert.equal(serial.lines().filter((l) => l.startsWith('@@GUEST-UP')).length, booted, 'the reverted guest did not boot again');
  await row('snapshot-revert', d, 'run1', '--paused');
  await row('domstate', d, '--reason');
  // revert to the offline snapshot: the domain stops, its disk goes back
  await row('snapshot-revert', d, 'off1');
  await row('domstate', d, '--reason');
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 64k', image], { stdio: 'ignore' });
  await row('snapshot-revert', d, 'off1');
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0 0 64k', image], { stdio: 'ignore' });
  await row('snapshot-current', d, 'run1');
  await row('snapshot-current', d, '--name');
  await row('undefine', d);
  // delete: the current one (its parent becomes current), then only metadata
  await row('snapshot-delete', d, 'run1');
  await row('snapshot-list', d, '--parent');
  await row('snapshot-current', d, '--name');
  const afterDelete = tags(image);
  await row('snapshot-delete', d, 'off1', '--metadata');
  await row('snapshot-list', d);
  // offline external disk-only: a qcow2 overlay named after the snapshot, the definition moves to it
  await row('snapshot-create-as', d, 'ext1', '--disk-only');
  await row('snapshot-list', d, '--external', '--name');
  await row('domblklist', d);
  await row('snapshot-revert', d, 'ext1');
  await row('snapshot-delete', d, 'ext1', '--metadata');
  // running external disk-only: blockdev-snapshot onto a new overlay; the disk's chain grows in both definitions
  await row('start', d);
  await row('snapshot-create-as', d, 'ext2', '--disk-only');
  await row('domblklist', d);
  await row('domstate', d, '--reason');
  const inactive = await row('dumpxml', d, '--inactive');
  inactive.stdout = /<disk [\s\S]*?<\/disk>/.exec(inactive.stdout)?.[0] ?? '';
  // memory to a file in the save image format, disks to overlays, the guest runs on
  await row('snapshot-create-as', d, 'mem1', '--memspec', `file=${path.join(host.dir, 'mem1.save')}`, '--diskspec', `vda,file=${path.join(host.dir, 'disk.mem1')}`);
  await row('domstate', d, '--reason');
  await row('domblklist', d);
  await row('snapshot-info', d, 'mem1');
  await row('snapshot-list', d, '--tree');
  const saved = await row('save-image-dumpxml', path.join(host.dir, 'mem1.save'));
  saved.stdout = /<disk [\s\S]*?<\/disk>/.exec(saved.stdout)?.[0] ?? '';
  await row('snapshot-create-as', d, 'rel', '--memspec', 'file=relative.save');
  await row('destroy', d);
  return { outcomes, tags: [afterDelete, tags(image)] };
}

test('snapshots side by side with libvirt: internal offline and running, lists, revert, delete, external disk-only offline and running', { skip: skip || noLibvirt }, async (t) => {
  const { sides, sandbox: sb } = await qcow2GuestSides(t, 'snap', guest as TestGuest, ['--snapshots-metadata']);
  const [ours, theirs] = await Promise.all(sides.map(({ host, serial, image }) => session(host, serial, image)));
  const differing = differingRows(ours.outcomes, theirs.outcomes);
  assert.deepEqual(differing, [], JSON.stringify(differing, null, 1));
  assert.deepEqual(ours.tags, theirs.tags);
  assert.deepEqual(ours.tags, [['nm', 'off1'], ['nm', 'off1']]);
  assert.ok(existsSync(sb.file('disk.ext1')), "the overlay has libvirt's default name");
});
