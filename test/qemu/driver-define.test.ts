// The embedded qemu driver's define path and domain object API: define,
// redefine, libvirt's clash errors, lookups, undefine, autostart, list filters,
// XML flags, and what lands on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readlinkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type Connection } from '../../src/api/connection.js';
import { DomainState, DomainXMLFlags, ListDomainsFlags } from '../../src/api/types.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { ATOMIC_TEMP_PREFIX } from '../../src/util/atomic-file.js';
import { domainXML } from './driver-fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';

const skip = findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed';

const UUID1 = 'c7a5fdbd-edaf-9455-926a-d65c16db1809';
const UUID2 = 'c7a5fdbd-edaf-9455-926a-d65c16db1802';

async function fresh(): Promise<{ root: string; conn: Connection }> {
  const root = tempDir('driver');
  return { root, conn: await connect(`qemu:///embed?root=${root}`) };
}

test('define stores the canonical XML and the domain is found by name, uuid and in lists', { skip }, async () => {
  const { root, conn } = await fresh();
  const dom = await conn.defineDomain(domainXML('vm1', UUID1));
  assert.deepEqual(dom.ref, { name: 'vm1', uuid: UUID1, id: -1 });
  assert.equal((await conn.lookupDomainByName('vm1')).uuid, UUID1);
  assert.equal((await conn.lookupDomainByUUID(UUID1.toUpperCase())).name, 'vm1');
  assert.deepEqual((await conn.listAllDomains()).map((d) => d.name), ['vm1']);

  const xml = await dom.getXMLDesc(DomainXMLFlags.INACTIVE);
  assert.match(xml, /<type arch='x86_64' machine='pc-q35-[0-9.]+'>hvm<\/type>/, 'machine alias canonicalised from the probe');
  const file = readFileSync(path.join(root, 'etc', 'qemu', 'vm1.xml'), 'utf8');
  assert.ok(file.startsWith('<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE.'), 'libvirt header');
  assert.ok(file.endsWith(xml), 'the config file holds the same XML dumpxml prints');
  assert.deepEqual(readdirSync(path.join(root, 'etc', 'qemu')).filter((f) => f.startsWith(ATOMIC_TEMP_PREFIX)), [], 'no temp files left');

  assert.deepEqual(await dom.getInfo(), { state: DomainState.SHUTOFF, maxMem: 131072, memory: 131072, nrVirtCpu: 2, cpuTime: 0n });
  assert.deepEqual(await dom.getState(), { state: DomainState.SHUTOFF, reason: 0 });
  assert.equal(await dom.isActive(), false);
  assert.equal(await dom.isPersistent(), true);
});

test('redefine with the same name and uuid updates; clashes get libvirt\'s errors', { skip }, async () => {
  const { conn } = await fresh();
  await conn.defineDomain(domainXML('vm1', UUID1));
  const updated = await conn.defineDomain(domainXML('vm1', UUID1, 262144));
  assert.equal((await updated.getInfo()).maxMem, 262144);
  assert.equal((await conn.listAllDomains()).length, 1);

  await assert.rejects(conn.defineDomain(domainXML('vm1', UUID2)), {
    message: `operation failed: domain 'vm1' already exists with uuid ${UUID1}`,
  });
  await assert.rejects(conn.defineDomain(domainXML('vm2', UUID1)), {
    message: `operation failed: domain 'vm1' is already defined with uuid ${UUID1}`,
  });
  assert.deepEqual((await conn.listAllDomains()).map((d) => d.name), ['vm1'], 'a refused define changes nothing');
});

test('lookups of unknown domains fail with libvirt\'s messages', { skip }, async () => {
  const { conn } = await fresh();
  await assert.rejects(conn.lookupDomainByName('nope'), { message: "Domain not found: no domain with matching name 'nope'" });
  await assert.rejects(conn.lookupDomainByUUID(UUID2), { message: `Domain not found: no domain with matching uuid '${UUID2}'` });
  await assert.rejects(conn.lookupDomainByID(7), { message: 'Domain not found: no domain with matching id 7' });
});

