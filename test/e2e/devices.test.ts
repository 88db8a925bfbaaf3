// What the guest itself sees: every PCI device at the address dumpxml shows
// (pc and q35), and live hotplug of a virtio NIC and disk into the reserved
// pcie-root-port of a running q35 guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BOOT_TIMEOUT_MS, guestDomainXML, pciAddressesOf, Sandbox, SerialLog, testGuest, virtioDiskXML, type TestGuest } from './guest.js';
import { parseStatus } from '../../src/drivers/qemu/status-file.js';
import { child } from '../../src/util/xml.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const NIC = "<interface type='user'><mac address='52:54:00:4e:e7:01'/><model type='virtio'/></interface>";

for (const machine of ['q35', 'pc'] as const) {
  test(`${machine}: the guest sees every device at the PCI address dumpxml shows`, { skip }, async (t) => {
    const sb = new Sandbox();
    t.after(() => sb.dispose());
    const serial = new SerialLog(sb.file('serial.log'));
    const devices = `${virtioDiskXML(sb.file('a.img'), 'vda')}${NIC}`;
    await sb.define(guestDomainXML({ name: 'addr', machine, serialPath: serial.path, guest: guest as TestGuest, devices }));
    await sb.ok('start', 'addr');
    const seen = await serial.bootPciDevices(BOOT_TIMEOUT_MS);
    const expected = pciAddressesOf((await sb.ok('dumpxml', 'addr')).stdout);
    assert.ok(expected.some((e) => e.device.startsWith('disk')) && expected.some((e) => e.device.startsWith('interface')));
    for (const { address, device } of expected) {
      assert.ok(seen.has(address), `${device} at ${address}: the guest has ${[...seen.keys()].join(' ')}`);
    }
    // virtio devices are virtio (vendor 1af4) where the XML puts them
    for (const { address, device } of expected.filter((e) => /^(disk|interface|memballoon)/.test(e.device))) {
      assert.match(seen.get(address)!, /^1af4:/, `${device} at ${address}`);
    }
    await sb.ok('destroy', 'addr');
  });
}

/** The live definition as the status file holds it. */
function liveDevices(sb: Sandbox, name: string, kind: string) {
  return parseStatus(readFileSync(sb.statusFile(name), 'utf8')).domain.children
    .find((c) => c.name === 'devices')!.children.filter((d) => d.name === kind);
}

test('q35: hotplug a virtio NIC and disk into the reserved root port, unplug them; no port left fails', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = new SerialLog(sb.file('serial.log'));
  await sb.define(guestDomainXML({ name: 'hot', machine: 'q35', serialPath: serial.path, guest: guest as TestGuest }));
  const spare = pciAddressesOf((await sb.ok('dumpxml', 'hot')).stdout);
  await sb.ok('start', 'hot');
  const boot = await serial.bootPciDevices(BOOT_TIMEOUT_MS);
  let from = serial.lines().length;

  // NIC: appears in the guest at the address dumpxml gives it, behind a root port
  const nicFile = sb.file('nic.xml');
  writeFileSync(nicFile, NIC);
  const t0 = performance.now();
  const attached = await sb.ok('attach-device', 'hot', nicFile, '--live');
  assert.equal(attached.stdout.trim(), 'Device attached successfully');
  const added = await serial.waitFor(/^@@PCI-ADD /, 30_000, from);
  const nicLatency = performance.now() - t0;
  const nicAddress = pciAddressesOf((await sb.ok('dumpxml', 'hot')).stdout).find((a) => a.device.startsWith('interface'))!;
  assert.ok(nicAddress, 'the live XML has the NIC with a PCI address');
  assert.equal(added.line.split(' ')[1], nicAddress.address);
  assert.match(added.line, / 1af4:1041 /, 'modern virtio-net behind a PCIe root port');
  assert.ok(!boot.has(nicAddress.address) && !spare.some((s) => s.address === nicAddress.address), 'a slot that was free');
  assert.equal(liveDevices(sb, 'hot', 'interface').length, 1);
  // the persistent definition is unchanged by a --live attach
  assert.doesNotMatch((await sb.ok('dumpxml', 'hot', '--inactive')).stdout, /<interface/);

  // the only spare port is taken: a disk cannot be plugged, and nothing changes
  const diskFile = sb.file('disk.xml');
  writeFileSync(diskFile, virtioDiskXML(sb.file('hot.img'), 'vdb', 16));
  const refused = await sb.run('attach-device', 'hot', diskFile, '--live');
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, `error: Failed to attach device from ${diskFile}\nerror: internal error: No more available PCI slots\n`);
  assert.equal(liveDevices(sb, 'hot', 'disk').length, 0);

  // unplug the NIC: gone from the guest and from the live XML
  from = serial.lines().length;
  const t1 = performance.now();
  const detached = await sb.ok('detach-device', 'hot', nicFile, '--live');
  assert.equal(detached.stdout.trim(), 'Device detached successfully');
  const removed = await serial.waitFor(/^@@PCI-DEL /, 30_000, from);
  const unplugLatency = performance.now() - t1;
  assert.equal(removed.line.split(' ')[1], nicAddress.address);
  assert.equal(liveDevices(sb, 'hot', 'interface').length, 0);

  // now the disk fits, in the same port, and is the disk the XML describes
  from = serial.lines().length;
  const t2 = performance.now();
  await sb.ok('attach-device', 'hot', diskFile, '--live');
  const diskAdded = await serial.waitFor(/^@@PCI-ADD /, 30_000, from);
  const diskLatency = performance.now() - t2;
  const disk = liveDevices(sb, 'hot', 'disk')[0];
  assert.equal(child(disk, 'alias')?.attrs.name, 'virtio-disk1');
  assert.equal(diskAdded.line.split(' ')[1], nicAddress.address);
  assert.match(diskAdded.line, / 1af4:1042 /);
  from = serial.lines().length;
  await sb.ok('detach-device', 'hot', diskFile, '--live');
  await serial.waitFor(/^@@PCI-DEL /, 30_000, from);
  assert.equal(liveDevices(sb, 'hot', 'disk').length, 0);

  t.diagnostic(`hotplug NIC (tsvirsh attach-device -> guest sees it): ${nicLatency.toFixed(0)} ms; unplug: ${unplugLatency.toFixed(0)} ms; disk: ${diskLatency.toFixed(0)} ms`);
  await sb.ok('destroy', 'hot');
  assert.ok(!existsSync(sb.statusFile('hot')));
});
