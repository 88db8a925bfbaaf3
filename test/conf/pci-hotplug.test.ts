// Beyond define: addresses for hot-plugged devices (spec section 7), tsvirt's
// configurable spare root ports, and the PCI topology report.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child, parseXml, type XmlElement } from '../../src/util/xml.js';
import { assignAddressForNewDevice, assignQemuAddresses, qemuPciTopology } from '../../src/drivers/qemu/address-assign.js';
import type { PciTopologyBus } from '../../src/conf/pci-topology.js';
import {
  devicesOf, domainXml, interfaces, nic, nics, NO_BALLOON, PC_BASE, pci, pciControllers, Q35_BASE,
} from './pci-fixtures.js';

function attach(dom: XmlElement, xml: string): string {
  const dev = parseXml(xml);
  assignAddressForNewDevice(dom, dev);
  devicesOf(dom).push(dev);
  return pci(dev);
}

test('hotplug on q35 uses the spare root port, then reports libvirt errors', () => {
  const dom = domainXml('q35', Q35_BASE + nic('virtio', 1) + NO_BALLOON);
  assignQemuAddresses(dom);
  assert.equal(attach(dom, nic('virtio', 2)), '02:00.0');
  assert.throws(() => attach(dom, nic('virtio', 3)), { message: 'internal error: No more available PCI slots' });
  assert.throws(() => attach(dom, nic('e1000', 4)), { message: 'internal error: No more available PCI slots' });
  assert.throws(() => attach(dom, nic('virtio', 5, "<address type='pci' bus='0' slot='5'/>")), {
    message: "XML error: The device at PCI address 0000:00:05.0 requires hotplug capability, but the PCI controller with index='0' doesn't support hotplug",
  });
  assert.throws(() => attach(dom, nic('virtio', 6, "<address type='pci' bus='0' slot='5' function='1'/>")), {
    message: 'internal error: Only PCI device addresses with function=0 are supported',
  });
  assert.throws(() => attach(dom, nic('virtio', 7, "<address type='pci' bus='9' slot='0'/>")), {
    message: 'XML error: Invalid PCI address 0000:09:00.0. Only PCI buses up to 2 are available',
  });
});

test('hotplug skips a root port with hotplug off and fills the pcie-to-pci-bridge', () => {
  const dom = domainXml('q35', Q35_BASE + NO_BALLOON
    + "<controller type='pci' index='1' model='pcie-root-port'><target hotplug='off'/></controller>"
    + "<controller type='pci' index='2' model='pcie-root-port'/><controller type='pci' index='3' model='pcie-to-pci-bridge'/>"
    + "<controller type='pci' index='4' model='pcie-root-port'/>" + nic('virtio', 1));
  assignQemuAddresses(dom);
  assert.deepEqual(pciControllers(dom).slice(1).map(pci), ['00:01.0+mf', '00:01.1', '01:00.0', '00:01.2']);
  assert.equal(pci(interfaces(dom)[0]), '02:00.0');
  assert.equal(attach(dom, nic('virtio', 2)), '04:00.0');
  assert.equal(attach(dom, nic('e1000', 3)), '03:01.0');
  assert.equal(attach(dom, nic('e1000', 4)), '03:02.0');
  assert.throws(() => attach(dom, nic('virtio', 5)), { message: 'internal error: No more available PCI slots' });
});

test('hotplug on pc takes the next free slot, and refuses a used one', () => {
  const dom = domainXml('pc', PC_BASE + nic('virtio', 1) + NO_BALLOON, '<features><acpi/></features>');
  assignQemuAddresses(dom);
  assert.equal(pci(interfaces(dom)[0]), '00:02.0');
  assert.equal(attach(dom, nic('virtio', 2)), '00:03.0');
  assert.equal(attach(dom, nic('e1000', 3)), '00:04.0');
  assert.throws(() => attach(dom, nic('e1000', 4, "<address type='pci' bus='0' slot='3'/>")), {
    message: 'XML error: Attempted double use of PCI Address 0000:00:03.0',
  });
});

