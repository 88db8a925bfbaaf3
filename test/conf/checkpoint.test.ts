// The checkpoint XML model (src/conf/checkpoint.ts) and the qemu driver's
// checkpoint metadata files: a file as libvirt 9.0's qemuCheckpointWriteMetadata
// wrote it (captured on this host) reads back and is written again byte for
// byte; disks align as virDomainCheckpointAlignDisks does, with its errors;
// the tree's current checkpoint and list filters follow libvirt's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alignCheckpointDisks, CheckpointList, CheckpointXMLFlags, formatCheckpointXML, parseCheckpointXML, type Checkpoint } from '../../src/conf/checkpoint.js';
import { MomentListFlags } from '../../src/conf/moment-tree.js';
import { CheckpointMetadata } from '../../src/drivers/qemu/checkpoint-metadata.js';
import { configFileHeader } from '../../src/util/config-header.js';

/** c2.xml of a domain with a qcow2 disk and an empty cdrom, as libvirt wrote it after checkpoint-create-as c1, c2. */
const c2 = `<domaincheckpoint>
  <name>c2</name>
  <parent>
    <name>c1</name>
  </parent>
  <creationTime>1796572097</creationTime>
  <disks>
    <disk name='vda' checkpoint='bitmap' bitmap='c2'/>
    <disk name='sda' checkpoint='no'/>
  </disks>
  <domain type='qemu'>
    <name>ckpt-capture-tmp</name>
    <uuid>b5a9882f-7c4a-43fc-9bd8-c5ee67234907</uuid>
    <memory unit='KiB'>65536</memory>
    <currentMemory unit='KiB'>65536</currentMemory>
    <vcpu placement='static'>1</vcpu>
    <resource>
      <partition>/machine</partition>
    </resource>
    <os>
      <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
      <boot dev='hd'/>
    </os>
    <cpu mode='custom' match='exact' check='none'>
      <model fallback='forbid'>qemu64</model>
    </cpu>
    <clock offset='utc'/>
    <on_poweroff>destroy</on_poweroff>
    <on_reboot>restart</on_reboot>
    <on_crash>destroy</on_crash>
    <devices>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='/var/tmp/ckptcap/d.qcow2'/>
        <backingStore/>
        <target dev='vda' bus='virtio'/>
        <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
      </disk>
      <disk type='file' device='cdrom'>
        <driver name='qemu' type='raw'/>
        <target dev='sda' bus='sata'/>
        <readonly/>
        <address type='drive' controller='0' bus='0' target='0' unit='0'/>
      </disk>
      <controller type='usb' index='0' model='qemu-xhci'>
        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
      </controller>
      <controller type='sata' index='0'>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>
      </controller>
      <controller type='pci' index='0' model='pcie-root'/>
      <controller type='pci' index='1' model='pcie-root-port'>
        <model name='pcie-root-port'/>
        <target chassis='1' port='0x8'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0' multifunction='on'/>
      </controller>
      <controller type='pci' index='2' model='pcie-root-port'>
        <model name='pcie-root-port'/>
        <target chassis='2' port='0x9'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x1'/>
      </controller>
      <controller type='pci' index='3' model='pcie-root-port'>
        <model name='pcie-root-port'/>
        <target chassis='3' port='0xa'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
      </controller>
      <controller type='pci' index='4' model='pcie-root-port'>
        <model name='pcie-root-port'/>
        <target chassis='4' port='0xb'/>
        <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x3'/>
      </controller>
      <input type='mouse' bus='ps2'/>
      <input type='keyboard' bus='ps2'/>
      <audio id='1' type='none'/>
      <memballoon model='virtio'>
        <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
      </memballoon>
    </devices>
  </domain>
</domaincheckpoint>
`;

