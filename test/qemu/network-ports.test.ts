// The qemu driver's side of network ports: the port an interface asks the
// network driver for (libvirt's virDomainNetDefToNetworkPort), the bridge taken
// from the port's <plug>, a port without a plug given back, RECLAIM with the
// plug the live XML records, and the port deleted by the uuid in <source portid>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SharedDriverAccess } from '../../src/driver/registry.js';
import { networkPortXML, SharedNetworkPorts } from '../../src/drivers/qemu/network-ports.js';
import { parseXml } from '../../src/util/xml.js';

const OWNER = { name: 'vm', uuid: 'c7a5fdbd-edaf-9455-926a-d65c16db1809' };
const NIC = `<interface type='network'><mac address='52:54:00:12:34:56'/><source network='lan' portgroup='web'/>
  <vlan><tag id='42'/></vlan><bandwidth><inbound average='1000'/></bandwidth><model type='virtio'/></interface>`;

/** A network driver that records the port calls it gets and answers with the given port XML. */
function fakeNetworks(options: { forward?: string; plug: string }) {
  const calls: Array<[string, unknown]> = [];
  const net = { name: 'lan', uuid: '00000000-0000-4000-8000-000000000001' };
  const ports = new Map<string, string>();
  const driver = {
    networkLookupByName: async ({ name }: { name: string }) => ({ net: { ...net, name } }),
    networkGetXMLDesc: async () => ({ xml: `<network><name>lan</name>${options.forward ? `<forward mode='${options.forward}'/>` : ''}</network>` }),
    networkPortCreateXML: async (args: { xml: string; flags: number }) => {
      calls.push(['create', args]);
      const uuid = /<uuid>([^<]+)<\/uuid>/.exec(args.xml)![1]!;
      ports.set(uuid, args.xml.replace('</networkport>', `${options.plug}</networkport>`));
      return { port: { net, uuid } };
    },
    networkPortGetXMLDesc: async ({ port }: { port: { uuid: string } }) => ({ xml: ports.get(port.uuid)! }),
    networkPortDelete: async (args: { port: { uuid: string } }) => {
      calls.push(['delete', args.port.uuid]);
      ports.delete(args.port.uuid);
    },
  };
  const shared = { family: async () => driver } as unknown as SharedDriverAccess;
  return { calls, ports, networkPorts: new SharedNetworkPorts(() => shared) };
}

test("an interface's port carries libvirt's owner, portgroup, mac, bandwidth and vlan, and a plug only when reclaimed", () => {
  const nic = parseXml(NIC);
  assert.equal(networkPortXML(nic, OWNER, '8d3c1f2e-0000-4000-8000-000000000000', { type: 'none' }), `<networkport>
  <uuid>8d3c1f2e-0000-4000-8000-000000000000</uuid>
  <owner>
    <name>vm</name>
    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  </owner>
  <group>web</group>
  <mac address='52:54:00:12:34:56'/>
  <bandwidth>
    <inbound average='1000'/>
  </bandwidth>
  <vlan>
    <tag id='42'/>
  </vlan>
</networkport>
`);
  assert.match(networkPortXML(nic, OWNER, '8d3c1f2e-0000-4000-8000-000000000000', { type: 'network', bridge: 'virbr3' }), /<plug type='network' bridge='virbr3'\/>\n<\/networkport>/);
});

test('allocate: a new random port, the bridge from its plug; release deletes it by the live portid', async () => {
  const { calls, ports, networkPorts } = fakeNetworks({ plug: "<plug type='network' bridge='virbr3'/>" });
  const nic = parseXml(NIC);
  const { portid, bridge } = await networkPorts.allocate(nic, OWNER);
  assert.equal(bridge, 'virbr3');
  assert.match(portid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(calls.map(([what, args]) => [what, (args as { flags?: number }).flags]), [['create', 0]]);
  assert.doesNotMatch((calls[0]![1] as { xml: string }).xml, /<plug/, 'a new port asks the network for its plug');
  const second = await networkPorts.allocate(parseXml(NIC), OWNER);
  assert.notEqual(second.portid, portid, 'every interface gets its own port');

  const live = parseXml(NIC.replace("portgroup='web'", `portgroup='web' portid='${portid}' bridge='virbr3'`));
  await networkPorts.release(live);
  assert.deepEqual(calls.at(-1), ['delete', portid]);
  assert.deepEqual([...ports.keys()], [second.portid]);
  await networkPorts.release(parseXml(NIC));
  assert.equal(calls.length, 3, 'an interface without a port deletes none');
});

test('allocate: a port the network gave no plug is deleted again and refused', async () => {
  const { ports, networkPorts } = fakeNetworks({ plug: '' });
  await assert.rejects(networkPorts.allocate(parseXml(NIC), OWNER), /internal error: network port [0-9a-f-]+ has no plug/);
  assert.equal(ports.size, 0);
});

test('reclaim: the live port again, with RECLAIM and the plug it had (bridge type for forward mode bridge)', async () => {
  const portid = '8d3c1f2e-0000-4000-8000-000000000000';
  const live = parseXml(NIC.replace("portgroup='web'", `portgroup='web' portid='${portid}' bridge='br0'`));
  for (const [forward, type] of [['nat', 'network'], ['bridge', 'bridge'], [undefined, 'network']] as const) {
    const { calls, networkPorts } = fakeNetworks({ forward, plug: '' });
    await networkPorts.reclaim(live, OWNER);
    const [what, args] = calls[0]! as [string, { xml: string; flags: number }];
    assert.equal(what, 'create');
    assert.equal(args.flags, 1);
    assert.match(args.xml, new RegExp(`<uuid>${portid}</uuid>[\\s\\S]*<plug type='${type}' bridge='br0'/>`));
  }
  const { calls, networkPorts } = fakeNetworks({ plug: '' });
  await networkPorts.reclaim(parseXml(NIC), OWNER);
  assert.equal(calls.length, 0, 'an interface that never had a port has none to reclaim');
});
