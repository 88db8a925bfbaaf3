// libvirt's quirks and explicit topologies (spec sections 4.2 and 9), verified
// against libvirt 9.0 by the spec's author.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child } from '../../src/util/xml.js';
import { assignQemuAddresses } from '../../src/drivers/qemu/address-assign.js';
import {
  devicesOf, domainXml, interfaces, nic, nics, NO_BALLOON, PC_BASE, pci, pciController, pciControllers, Q35_BASE,
} from './pci-fixtures.js';

const pciCtl = (index: number, model: string, inner = '') => `<controller type='pci' index='${index}' model='${model}'>${inner}</controller>`;
const target = (index: number, dom: ReturnType<typeof domainXml>) => child(pciController(dom, index)!, 'target')?.attrs;

const USB2_GROUP = `<controller type='usb' index='0' model='ich9-ehci1'/><controller type='usb' index='0' model='ich9-uhci1'/>
  <controller type='usb' index='0' model='ich9-uhci2'/><controller type='usb' index='0' model='ich9-uhci3'/>
  <controller type='pci' index='0' model='pci-root'/>`;

test('quirk Q3: USB2 companions cost a slot each in the sizing run on pc', () => {
  const fits = domainXml('pc', USB2_GROUP + nics('e1000', 25) + NO_BALLOON);
  assignQemuAddresses(fits);
  assert.equal(pciControllers(fits).length, 1);
  const usb = devicesOf(fits).filter((d) => d.attrs.type === 'usb');
  assert.deepEqual(usb.map(pci), ['00:1b.7', '00:1b.0+mf', '00:1b.1', '00:1b.2']);

  // one NIC more: the sizing run needs a pci-bridge although 00:1e and 00:1f stay free
  const grows = domainXml('pc', USB2_GROUP + nics('e1000', 26) + NO_BALLOON);
  assignQemuAddresses(grows);
  assert.equal(pci(pciController(grows, 1)), '00:02.0');
  assert.equal(pci(interfaces(grows)[25]), '00:1c.0');
  assert.equal(pci(devicesOf(grows).find((d) => d.attrs.model === 'ich9-uhci1')), '00:1d.0+mf');
});

test('q35 USB2 groups go to 00:1d and 00:1a, a third behind the pcie-to-pci-bridge', () => {
  const group = (i: number) => `<controller type='usb' index='${i}' model='ich9-uhci1'/><controller type='usb' index='${i}' model='ich9-ehci1'/>`;
  const dom = domainXml('q35', `<controller type='sata' index='0'/><controller type='pci' index='0' model='pcie-root'/>`
    + group(0) + group(1) + "<controller type='usb' index='2' model='ich9-uhci1'/>" + NO_BALLOON);
  assignQemuAddresses(dom);
  const usb = devicesOf(dom).filter((d) => d.attrs.type === 'usb');
  assert.deepEqual(usb.map(pci), ['00:1d.0+mf', '00:1d.7', '00:1a.0+mf', '00:1a.7', '02:01.0+mf']);
});

test('quirk Q4: a displaced primary video is reserved twice in the sizing run', () => {
  const dom = domainXml('q35', Q35_BASE + NO_BALLOON + nic('e1000e', 1, "<address type='pci' bus='0' slot='1'/>")
    + "<video><model type='virtio' primary='yes'/></video><video><model type='qxl'/></video>");
  assignQemuAddresses(dom);
  const videos = devicesOf(dom).filter((d) => d.name === 'video');
  assert.deepEqual(videos.map(pci), ['01:00.0', '04:01.0']);
  assert.equal(pci(pciController(dom, 4)), '02:00.0');
  const used = new Set(devicesOf(dom).map((d) => child(d, 'address')).filter((a) => a?.attrs.type === 'pci').map((a) => Number(a!.attrs.bus)));
  const empty = pciControllers(dom).filter((c) => c.attrs.model === 'pcie-root-port' && !used.has(Number(c.attrs.index)));
  assert.deepEqual(empty.map((c) => c.attrs.index), ['3', '5']);
});

const VIDEO = "<video><model type='cirrus' primary='yes'/></video>";

