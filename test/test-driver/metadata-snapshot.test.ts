// Test driver additions: <metadata> elements, the balloon stats period and
// snapshot redefinition, checked against what libvirt 9.0's test driver does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../../src/index.js';

/** A private node holding the default node's running domain with a balloon. */
async function open(): Promise<{ drv: Record<string, any>; dom: unknown }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tsvirt-t2-')), 'node.xml');
  writeFileSync(
    file,
    `<node><domain type='test'><name>vm</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1024</memory>
  <os><type>hvm</type></os><devices><memballoon model='virtio'/></devices></domain></node>`,
  );
  const conn = await connect(`test://${file}`);
  const drv = conn.driver as unknown as Record<string, any>;
  return { drv, dom: await drv.domainLookupByName('vm') };
}

test('metadata elements: namespaced under the key, read back without it, replaced and removed per URI', async () => {
  const { drv, dom } = await open();
  await drv.domainSetMetadata(dom, 2, '<a y="1">\n  <b c="&amp;"/>\n</a>', 'x', 'http://x/', 0);
  await drv.domainSetMetadata(dom, 2, '<q/>', 'z', 'http://z/', 0);
  assert.equal(await drv.domainGetMetadata(dom, 2, 'http://x/', 0), '<a y="1">\n  <b c="&amp;"/>\n</a>');
  assert.match(await drv.domainGetXMLDesc(dom, 0), /<metadata>\n {4}<x:a xmlns:x="http:\/\/x\/" y="1">\n {6}<x:b c="&amp;"\/>\n {4}<\/x:a>\n {4}<z:q xmlns:z="http:\/\/z\/"\/>\n {2}<\/metadata>/);
  await drv.domainSetMetadata(dom, 2, '<n>v</n>', 'x', 'http://x/', 0);
  assert.equal(await drv.domainGetMetadata(dom, 2, 'http://x/', 0), '<n>v</n>');
  await drv.domainSetMetadata(dom, 2, null, null, 'http://x/', 0);
  await drv.domainSetMetadata(dom, 2, null, null, 'http://z/', 0);
  await assert.rejects(drv.domainGetMetadata(dom, 2, 'http://x/', 0), /Requested metadata element is not present/);
  assert.match(await drv.domainGetXMLDesc(dom, 0), /<metadata\/>/);
  await assert.rejects(drv.domainSetMetadata(dom, 2, '<a/>', '1x', 'http://x/', 0), /internal error: failed to validate prefix for a new XML namespace/);
  await assert.rejects(drv.domainSetMetadata(dom, 2, '<a', 'k', 'http://x/', 0), /\(metadata_xml\):1: Couldn't find end of Start Tag a line 1/);
});

test('dommemstat --period: <stats period> on the balloon, removed by 0', async () => {
  const { drv, dom } = await open();
  await drv.domainSetMemoryStatsPeriod(dom, 3, 0);
  assert.match(await drv.domainGetXMLDesc(dom, 0), /<memballoon model='virtio'>\n {6}<stats period='3'\/>/);
  await drv.domainSetMemoryStatsPeriod(dom, 0, 0);
  assert.doesNotMatch(await drv.domainGetXMLDesc(dom, 0), /<stats/);
});

test('snapshot redefine: an existing snapshot made current again, a new one added from full XML', async () => {
  const { drv, dom } = await open();
  for (const name of ['s1', 's2']) await drv.domainSnapshotCreateXML(dom, `<domainsnapshot><name>${name}</name></domainsnapshot>`, 0);
  const s1 = await drv.domainSnapshotLookupByName(dom, 's1', 0);
  const xml = await drv.domainSnapshotGetXMLDesc(s1, 1);
  await drv.domainSnapshotCreateXML(dom, xml, 1);
  assert.equal((await drv.domainSnapshotCurrent(dom, 0)).name, 's2');
  await drv.domainSnapshotCreateXML(dom, xml, 1 | 2);
  assert.equal((await drv.domainSnapshotCurrent(dom, 0)).name, 's1');
  await assert.rejects(drv.domainSnapshotCreateXML(dom, '<domainsnapshot><name>n</name></domainsnapshot>', 1), /missing creationTime from existing snapshot/);
  await drv.domainSnapshotCreateXML(dom, xml.replace(/<name>s1<\/name>/, '<name>copy</name>'), 1);
  assert.deepEqual((await drv.domainListAllSnapshots(dom, 0)).map((r: { name: string }) => r.name).sort(), ['copy', 's1', 's2']);
});
