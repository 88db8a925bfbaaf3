// Test driver additions: <metadata> elements, the balloon stats period and
// snapshot redefinition, checked against what libvirt 9.0's test driver does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type Connection } from '../../src/index.js';
import type { DomainRef } from '../../src/api/types.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A private node holding the default node's running domain with a balloon. */
async function open(): Promise<{ conn: Connection; dom: DomainRef }> {
  const file = path.join(tempDir('t2'), 'node.xml');
  writeFileSync(
    file,
    `<node><domain type='test'><name>vm</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1024</memory>
  <os><type>hvm</type></os><devices><memballoon model='virtio'/></devices></domain></node>`,
  );
  const conn = await connect(`test://${file}`);
  return { conn, dom: (await conn.invoke('domainLookupByName', { name: 'vm' })).dom };
}

test('metadata elements: namespaced under the key, read back without it, replaced and removed per URI', async () => {
  const { conn, dom } = await open();
  const set = (metadata: string | null, key: string | null, uri: string) => conn.invoke('domainSetMetadata', { dom, type: 2, metadata, key, uri, flags: 0 });
  const get = async (uri: string) => (await conn.invoke('domainGetMetadata', { dom, type: 2, uri, flags: 0 })).metadata;
  const xml = async () => (await conn.invoke('domainGetXMLDesc', { dom, flags: 0 })).xml;
  await set('<a y="1">\n  <b c="&amp;"/>\n</a>', 'x', 'http://x/');
  await set('<q/>', 'z', 'http://z/');
  assert.equal(await get('http://x/'), '<a y="1">\n  <b c="&amp;"/>\n</a>');
  assert.match(await xml(), /<metadata>\n {4}<x:a xmlns:x="http:\/\/x\/" y="1">\n {6}<x:b c="&amp;"\/>\n {4}<\/x:a>\n {4}<z:q xmlns:z="http:\/\/z\/"\/>\n {2}<\/metadata>/);
  await set('<n>v</n>', 'x', 'http://x/');
  assert.equal(await get('http://x/'), '<n>v</n>');
  await set(null, null, 'http://x/');
  await set(null, null, 'http://z/');
  await assert.rejects(get('http://x/'), /Requested metadata element is not present/);
  assert.match(await xml(), /<metadata\/>/);
  await assert.rejects(set('<a/>', '1x', 'http://x/'), /internal error: failed to validate prefix for a new XML namespace/);
  await assert.rejects(set('<a', 'k', 'http://x/'), /\(metadata_xml\):1: Couldn't find end of Start Tag a line 1/);
});

test('dommemstat --period: <stats period> on the balloon, removed by 0', async () => {
  const { conn, dom } = await open();
  const xml = async () => (await conn.invoke('domainGetXMLDesc', { dom, flags: 0 })).xml;
  await conn.invoke('domainSetMemoryStatsPeriod', { dom, period: 3, flags: 0 });
  assert.match(await xml(), /<memballoon model='virtio'>\n {6}<stats period='3'\/>/);
  await conn.invoke('domainSetMemoryStatsPeriod', { dom, period: 0, flags: 0 });
  assert.doesNotMatch(await xml(), /<stats/);
});

test('snapshot redefine: an existing snapshot made current again, a new one added from full XML', async () => {
  const { conn, dom } = await open();
  const create = (xml_desc: string, flags: number) => conn.invoke('domainSnapshotCreateXML', { dom, xml_desc, flags });
  const current = async () => (await conn.invoke('domainSnapshotCurrent', { dom, flags: 0 })).snap.name;
  for (const name of ['s1', 's2']) await create(`<domainsnapshot><name>${name}</name></domainsnapshot>`, 0);
  const { snap: s1 } = await conn.invoke('domainSnapshotLookupByName', { dom, name: 's1', flags: 0 });
  const { xml } = await conn.invoke('domainSnapshotGetXMLDesc', { snap: s1, flags: 1 });
  await create(xml, 1);
  assert.equal(await current(), 's2');
  await create(xml, 1 | 2);
  assert.equal(await current(), 's1');
  await assert.rejects(create('<domainsnapshot><name>n</name></domainsnapshot>', 1), /missing creationTime from existing snapshot/);
  await create(xml.replace(/<name>s1<\/name>/, '<name>copy</name>'), 1);
  const { snapshots } = await conn.invoke('domainListAllSnapshots', { dom, need_results: 1, flags: 0 });
  assert.deepEqual(snapshots.map((r) => r.name).sort(), ['copy', 's1', 's2']);
});
