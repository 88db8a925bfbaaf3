// QEMU's BLOCK_WRITE_THRESHOLD as libvirt's block-threshold events: the disk's
// event unless the threshold was set by index, the chain element's always,
// a backing image's by its index only, and nothing for nodes of no disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainState, RunningReason } from '../../src/api/types.js';
import { blockThresholdEvents } from '../../src/drivers/qemu/block-threshold.js';
import { RunningDomain } from '../../src/drivers/qemu/lifecycle.js';
import { parseXml } from '../../src/util/xml.js';

const live = parseXml(`<domain type='qemu' id='3'><name>vm</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><devices>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/top.qcow2' index='2'/>
    <backingStore type='file' index='1'><format type='raw'/><source file='/img/base.raw'/></backingStore>
    <target dev='vdb' bus='virtio'/></disk>
  <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='x' index='3'><host name='h'/></source><target dev='vdc' bus='virtio'/></disk>
</devices></domain>`);

const running = () => new RunningDomain('vm', 3, 1, 1, '/m', live, DomainState.RUNNING, RunningReason.BOOTED);
const seen = (dom: RunningDomain, node: string) =>
  blockThresholdEvents(dom, { 'node-name': node, 'write-threshold': 1048576, 'amount-exceeded': 4096 }).map((e) => {
    const b = e.body as { dev: string; path: string | null; threshold: bigint; excess: bigint };
    return `${b.dev} ${b.path} ${b.threshold} ${b.excess}`;
  });

test('the top image: the disk and its element, or the element only when set by index', () => {
  const dom = running();
  assert.deepEqual(seen(dom, 'libvirt-2-storage'), ['vdb /img/top.qcow2 1048576 4096', 'vdb[2] /img/top.qcow2 1048576 4096']);
  dom.thresholdIndexed.add(2);
  assert.deepEqual(seen(dom, 'libvirt-2-storage'), ['vdb[2] /img/top.qcow2 1048576 4096']);
});

test('a backing image by its index; a network image has no path; other nodes and malformed events none', () => {
  const dom = running();
  assert.deepEqual(seen(dom, 'libvirt-1-storage'), ['vdb[1] /img/base.raw 1048576 4096']);
  assert.deepEqual(seen(dom, 'libvirt-3-storage'), ['vdc null 1048576 4096', 'vdc[3] null 1048576 4096']);
  assert.deepEqual(seen(dom, 'libvirt-9-storage'), []);
  assert.deepEqual(seen(dom, 'libvirt-pflash0-storage'), []);
  assert.deepEqual(blockThresholdEvents(dom, { 'node-name': 'libvirt-2-storage' }), []);
});
