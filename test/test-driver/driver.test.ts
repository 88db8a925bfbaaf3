// The test driver through the public library API: default objects, lifecycle,
// networks, storage, interfaces, snapshots and node files, with libvirt's messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, DomainState, type Connection } from '../../src/index.js';
import type { DomainRef } from '../../src/api/types.js';

const WEB01 = `<domain type='test'>
  <name>web01</name>
  <uuid>5c1d2a3b-4e5f-4a6b-8c7d-000000000101</uuid>
  <memory unit='MiB'>1024</memory>
  <vcpu current='1'>2</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/web01.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:01'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>`;

/** A private node file, so tests do not share the process-wide default node. */
function nodeFile(body: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsvirt-test-node-'));
  const file = path.join(dir, 'node.xml');
  writeFileSync(file, `<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>${body}</node>`);
  return file;
}

async function open(body: string): Promise<{ conn: Connection; drv: Record<string, any> }> {
  const conn = await connect(`test://${nodeFile(body)}`);
  return { conn, drv: conn.driver as unknown as Record<string, any> };
}

async function rejects(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.equal(e.message, message);
    return true;
  });
}

test('default node: domain test runs as id 1 with libvirt default objects', async () => {
  const conn = await connect('test:///default');
  const [dom] = await conn.listAllDomains();
  assert.equal(dom!.name, 'test');
  assert.equal(dom!.id, 1);
  assert.deepEqual(await dom!.getState(), { state: DomainState.RUNNING, reason: 0 });
  const drv = conn.driver as unknown as Record<string, any>;
  const [net] = await drv.connectListAllNetworks(0);
  assert.equal(net.name, 'default');
  assert.match(await drv.networkGetXMLDesc(net, 0), /<forward mode='nat'\/>\n  <bridge name='virbr0' stp='on' delay='0'\/>/);
  const [pool] = await drv.connectListAllStoragePools(0);
  assert.deepEqual(await drv.storagePoolGetInfo(pool), { state: 2, capacity: 107374182400, allocation: 0, available: 107374182400 });
  assert.match(await drv.storagePoolGetXMLDesc(pool, 0), /<source>\n  <\/source>/);
  assert.deepEqual(await drv.connectListAllInterfaces(0), [{ name: 'eth1', mac: 'aa:bb:cc:dd:ee:ff' }]);
  assert.match(await dom!.getXMLDesc(), /<target dev='testnet0'\/>/);
  await conn.close();
});

test('default node: shared by open connections, fresh again once the last one closed', async () => {
  const a = await connect('test:///default');
  await (await a.lookupDomainByName('test')).destroy();
  const b = await connect('test:///default');
  assert.equal((await (await b.lookupDomainByName('test')).getState()).state, DomainState.SHUTOFF);
  await a.close();
  await b.close();
  const c = await connect('test:///default');
  assert.deepEqual(await (await c.lookupDomainByName('test')).getState(), { state: DomainState.RUNNING, reason: 0 });
  await c.close();
});

test('lifecycle: ids only grow, reasons follow libvirt, transient domains vanish', async () => {
  const { drv } = await open('');
  const ref: DomainRef = await drv.domainDefineXML(WEB01, 0);
  assert.equal(ref.id, -1);
  assert.match(await drv.domainGetXMLDesc(ref, 0), /<target dev='testnet0'\/>/);
  const started = await drv.domainCreate(ref, 0);
  assert.equal(started.id, 1);
  await rejects(drv.domainCreate(ref, 0), "internal error: Domain 'web01' is already running");
  await drv.domainSuspend(started);
  assert.deepEqual(await drv.domainGetState(started, 0), { state: DomainState.PAUSED, reason: 1 });
  await rejects(drv.domainSuspend(started), "internal error: domain 'web01' not running");
  await drv.domainResume(started);
  assert.deepEqual(await drv.domainGetState(started, 0), { state: DomainState.RUNNING, reason: 5 });
  await drv.domainDestroy(started, 0);
  assert.deepEqual(await drv.domainGetState(started, 0), { state: DomainState.SHUTOFF, reason: 2 });
  await rejects(drv.domainDestroy(started, 0), 'Requested operation is not valid: domain is not running');
  assert.equal((await drv.domainCreate(ref, 0)).id, 2);
  await rejects(drv.domainCreate(ref, 1), 'unsupported flags (0x1) in function testDomainCreateWithFlags');
  await drv.domainUndefine(ref, 0);
  assert.equal(await drv.domainIsPersistent(ref), false);
  await drv.domainShutdown(ref, 0);
  await rejects(drv.domainLookupByName('web01'), 'Domain not found');
});

