// Device post-parse defaults and errors through the generic device pipeline
// with the QEMU driver's device hooks (no capabilities needed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatXml, parseXml, type XmlElement } from '../../src/util/xml.js';
import { addImplicitDevices, devicesSchema, parseDevices, postParseDevices } from '../../src/conf/devices/index.js';
import { canonicalize } from '../../src/conf/schema.js';
import { addQemuDefaultDevices } from '../../src/drivers/qemu/device-defaults.js';
import { qemuDeviceHooks } from '../../src/drivers/qemu/device-post-parse.js';
import { diskNameToIndex } from '../../src/conf/devices/disk.js';

const hooks = qemuDeviceHooks({ channelTargetDir: '/var/lib/libvirt/qemu/channel/target' });

function define(arch: string, machine: string, devices: string): XmlElement {
  const dom = parseXml(`<domain type='qemu'><name>t</name><os><type arch='${arch}' machine='${machine}'>hvm</type></os><devices>${devices}</devices></domain>`);
  parseDevices(dom);
  addQemuDefaultDevices(dom);
  postParseDevices(dom, hooks);
  addImplicitDevices(dom, hooks);
  const result = dom.children.find((c) => c.name === 'devices')!;
  canonicalize(result, devicesSchema, { strict: false });
  return result;
}

const lines = (devices: XmlElement) => formatXml(devices).split('\n').map((l) => l.trim());

test('pc gets piix3-uhci USB, pci-root, PS/2 inputs, a virtio balloon and audio none', () => {
  const out = lines(define('x86_64', 'pc', ''));
  assert.ok(out.includes("<controller type='usb' index='0' model='piix3-uhci'/>"));
  assert.ok(out.includes("<controller type='pci' index='0' model='pci-root'/>"));
  assert.ok(out.includes("<input type='mouse' bus='ps2'/>"));
  assert.ok(out.includes("<input type='keyboard' bus='ps2'/>"));
  assert.ok(out.includes("<memballoon model='virtio'/>"));
  assert.ok(out.includes("<audio id='1' type='none'/>"));
});

test('q35 gets qemu-xhci, sata 0 and pcie-root, appended in that order', () => {
  const devices = define('x86_64', 'q35', '');
  const ctrls = devices.children.filter((c) => c.name === 'controller').map((c) => `${c.attrs['type']}/${c.attrs['model'] ?? ''}`);
  assert.deepEqual(ctrls, ['usb/qemu-xhci', 'sata/', 'pci/pcie-root']);
});

test('aarch64 virt: no USB, no balloon, system-serial pl011 with a serial console', () => {
  const out = lines(define('aarch64', 'virt', "<serial type='pty'/>"));
  assert.ok(!out.some((l) => l.includes("type='usb'")));
  assert.ok(!out.some((l) => l.includes('memballoon')));
  assert.ok(out.includes("<target type='system-serial' port='0'>"));
  assert.ok(out.includes("<model name='pl011'/>"));
  assert.ok(out.includes("<target type='serial' port='0'/>"));
});

test('a lone console becomes serial 0 and mirrors it', () => {
  const devices = define('x86_64', 'pc', "<console type='pty'/>");
  const serial = devices.children.find((c) => c.name === 'serial')!;
  const console = devices.children.find((c) => c.name === 'console')!;
  assert.equal(formatXml(serial).replace(/\s+/g, ' ').trim(), "<serial type='pty'> <target type='isa-serial' port='0'> <model name='isa-serial'/> </target> </serial>");
  assert.equal(formatXml(console).replace(/\s+/g, ' ').trim(), "<console type='pty'> <target type='serial' port='0'/> </console>");
});

test('graphics: listen attribute becomes a listen element, a cirrus primary video is added', () => {
  const out = lines(define('x86_64', 'pc', "<graphics type='vnc' listen='127.0.0.1'/>"));
  assert.ok(out.includes("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>"));
  assert.ok(out.includes("<listen type='address' address='127.0.0.1'/>"));
  assert.ok(out.includes("<model type='cirrus' vram='16384' heads='1' primary='yes'/>"));
});

test('disk bus from the target name, drive address and its implicit controller', () => {
  const devices = define('x86_64', 'pc', "<disk device='cdrom'><target dev='sdc'/></disk>");
  const out = lines(devices);
  assert.ok(out.includes("<target dev='sdc' bus='scsi'/>"));
  assert.ok(out.includes('<readonly/>'));
  assert.ok(out.includes("<driver name='qemu' type='raw'/>"));
  assert.ok(out.includes("<address type='drive' controller='0' bus='0' target='0' unit='2'/>"));
  assert.ok(out.includes("<controller type='scsi' index='0' model='lsilogic'/>"));
});

test('interfaces get a 52:54:00 MAC and the rtl8139 model on x86', () => {
  const out = lines(define('x86_64', 'pc', "<interface type='user'/>"));
  assert.ok(out.some((l) => /^<mac address='52:54:00(:[0-9a-f]{2}){3}'\/>$/.test(l)));
  assert.ok(out.includes("<model type='rtl8139'/>"));
});