test('quirk Q6: aggregation depends on which function of the slot was reserved first', () => {
  const mixed = domainXml('q35', Q35_BASE + NO_BALLOON + VIDEO
    + pciCtl(1, 'pcie-root-port', "<address type='pci' bus='0' slot='2' function='0'/>")
    + nic('e1000e', 1, "<address type='pci' bus='0' slot='2' function='3'/>") + pciCtl(2, 'pcie-root-port'));
  assignQemuAddresses(mixed);
  assert.equal(pci(pciController(mixed, 2)), '00:03.0');
  assert.deepEqual(target(2, mixed), { chassis: '2', port: '0x18' });

  const ports = domainXml('q35', Q35_BASE + NO_BALLOON + VIDEO
    + pciCtl(1, 'pcie-root-port', "<address type='pci' bus='0' slot='2' function='0'/>") + pciCtl(2, 'pcie-root-port') + pciCtl(3, 'pcie-root-port'));
  assignQemuAddresses(ports);
  assert.deepEqual([2, 3].map((i) => pci(pciController(ports, i))), ['00:02.1', '00:02.2']);
});

test('quirk Q7: index gaps are filled with default-model controllers appended after the others', () => {
  const dom = domainXml('q35', Q35_BASE + NO_BALLOON + pciCtl(3, 'pcie-root-port'));
  assignQemuAddresses(dom);
  assert.deepEqual(pciControllers(dom).map((c) => `${c.attrs.index}:${pci(c)}`), ['0:-', '3:00:01.0+mf', '1:00:01.1', '2:00:01.2']);
});

test('explicit topologies: dmi-to-pci-bridge, switch ports and expander buses', () => {
  const dmi = domainXml('q35', Q35_BASE + NO_BALLOON + pciCtl(1, 'dmi-to-pci-bridge') + nic('e1000', 1));
  assignQemuAddresses(dmi);
  assert.deepEqual(pciControllers(dmi).slice(1).map((c) => `${c.attrs.model}@${pci(c)}`), ['dmi-to-pci-bridge@00:1e.0', 'pci-bridge@01:00.0']);
  assert.equal(child(pciController(dmi, 1)!, 'model')?.attrs.name, 'i82801b11-bridge');
  assert.equal(pci(interfaces(dmi)[0]), '02:01.0');

  const sw = domainXml('q35', Q35_BASE + NO_BALLOON + pciCtl(1, 'pcie-root-port') + pciCtl(2, 'pcie-switch-upstream-port')
    + pciCtl(3, 'pcie-switch-downstream-port') + pciCtl(4, 'pcie-switch-downstream-port') + nics('virtio', 3));
  assignQemuAddresses(sw);
  assert.deepEqual(pciControllers(sw).slice(1).map(pci), ['00:01.0+mf', '01:00.0', '02:00.0', '02:01.0', '00:01.1']);
  assert.equal(child(pciController(sw, 2)!, 'model')?.attrs.name, 'x3130-upstream');
  assert.deepEqual([target(3, sw), target(4, sw)], [{ chassis: '3', port: '0x0' }, { chassis: '4', port: '0x1' }]);
  assert.deepEqual(interfaces(sw).map(pci), ['03:00.0', '04:00.0', '05:00.0']);

  const pxb = domainXml('q35', Q35_BASE + NO_BALLOON + pciCtl(1, 'pcie-expander-bus') + pciCtl(2, 'pcie-expander-bus') + pciCtl(3, 'pcie-root-port'));
  assignQemuAddresses(pxb);
  assert.deepEqual(pciControllers(pxb).slice(1).map(pci), ['00:01.0', '00:02.0', '00:03.0']);
  assert.deepEqual([target(1, pxb), target(2, pxb), target(3, pxb)], [{ busNr: '254' }, { busNr: '252' }, { chassis: '3', port: '0x18' }]);

  const pcPxb = domainXml('pc', PC_BASE + NO_BALLOON + pciCtl(1, 'pci-expander-bus') + pciCtl(2, 'pci-expander-bus') + pciCtl(3, 'pci-bridge'));
  assignQemuAddresses(pcPxb);
  assert.deepEqual(pciControllers(pcPxb).slice(1).map(pci), ['00:02.0', '00:03.0', '00:04.0']);
  assert.deepEqual([target(1, pcPxb), target(2, pcPxb)], [{ busNr: '254' }, { busNr: '252' }]);
});

test('pc: the primary video takes slot 2 unless it is taken, then the next free slot first', () => {
  const dom = domainXml('pc', PC_BASE + NO_BALLOON + nic('e1000', 1, "<address type='pci' bus='0' slot='2'/>")
    + "<video><model type='cirrus' primary='yes'/></video><video><model type='qxl'/></video>");
  assignQemuAddresses(dom);
  assert.deepEqual(devicesOf(dom).filter((d) => d.name === 'video').map(pci), ['00:03.0', '00:04.0']);
});
