// The snapshot XML model (src/conf/snapshot.ts) and the qemu driver's metadata
// files: a file in libvirt 9.0's layout (as its qemuDomainSnapshotWriteMetadata
// writes it: <inactiveDomain>, <cookie>, <active>) reads back and is written
// again byte for byte; the tree's current snapshot and list filters follow it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatSnapshotXML, parseSnapshotRequest, snapshotIsExternal, SnapshotListFlags } from '../../src/conf/snapshot.js';
import { SnapshotMetadata } from '../../src/drivers/qemu/snapshot-metadata.js';
import { configFileHeader } from '../../src/util/config-header.js';

const UUID = '2e469482-acd3-47f3-b5fc-02103c1dee43';
const domain = (tag: string) => `  <${tag} type='qemu'>
    <name>g</name>
    <uuid>${UUID}</uuid>
    <memory unit='KiB'>262144</memory>
    <os>
      <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    </os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='/var/tmp/g.qcow2'/>
        <backingStore/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
  </${tag}>
`;

const running = `<domainsnapshot>
  <name>run1</name>
  <state>running</state>
  <parent>
    <name>off1</name>
  </parent>
  <creationTime>1796559236</creationTime>
  <memory snapshot='internal'/>
  <disks>
    <disk name='vda' snapshot='internal'/>
  </disks>
${domain('domain')}${domain('inactiveDomain')}  <cookie>
    <cpu mode='custom' match='exact' check='full'>
      <model fallback='forbid'>qemu64</model>
    </cpu>
    <slirpHelper/>
  </cookie>
  <active>1</active>
</domainsnapshot>
`;

const offline = `<domainsnapshot>
  <name>off1</name>
  <description>offline one</description>
  <state>shutoff</state>
  <creationTime>1796559227</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='internal'/>
  </disks>
${domain('domain')}  <active>0</active>
</domainsnapshot>
`;

const external = `<domainsnapshot>
  <name>ext1</name>
  <state>disk-snapshot</state>
  <parent>
    <name>run1</name>
  </parent>
  <creationTime>1796561363</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='/var/tmp/g.ext1'/>
    </disk>
  </disks>
${domain('domain')}  <active>0</active>
</domainsnapshot>
`;

test('snapshot metadata in libvirt layout: read, current, filters, written back byte for byte', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-snapmeta-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'g'));
  const files = { run1: running, off1: offline, ext1: external };
  for (const [name, xml] of Object.entries(files)) writeFileSync(path.join(dir, 'g', `${name}.xml`), configFileHeader('virsh snapshot-edit') + xml);
  const warnings: string[] = [];
  const meta = new SnapshotMetadata(dir, (m) => warnings.push(m));
  const list = await meta.load('g');
  assert.deepEqual(warnings, []);
  assert.equal(meta.count('g'), 3);
  assert.equal(list.current, 'run1');
  const names = (flags: number, from?: string) => list.list(flags, from).map((s) => s.name).sort();
  assert.deepEqual(names(SnapshotListFlags.ROOTS), ['off1']);
  assert.deepEqual(names(SnapshotListFlags.LEAVES), ['ext1']);
  assert.deepEqual(names(SnapshotListFlags.EXTERNAL), ['ext1']);
  assert.deepEqual(names(SnapshotListFlags.INTERNAL), ['off1', 'run1']);
  assert.deepEqual(names(SnapshotListFlags.DISK_ONLY), ['ext1']);
  assert.deepEqual(names(SnapshotListFlags.DESCENDANTS, 'off1'), ['ext1', 'run1']);
  assert.ok(snapshotIsExternal(list.get('ext1')) && !snapshotIsExternal(list.get('run1')));

  // written again (the current one marked), each file is what libvirt wrote
  for (const [name, xml] of Object.entries(files)) {
    await meta.write('g', UUID, list.get(name), list.current === name);
    assert.equal(readFileSync(path.join(dir, 'g', `${name}.xml`), 'utf8'), configFileHeader('virsh snapshot-edit') + xml);
  }
  // the public form has no <active>
  assert.equal(formatSnapshotXML(list.get('off1'), UUID, true), offline.replace('  <active>0</active>\n', ''));

  // a broken file is reported and skipped
  writeFileSync(path.join(dir, 'g', 'bad.xml'), '<domainsnapshot><name>bad</name>');
  assert.equal((await meta.load('g')).all.length, 3);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /Failed to parse snapshot XML from file '.*bad\.xml'/);
  await meta.removeAll('g');
  assert.equal(meta.count('g'), 0);
});

test('snapshot requests: memory and disks as virsh sends them, and libvirt errors', () => {
  const req = parseSnapshotRequest(`<domainsnapshot><name>s</name><memory file='/tmp/m.save'/><disks><disk name='vda' snapshot='external'><source file='/tmp/o.qcow2'/></disk></disks></domainsnapshot>`);
  assert.equal(req.memory, 'external');
  assert.equal(req.memoryFile, '/tmp/m.save');
  assert.deepEqual(req.disks.map((d) => d.attrs.name), ['vda']);
  assert.throws(() => parseSnapshotRequest(`<domainsnapshot><memory snapshot='internal' file='/tmp/m'/></domainsnapshot>`), /memory filename '\/tmp\/m' requires external snapshot/);
  assert.throws(() => parseSnapshotRequest(`<domainsnapshot><memory snapshot='bogus'/></domainsnapshot>`), /Invalid value for attribute 'snapshot' in element 'memory': 'bogus'/);
});