test('undefine removes the config and the autostart link; the stale handle is reported', { skip }, async () => {
  const { root, conn } = await fresh();
  const dom = await conn.defineDomain(domainXML('vm1', UUID1));
  await dom.setAutostart(true);
  const link = path.join(root, 'etc', 'qemu', 'autostart', 'vm1.xml');
  assert.equal(readlinkSync(link), path.join(root, 'etc', 'qemu', 'vm1.xml'));
  assert.equal(await dom.getAutostart(), true);
  await dom.undefine();
  assert.equal(existsSync(link), false);
  assert.equal(existsSync(path.join(root, 'etc', 'qemu', 'vm1.xml')), false);
  assert.deepEqual(await conn.listAllDomains(), []);
  await assert.rejects(dom.undefine(), { message: `Domain not found: no domain with matching uuid '${UUID1}' (vm1)` });
});

test('a read view answers state queries as of its start; other calls, and any call after it, see what another process changed', { skip }, async () => {
  const { root, conn } = await fresh();
  const other = await connect(`qemu:///embed?root=${root}`); // a second process on the same folders
  try {
    await conn.defineDomain(domainXML('vm1', UUID1));
    await conn.readView(async () => {
      const [dom] = await conn.listAllDomains();
      await (await other.lookupDomainByName('vm1')).undefine();
      assert.deepEqual(await dom!.getState(), { state: DomainState.SHUTOFF, reason: 0 }, 'state as the view saw it');
      assert.equal(await dom!.isPersistent(), true);
      await assert.rejects(dom!.getXMLDesc(0), { message: `Domain not found: no domain with matching uuid '${UUID1}' (vm1)` }, 'a definition read re-reads the folder');
    });
    await other.defineDomain(domainXML('vm2', UUID2));
    const [dom2] = await conn.listAllDomains();
    await (await other.lookupDomainByName('vm2')).undefine();
    await assert.rejects(dom2!.getState(), { message: `Domain not found: no domain with matching uuid '${UUID2}' (vm2)` }, 'outside a view every call looks');
  } finally {
    await other.close();
    await conn.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('list filters follow virConnectListAllDomains flags', { skip }, async () => {
  const { conn } = await fresh();
  await conn.defineDomain(domainXML('b', UUID2));
  await (await conn.defineDomain(domainXML('a', UUID1))).setAutostart(true);
  const names = async (flags: number) => (await conn.listAllDomains(flags)).map((d) => d.name);
  assert.deepEqual(await names(0), ['a', 'b']);
  assert.deepEqual(await names(ListDomainsFlags.INACTIVE | ListDomainsFlags.PERSISTENT), ['a', 'b']);
  assert.deepEqual(await names(ListDomainsFlags.ACTIVE), []);
  assert.deepEqual(await names(ListDomainsFlags.TRANSIENT), []);
  assert.deepEqual(await names(ListDomainsFlags.AUTOSTART), ['a']);
  assert.deepEqual(await names(ListDomainsFlags.NO_AUTOSTART), ['b']);
  assert.deepEqual(await names(ListDomainsFlags.SHUTOFF), ['a', 'b']);
  assert.deepEqual(await names(ListDomainsFlags.RUNNING | ListDomainsFlags.PAUSED), []);
  await assert.rejects(conn.listAllDomains(1 << 20), { message: /^unsupported flags \(0x100000\)/ });
});

test('graphics passwords appear only with the secure flag', { skip }, async () => {
  const { conn } = await fresh();
  const dom = await conn.defineDomain(domainXML('vm1', UUID1, 131072, "<graphics type='vnc' port='-1' passwd='s3cret'/>"));
  assert.doesNotMatch(await dom.getXMLDesc(0), /s3cret/);
  assert.match(await dom.getXMLDesc(DomainXMLFlags.SECURE), /passwd='s3cret'/);
});

test('a define that fails validation writes nothing', { skip }, async () => {
  const { root, conn } = await fresh();
  await assert.rejects(conn.defineDomain('<domain type=\'qemu\'><name>x/y</name>'));
  await assert.rejects(conn.defineDomain(domainXML('bad', UUID1).replace("machine='q35'", "machine='no-such-machine'")));
  assert.deepEqual(readdirSync(path.join(root, 'etc', 'qemu')).filter((f) => f !== 'autostart'), []);
});

test('the embed URI is canonical and bad qemu URIs get libvirt\'s errors', async () => {
  await assert.rejects(connect('qemu:///embed'), { message: "invalid argument: Missing URI parameter 'root'" });
  await assert.rejects(connect('qemu:///embed?root=relative/dir'), { message: 'unsupported configuration: root path must be absolute' });
  await assert.rejects(connect('qemu:///bogus'), { message: "internal error: unexpected QEMU URI path '/bogus', try qemu:///system" });
  const root = tempDir('driver');
  const conn = await connect(`qemu:///embed?root=${root}/sub/../`);
  assert.equal(conn.uri, `qemu:///embed?root=${root}`);
});

test('qemu.conf hotplug_pcie_spare_ports reserves that many empty root ports without moving a device', { skip }, async () => {
  const nic = "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>";
  const define = async (spare: number | undefined) => {
    const root = tempDir('driver');
    if (spare !== undefined) {
      mkdirSync(path.join(root, 'etc'), { recursive: true });
      writeFileSync(path.join(root, 'etc', 'qemu.conf'), `# tsvirt\nhotplug_pcie_spare_ports = ${spare}\n`);
    }
    const conn = await connect(`qemu:///embed?root=${root}`);
    return (await conn.defineDomain(domainXML('spare', UUID1, 131072, nic))).getXMLDesc(DomainXMLFlags.INACTIVE);
  };
  const rootPorts = (xml: string) => (xml.match(/model='pcie-root-port'/g) ?? []).length;
  const nicAddress = (xml: string) => /<interface[\s\S]*?(<address [^>]*>)/.exec(xml)?.[1];
  const byDefault = await define(undefined);
  const one = await define(1);
  const eight = await define(8);
  assert.equal(one, byDefault, 'the default is libvirt\'s single spare port');
  assert.equal(rootPorts(eight) - rootPorts(one), 7);
  assert.equal(nicAddress(eight), nicAddress(one));
});

test('undefine refuses to orphan an NVRAM store or a managed save image unless told', { skip }, async () => {
  const { root, conn } = await fresh();
  const nvram = path.join(root, 'vm1_VARS.fd');
  const xml = domainXML('vm1', UUID1)
    .replace('</os>', `<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram>${nvram}</nvram></os><features><acpi/></features>`);
  const dom = await conn.defineDomain(xml);
  writeFileSync(nvram, 'vars');
  await assert.rejects(dom.undefine(), { message: 'Requested operation is not valid: cannot undefine domain with nvram' });
  await assert.rejects(dom.undefine(4 | 8), { message: 'Requested operation is not valid: cannot both keep and delete nvram' });
  const save = path.join(root, 'lib', 'qemu', 'save', 'vm1.save');
  mkdirSync(path.dirname(save), { recursive: true });
  writeFileSync(save, 'image');
  assert.equal(await dom.hasManagedSaveImage(), true);
  await assert.rejects(dom.undefine(4), { message: 'Requested operation is not valid: Refusing to undefine while domain managed save image exists' });
  assert.equal(existsSync(nvram), true, 'a refused undefine removes nothing');
  await dom.undefine(1 | 4);
  assert.equal(existsSync(nvram), false);
  assert.equal(existsSync(save), false);
  assert.deepEqual(await conn.listAllDomains(), []);
});
