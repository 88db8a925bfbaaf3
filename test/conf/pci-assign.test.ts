// The address engine against the verified examples of
// ../shared/docs/pci-address-assignment.md (sections 2-5, 9).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child, cloneElement, formatXml } from '../../src/util/xml.js';
import { assignQemuAddresses } from '../../src/drivers/qemu/address-assign.js';
import {
  domainXml, interfaces, nic, nics, NO_BALLOON, PC_BASE, pci, pciController, pciControllers, Q35_BASE,
} from './pci-fixtures.js';

const target = (el: ReturnType<typeof pciController>) => child(el!, 'target')?.attrs;
const modelName = (el: ReturnType<typeof pciController>) => child(el!, 'model')?.attrs.name;

test('q35 with graphics and default devices: video on 00:01.0, three root ports packed in slot 2', () => {
  const dom = domainXml('pc-q35-7.2', `<controller type='usb' index='0' model='qemu-xhci'/><controller type='sata' index='0'/>
    <controller type='pci' index='0' model='pcie-root'/>
    <video><model type='cirrus' vram='16384' heads='1' primary='yes'/></video><memballoon model='virtio'/>`);
  assignQemuAddresses(dom);
  const devs = child(dom, 'devices')!.children;
  assert.deepEqual(pciControllers(dom).slice(1).map(pci), ['00:02.0+mf', '00:02.1', '00:02.2']);
  assert.deepEqual([1, 2, 3].map((i) => target(pciController(dom, i))), [
    { chassis: '1', port: '0x10' }, { chassis: '2', port: '0x11' }, { chassis: '3', port: '0x12' },
  ]);
  assert.equal(modelName(pciController(dom, 1)), 'pcie-root-port');
  assert.equal(pci(devs.find((d) => d.name === 'video')), '00:01.0');
  assert.equal(pci(devs.find((d) => d.name === 'controller' && d.attrs.type === 'usb')), '01:00.0');
  assert.equal(pci(devs.find((d) => d.name === 'controller' && d.attrs.type === 'sata')), '00:1f.2');
  assert.equal(pci(devs.find((d) => d.name === 'memballoon')), '02:00.0');
});

test('q35 with one e1000: root port + pcie-to-pci-bridge, and a separate spare root port', () => {
  const dom = domainXml('q35', Q35_BASE + nic('e1000', 1) + NO_BALLOON);
  assignQemuAddresses(dom);
  assert.deepEqual(pciControllers(dom).map((c) => c.attrs.model), ['pcie-root', 'pcie-root-port', 'pcie-to-pci-bridge', 'pcie-root-port']);
  assert.deepEqual(pciControllers(dom).slice(1).map(pci), ['00:01.0+mf', '01:00.0', '00:01.1']);
  assert.equal(modelName(pciController(dom, 2)), 'pcie-pci-bridge');
  assert.deepEqual(target(pciController(dom, 3)), { chassis: '3', port: '0x9' });
  assert.equal(pci(interfaces(dom)[0]), '02:01.0');
});

test('q35 with ten virtio NICs: root ports packed 8 per slot, one spare', () => {
  const dom = domainXml('q35', Q35_BASE + nics('virtio', 10) + NO_BALLOON);
  assignQemuAddresses(dom);
  const ports = pciControllers(dom).slice(1);
  assert.equal(ports.length, 11);
  assert.deepEqual(ports.map(pci), [
    '00:01.0+mf', '00:01.1', '00:01.2', '00:01.3', '00:01.4', '00:01.5', '00:01.6', '00:01.7', '00:02.0+mf', '00:02.1', '00:02.2',
  ]);
  assert.deepEqual(interfaces(dom).map(pci), Array.from({ length: 10 }, (_, i) => `${(i + 1).toString(16).padStart(2, '0')}:00.0`));
});

test('pc: 29 e1000 fit with slot 0x1f left free; 30 need a pci-bridge at 00:02.0', () => {
  const fit = domainXml('pc', PC_BASE + nics('e1000', 29) + NO_BALLOON);
  assignQemuAddresses(fit);
  assert.equal(pciControllers(fit).length, 1);
  assert.equal(pci(interfaces(fit)[28]), '00:1e.0');
  assert.equal(pci(child(fit, 'devices')!.children[0]), '00:01.2');

  const over = domainXml('pc', PC_BASE + nics('e1000', 30) + NO_BALLOON);
  assignQemuAddresses(over);
  const bridge = pciController(over, 1)!;
  assert.equal(bridge.attrs.model, 'pci-bridge');
  assert.equal(pci(bridge), '00:02.0');
  assert.deepEqual(target(bridge), { chassisNr: '1' });
  assert.equal(pci(interfaces(over)[0]), '00:03.0');
  assert.equal(pci(interfaces(over)[29]), '01:01.0');
});

test('pc: an explicit address on a missing bus creates the pci-bridges up to it', () => {
  const dom = domainXml('pc', PC_BASE + nic('e1000', 1, "<address type='pci' bus='3' slot='1'/>") + NO_BALLOON);
  assignQemuAddresses(dom);
  assert.deepEqual(pciControllers(dom).slice(1).map(pci), ['00:02.0', '00:03.0', '00:04.0']);
  assert.equal(pci(interfaces(dom)[0]), '03:01.0');
});

