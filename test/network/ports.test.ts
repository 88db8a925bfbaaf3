// Network ports through the driver contract, as the qemu driver uses them for
// a guest's <interface type='network'>: create with libvirt's port XML, read
// the plug back, bandwidth parameters, reclaim after a restart, delete; the
// status files carry them from one process (connection) to the next. A network
// in forward mode bridge onto a host bridge runs without touching the host.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Connection } from '../../src/api/connection.js';
import { typedParam, typedParamValue } from '../../src/driver/typed-params.js';
import { updateMacMap } from '../../src/drivers/network/ports.js';
import { isVirError } from '../../src/util/error.js';

const NET_XML = `<network><name>pnet</name><forward mode='bridge'/><bridge name='br-ports'/>
<portgroup name='eng' default='yes' trustGuestRxFilters='yes'><bandwidth><inbound average='100'/></bandwidth></portgroup></network>`;
const PORT_UUID = '0d2a7e5c-6b1f-4c7e-9a55-3f1d2c4b5a60';
const portXML = (extra = '') => `<networkport>
  <uuid>${PORT_UUID}</uuid>
  <owner><name>guest</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner>
  <mac address='52:54:00:11:22:33'/>${extra}
</networkport>`;

async function withRoot(fn: (root: string, open: () => Promise<Connection>) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'tsvirt-ports-'));
  const conns: Connection[] = [];
  try {
    await fn(root, async () => {
      const c = await connect(`qemu:///embed?root=${root}`);
      conns.push(c);
      return c;
    });
  } finally {
    for (const c of conns) await c.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function rejects(call: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(call, (e) => isVirError(e) && e.message === message);
}

test('a port is created from libvirt port XML, gets its plug and portgroup settings, and is deleted', async () => {
  await withRoot(async (root, open) => {
    const conn = await open();
    const { net } = await conn.invoke('networkDefineXML', { xml: NET_XML });
    await rejects(conn.invoke('networkPortCreateXML', { network: net, xml: portXML(), flags: 0 }), "Requested operation is not valid: network 'pnet' is not active");
    await conn.invoke('networkCreate', { net });
    const { port } = await conn.invoke('networkPortCreateXML', { network: net, xml: portXML(), flags: 0 });
    assert.deepEqual(port, { net, uuid: PORT_UUID });
    const { xml } = await conn.invoke('networkPortGetXMLDesc', { port, flags: 0 });
    assert.equal(
      xml,
      `<networkport>
  <uuid>${PORT_UUID}</uuid>
  <owner>
    <name>guest</name>
    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  </owner>
  <mac address='52:54:00:11:22:33'/>
  <bandwidth>
    <inbound average='100'/>
  </bandwidth>
  <rxfilters trustGuest='yes'/>
  <plug type='bridge' bridge='br-ports'/>
</networkport>
`,
    );
    // the same port again: libvirt's doubled message
    await rejects(
      conn.invoke('networkPortCreateXML', { network: net, xml: portXML(), flags: 0 }),
      `network port Network port with UUID ${PORT_UUID} already exists exists already`,
    );
    assert.deepEqual((await conn.invoke('networkListAllPorts', { network: net, need_results: 1, flags: 0 })).ports, [port]);
    assert.ok(existsSync(join(root, 'run', 'network', 'pnet', 'ports', `${PORT_UUID}.xml`)));

    // another process (a fresh connection reads the status files) finds it and deletes it
    const other = await open();
    const { port: found } = await other.invoke('networkPortLookupByUUID', { network: net, uuid: PORT_UUID });
    await other.invoke('networkPortDelete', { port: found, flags: 0 });
    assert.equal(existsSync(join(root, 'run', 'network', 'pnet', 'ports', `${PORT_UUID}.xml`)), false);
    await rejects(other.invoke('networkPortGetXMLDesc', { port, flags: 0 }), `network port not found: Network port with UUID ${PORT_UUID} does not exist`);
    await conn.invoke('networkDestroy', { net });
  });
});

test('port bandwidth parameters: set replaces the rates, get reports them per direction', async () => {
  await withRoot(async (root, open) => {
    const conn = await open();
    const { net } = await conn.invoke('networkCreateXML', { xml: NET_XML.replace("<portgroup name='eng' default='yes'", "<portgroup name='eng'") });
    const { port } = await conn.invoke('networkPortCreateXML', { network: net, xml: portXML(), flags: 0 });
    assert.deepEqual((await conn.invoke('networkPortGetParameters', { port, nparams: 0, flags: 0 })).params, []);
    await conn.invoke('networkPortSetParameters', {
      port,
      params: [typedParam.uint('inbound.average', 1000), typedParam.uint('inbound.burst', 2048), typedParam.uint('outbound.peak', 50)],
      flags: 0,
    });
    const got = (await conn.invoke('networkPortGetParameters', { port, nparams: 0, flags: 0 })).params.map((p) => [p.field, typedParamValue(p)]);
    // outbound without an average is dropped, as libvirt does
    assert.deepEqual(got, [
      ['inbound.average', 1000],
      ['inbound.peak', 0],
      ['inbound.floor', 0],
      ['inbound.burst', 2048],
    ]);
    assert.match(readFileSync(join(root, 'run', 'network', 'pnet', 'ports', `${PORT_UUID}.xml`), 'utf8'), /<inbound average='1000' burst='2048'\/>/);
  });
});

test('reclaiming a port (a daemon finding its guest still running) keeps the plug the port had', async () => {
  await withRoot(async (_root, open) => {
    const conn = await open();
    const { net } = await conn.invoke('networkCreateXML', { xml: NET_XML });
    const RECLAIM = 1;
    await rejects(conn.invoke('networkPortCreateXML', { network: net, xml: portXML(), flags: RECLAIM }), 'invalid argument: Port reclaim requested but plug type is none');
    const plugged = portXML("\n  <plug type='bridge' bridge='br-ports'/>");
    await rejects(conn.invoke('networkPortCreateXML', { network: net, xml: plugged, flags: 0 }), 'invalid argument: Port reclaim not requested but plug type is not none');
    const { port } = await conn.invoke('networkPortCreateXML', { network: net, xml: plugged, flags: RECLAIM });
    assert.match((await conn.invoke('networkPortGetXMLDesc', { port, flags: 0 })).xml, /<plug type='bridge' bridge='br-ports'\/>/);
    // a transient network that stops is gone, and its ports with it
    await conn.invoke('networkDestroy', { net });
    await rejects(conn.invoke('networkListAllPorts', { network: net, need_results: 1, flags: 0 }), "Network not found: no network with matching uuid '" + net.uuid + "'");
  });
});

test("concurrent port MACs all reach the bridge's MAC map, in libvirt's layout", async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsvirt-macmap-'));
  try {
    const paths = { configDir: '', autostartDir: '', stateDir: '', dnsmasqDir: join(root, 'dnsmasq') };
    const macs = Array.from({ length: 12 }, (_, i) => `52:54:00:00:00:${i.toString(16).padStart(2, '0')}`);
    await Promise.all(macs.map((mac, i) => updateMacMap(paths, 'virbr9', i % 2 ? 'odd' : 'even', mac, true)));
    const map = JSON.parse(readFileSync(join(root, 'dnsmasq', 'virbr9.macs'), 'utf8')) as { domain: string; macs: string[] }[];
    assert.deepEqual(map.map((e) => e.domain), ['even', 'odd']);
    assert.deepEqual(map.flatMap((e) => e.macs).sort(), [...macs].sort());
    await Promise.all(macs.map((mac, i) => updateMacMap(paths, 'virbr9', i % 2 ? 'odd' : 'even', mac, false)));
    assert.equal(readFileSync(join(root, 'dnsmasq', 'virbr9.macs'), 'utf8'), '[\n\n]\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