test('define: duplicate names and UUIDs, live and persistent memory and vCPUs', async () => {
  const { drv } = await open('');
  const ref = await drv.domainDefineXML(WEB01, 0);
  await rejects(
    drv.domainDefineXML(WEB01.replace('<name>web01</name>', '<name>other</name>'), 0),
    'operation failed: domain \'web01\' is already defined with uuid 5c1d2a3b-4e5f-4a6b-8c7d-000000000101',
  );
  await rejects(
    drv.domainDefineXML(WEB01.replace('000000000101', '000000000999'), 0),
    "operation failed: domain 'web01' already exists with uuid 5c1d2a3b-4e5f-4a6b-8c7d-000000000101",
  );
  const running = await drv.domainCreate(ref, 0);
  await drv.domainSetMemory(running, 524288);
  assert.match(await drv.domainGetXMLDesc(running, 0), /<currentMemory unit='KiB'>524288<\/currentMemory>/);
  assert.match(await drv.domainGetXMLDesc(running, 2), /<currentMemory unit='KiB'>1048576<\/currentMemory>/);
  await rejects(drv.domainSetMemory(running, 99999999), 'invalid argument: cannot set memory higher than max memory');
  await rejects(drv.domainSetMaxMemory(running, 4194304), 'Requested operation is not valid: cannot resize the maximum memory on an active domain');
  await drv.domainSetVcpusFlags(running, 8, 2 | 4);
  assert.equal(await drv.domainGetVcpusFlags(running, 2 | 4), 8);
  assert.equal(await drv.domainGetVcpusFlags(running, 1 | 4), 2);
  await rejects(drv.domainSetVcpusFlags(running, 3, 1), 'invalid argument: requested cpu amount exceeds maximum (3 > 2)');
});

test('networks: define, start, update DHCP hosts, refuse to undefine while active', async () => {
  const { drv } = await open('');
  const lab = `<network><name>lab</name><uuid>7a3f1e2d-9c8b-4a5d-8e6f-0a1b2c3d4e01</uuid>
    <ip address='10.10.0.1' netmask='255.255.255.0'><dhcp><range start='10.10.0.100' end='10.10.0.200'/></dhcp></ip></network>`;
  const net = await drv.networkDefineXML(lab, 0);
  assert.equal(await drv.networkIsActive(net), false);
  await drv.networkCreate(net, 0);
  await rejects(drv.networkUndefine(net), "Requested operation is not valid: Network 'lab' is still running");
  await drv.networkUpdate(net, 3, 4, -1, "<host mac='52:54:00:00:00:09' name='h9' ip='10.10.0.9'/>", 1 | 2);
  assert.match(await drv.networkGetXMLDesc(net, 0), /<host mac='52:54:00:00:00:09' name='h9' ip='10.10.0.9'\/>/);
  await drv.networkUpdate(net, 2, 4, -1, "<host mac='52:54:00:00:00:09'/>", 1 | 2);
  assert.doesNotMatch(await drv.networkGetXMLDesc(net, 0), /<host/);
  await rejects(drv.networkDefineXML(lab.replace('4e01', '4e02'), 0), "operation failed: network 'lab' already exists with uuid 7a3f1e2d-9c8b-4a5d-8e6f-0a1b2c3d4e01");
  await rejects(drv.networkDefineXML('<network><name>x</name><bridge name="b">\n</network>', 0), "(network_definition):2: Opening and ending tag mismatch: bridge line 1 and network\n</network>\n----------^");
  await drv.networkDestroy(net);
  await drv.networkUndefine(net);
  await rejects(drv.networkLookupByName('lab'), "Network not found: no network with matching name 'lab'");
});

