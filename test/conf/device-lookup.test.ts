// virDomainDiskByName and virDomainNetFind, as the statistics calls use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findDiskByName, findInterface } from '../../src/conf/device-lookup.js';
import { parseXml } from '../../src/util/xml.js';

const dom = parseXml(`<domain><devices>
<disk type='file'><source file='/a.img'/><target dev='vda'/></disk>
<disk type='file'><source file='/shared.img'/><target dev='vdb'/></disk>
<disk type='file'><source file='/shared.img'/><target dev='vdc'/></disk>
<interface type='network'><mac address='52:54:00:AB:00:01'/><target dev='vnet4'/></interface>
</devices></domain>`);

test('findDiskByName: a target name, or a source path held by exactly one disk', () => {
  assert.equal(findDiskByName(dom, 'vdb')?.children.find((c) => c.name === 'target')?.attrs.dev, 'vdb');
  assert.equal(findDiskByName(dom, '/a.img')?.children.find((c) => c.name === 'target')?.attrs.dev, 'vda');
  assert.equal(findDiskByName(dom, '/shared.img'), undefined);
  assert.equal(findDiskByName(dom, 'a.img'), undefined);
});

test('findInterface: by MAC in any spelling, or by host interface name; libvirt error otherwise', () => {
  assert.equal(findInterface(dom, '52:54:0:ab:0:1').attrs.type, 'network');
  assert.equal(findInterface(dom, 'vnet4').attrs.type, 'network');
  assert.throws(() => findInterface(dom, '52:54:00:ab:00:02'), { message: "invalid argument: '52:54:00:ab:00:02' is not a known interface" });
  assert.throws(() => findInterface(dom, 'vnet0'), { message: "invalid argument: 'vnet0' is not a known interface" });
});
