// attach-disk on a running guest that already has a disk (issue 14): a virtio
// qcow2 disk and a USB disk hotplugged side by side on tsvirt (embed) and the
// installed libvirt (qemu:///system); the live <disk> elements must be the
// same (node index, alias, address, <backingStore/>), the guest must see the
// disk, and detach must take them away again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, waitUntil, type TestGuest } from './guest.js';
import { libvirtUnavailable, systemVirsh } from '../helpers/libvirt.js';
import { child, childrenNamed, formatXml, parseXml } from '../../src/util/xml.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** disk hotplug: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

function qcow2(file: string, size: string): string {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, size]);
  return file;
}

/** The live <disk> elements with the image folder replaced, so two hosts compare. */
function liveDisks(xml: string, dir: string): string[] {
  const devices = child(parseXml(xml), 'devices')!;
  return childrenNamed(devices, 'disk').map((d) => formatXml(d).replaceAll(dir, 'DIR').replace(/\s+/g, ' '));
}

/** The commands a user runs, against one host; returns the live disks after the attaches and after the detaches. */
async function hotplugDisks(run: (...args: string[]) => Promise<string>, name: string, dir: string) {
  await run('attach-disk', name, qcow2(path.join(dir, 'data.qcow2'), '32M'), 'vdb', '--subdriver', 'qcow2', '--live');
  await run('attach-disk', name, qcow2(path.join(dir, 'usb.qcow2'), '16M'), 'sda', '--targetbus', 'usb', '--subdriver', 'qcow2', '--live', '--persistent');
  const attached = liveDisks(await run('dumpxml', name), dir);
  const inactive = liveDisks(await run('dumpxml', name, '--inactive'), dir);
  await run('detach-disk', name, 'vdb', '--live');
  await run('detach-disk', name, 'sda', '--live');
  // PCIe unplug takes the guest about 5 s, the time detach waits: the device may go a little later
  const detached = await waitUntil('the detached disks to leave the live XML', 30_000, async () => {
    const disks = liveDisks(await run('dumpxml', name), dir);
    return disks.length === 1 ? disks : undefined;
  });
  return { attached, inactive, detached };
}

function domainXml(name: string, dir: string, serialPath: string): string {
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${qcow2(path.join(dir, 'a.qcow2'), '64M')}'/><target dev='vda' bus='virtio'/></disk>`;
  return guestDomainXML({ name, machine: 'q35', serialPath, guest: guest as TestGuest, devices: disk });
}

test('attach-disk --live on a guest with a disk: the guest sees it; live XML, node names and detach as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = new SerialLog(sb.file('serial.log'));
  await sb.define(domainXml('disks', sb.dir, serial.path));
  await sb.ok('start', 'disks');
  await serial.bootPciDevices(BOOT_TIMEOUT_MS);
  const from = serial.lines().length;
  const ours = await hotplugDisks(async (...args) => (await sb.ok(...args)).stdout, 'disks', sb.dir);
  // the virtio disk appeared in the guest (and went again)
  const added = await serial.waitFor(/^@@PCI-ADD /, 30_000, from);
  assert.match(added.line, / 1af4:1042 /);
  await serial.waitFor(/^@@PCI-DEL /, 30_000, from);

  assert.equal(ours.attached.length, 3);
  assert.match(ours.attached[0], /<source file='DIR\/a.qcow2' index='1'\/> <backingStore\/>/);
  assert.match(ours.attached[1], /<source file='DIR\/data.qcow2' index='2'\/> <backingStore\/>.*<alias name='virtio-disk1'\/>/);
  assert.match(ours.attached[2], /<source file='DIR\/usb.qcow2' index='3'\/>.*<alias name='usb-disk0'\/> <address type='usb' bus='0' port='1'\/>/);
  assert.equal(ours.inactive.length, 2, '--persistent put the USB disk into the definition too');
  assert.equal(ours.detached.length, 1);
  // QEMU has exactly the nodes of the one disk left
  await sb.ok('destroy', 'disks');

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  // libvirt's QEMU runs as another user: its images live in a folder it can reach
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-lv-');
  chmodSync(dir, 0o777); // QEMU, as libvirt's user, writes the console file here
  const name = `tsvirt-e2e-disks-${process.pid}`;
  t.after(() => {
    systemVirsh('destroy', name);
    systemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  const virsh = async (...args: string[]) => {
    const r = systemVirsh(...args);
    if (!r.ok) throw new Error(`virsh ${args.join(' ')}: ${r.error}`);
    return r.out;
  };
  const def = path.join(dir, 'def.xml');
  const console = new SerialLog(path.join(dir, 'serial.log'));
  writeFileSync(def, domainXml(name, dir, console.path));
  await virsh('define', def);
  await virsh('start', name);
  // as above: a PCIe unplug needs the guest's hotplug driver up
  await console.bootPciDevices(BOOT_TIMEOUT_MS);
  const theirs = await hotplugDisks(virsh, name, dir);
  assert.deepEqual(ours.attached, theirs.attached);
  assert.deepEqual(ours.inactive, theirs.inactive);
  assert.deepEqual(ours.detached, theirs.detached);
});