test('storage: volumes fill the pool, names cannot escape it, every pool claims 100 GiB', async () => {
  const { drv } = await open(`<pool type='dir'><name>p</name><uuid>c0000000-0000-4000-8000-000000000001</uuid>
    <capacity unit='GiB'>5</capacity><target><path>/srv/p</path></target></pool>`);
  const pool = await drv.storagePoolLookupByName('p');
  const vol = await drv.storageVolCreateXML(pool, "<volume><name>a.qcow2</name><capacity unit='GiB'>10</capacity><allocation unit='GiB'>2</allocation><target><format type='qcow2'/></target></volume>", 0);
  assert.deepEqual(vol, { pool: 'p', name: 'a.qcow2', key: '/srv/p/a.qcow2' });
  assert.deepEqual(await drv.storagePoolGetInfo(pool), { state: 2, capacity: 107374182400, allocation: 2147483648, available: 105226698752 });
  assert.equal(
    await drv.storageVolGetXMLDesc(vol, 0),
    "<volume type='file'>\n  <name>a.qcow2</name>\n  <key>/srv/p/a.qcow2</key>\n  <capacity unit='bytes'>10737418240</capacity>\n" +
      "  <allocation unit='bytes'>2147483648</allocation>\n  <target>\n    <path>/srv/p/a.qcow2</path>\n    <format type='qcow2'/>\n  </target>\n</volume>\n",
  );
  await rejects(drv.storageVolCreateXML(pool, "<volume><name>../../etc/passwd</name><capacity>1</capacity></volume>", 0), "Requested operation is not valid: volume name '../../etc/passwd' cannot contain '/'");
  await rejects(drv.storageVolCreateXML(pool, "<volume><name>huge</name><capacity unit='GiB'>200</capacity></volume>", 0), "internal error: Not enough free space in pool for volume 'huge'");
  await rejects(drv.storageVolCreateXML(pool, "<volume><name>a.qcow2</name><capacity>1</capacity></volume>", 0), 'operation failed: storage vol already exists');
  await rejects(drv.storageVolLookupByPath('nosuch'), "Storage volume not found: no storage vol with matching path 'nosuch'");
  await drv.storageVolDelete(vol, 0);
  assert.equal((await drv.storagePoolGetInfo(pool)).allocation, 0);
  await rejects(drv.storagePoolCreate(pool, 0), "Requested operation is not valid: storage pool 'p' is active");
  await drv.storagePoolDestroy(pool);
  await rejects(drv.storagePoolDestroy(pool), "Requested operation is not valid: storage pool 'p' is not active");
  await drv.storagePoolUndefine(pool);
});

test('snapshots: current and parent links, delete with children', async () => {
  const { drv } = await open(WEB01);
  const [dom] = await drv.connectListAllDomains(0);
  for (const name of ['s1', 's2', 's3']) await drv.domainSnapshotCreateXML(dom, `<domainsnapshot><name>${name}</name></domainsnapshot>`, 0);
  await rejects(drv.domainSnapshotCreateXML(dom, '<domainsnapshot><name>s1</name></domainsnapshot>', 0), 'operation failed: domain moment s1 already exists');
  const s2 = await drv.domainSnapshotLookupByName(dom, 's2', 0);
  assert.equal((await drv.domainSnapshotGetParent(s2, 0)).name, 's1');
  const s1 = await drv.domainSnapshotLookupByName(dom, 's1', 0);
  await drv.domainRevertToSnapshot(s1, 0);
  assert.equal((await drv.domainSnapshotCurrent(dom, 0)).name, 's1');
  assert.equal((await drv.connectListAllDomains(0))[0].id, 2);
  await drv.domainSnapshotDelete(s2, 0);
  assert.equal((await drv.domainSnapshotGetParent(await drv.domainSnapshotLookupByName(dom, 's3', 0), 0)).name, 's1');
  await drv.domainSnapshotDelete(s1, 1);
  assert.deepEqual(await drv.domainListAllSnapshots(dom, 0), []);
  await rejects(drv.domainSnapshotLookupByName(dom, 's3', 0), "Domain snapshot not found: no domain snapshot with matching name 's3'");
});

test('node files: runstates, transient and managed-save domains, external files', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsvirt-test-ext-'));
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub', 'vm.xml'), "<domain type='test'><name>ext</name><uuid>d0000000-0000-4000-8000-000000000001</uuid><memory>1024</memory><os><type>hvm</type></os></domain>");
  const file = path.join(dir, 'node.xml');
  writeFileSync(
    file,
    `<node xmlns:t='http://libvirt.org/schemas/domain/test/1.0'><cpu><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>1</threads></cpu>
      <domain file='sub/vm.xml'/>
      <domain type='test'><name>paused</name><uuid>d0000000-0000-4000-8000-000000000002</uuid><memory>1024</memory><os><type>hvm</type></os><t:runstate>3</t:runstate></domain>
      <domain type='test'><name>saved</name><uuid>d0000000-0000-4000-8000-000000000003</uuid><memory>1024</memory><os><type>hvm</type></os><t:runstate>5</t:runstate><t:hasmanagedsave/></domain>
    </node>`,
  );
  const conn = await connect(`test://${file}`);
  const drv = conn.driver as unknown as Record<string, any>;
  const doms: DomainRef[] = await drv.connectListAllDomains(0);
  assert.deepEqual(doms.map((d) => [d.name, d.id]), [['ext', 1], ['paused', 2], ['saved', -1]]);
  assert.equal((await drv.nodeGetInfo()).cpus, 4);
  const saved = doms[2]!;
  assert.equal(await drv.domainHasManagedSaveImage(saved, 0), true);
  await rejects(drv.domainUndefine(saved, 0), 'Requested operation is not valid: Refusing to undefine while domain managed save image exists');
  await rejects(connect(`test://${nodeFile("<domain type='test'><name>w</name><memory>1</memory><os><type>hvm</type></os><test:runstate>42</test:runstate></domain>")}`), "XML error: runstate '42' out of range'");
});