test('an explicit hotplug address is checked as libvirt checks it: hotplug off, slot range, kind of bus', () => {
  const dom = domainXml('q35', Q35_BASE + NO_BALLOON
    + "<controller type='pci' index='1' model='pcie-root-port'><target hotplug='off'/></controller>"
    + "<controller type='pci' index='2' model='pcie-root-port'/><controller type='pci' index='3' model='pcie-root-port'/>");
  assignQemuAddresses(dom);
  assert.throws(() => attach(dom, nic('virtio', 1, "<address type='pci' bus='1' slot='0'/>")), {
    message: "XML error: The device at PCI address 0000:01:00.0 requires hotplug capability, but the PCI controller with index='1' doesn't support hotplug",
  });
  assert.throws(() => attach(dom, nic('virtio', 2, "<address type='pci' bus='2' slot='3'/>")), {
    message: 'XML error: Invalid PCI address 0000:02:03.0. slot must be <= 0',
  });
  assert.throws(() => attach(dom, nic('virtio', 3, "<address type='pci' domain='1' bus='2' slot='0'/>")), {
    message: 'XML error: Invalid PCI address 0001:02:00.0. Only PCI domain 0 is available',
  });
  // function 0 is checked before anything else, multifunction or not
  assert.throws(() => attach(dom, nic('virtio', 4, "<address type='pci' bus='1' slot='0' function='2' multifunction='on'/>")), {
    message: 'internal error: Only PCI device addresses with function=0 are supported',
  });
  assert.equal(attach(dom, nic('virtio', 5, "<address type='pci' bus='3' slot='0'/>")), '03:00.0');
  assert.throws(() => attach(dom, nic('virtio', 6, "<address type='pci' bus='3' slot='0'/>")), {
    message: 'XML error: Attempted double use of PCI Address 0000:03:00.0',
  });
  // an empty PCI address means "pick one"; a non-PCI address is left alone
  assert.equal(attach(dom, nic('virtio', 7, "<address type='pci'/>")), '02:00.0');
  const mmio = parseXml(nic('virtio', 8, "<address type='virtio-mmio'/>"));
  assert.equal(assignAddressForNewDevice(dom, mmio), undefined);
  assert.equal(child(mmio, 'address')?.attrs.type, 'virtio-mmio');
});

test('a PCI device on a pci-bridge hotplugs; the bridge with hotplug off refuses', () => {
  const dom = domainXml('pc', PC_BASE + NO_BALLOON
    + "<controller type='pci' index='1' model='pci-bridge'/><controller type='pci' index='2' model='pci-bridge'><target hotplug='off'/></controller>",
  '<features><acpi/></features>');
  assignQemuAddresses(dom);
  assert.equal(attach(dom, nic('e1000', 1, "<address type='pci' bus='1' slot='7'/>")), '01:07.0');
  assert.throws(() => attach(dom, nic('e1000', 2, "<address type='pci' bus='2' slot='7'/>")), {
    message: "XML error: The device at PCI address 0000:02:07.0 requires hotplug capability, but the PCI controller with index='2' doesn't support hotplug",
  });
  assert.throws(() => attach(dom, nic('e1000', 3, "<address type='pci' bus='1' slot='0'/>")), {
    message: 'XML error: Invalid PCI address 0000:01:00.0. slot must be >= 1',
  });
});

const MIXED_Q35 = `<controller type='usb' index='0' model='qemu-xhci'/><controller type='sata' index='0'/>
  <controller type='pci' index='0' model='pcie-root'/>
  <disk type='file' device='disk'><source file='/x.qcow2'/><target dev='vda' bus='virtio'/></disk>
  ${nic('virtio', 1)}${nic('e1000', 2)}${nic('e1000e', 3)}
  <video><model type='virtio' heads='1' primary='yes'/></video><memballoon model='virtio'/><rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>`;

function addressesOfDevices(dom: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  const ordinal: Record<string, number> = {};
  for (const d of devicesOf(dom)) {
    const n = ordinal[d.name] = (ordinal[d.name] ?? -1) + 1;
    let key = `${d.name}#${n}`;
    if (d.name === 'disk') key = `disk ${child(d, 'target')?.attrs.dev}`;
    if (d.name === 'interface') key = `interface ${child(d, 'mac')?.attrs.address}`;
    if (d.name === 'controller') key = `controller ${d.attrs.type} ${d.attrs.index}`;
    out.set(key, pci(d).replace('+mf', ''));
  }
  return out;
}

function emptyRootPorts(dom: XmlElement): number {
  const used = new Set(devicesOf(dom).map((d) => child(d, 'address')).filter((a) => a?.attrs.type === 'pci').map((a) => Number(a!.attrs.bus)));
  return pciControllers(dom).filter((c) => c.attrs.model === 'pcie-root-port' && !used.has(Number(c.attrs.index))).length;
}

test('8 spare root ports on q35: every device keeps the address it gets with 1', () => {
  const one = domainXml('q35-7.2', MIXED_Q35);
  const eight = domainXml('q35-7.2', MIXED_Q35);
  assignQemuAddresses(one, { sparePciePorts: 1 });
  assignQemuAddresses(eight, { sparePciePorts: 8 });
  assert.equal(emptyRootPorts(one), 1);
  assert.equal(emptyRootPorts(eight), 8);
  const base = addressesOfDevices(one);
  const more = addressesOfDevices(eight);
  for (const [key, addr] of base) assert.equal(more.get(key), addr, key);
  // the extra ports are packed: functions of the slots after libvirt's ports, 8 per slot
  const extra = pciControllers(eight).slice(pciControllers(one).length).map(pci);
  assert.equal(extra.length, 7);
  assert.ok(extra.every((a) => /^00:0[2-9a-f]\.[0-7]/.test(a)), extra.join(' '));
});