test('USB companion groups share an index and get start ports', () => {
  const devices = define('x86_64', 'q35', "<controller type='usb' model='ich9-ehci1'/><controller type='usb' model='ich9-uhci1'/>");
  const usb = devices.children.filter((c) => c.attrs['type'] === 'usb');
  assert.deepEqual(usb.map((c) => c.attrs['index']), ['0', '0']);
  assert.equal(usb[1]!.children.find((c) => c.name === 'master')?.attrs['startport'], '0');
});

test('libvirt errors: duplicate controllers, USB none mixed with others, wrong PCI root', () => {
  assert.throws(() => define('x86_64', 'pc', "<controller type='scsi' index='0'/><controller type='scsi' index='0'/>"), /Multiple 'scsi' controllers with index '0'/);
  assert.throws(() => define('x86_64', 'pc', "<controller type='usb' model='none'/><controller type='usb' index='1' model='piix3-uhci'/>"), /Can't add another USB controller: USB is disabled for this domain/);
  assert.throws(() => define('x86_64', 'q35', "<controller type='pci' index='0' model='pci-root'/>"), /must be model='pcie-root' for this machine type, but model='pci-root' was found instead/);
});

test('disk names map to indexes like virDiskNameToIndex', () => {
  assert.equal(diskNameToIndex('sda'), 0);
  assert.equal(diskNameToIndex('hdz'), 25);
  assert.equal(diskNameToIndex('vdaa'), 26);
  assert.equal(diskNameToIndex('vda1'), 0);
  assert.equal(diskNameToIndex('xyz'), -1);
});

const scsiHostdev = (unit: number, addr = '') =>
  `<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='${unit}'/></source>${addr}</hostdev>`;

test('SCSI hostdevs: implicit controllers up to the highest one named, of its model; units within the model\'s limit', () => {
  const devices = define('x86_64', 'pc',
    `<controller type='scsi' index='0' model='lsisas1068'/>${scsiHostdev(0)}${scsiHostdev(1)}${scsiHostdev(2)}` +
    scsiHostdev(3, "<address type='drive' controller='2' bus='0' target='0' unit='0'/>"));
  const scsi = devices.children.filter((c) => c.name === 'controller' && c.attrs['type'] === 'scsi');
  assert.deepEqual(scsi.map((c) => `${c.attrs['index']}/${c.attrs['model']}`), ['0/lsisas1068', '1/lsisas1068', '2/lsisas1068']);
  // lsisas1068 has units 0-1, so the third host device moves to controller 1
  const units = devices.children.filter((c) => c.name === 'hostdev')
    .map((h) => h.children.find((c) => c.name === 'address')!.attrs)
    .map((a) => `${a['controller']}:${a['unit']}`);
  assert.deepEqual(units, ['0:0', '0:1', '1:0', '2:0']);
});

test('SCSI hostdev and SCSI disk on one drive address: libvirt\'s errors', () => {
  const drive = "<address type='drive' controller='0' bus='0' target='0' unit='0'/>";
  const disk = (address: string) => `<disk type='file' device='disk'><source file='/x'/><target dev='sda' bus='scsi'/>${address}</disk>`;
  assert.throws(() => define('x86_64', 'pc', disk('') + scsiHostdev(0, drive)), {
    message: "unsupported configuration: using disk target name 'sda' conflicts with SCSI host device address controller='0' bus='0' target='0' unit='0",
  });
  assert.throws(() => define('x86_64', 'pc', disk(drive) + scsiHostdev(0, drive)), {
    message: "XML error: SCSI host address controller='0' bus='0' target='0' unit='0' in use by a SCSI disk",
  });
});

test('redirfilter versions are BCD major.minor: 9.4 is 9.40; three digits are refused', () => {
  const out = lines(define('x86_64', 'pc', "<redirfilter><usbdev version='9.4' allow='yes'/><usbdev version='1.09' allow='no'/></redirfilter>"));
  assert.ok(out.includes("<usbdev version='9.40' allow='yes'/>"));
  assert.ok(out.includes("<usbdev version='1.09' allow='no'/>"));
  assert.throws(() => define('x86_64', 'pc', "<redirfilter><usbdev version='1.100' allow='yes'/></redirfilter>"), {
    message: 'XML error: Cannot parse USB device version 1.100',
  });
});

test('interfaces: queues=1 is the default, filterref only for network/bridge/ethernet', () => {
  const out = lines(define('x86_64', 'pc',
    "<interface type='user'><model type='virtio'/><driver queues='1'/><filterref filter='f'/></interface>" +
    "<interface type='bridge'><source bridge='br0'/><filterref filter='f'/></interface>"));
  assert.equal(out.filter((l) => l.startsWith('<filterref')).length, 1);
  assert.ok(!out.some((l) => l.includes('queues=')));
});