test('host interfaces: bare OPERATION_INVALID on start/stop, define and transactions roll back', async () => {
  const { drv } = await open(`<interface type='ethernet' name='eth0'><mac address='00:11:22:33:44:55'/></interface>
    <interface type='vlan' name='eth0.42'><vlan tag='42'><interface name='eth0'/></vlan></interface>`);
  const eth0 = await drv.interfaceLookupByMACString('00:11:22:33:44:55');
  assert.equal(eth0.name, 'eth0');
  await rejects(drv.interfaceCreate(eth0, 0), 'Requested operation is not valid');
  await drv.interfaceDestroy(eth0, 0);
  await rejects(drv.interfaceDestroy(eth0, 0), 'Requested operation is not valid');
  await drv.interfaceChangeBegin(0);
  await rejects(drv.interfaceChangeBegin(0), 'Requested operation is not valid: there is another transaction running.');
  await drv.interfaceDefineXML("<interface type='bridge' name='br1'><bridge/></interface>", 0);
  assert.equal((await drv.connectListAllInterfaces(0)).length, 3);
  await drv.interfaceChangeRollback(0);
  assert.deepEqual((await drv.connectListAllInterfaces(0)).map((i: { name: string }) => i.name), ['eth0', 'eth0.42']);
  assert.match(await drv.interfaceGetXMLDesc({ name: 'eth0.42', mac: '' }, 0), /<vlan tag='42'>\n    <interface name='eth0'\/>\n  <\/vlan>/);
});

test('managed save and rename: saved domains start fresh, names stay unique', async () => {
  const { drv } = await open(WEB01);
  const [dom] = await drv.connectListAllDomains(0);
  await drv.domainManagedSave(dom, 0);
  assert.deepEqual(await drv.domainGetState(dom, 0), { state: DomainState.SHUTOFF, reason: 5 });
  assert.deepEqual((await drv.connectListAllDomains(1 << 8)).map((d: DomainRef) => d.name), ['web01']);
  await drv.domainRename(dom, 'web02', 0);
  await rejects(drv.domainLookupByName('web01'), 'Domain not found');
  const renamed = await drv.domainLookupByName('web02');
  await drv.domainCreate(renamed, 0);
  assert.equal(await drv.domainHasManagedSaveImage(renamed, 0), false);
  await rejects(drv.domainRename(renamed, 'x', 0), 'Requested operation is not valid: cannot rename active domain');
});

test('typed handles: networks, pools, volumes, interfaces and snapshots through the library API', async () => {
  const conn = await connect(`test://${nodeFile(`${WEB01}<network><name>n</name><uuid>b0000000-0000-4000-8000-000000000001</uuid><bridge name='br9'/></network>
    <pool type='dir'><name>p</name><uuid>c0000000-0000-4000-8000-000000000001</uuid><target><path>/p</path></target></pool>
    <interface type='ethernet' name='eth0'><mac address='00:11:22:33:44:55'/></interface>`)}`);
  const [net] = await conn.listAllNetworks();
  assert.equal(await net!.getBridgeName(), 'br9');
  const pool = await conn.lookupStoragePoolByName('p');
  const vol = await pool.createVolume("<volume><name>v</name><capacity unit='MiB'>1</capacity></volume>");
  assert.equal(await vol.getPath(), '/p/v');
  assert.equal((await (await conn.lookupStorageVolumeByPath('/p/v')).pool()).name, 'p');
  assert.equal((await conn.lookupInterfaceByMAC('00:11:22:33:44:55')).name, 'eth0');
  const dom = await conn.lookupDomainByName('web01');
  const snap = await dom.createSnapshot('<domainsnapshot><name>s</name></domainsnapshot>');
  assert.equal(await snap.isCurrent(), true);
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.name), ['s']);
  await conn.close();
});
