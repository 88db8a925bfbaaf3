// The test driver through the public library API: default objects, lifecycle,
// networks, storage, interfaces, snapshots and node files, with libvirt's messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, DomainState, type Connection } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';

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
  const dir = tempDir('test-node');
  const file = path.join(dir, 'node.xml');
  writeFileSync(file, `<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>${body}</node>`);
  return file;
}

async function open(body: string): Promise<Connection> {
  return connect(`test://${nodeFile(body)}`);
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
  const { nets: [net], ret } = await conn.invoke('connectListAllNetworks', { need_results: 1, flags: 0 });
  assert.equal(ret, 1);
  assert.equal(net!.name, 'default');
  assert.match((await conn.invoke('networkGetXMLDesc', { net: net!, flags: 0 })).xml, /<forward mode='nat'\/>\n  <bridge name='virbr0' stp='on' delay='0'\/>/);
  const { pools: [pool] } = await conn.invoke('connectListAllStoragePools', { need_results: 1, flags: 0 });
  assert.deepEqual(await conn.invoke('storagePoolGetInfo', { pool: pool! }), { state: 2, capacity: 107374182400n, allocation: 0n, available: 107374182400n });
  assert.match((await conn.invoke('storagePoolGetXMLDesc', { pool: pool!, flags: 0 })).xml, /<source>\n  <\/source>/);
  assert.deepEqual(await conn.invoke('connectListAllInterfaces', { need_results: 1, flags: 0 }), { ifaces: [{ name: 'eth1', mac: 'aa:bb:cc:dd:ee:ff' }], ret: 1 });
  // without need_results only the count comes back, as libvirt's remote driver asks for it
  assert.deepEqual(await conn.invoke('connectListAllInterfaces', { need_results: 0, flags: 0 }), { ifaces: [], ret: 1 });
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

test('families: the test driver has no secret or network filter driver, and helpers cannot be called', async () => {
  const conn = await connect('test:///default');
  await rejects(conn.invoke('connectListAllSecrets', { need_results: 1, flags: 0 }), 'this function is not supported by the connection driver: virConnectListAllSecrets');
  await rejects(conn.invoke('connectListAllNWFilters', { need_results: 1, flags: 0 }), 'this function is not supported by the connection driver: virConnectListAllNWFilters');
  // a family answers only its own procedures; an API class's helpers are no procedures
  assert.equal((conn.drivers.hypervisor as Record<string, unknown>)['connectListAllNetworks'], undefined);
  assert.equal((conn.drivers.hypervisor as Record<string, unknown>)['domainObj'], undefined);
  assert.equal(typeof conn.drivers.nodedev?.nodeDeviceLookupByName, 'function');
  await conn.close();
});

test('lifecycle: ids only grow, reasons follow libvirt, transient domains vanish', async () => {
  const conn = await open('');
  const { dom: ref } = await conn.invoke('domainDefineXML', { xml: WEB01 });
  assert.equal(ref.id, -1);
  assert.match((await conn.invoke('domainGetXMLDesc', { dom: ref, flags: 0 })).xml, /<target dev='testnet0'\/>/);
  const { dom: started } = await conn.invoke('domainCreateWithFlags', { dom: ref, flags: 0 });
  assert.equal(started.id, 1);
  await rejects(conn.invoke('domainCreate', { dom: ref }), "internal error: Domain 'web01' is already running");
  await conn.invoke('domainSuspend', { dom: started });
  assert.deepEqual(await conn.invoke('domainGetState', { dom: started, flags: 0 }), { state: DomainState.PAUSED, reason: 1 });
  await rejects(conn.invoke('domainSuspend', { dom: started }), "internal error: domain 'web01' not running");
  await conn.invoke('domainResume', { dom: started });
  assert.deepEqual(await conn.invoke('domainGetState', { dom: started, flags: 0 }), { state: DomainState.RUNNING, reason: 5 });
  await conn.invoke('domainDestroy', { dom: started });
  assert.deepEqual(await conn.invoke('domainGetState', { dom: started, flags: 0 }), { state: DomainState.SHUTOFF, reason: 2 });
  await rejects(conn.invoke('domainDestroyFlags', { dom: started, flags: 0 }), 'Requested operation is not valid: domain is not running');
  assert.equal((await conn.invoke('domainCreateWithFlags', { dom: ref, flags: 0 })).dom.id, 2);
  await rejects(conn.invoke('domainCreateWithFlags', { dom: ref, flags: 1 }), 'unsupported flags (0x1) in function testDomainCreateWithFlags');
  await conn.invoke('domainUndefine', { dom: ref });
  assert.deepEqual(await conn.invoke('domainIsPersistent', { dom: ref }), { persistent: 0 });
  await conn.invoke('domainShutdown', { dom: ref });
  await rejects(conn.invoke('domainLookupByName', { name: 'web01' }), 'Domain not found');
});

test('define: duplicate names and UUIDs, live and persistent memory and vCPUs', async () => {
  const conn = await open('');
  const { dom: ref } = await conn.invoke('domainDefineXML', { xml: WEB01 });
  await rejects(
    conn.invoke('domainDefineXML', { xml: WEB01.replace('<name>web01</name>', '<name>other</name>') }),
    'operation failed: domain \'web01\' is already defined with uuid 5c1d2a3b-4e5f-4a6b-8c7d-000000000101',
  );
  await rejects(
    conn.invoke('domainDefineXMLFlags', { xml: WEB01.replace('000000000101', '000000000999'), flags: 0 }),
    "operation failed: domain 'web01' already exists with uuid 5c1d2a3b-4e5f-4a6b-8c7d-000000000101",
  );
  const { dom: running } = await conn.invoke('domainCreateWithFlags', { dom: ref, flags: 0 });
  const xml = async (flags: number) => (await conn.invoke('domainGetXMLDesc', { dom: running, flags })).xml;
  await conn.invoke('domainSetMemory', { dom: running, memory: 524288n });
  assert.match(await xml(0), /<currentMemory unit='KiB'>524288<\/currentMemory>/);
  assert.match(await xml(2), /<currentMemory unit='KiB'>1048576<\/currentMemory>/);
  assert.deepEqual(await conn.invoke('domainGetMaxMemory', { dom: running }), { memory: 1048576n });
  await rejects(conn.invoke('domainSetMemory', { dom: running, memory: 99999999n }), 'invalid argument: cannot set memory higher than max memory');
  await rejects(conn.invoke('domainSetMaxMemory', { dom: running, memory: 4194304n }), 'Requested operation is not valid: cannot resize the maximum memory on an active domain');
  await conn.invoke('domainSetVcpusFlags', { dom: running, nvcpus: 8, flags: 2 | 4 });
  assert.deepEqual(await conn.invoke('domainGetVcpusFlags', { dom: running, flags: 2 | 4 }), { num: 8 });
  assert.deepEqual(await conn.invoke('domainGetVcpusFlags', { dom: running, flags: 1 | 4 }), { num: 2 });
  assert.deepEqual(await conn.invoke('domainGetMaxVcpus', { dom: running }), { num: 2 });
  await rejects(conn.invoke('domainSetVcpusFlags', { dom: running, nvcpus: 3, flags: 1 }), 'invalid argument: requested cpu amount exceeds maximum (3 > 2)');
  const info = await conn.invoke('domainGetInfo', { dom: running });
  assert.deepEqual({ ...info, cpuTime: 0n }, { state: DomainState.RUNNING, maxMem: 1048576n, memory: 524288n, nrVirtCpu: 1, cpuTime: 0n });
});

test('networks: define, start, update DHCP hosts, refuse to undefine while active', async () => {
  const conn = await open('');
  const lab = `<network><name>lab</name><uuid>7a3f1e2d-9c8b-4a5d-8e6f-0a1b2c3d4e01</uuid>
    <ip address='10.10.0.1' netmask='255.255.255.0'><dhcp><range start='10.10.0.100' end='10.10.0.200'/></dhcp></ip></network>`;
  const { net } = await conn.invoke('networkDefineXML', { xml: lab });
  const xml = async () => (await conn.invoke('networkGetXMLDesc', { net, flags: 0 })).xml;
  assert.deepEqual(await conn.invoke('networkIsActive', { net }), { active: 0 });
  await conn.invoke('networkCreate', { net });
  await rejects(conn.invoke('networkUndefine', { net }), "Requested operation is not valid: Network 'lab' is still running");
  await conn.invoke('networkUpdate', { net, command: 3, section: 4, parentIndex: -1, xml: "<host mac='52:54:00:00:00:09' name='h9' ip='10.10.0.9'/>", flags: 1 | 2 });
  assert.match(await xml(), /<host mac='52:54:00:00:00:09' name='h9' ip='10.10.0.9'\/>/);
  await conn.invoke('networkUpdate', { net, command: 2, section: 4, parentIndex: -1, xml: "<host mac='52:54:00:00:00:09'/>", flags: 1 | 2 });
  assert.doesNotMatch(await xml(), /<host/);
  await rejects(conn.invoke('networkDefineXMLFlags', { xml: lab.replace('4e01', '4e02'), flags: 0 }), "operation failed: network 'lab' already exists with uuid 7a3f1e2d-9c8b-4a5d-8e6f-0a1b2c3d4e01");
  await rejects(conn.invoke('networkDefineXMLFlags', { xml: lab, flags: 2 }), 'unsupported flags (0x2) in function testNetworkDefineXMLFlags');
  await rejects(conn.invoke('networkDefineXML', { xml: '<network><name>x</name><bridge name="b">\n</network>' }), "(network_definition):2: Opening and ending tag mismatch: bridge line 1 and network\n</network>\n----------^");
  await conn.invoke('networkDestroy', { net });
  await conn.invoke('networkUndefine', { net });
  await rejects(conn.invoke('networkLookupByName', { name: 'lab' }), "Network not found: no network with matching name 'lab'");
});

test('storage: volumes fill the pool, names cannot escape it, every pool claims 100 GiB', async () => {
  const conn = await open(`<pool type='dir'><name>p</name><uuid>c0000000-0000-4000-8000-000000000001</uuid>
    <capacity unit='GiB'>5</capacity><target><path>/srv/p</path></target></pool>`);
  const { pool } = await conn.invoke('storagePoolLookupByName', { name: 'p' });
  const createVol = (xml: string) => conn.invoke('storageVolCreateXML', { pool, xml, flags: 0 });
  const { vol } = await createVol("<volume><name>a.qcow2</name><capacity unit='GiB'>10</capacity><allocation unit='GiB'>2</allocation><target><format type='qcow2'/></target></volume>");
  assert.deepEqual(vol, { pool: 'p', name: 'a.qcow2', key: '/srv/p/a.qcow2' });
  assert.deepEqual(await conn.invoke('storagePoolGetInfo', { pool }), { state: 2, capacity: 107374182400n, allocation: 2147483648n, available: 105226698752n });
  assert.deepEqual(await conn.invoke('storageVolGetInfo', { vol }), { type: 0, capacity: 10737418240n, allocation: 2147483648n });
  assert.deepEqual(await conn.invoke('storagePoolListAllVolumes', { pool, need_results: 1, flags: 0 }), { vols: [vol], ret: 1 });
  assert.equal(
    (await conn.invoke('storageVolGetXMLDesc', { vol, flags: 0 })).xml,
    "<volume type='file'>\n  <name>a.qcow2</name>\n  <key>/srv/p/a.qcow2</key>\n  <capacity unit='bytes'>10737418240</capacity>\n" +
      "  <allocation unit='bytes'>2147483648</allocation>\n  <target>\n    <path>/srv/p/a.qcow2</path>\n    <format type='qcow2'/>\n  </target>\n</volume>\n",
  );
  await rejects(createVol('<volume><name>../../etc/passwd</name><capacity>1</capacity></volume>'), "Requested operation is not valid: volume name '../../etc/passwd' cannot contain '/'");
  await rejects(createVol("<volume><name>huge</name><capacity unit='GiB'>200</capacity></volume>"), "internal error: Not enough free space in pool for volume 'huge'");
  await rejects(createVol('<volume><name>a.qcow2</name><capacity>1</capacity></volume>'), 'operation failed: storage vol already exists');
  await rejects(conn.invoke('storageVolLookupByPath', { path: 'nosuch' }), "Storage volume not found: no storage vol with matching path 'nosuch'");
  await conn.invoke('storageVolDelete', { vol, flags: 0 });
  assert.equal((await conn.invoke('storagePoolGetInfo', { pool })).allocation, 0n);
  await rejects(conn.invoke('storagePoolCreate', { pool, flags: 0 }), "Requested operation is not valid: storage pool 'p' is active");
  await conn.invoke('storagePoolDestroy', { pool });
  await rejects(conn.invoke('storagePoolDestroy', { pool }), "Requested operation is not valid: storage pool 'p' is not active");
  await conn.invoke('storagePoolUndefine', { pool });
});

test('snapshots: current and parent links, delete with children', async () => {
  const conn = await open(WEB01);
  const { domains: [dom] } = await conn.invoke('connectListAllDomains', { need_results: 1, flags: 0 });
  const lookup = async (name: string) => (await conn.invoke('domainSnapshotLookupByName', { dom: dom!, name, flags: 0 })).snap;
  const parent = async (name: string) => (await conn.invoke('domainSnapshotGetParent', { snap: await lookup(name), flags: 0 })).snap.name;
  for (const name of ['s1', 's2', 's3']) await conn.invoke('domainSnapshotCreateXML', { dom: dom!, xml_desc: `<domainsnapshot><name>${name}</name></domainsnapshot>`, flags: 0 });
  await rejects(conn.invoke('domainSnapshotCreateXML', { dom: dom!, xml_desc: '<domainsnapshot><name>s1</name></domainsnapshot>', flags: 0 }), 'operation failed: domain moment s1 already exists');
  assert.equal(await parent('s2'), 's1');
  assert.deepEqual(await conn.invoke('domainSnapshotNum', { dom: dom!, flags: 0 }), { num: 3 });
  assert.deepEqual(await conn.invoke('domainSnapshotNumChildren', { snap: await lookup('s1'), flags: 0 }), { num: 1 });
  await conn.invoke('domainRevertToSnapshot', { snap: await lookup('s1'), flags: 0 });
  assert.equal((await conn.invoke('domainSnapshotCurrent', { dom: dom!, flags: 0 })).snap.name, 's1');
  assert.equal((await conn.invoke('connectListAllDomains', { need_results: 1, flags: 0 })).domains[0]!.id, 2);
  await conn.invoke('domainSnapshotDelete', { snap: await lookup('s2'), flags: 0 });
  assert.equal(await parent('s3'), 's1');
  await conn.invoke('domainSnapshotDelete', { snap: await lookup('s1'), flags: 1 });
  assert.deepEqual(await conn.invoke('domainListAllSnapshots', { dom: dom!, need_results: 1, flags: 0 }), { snapshots: [], ret: 0 });
  await rejects(lookup('s3'), "Domain snapshot not found: no domain snapshot with matching name 's3'");
});

test('node files: runstates, transient and managed-save domains, external files', async () => {
  const dir = tempDir('test-ext');
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
  const { domains } = await conn.invoke('connectListAllDomains', { need_results: 1, flags: 0 });
  assert.deepEqual(domains.map((d) => [d.name, d.id]), [['ext', 1], ['paused', 2], ['saved', -1]]);
  assert.equal((await conn.invoke('nodeGetInfo')).cpus, 4);
  const saved = domains[2]!;
  assert.deepEqual(await conn.invoke('domainHasManagedSaveImage', { dom: saved, flags: 0 }), { result: 1 });
  await rejects(conn.invoke('domainUndefine', { dom: saved }), 'Requested operation is not valid: Refusing to undefine while domain managed save image exists');
  await rejects(connect(`test://${nodeFile("<domain type='test'><name>w</name><memory>1</memory><os><type>hvm</type></os><test:runstate>42</test:runstate></domain>")}`), "XML error: runstate '42' out of range'");
});

test('host interfaces: bare OPERATION_INVALID on start/stop, define and transactions roll back', async () => {
  const conn = await open(`<interface type='ethernet' name='eth0'><mac address='00:11:22:33:44:55'/></interface>
    <interface type='vlan' name='eth0.42'><vlan tag='42'><interface name='eth0'/></vlan></interface>`);
  const { iface: eth0 } = await conn.invoke('interfaceLookupByMACString', { mac: '00:11:22:33:44:55' });
  const names = async () => (await conn.invoke('connectListAllInterfaces', { need_results: 1, flags: 0 })).ifaces.map((i) => i.name);
  assert.equal(eth0.name, 'eth0');
  await rejects(conn.invoke('interfaceCreate', { iface: eth0, flags: 0 }), 'Requested operation is not valid');
  await conn.invoke('interfaceDestroy', { iface: eth0, flags: 0 });
  assert.deepEqual(await conn.invoke('interfaceIsActive', { iface: eth0 }), { active: 0 });
  await rejects(conn.invoke('interfaceDestroy', { iface: eth0, flags: 0 }), 'Requested operation is not valid');
  await conn.invoke('interfaceChangeBegin', { flags: 0 });
  await rejects(conn.invoke('interfaceChangeBegin', { flags: 0 }), 'Requested operation is not valid: there is another transaction running.');
  await conn.invoke('interfaceDefineXML', { xml: "<interface type='bridge' name='br1'><bridge/></interface>", flags: 0 });
  assert.equal((await names()).length, 3);
  await conn.invoke('interfaceChangeRollback', { flags: 0 });
  assert.deepEqual(await names(), ['eth0', 'eth0.42']);
  assert.match((await conn.invoke('interfaceGetXMLDesc', { iface: { name: 'eth0.42', mac: '' }, flags: 0 })).xml, /<vlan tag='42'>\n    <interface name='eth0'\/>\n  <\/vlan>/);
});

test('managed save and rename: saved domains start fresh, names stay unique', async () => {
  const conn = await open(WEB01);
  const { domains: [dom] } = await conn.invoke('connectListAllDomains', { need_results: 1, flags: 0 });
  await conn.invoke('domainManagedSave', { dom: dom!, flags: 0 });
  assert.deepEqual(await conn.invoke('domainGetState', { dom: dom!, flags: 0 }), { state: DomainState.SHUTOFF, reason: 5 });
  assert.deepEqual((await conn.invoke('connectListAllDomains', { need_results: 1, flags: 1 << 8 })).domains.map((d) => d.name), ['web01']);
  assert.deepEqual(await conn.invoke('domainRename', { dom: dom!, new_name: 'web02', flags: 0 }), { retcode: 0 });
  await rejects(conn.invoke('domainLookupByName', { name: 'web01' }), 'Domain not found');
  const { dom: renamed } = await conn.invoke('domainLookupByName', { name: 'web02' });
  await conn.invoke('domainCreate', { dom: renamed });
  assert.deepEqual(await conn.invoke('domainHasManagedSaveImage', { dom: renamed, flags: 0 }), { result: 0 });
  await rejects(conn.invoke('domainRename', { dom: renamed, new_name: 'x', flags: 0 }), 'Requested operation is not valid: cannot rename active domain');
});

test('host: node info, CPU map and security model as libvirt packs them', async () => {
  const conn = await connect('test:///default');
  const info = await conn.invoke('nodeGetInfo');
  assert.equal(info.model.length, 32);
  assert.deepEqual(info.model.slice(0, 5), [...Buffer.from('i686'), 0]);
  assert.deepEqual({ ...info, model: [] }, { model: [], memory: 3145728n, cpus: 16, mhz: 1400, nodes: 2, sockets: 2, cores: 2, threads: 2 });
  assert.deepEqual(await conn.invoke('nodeGetCPUMap', { need_map: 1, need_online: 1, flags: 0 }), { cpumap: Buffer.from([0x15]), online: 3, ret: 8 });
  assert.deepEqual(await conn.invoke('nodeGetCPUMap', { need_map: 0, need_online: 0, flags: 0 }), { cpumap: Buffer.alloc(0), online: 0, ret: 8 });
  assert.deepEqual(await conn.invoke('nodeGetSecurityModel'), { model: [...Buffer.from('testSecurity'), 0], doi: [0] });
  assert.deepEqual(await conn.invoke('nodeGetCellsFreeMemory', { startCell: 1, maxcells: 4 }), { cells: [4194304n] });
  assert.deepEqual(await conn.invoke('connectGetType'), { type: 'TEST' });
  assert.deepEqual(await conn.invoke('connectGetVersion'), { hv_ver: 2n });
  await conn.close();
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