test('checkpoint metadata in libvirt layout: read, current, written back byte for byte, public form', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-ckptmeta-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'g'));
  const c1 = c2.replace('<name>c2</name>\n  <parent>\n    <name>c1</name>\n  </parent>', '<name>c1</name>').replace("bitmap='c2'", "bitmap='c1'");
  writeFileSync(path.join(dir, 'g', 'c1.xml'), configFileHeader('virsh checkpoint-edit') + c1);
  writeFileSync(path.join(dir, 'g', 'c2.xml'), configFileHeader('virsh checkpoint-edit') + c2);
  const warnings: string[] = [];
  const meta = new CheckpointMetadata(dir, (m) => warnings.push(m));
  const list = await meta.load('g');
  assert.deepEqual(warnings, []);
  assert.equal(list.current, 'c2', 'the tip of a chain is current');
  const chk = list.find('c2')!;
  assert.equal(chk.parent, 'c1');
  assert.deepEqual(chk.disks, [{ name: 'vda', checkpoint: 'bitmap', bitmap: 'c2' }, { name: 'sda', checkpoint: 'no' }]);
  await meta.write('g', chk);
  assert.equal(readFileSync(path.join(dir, 'g', 'c2.xml'), 'utf8'), configFileHeader('virsh checkpoint-edit') + c2);
  assert.equal(formatCheckpointXML(chk, CheckpointXMLFlags.NO_DOMAIN), c2.replace(/ {2}<domain [\s\S]*<\/domain>\n/, ''));
  chk.disks[0]!.size = 65536;
  assert.match(formatCheckpointXML(chk, CheckpointXMLFlags.SIZE | CheckpointXMLFlags.NO_DOMAIN), /<disk name='vda' checkpoint='bitmap' bitmap='c2' size='65536'\/>/);
  assert.doesNotMatch(formatCheckpointXML(chk, CheckpointXMLFlags.NO_DOMAIN), /size=/);

  writeFileSync(path.join(dir, 'g', 'bad.xml'), '<domaincheckpoint><name>bad</name></domaincheckpoint>');
  assert.equal((await meta.load('g')).all.length, 2);
  assert.match(warnings[0]!, /Failed to parse checkpoint XML from file '.*bad\.xml': .*missing creationTime from existing checkpoint/);
  await meta.moveAll('g', 'h');
  assert.equal(meta.count('g'), 0);
  assert.equal(meta.count('h'), 3);
  await meta.removeAll('h');
  assert.equal(meta.count('h'), 0);
});

test('checkpoint disks align as libvirt aligns them, with its errors', () => {
  const disks = [{ target: 'vda', path: '/var/tmp/g.qcow2', skip: false }, { target: 'vdb', path: '/var/tmp/h.qcow2', skip: false }, { target: 'sda', skip: true }];
  const align = (xml: string) => {
    const chk = parseCheckpointXML(xml, false);
    alignCheckpointDisks(chk, disks);
    return chk.disks;
  };
  assert.deepEqual(align('<domaincheckpoint><name>c</name></domaincheckpoint>'), [
    { name: 'vda', checkpoint: 'bitmap', bitmap: 'c' }, { name: 'vdb', checkpoint: 'bitmap', bitmap: 'c' }, { name: 'sda', checkpoint: 'no' },
  ]);
  // a disk named by its image; the ones not named are left out
  assert.deepEqual(align("<domaincheckpoint><name>c</name><disks><disk name='/var/tmp/h.qcow2'/></disks></domaincheckpoint>"), [
    { name: 'vda', checkpoint: 'no' }, { name: 'vdb', checkpoint: 'bitmap', bitmap: 'c' }, { name: 'sda', checkpoint: 'no' },
  ]);
  assert.throws(() => align("<domaincheckpoint><disks><disk name='vdz'/></disks></domaincheckpoint>"), /unsupported configuration: no disk named 'vdz'/);
  assert.throws(() => align("<domaincheckpoint><disks><disk name='vda'/><disk name='vda'/></disks></domaincheckpoint>"), /disk 'vda' specified twice/);
  assert.throws(() => align("<domaincheckpoint><disks><disk name='sda'/></disks></domaincheckpoint>"), /disk 'sda' is empty or readonly/);
  assert.throws(() => parseCheckpointXML("<domaincheckpoint><disks><disk name='vda' checkpoint='full'/></disks></domaincheckpoint>", false), /Invalid value for attribute 'checkpoint' in element 'disk': 'full'/);
  assert.throws(() => parseCheckpointXML('<domaincheckpoint/>', true), /a redefined checkpoint must have a name/);
  assert.throws(() => alignCheckpointDisks(parseCheckpointXML('<domaincheckpoint/>', false), []), /domain must have at least one disk to perform checkpoints/);
});

test('checkpoint tree: the current one only on a single chain, list filters', () => {
  const at = (name: string, parent?: string): Checkpoint => ({ name, creationTime: 1, disks: [], ...(parent ? { parent } : {}) });
  const list = new CheckpointList();
  for (const c of [at('a'), at('b', 'a'), at('c', 'b')]) list.add(c);
  assert.equal(list.singleLeaf()?.name, 'c');
  assert.throws(() => list.add(at('a')), /operation failed: domain moment a already exists/);
  list.add(at('d', 'a'));
  assert.equal(list.singleLeaf(), undefined, 'a branch has no current checkpoint');
  const names = (flags: number, from?: string) => list.select(flags, from).map((c) => c.name).sort();
  assert.deepEqual(names(MomentListFlags.ROOTS), ['a']);
  assert.deepEqual(names(MomentListFlags.LEAVES), ['c', 'd']);
  assert.deepEqual(names(MomentListFlags.NO_LEAVES), ['a', 'b']);
  assert.deepEqual(names(0, 'a'), ['b', 'd']);
  assert.deepEqual(names(MomentListFlags.DESCENDANTS, 'a'), ['b', 'c', 'd']);
  const late = new CheckpointList();
  for (const c of [at('z'), at('y', 'z'), at('x', 'y')]) late.add(c);
  assert.deepEqual(late.topological([...late.all].reverse()).map((c) => c.name), ['z', 'y', 'x']);
});
