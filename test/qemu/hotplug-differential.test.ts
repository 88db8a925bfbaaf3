// Differential check of hotplug address validation against the installed
// libvirt: a small q35 TCG guest runs under qemu:///system, NICs with explicit
// PCI addresses are attached live there, and tsvirt's check of the same NIC
// against libvirt's own live definition must give the same verdict and
// message. Skips loudly where libvirtd is not answering.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libvirtUnavailable, systemVirsh } from '../helpers/libvirt.js';
import { assignAddressForNewDevice } from '../../src/drivers/qemu/address-assign.js';
import { deviceAddressOf, pciAddressString } from '../../src/conf/device-address.js';
import { child, parseXml, type XmlElement } from '../../src/util/xml.js';

const skip = libvirtUnavailable();
if (skip !== false) console.warn(`SKIPPING hotplug-differential: ${skip}`);

const NAME = `tsvirt-hotplug-diff-${process.pid}`;
const GUEST = `<domain type='qemu'><name>${NAME}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'><target hotplug='off'/></controller>
    <controller type='pci' index='2' model='pcie-root-port'/>
    <controller type='pci' index='3' model='pcie-root-port'/>
    <controller type='pci' index='4' model='pcie-to-pci-bridge'/>
    <memballoon model='none'/>
  </devices></domain>`;

const nic = (mac: number, model: string, address: string) =>
  `<interface type='user'><mac address='52:54:00:d1:ff:${mac.toString(16).padStart(2, '0')}'/><model type='${model}'/>${address}</interface>`;

/** NICs to attach in order; later ones see the slots earlier successes took. */
const CASES = [
  nic(1, 'virtio', "<address type='pci' bus='0x00' slot='0x05' function='0x0'/>"),
  nic(2, 'virtio', "<address type='pci' bus='0x01' slot='0x00' function='0x0'/>"),
  nic(3, 'virtio', "<address type='pci' bus='0x02' slot='0x00' function='0x1'/>"),
  nic(4, 'virtio', "<address type='pci' bus='0x02' slot='0x03' function='0x0'/>"),
  nic(5, 'virtio', "<address type='pci' bus='0x09' slot='0x00' function='0x0'/>"),
  nic(6, 'virtio', "<address type='pci' bus='0x03' slot='0x00' function='0x0'/>"),
  nic(7, 'virtio', "<address type='pci' bus='0x03' slot='0x00' function='0x0'/>"),
  nic(8, 'e1000', "<address type='pci' bus='0x04' slot='0x00' function='0x0'/>"),
  nic(9, 'e1000', "<address type='pci' bus='0x04' slot='0x02' function='0x0'/>"),
];

const pciOf = (device: XmlElement | undefined) => {
  const address = device === undefined ? undefined : deviceAddressOf(device);
  return address?.type === 'pci' ? pciAddressString(address) : 'none';
};

/** virsh's "error: Failed to attach device from FILE\nerror: MESSAGE" as MESSAGE. */
function libvirtMessage(error: string): string {
  return error.split('\n').filter((l) => l.startsWith('error: ')).map((l) => l.slice('error: '.length)).at(-1) ?? error;
}

test('an explicit hotplug PCI address gets libvirt\'s verdict and message', { skip, timeout: 240_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-hotplug-diff-'));
  t.after(() => {
    systemVirsh('destroy', NAME);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'guest.xml'), GUEST);
  const started = systemVirsh('create', join(dir, 'guest.xml'));
  assert.ok(started.ok, `libvirt could not start the guest: ${started.ok ? '' : started.error}`);
  let verdicts = 0;
  for (const [i, xml] of CASES.entries()) {
    const dumped = systemVirsh('dumpxml', NAME);
    assert.ok(dumped.ok);
    const live = parseXml(dumped.out);
    const device = parseXml(xml);
    child(live, 'devices')!.children.push(device);
    let ours: string;
    try {
      assignAddressForNewDevice(live, device);
      ours = 'attached';
    } catch (e) {
      ours = (e as Error).message;
    }
    const file = join(dir, `nic${i}.xml`);
    writeFileSync(file, xml);
    const theirs = systemVirsh('attach-device', NAME, file, '--live');
    const expected = theirs.ok ? 'attached' : libvirtMessage(theirs.error);
    assert.equal(ours, expected, xml);
    t.diagnostic(`${child(device, 'address')?.attrs.bus}:${child(device, 'address')?.attrs.slot}.${child(device, 'address')?.attrs.function}: ${expected}`);
    verdicts++;
    if (theirs.ok) {
      // libvirt's live XML now has the NIC where we put it
      const after = systemVirsh('dumpxml', NAME);
      assert.ok(after.ok);
      const mac = child(device, 'mac')!.attrs.address;
      const attached = child(parseXml(after.out), 'devices')!.children.find((d) => d.name === 'interface' && child(d, 'mac')?.attrs.address === mac);
      assert.equal(pciOf(attached), pciOf(device), xml);
    }
  }
  t.diagnostic(`${verdicts} hotplug verdicts compared with libvirt`);
});