test('quirk Q2: an explicit legacy address one past the last bus is bumped on q35', () => {
  const dom = domainXml('q35', Q35_BASE + nic('e1000', 1, "<address type='pci' bus='1' slot='1'/>") + NO_BALLOON);
  assignQemuAddresses(dom);
  assert.equal(pci(interfaces(dom)[0]), '02:01.0');
});

test('quirk Q9: bus 0 slot 0 means "assign for me" whatever the function', () => {
  const dom = domainXml('pc', PC_BASE + nic('e1000', 1, "<address type='pci' slot='0' function='3'/>") + NO_BALLOON);
  assignQemuAddresses(dom);
  assert.equal(pci(interfaces(dom)[0]), '00:02.0');
});

test('octal slot numbers are read as libvirt reads them', () => {
  const dom = domainXml('pc', PC_BASE + nic('e1000', 1, "<address type='pci' bus='0' slot='010'/>") + NO_BALLOON);
  assignQemuAddresses(dom);
  assert.equal(pci(interfaces(dom)[0]), '00:08.0');
  assert.equal(formatXml(child(interfaces(dom)[0]!, 'address')!).trim(),
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x08' function='0x0'/>");
});

test('multifunction: function 0 is marked on, an explicit off is kept, no mark without function 0', () => {
  const dom = domainXml('pc', PC_BASE + NO_BALLOON
    + nic('e1000', 1, "<address type='pci' bus='0' slot='5' function='0'/>")
    + nic('e1000', 2, "<address type='pci' bus='0' slot='5' function='1'/>")
    + nic('e1000', 3, "<address type='pci' bus='0' slot='6' function='0' multifunction='off'/>")
    + nic('e1000', 4, "<address type='pci' bus='0' slot='6' function='2'/>")
    + nic('e1000', 5, "<address type='pci' bus='0' slot='7' function='1'/>"));
  assignQemuAddresses(dom);
  assert.deepEqual(interfaces(dom).map(pci), ['00:05.0+mf', '00:05.1', '00:06.0', '00:06.2', '00:07.1']);
  assert.equal(child(interfaces(dom)[2]!, 'address')!.attrs.multifunction, 'off');
});

test('q35 with 240 virtio NICs: no room for the spare root port', () => {
  const dom = domainXml('q35', Q35_BASE + nics('virtio', 240) + NO_BALLOON);
  assert.throws(() => assignQemuAddresses(dom), {
    message: "internal error: a PCI slot is needed to connect a PCI controller model='pcie-root-port', but none is available, and it cannot be automatically added",
  });
});

test('address errors carry libvirt messages', () => {
  const twice = domainXml('pc', PC_BASE + NO_BALLOON
    + nic('e1000', 1, "<address type='pci' bus='0' slot='3'/>") + nic('e1000', 2, "<address type='pci' bus='0' slot='3'/>"));
  assert.throws(() => assignQemuAddresses(twice), { message: 'XML error: Attempted double use of PCI Address 0000:00:03.0' });

  const onPort = domainXml('q35', Q35_BASE + NO_BALLOON + "<controller type='pci' index='1' model='pcie-root-port'/>"
    + nic('virtio', 1, "<address type='pci' bus='1' slot='1'/>"));
  assert.throws(() => assignQemuAddresses(onPort), { message: 'XML error: Invalid PCI address 0000:01:01.0. slot must be <= 0' });

  const sata = domainXml('q35', Q35_BASE.replace("<controller type='sata' index='0'/>",
    "<controller type='sata' index='0'><address type='pci' bus='0' slot='3'/></controller>") + NO_BALLOON);
  assert.throws(() => assignQemuAddresses(sata), { message: 'internal error: Primary SATA controller must have PCI address 0:0:1f.2' });

  const bridgeOnItself = domainXml('q35', Q35_BASE + NO_BALLOON + "<controller type='pci' index='1' model='pci-bridge'/>");
  assert.throws(() => assignQemuAddresses(bridgeOnItself), {
    message: "unsupported configuration: PCI controller at index 1 (0x01) has bus='0x01', but index must be larger than bus",
  });
});

test('no spare root port when the user wrote PCI controllers, or when nothing was invented', () => {
  const userPorts = domainXml('q35', Q35_BASE + NO_BALLOON + "<controller type='pci' index='1' model='pcie-root-port'/>" + nics('virtio', 2));
  assignQemuAddresses(userPorts);
  assert.equal(pciControllers(userPorts).length, 3);

  const bare = domainXml('q35', Q35_BASE + NO_BALLOON);
  assignQemuAddresses(bare);
  assert.equal(pciControllers(bare).length, 1);
});

test('assignment is stable: a second run changes nothing', () => {
  const dom = domainXml('q35', Q35_BASE + nic('e1000', 1) + nics('virtio', 3) + "<memballoon model='virtio'/>");
  assignQemuAddresses(dom);
  const once = formatXml(dom);
  assignQemuAddresses(dom);
  assert.equal(formatXml(dom), once);
  assert.equal(formatXml(cloneElement(dom)), once);
});
