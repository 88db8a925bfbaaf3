// Which live device a detach request names (qemuFindDisk / virDomainNetFindIdx), with libvirt's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLiveDevice } from '../../src/drivers/qemu/hotplug.js';
import { child, parseXml } from '../../src/util/xml.js';

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