test('the tsvirt metadata element overrides the configured count; 0 disables the reservation', () => {
  const meta = (n: string) => `<metadata><ts:hotplug xmlns:ts='https://tsvirt.dev/xmlns/domain/1.0' pcie-ports='${n}'/></metadata>`;
  const three = domainXml('q35', Q35_BASE + nic('virtio', 1) + NO_BALLOON, meta('3'));
  assignQemuAddresses(three, { sparePciePorts: 8 });
  assert.equal(emptyRootPorts(three), 3);
  const none = domainXml('q35', Q35_BASE + nic('virtio', 1) + NO_BALLOON, meta('0'));
  assignQemuAddresses(none);
  assert.equal(emptyRootPorts(none), 0);
  const bad = domainXml('q35', Q35_BASE + nic('virtio', 1) + NO_BALLOON, meta('many'));
  assert.throws(() => assignQemuAddresses(bad), /invalid hotplug pcie-ports 'many'/);
});

test('spare counts QEMU cannot take are refused with a clear error', () => {
  const dom = domainXml('q35', Q35_BASE + nics('virtio', 200) + NO_BALLOON);
  assert.throws(() => assignQemuAddresses(dom, { sparePciePorts: 60 }),
    /cannot reserve 60 hotplug pcie-root-ports: (PCI bus numbers would exceed 255|no free function left on pcie-root)/);
});

function walk(bus: PciTopologyBus, visit: (bus: PciTopologyBus) => void): void {
  visit(bus);
  for (const s of bus.slots) for (const f of s.functions) if (f.bus !== undefined) walk(f.bus, visit);
}

test('topology of q35 + e1000: tree, hotpluggable empty slots and summary', () => {
  const dom = domainXml('q35', Q35_BASE + nic('e1000', 1) + NO_BALLOON);
  assignQemuAddresses(dom);
  const topo = qemuPciTopology(dom);
  assert.equal(topo.root.model, 'pcie-root');
  assert.equal(topo.root.hotplug, false);
  const slot1 = topo.root.slots.find((s) => s.slot === 1)!;
  assert.deepEqual(slot1.functions.map((f) => [f.address, f.device?.model]), [
    ['0000:00:01.0', 'pci pcie-root-port'], ['0000:00:01.1', 'pci pcie-root-port'],
  ]);
  const slot1f = topo.root.slots.find((s) => s.slot === 0x1f)!;
  assert.deepEqual(slot1f.functions.map((f) => f.chipset ?? f.device?.kind), ['ICH9 LPC / ISA bridge', 'controller', 'ICH9 SMBus']);
  assert.equal(topo.root.slots.find((s) => s.slot === 5)!.hotpluggable, false);
  const buses: PciTopologyBus[] = [];
  walk(topo.root, (b) => buses.push(b));
  assert.deepEqual(buses.map((b) => `${b.index}:${b.model}`), ['0:pcie-root', '1:pcie-root-port', '2:pcie-to-pci-bridge', '3:pcie-root-port']);
  const bridge = buses[2]!;
  assert.equal(bridge.slots.find((s) => s.slot === 1)!.functions[0]!.device?.model, 'e1000');
  assert.deepEqual(topo.summary, { freeHotplugPciePorts: 1, freeHotplugPciSlots: 30, canAddControllersOffline: true });
});

test('topology of pc: root slots hotpluggable only with ACPI', () => {
  const withAcpi = domainXml('pc', PC_BASE + nic('e1000', 1) + NO_BALLOON, '<features><acpi/></features>');
  assignQemuAddresses(withAcpi);
  const t = qemuPciTopology(withAcpi, (el) => (el.name === 'interface' ? 'net0' : undefined));
  assert.equal(t.root.slots.find((s) => s.slot === 2)!.functions[0]!.device?.alias, 'net0');
  assert.deepEqual(t.summary, { freeHotplugPciePorts: 0, freeHotplugPciSlots: 29, canAddControllersOffline: true });
  const noAcpi = domainXml('pc', PC_BASE + nic('e1000', 1) + NO_BALLOON);
  assignQemuAddresses(noAcpi);
  assert.equal(qemuPciTopology(noAcpi).summary.freeHotplugPciSlots, 0);
});
