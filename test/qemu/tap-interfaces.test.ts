// The host-tap side of NICs without a host: libvirt's tap MAC rule, QEMU's
// -netdev for a tap it opens by name (the fd form stays as libvirt prints it),
// the addresses domifaddr reads from the ARP table, and which link-state
// updates domif-setlink's requests may make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml } from '../../src/util/xml.js';
import { buildQemuCommandLine } from '../../src/drivers/qemu/command-line.js';
import { tapMAC } from '../../src/drivers/qemu/tap-devices.js';
import { arpAddresses } from '../../src/drivers/qemu/interface-addresses.js';
import { linkStateOf, requestedLinkState, setLinkState } from '../../src/drivers/qemu/link-state.js';
import { fakeQemuCaps } from '../helpers/qemu-caps.js';

const caps = fakeQemuCaps('x86_64');
const paths = { libDir: '/var/lib/libvirt/qemu', stateDir: '/run/libvirt/qemu', channelTargetDir: '/var/lib/libvirt/qemu/channel/target', memoryBackingDir: '/var/lib/libvirt/qemu/ram', nvramDir: '/var/lib/libvirt/qemu/nvram' };

const NIC = "<interface type='network'><mac address='52:54:00:12:34:56'/><source network='default' bridge='virbr0'/><target dev='vnet7'/><model type='virtio'/><alias name='net0'/></interface>";

function domain(nic: string): string {
  return `<domain type='qemu'><name>vm</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory>65536</memory>
    <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
    <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>${nic}</devices></domain>`;
}

function netdevOf(options: { tapFd?: () => number }, nic = NIC): string {
  const { args } = buildQemuCommandLine(parseXml(domain(nic)), { caps, paths, domainId: 1, hostEnv: {}, tlsX509CertDir: '/etc/pki/qemu', ...options });
  return args[args.indexOf('-netdev') + 1]!;
}

test("a tap's host MAC is the guest's with the first byte fe, or fa when that is fe already", () => {
  assert.equal(tapMAC('52:54:00:12:34:56'), 'fe:54:00:12:34:56');
  assert.equal(tapMAC('FE:54:00:12:34:56'), 'fa:54:00:12:34:56');
});

test('QEMU opens the tap named by <target dev> when no descriptor is passed, else gets the fd as from libvirt', () => {
  assert.equal(netdevOf({}), '{"type":"tap","ifname":"vnet7","script":"no","downscript":"no","id":"hostnet0"}');
  assert.equal(netdevOf({ tapFd: () => 24 }), '{"type":"tap","fd":"24","id":"hostnet0"}');
  assert.throws(() => netdevOf({}, NIC.replace("<target dev='vnet7'/>", '')), { message: 'internal error: interface net0 has no tap device' });
});

test('domifaddr --source arp: complete entries whose MAC is a NIC of the domain, in NIC order', () => {
  const def = parseXml(domain(`${NIC}<interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br0'/><target dev='vnet8'/></interface>`));
  const arp = `IP address       HW type     Flags       HW address            Mask     Device
10.0.0.9         0x1         0x2         52:54:00:00:00:02     *        br0
192.168.122.50   0x1         0x2         52:54:00:12:34:56     *        virbr0
192.168.122.51   0x1         0x0         52:54:00:12:34:56     *        virbr0
192.168.122.60   0x1         0x2         52:54:00:99:99:99     *        virbr0
`;
  assert.deepEqual(arpAddresses(def, arp), [
    { name: 'vnet7', hwaddr: '52:54:00:12:34:56', addrs: [{ type: 0, addr: '192.168.122.50', prefix: 0 }] },
    { name: 'vnet8', hwaddr: '52:54:00:00:00:02', addrs: [{ type: 0, addr: '10.0.0.9', prefix: 0 }] },
  ]);
});

test('a link-state update may change the link only; runtime parts (target, alias, address, bridge) do not count', () => {
  const live = parseXml(NIC);
  const request = parseXml(`<interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default' portid='8d3c1f2e-0000-4000-8000-000000000000' bridge='virbr0'/>
      <model type='virtio'/>
      <link state='down'/>
    </interface>`);
  assert.equal(linkStateOf(live), 'up');
  assert.equal(requestedLinkState(live, request), 'down');
  setLinkState(live, 'down');
  assert.equal(linkStateOf(live), 'down');
  const otherModel = parseXml(NIC.replace("type='virtio'", "type='e1000'"));
  assert.throws(() => requestedLinkState(live, otherModel), { message: 'Operation not supported: cannot change network interface settings other than its link state' });
  assert.throws(() => requestedLinkState(live, parseXml(NIC.replace('<model', "<link state='sideways'/><model"))), { message: "XML error: unknown interface link state 'sideways'" });
});
