// Status files: libvirt's <domstatus> layout, round trip, and what loading skips or reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DomainState, PausedReason, RunningReason } from '../../src/api/types.js';
import { formatStatus, loadShutoffReasons, loadStatuses, parseStatus, removeShutoffReason, removeStatus, statusFilePath, writeShutoffReason, writeStatus, type DomainStatus } from '../../src/drivers/qemu/status-file.js';
import { parseXml } from '../../src/util/xml.js';

const domain = parseXml("<domain type='qemu' id='7'><name>vm1</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></domain>");
const status: DomainStatus = { state: DomainState.RUNNING, reason: RunningReason.BOOTED, pid: 4242, startTime: 123456, monitorPath: '/run/x/domain-7-vm1/monitor.sock', fakeReboot: false, domain };

test('formats libvirt-style <domstatus> with state and reason names', () => {
  assert.equal(formatStatus(status), `<domstatus state='running' reason='booted' pid='4242' starttime='123456'>
  <monitor path='/run/x/domain-7-vm1/monitor.sock' type='unix'/>
  <domain type='qemu' id='7'>
    <name>vm1</name>
    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  </domain>
</domstatus>
`);
  assert.match(formatStatus({ ...status, state: DomainState.PAUSED, reason: PausedReason.STARTING_UP, fakeReboot: true }), /state='paused' reason='starting up'[\s\S]*<fakereboot\/>/);
});

test('round-trips through the file, atomically replaced, and is removed', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'status-test-'));
  try {
    await writeStatus(dir, 'vm1', status);
    await writeStatus(dir, 'vm1', { ...status, state: DomainState.PAUSED, reason: PausedReason.USER, fakeReboot: true });
    const back = parseStatus(readFileSync(statusFilePath(dir, 'vm1'), 'utf8'));
    assert.deepEqual({ ...back, domain: undefined }, { ...status, state: DomainState.PAUSED, reason: PausedReason.USER, fakeReboot: true, domain: undefined });
    assert.equal(back.domain.attrs.id, '7');
    await removeStatus(dir, 'vm1');
    await removeStatus(dir, 'vm1'); // absent is fine
    assert.equal((await loadStatuses(dir)).statuses.size, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('keeps the block job records (<blockjobs>) a later process finishes the jobs from', () => {
  const blockJobs = parseXml("<blockjobs active='yes'><blockjob name='copy-vda-libvirt-1-format' type='copy' state='ready' dst='vda' top='1'/></blockjobs>");
  const text = formatStatus({ ...status, blockJobs });
  assert.match(text, /<monitor [^>]*\/>\n  <blockjobs active='yes'>\n    <blockjob name='copy-vda-libvirt-1-format'/);
  assert.equal(parseStatus(text).blockJobs?.children[0]?.attrs.state, 'ready');
  // no records, no element
  assert.doesNotMatch(formatStatus({ ...status, blockJobs: parseXml("<blockjobs active='yes'/>") }), /blockjobs/);
});

test('keeps which block thresholds were set by chain index (<thresholdEvent indexUsed>)', () => {
  const text = formatStatus({ ...status, thresholdIndexed: new Set([1, 3]) });
  assert.match(text, /<thresholdEvent index='1' indexUsed='yes'\/>\n  <thresholdEvent index='3' indexUsed='yes'\/>/);
  assert.deepEqual(parseStatus(text).thresholdIndexed, new Set([1, 3]));
  assert.equal(parseStatus(formatStatus(status)).thresholdIndexed, undefined);
});

test('loading reports malformed files and skips temporaries and other files', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'status-test-'));
  try {
    await writeStatus(dir, 'good', status);
    writeFileSync(path.join(dir, 'bad.xml'), "<domstatus state='running' pid='x'/>");
    writeFileSync(path.join(dir, 'trunc.xml'), '<domstatus state=');
    writeFileSync(path.join(dir, '.tsvirt-tmp-good.xml.1.ab'), 'partial');
    writeFileSync(path.join(dir, 'tsvirt-last-domain-id'), '3\n');
    const { statuses, broken } = await loadStatuses(dir);
    assert.deepEqual([...statuses.keys()], ['good']);
    assert.deepEqual(broken.sort(), ['bad', 'trunc']);
    assert.deepEqual(await loadStatuses(path.join(dir, 'missing')), { statuses: new Map(), broken: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shutoff reasons: recorded per domain with its UUID, unknown names and removed files ignored', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-shutoff-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeShutoffReason(dir, 'a', '11111111-1111-1111-1111-111111111111', 3);
  await writeShutoffReason(dir, 'b', '22222222-2222-2222-2222-222222222222', 7);
  writeFileSync(path.join(dir, 'c.shutoff'), 'exploded 33333333-3333-3333-3333-333333333333\n');
  const reasons = await loadShutoffReasons(dir);
  assert.deepEqual([...reasons].sort(), [['11111111-1111-1111-1111-111111111111', 3], ['22222222-2222-2222-2222-222222222222', 7]]);
  await removeShutoffReason(dir, 'a');
  assert.deepEqual([...(await loadShutoffReasons(dir)).keys()], ['22222222-2222-2222-2222-222222222222']);
});
