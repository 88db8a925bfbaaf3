// Which live device a detach request names (qemuFindDisk / virDomainNetFindIdx), with libvirt's errors;
// and the attach path's address checks, which run before QEMU is asked anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceHotplug, findLiveDevice, type HotplugHost } from '../../src/drivers/qemu/hotplug.js';
import { assignAddressForNewDevice, assignQemuAddresses } from '../../src/drivers/qemu/address-assign.js';
import type { QemuRuntime, RunningDomain } from '../../src/drivers/qemu/lifecycle.js';
import { child, cloneElement, parseXml, type XmlElement } from '../../src/util/xml.js';

const live = parseXml(`<domain type='qemu' id='1'><name>vm</name><devices>
  <disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/><alias name='virtio-disk0'/>
    <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></disk>
  <interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/><alias name='net0'/>
    <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></interface>
  <interface type='user'><mac address='52:54:00:00:00:02'/><model type='virtio'/><alias name='net1'/>
    <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></interface>
  <interface type='user'><mac address='52:54:00:00:00:02'/><model type='e1000'/><alias name='net2'/>
    <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></interface>
</devices></domain>`);
const alias = (xml: string) => child(findLiveDevice(live, parseXml(xml)), 'alias')?.attrs.name;

test('a disk is found by its target, whatever else the request says', () => {
  assert.equal(alias("<disk type='file'><source file='/other.img'/><target dev='vda'/></disk>"), 'virtio-disk0');
  assert.throws(() => alias("<disk type='file'><target dev='vdz'/></disk>"), { message: 'device not found: disk vdz not found' });
});

test('a NIC is found by MAC, narrowed by PCI address or alias', () => {
  assert.equal(alias("<interface type='user'><mac address='52:54:00:00:00:01'/></interface>"), 'net0');
  assert.equal(alias("<interface type='user'><mac address='52:54:00:00:00:02'/><address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/></interface>"), 'net2');
  assert.equal(alias("<interface type='user'><mac address='52:54:00:00:00:02'/><alias name='net1'/></interface>"), 'net1');
  assert.throws(() => alias("<interface type='user'><mac address='52:54:00:00:00:02'/></interface>"), { message: 'operation failed: multiple devices matching MAC address 52:54:00:00:00:02 found' });
  assert.throws(() => alias("<interface type='user'/>"), { message: 'operation failed: multiple matching devices found' });
  assert.throws(() => alias("<interface type='user'><mac address='52:54:00:00:00:09'/></interface>"), {
    message: "device not found: no device found at address '(<null>)' matching MAC address '52:54:00:00:00:09' and alias '(<null>)'",
  });
});

test('devices that cannot be unplugged live are refused', () => {
  assert.throws(() => alias("<video><model type='vga'/></video>"), { message: "Operation not supported: live detach of device 'video' is not supported" });
});

/** A running q35 domain, addressed as at define time, with QEMU replaced by a recorder of QMP commands. */
function runningQ35() {
  const live = parseXml(`<domain type='qemu' id='1'><name>vm</name><os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>
    <controller type='usb' index='0' model='none'/><controller type='sata' index='0'/><controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/><controller type='pci' index='2' model='pcie-root-port'><target hotplug='off'/></controller>
    <memballoon model='none'/></devices></domain>`);
  assignQemuAddresses(live, { sparePciePorts: 0 });
  const qmp: Array<[string, unknown]> = [];
  const runtime = {
    ensureMonitor: async () => ({ execute: async (command: string, args: unknown) => { qmp.push([command, args]); } }),
    saveStatus: async () => undefined,
  } as unknown as QemuRuntime;
  const host: HotplugHost = {
    // Just the -device of each aliased NIC, carrying its address: enough for the plan.
    buildCommandLine: (def: XmlElement) => ({
      env: [], binary: 'qemu', args: child(def, 'devices')!.children.filter((d) => d.name === 'interface').flatMap((d) => {
        const a = child(d, 'address')!.attrs;
        return ['-device', JSON.stringify({ driver: 'virtio-net-pci', id: child(d, 'alias')?.attrs.name, bus: `pci.${Number(a.bus)}`, addr: a.slot })];
      }),
    }),
    assignHotplugAddress: (def, device) => void assignAddressForNewDevice(def, device),
    // no files to label: the recorder never reaches the point where QEMU would open one
    security: { labelDevice: async () => undefined, restoreDevice: async () => undefined, qemuOwner: () => undefined },
    // user-mode NICs need no host tap
    taps: { plug: async () => undefined, unplug: async () => undefined },
  };
  const dom = { id: 1, live } as unknown as RunningDomain;
  return { dom, qmp, hotplug: new DeviceHotplug(runtime, host) };
}

const NIC = (address: string) => `<interface type='user'><mac address='52:54:00:00:00:0a'/><model type='virtio'/>${address}</interface>`;

test('attach: an explicit PCI address is validated like an assigned one, before QEMU hears of the device', async () => {
  const { dom, qmp, hotplug } = runningQ35();
  const before = cloneElement(dom.live);
  const refused: Array<[string, string]> = [
    ["<address type='pci' bus='0' slot='5'/>", "XML error: The device at PCI address 0000:00:05.0 requires hotplug capability, but the PCI controller with index='0' doesn't support hotplug"],
    ["<address type='pci' bus='2' slot='0'/>", "XML error: The device at PCI address 0000:02:00.0 requires hotplug capability, but the PCI controller with index='2' doesn't support hotplug"],
    ["<address type='pci' bus='1' slot='0' function='1'/>", 'internal error: Only PCI device addresses with function=0 are supported'],
    ["<address type='pci' bus='1' slot='4'/>", 'XML error: Invalid PCI address 0000:01:04.0. slot must be <= 0'],
    ["<address type='pci' bus='7' slot='0'/>", 'XML error: Invalid PCI address 0000:07:00.0. Only PCI buses up to 2 are available'],
  ];
  for (const [address, message] of refused) {
    await assert.rejects(hotplug.attach(dom, parseXml(NIC(address))), { message }, address);
  }
  assert.equal(qmp.length, 0);
  assert.deepEqual(dom.live, before);

  const added = await hotplug.attach(dom, parseXml(NIC("<address type='pci' bus='1' slot='0'/>")));
  assert.equal(child(added, 'address')?.attrs.bus, '0x01');
  assert.deepEqual(qmp.map(([command]) => command), ['device_add']);
  assert.equal((qmp[0]![1] as { bus: string }).bus, 'pci.1');
  await assert.rejects(hotplug.attach(dom, parseXml(NIC("<address type='pci' bus='1' slot='0'/>").replace(':0a', ':0b'))), {
    message: 'XML error: Attempted double use of PCI Address 0000:01:00.0',
  });
});
