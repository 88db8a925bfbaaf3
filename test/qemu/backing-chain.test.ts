// Backing chains in the live XML (backing-chain.ts): what qemuDomainDetermineDiskChain
// records for real qcow2 chains made by qemu-img, the storage ids the command
// line then gives each layer, and virStorageSourceChainLookup's names and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backingOf, detectBackingChains, diskChain, lookupChainLayer, setBackingStore } from '../../src/drivers/qemu/backing-chain.js';
import { recordStorageIds } from '../../src/drivers/qemu/command-line/disks.js';
import { formatBackingChains } from '../../src/conf/domain-inactive-form.js';
import { child, element, formatXml, parseXml } from '../../src/util/xml.js';

const noQemuImg = existsSync('/usr/bin/qemu-img') ? false : 'qemu-img (qemu-utils) is not installed';
if (noQemuImg) {
  if (process.env.CI === 'true') throw new Error(`backing chain test: ${noQemuImg} (CI=true requires it)`);
  process.stderr.write(`*** backing chain test SKIPPED: ${noQemuImg} ***\n`);
}

/** raw base <- qcow2 mid (relative name) <- qcow2 top, in a temporary folder. */
function chainDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chain-test-'));
  writeFileSync(path.join(dir, 'base.img'), Buffer.alloc(1 << 20));
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'base.img', '-F', 'raw', path.join(dir, 'mid.qcow2')]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', path.join(dir, 'mid.qcow2'), '-F', 'qcow2', path.join(dir, 'top.qcow2')]);
  return dir;
}

const diskXml = (file: string, format = 'qcow2') => parseXml(`<disk type='file' device='disk'><driver name='qemu' type='${format}'/><source file='${file}'/><target dev='vda' bus='virtio'/></disk>`);

test('the probed chain is written as libvirt writes it, with storage ids top-down on <source> and <backingStore>', { skip: noQemuImg }, () => {
  const dir = chainDir();
  try {
    const disk = diskXml(path.join(dir, 'top.qcow2'));
    detectBackingChains([disk]);
    recordStorageIds([disk]);
    // the marker of probed images stays in the status file; the formatter leaves it out
    const dom = parseXml('<domain><devices/></domain>');
    child(dom, 'devices')!.children.push(disk);
    formatBackingChains(dom, false);
    assert.equal(formatXml(disk), `<disk type='file' device='disk'>
  <driver name='qemu' type='qcow2'/>
  <source file='${dir}/top.qcow2' index='1'/>
  <backingStore type='file' index='2'>
    <format type='qcow2'/>
    <source file='${dir}/mid.qcow2'/>
    <backingStore type='file' index='3'>
      <format type='raw'/>
      <source file='${dir}/base.img'/>
      <backingStore/>
    </backingStore>
  </backingStore>
  <target dev='vda' bus='virtio'/>
</disk>
`);
    assert.deepEqual(diskChain(disk).map((l) => [path.basename(l.path!), l.format, l.index]), [['top.qcow2', 'qcow2', 1], ['mid.qcow2', 'qcow2', 2], ['base.img', 'raw', 3]]);
    // a raw image ends a chain; an unreadable one leaves it open
    assert.equal(backingOf(path.join(dir, 'base.img'), 'raw'), null);
    assert.equal(backingOf(path.join(dir, 'missing.qcow2'), 'qcow2'), undefined);
    const missing = diskXml(path.join(dir, 'missing.qcow2'));
    detectBackingChains([missing]);
    assert.equal(child(missing, 'backingStore'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an inactive definition leaves the probed images out (libvirt keeps detected images to the live XML), the end of a raw chain in', { skip: noQemuImg }, () => {
  const dir = chainDir();
  try {
    const dom = parseXml('<domain><devices/></domain>');
    const [probed, raw] = [diskXml(path.join(dir, 'top.qcow2')), diskXml(path.join(dir, 'base.img'), 'raw')];
    child(dom, 'devices')!.children.push(probed, raw);
    detectBackingChains([probed, raw]);
    formatBackingChains(dom, true);
    assert.equal(child(probed, 'backingStore'), undefined);
    assert.equal(formatXml(child(raw, 'backingStore')!), '<backingStore/>\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chain lookups by path, relative name or vda[N], with libvirt messages', { skip: noQemuImg }, () => {
  const dir = chainDir();
  try {
    const disk = diskXml(path.join(dir, 'top.qcow2'));
    detectBackingChains([disk]);
    recordStorageIds([disk]);
    const [top, mid, base] = diskChain(disk);
    assert.equal(lookupChainLayer(disk, path.join(dir, 'mid.qcow2')).holder, mid!.holder);
    assert.equal(lookupChainLayer(disk, 'base.img').holder, base!.holder);
    assert.equal(lookupChainLayer(disk, 'vda[3]').holder, base!.holder);
    assert.equal(lookupChainLayer(disk, 'base.img', top).holder, base!.holder);
    assert.throws(() => lookupChainLayer(disk, 'vdb[2]'), /requested target 'vdb' does not match target 'vda'/);
    assert.throws(() => lookupChainLayer(disk, 'vda[7]'), /could not find backing store index '7' in chain for 'vda'/);
    assert.throws(() => lookupChainLayer(disk, 'nope.qcow2'), /could not find image 'nope.qcow2' in chain for 'vda'/);
    assert.throws(() => lookupChainLayer(disk, path.join(dir, 'top.qcow2'), mid), new RegExp(`could not find image '${dir}/top.qcow2' beneath '${dir}/mid.qcow2' in chain for 'vda'`));
    // a commit's rewrite: mid's layer goes, top rests on base
    setBackingStore(top!.holder, base!.holder);
    assert.deepEqual(diskChain(disk).map((l) => l.index), [1, 3]);
    setBackingStore(top!.holder, element('backingStore'));
    assert.deepEqual(diskChain(disk).map((l) => l.index), [1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
