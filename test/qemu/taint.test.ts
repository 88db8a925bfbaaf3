// Domain taints and deprecations: libvirt's names and messages, the order and
// flags of virDomainGetMessages, the <taint>/<deprecation> lines of the status
// file, the log line, and the taints a definition brings at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DomainState, RunningReason } from '../../src/api/types.js';
import { DomainMessageType } from '../../src/driver/flags.js';
import { formatStatus, parseStatus, type DomainStatus } from '../../src/drivers/qemu/status-file.js';
import { domainMessages, startTaints, taintDomain, type TaintRecord } from '../../src/drivers/qemu/taint.js';
import { parseXml } from '../../src/util/xml.js';

const fresh = (): TaintRecord => ({ taints: new Set(), deprecations: [] });

test('taints are recorded once, logged as libvirt logs them, and listed in enum order before deprecations', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'taint-test-'));
  try {
    const logPath = path.join(dir, 'vm.log');
    const record = fresh();
    assert.equal(await taintDomain(record, { id: 3, logPath }, 'custom-ga-command'), true);
    assert.equal(await taintDomain(record, { id: 3, logPath }, 'custom-monitor'), true);
    assert.equal(await taintDomain(record, { id: 3, logPath }, 'custom-monitor'), false);
    assert.equal(await taintDomain(record, { id: 3, logPath }, 'deprecated-config', "machine type 'pc-i440fx-1.4'"), true);
    const log = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
    assert.equal(log.length, 3);
    assert.match(log[0]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: Domain id=3 is tainted: custom-ga-command$/);
    assert.match(log[2]!, /: Domain id=3 is tainted: deprecated-config \(machine type 'pc-i440fx-1.4'\)$/);
    const all = ['tainted: custom monitor control commands issued', 'tainted: custom guest agent control commands issued', 'tainted: use of deprecated configuration settings', "deprecated configuration: machine type 'pc-i440fx-1.4'"];
    assert.deepEqual(domainMessages(record, 0), all);
    assert.deepEqual(domainMessages(record, DomainMessageType.TAINTING | DomainMessageType.DEPRECATION), all);
    assert.deepEqual(domainMessages(record, DomainMessageType.TAINTING), all.slice(0, 3));
    assert.deepEqual(domainMessages(record, DomainMessageType.DEPRECATION), all.slice(3));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the status file keeps taints and deprecations in libvirt's layout; unknown taint names are skipped", () => {
  const domain = parseXml("<domain type='qemu' id='7'><name>vm1</name></domain>");
  const status: DomainStatus = { state: DomainState.RUNNING, reason: RunningReason.BOOTED, pid: 42, startTime: 1, monitorPath: '/m', fakeReboot: false, domain, taint: { taints: new Set(['custom-monitor', 'custom-argv']), deprecations: ["CPU model 'x'"] } };
  const text = formatStatus(status);
  assert.match(text, /<domstatus [^>]*>\n  <taint flag='custom-argv'\/>\n  <taint flag='custom-monitor'\/>\n  <deprecation>CPU model &apos;x&apos;<\/deprecation>\n  <monitor /);
  assert.deepEqual(parseStatus(text).taint, status.taint);
  assert.equal(parseStatus(formatStatus({ ...status, taint: fresh() })).taint, undefined);
  assert.deepEqual([...parseStatus(text.replace("flag='custom-argv'", "flag='future-taint'")).taint!.taints], ['custom-monitor']);
});

test('a definition taints at start with what libvirt checks: qemu namespace passthrough, rawio, network scripts, a DTB', () => {
  const plain = parseXml("<domain type='qemu'><os><type>hvm</type></os><devices><disk type='file' device='disk'/><interface type='ethernet'/></devices></domain>");
  assert.deepEqual(startTaints(plain), []);
  const tainted = parseXml(`<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
    <os><type>hvm</type><dtb>/x.dtb</dtb></os>
    <devices><disk type='block' device='lun' rawio='yes'/><interface type='ethernet'><script path='/bin/true'/></interface></devices>
    <qemu:commandline><qemu:env name='A' value='1'/></qemu:commandline>
    <qemu:capabilities><qemu:del capability='usb-redir'/></qemu:capabilities>
    <qemu:override><qemu:device alias='x'/></qemu:override>
  </domain>`);
  assert.deepEqual(startTaints(tainted), ['custom-argv', 'high-privileges', 'shell-scripts', 'custom-dtb', 'custom-hypervisor-feature', 'custom-device']);
});
