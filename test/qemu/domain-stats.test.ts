// The qemu driver's statistics from canned QMP replies (the shapes QEMU 7.2
// answers with) and this test process's own /proc entries: libvirt's keys,
// order and unit conversions, and what is left out when QEMU does not know it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DomainStatsTypes } from '../../src/driver/flags.js';
import { TypedParamType, typedParamValue, type TypedParam } from '../../src/driver/typed-params.js';
import { blockDeviceStats, blockInfo, checkStatsSupport, collectDomainStats, memoryStats, MemoryStatTag, STATS_BACKING, type StatsSource } from '../../src/drivers/qemu/domain-stats.js';
import type { QmpClient } from '../../src/drivers/qemu/qmp.js';
import { parseXml } from '../../src/util/xml.js';

const NEVER = 18446744073709551615; // -1 as QEMU's uint64: a guest statistic never collected
const counters = (rd: number, extra: Record<string, number> = {}) => ({
  rd_bytes: rd * 512, wr_bytes: 4096, rd_operations: rd, wr_operations: 1, rd_total_time_ns: 7, wr_total_time_ns: 8, flush_operations: 2, flush_total_time_ns: 9, wr_highest_offset: 0, ...extra,
});

/** A monitor answering from a table; commands it does not know fail like QEMU's unknown commands. */
function fakeQmp(replies: Record<string, unknown | ((args: Record<string, unknown> | undefined) => unknown)>): QmpClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async execute(command: string, args?: Record<string, unknown>) {
      calls.push(command);
      const reply = replies[command];
      if (reply === undefined) throw new Error(`The command ${command} has not been found`);
      return typeof reply === 'function' ? (reply as (a: typeof args) => unknown)(args) : reply;
    },
  } as unknown as QmpClient & { calls: string[] };
}

function domain(disks: string): ReturnType<typeof parseXml> {
  return parseXml(`<domain type='qemu' id='3'><name>d</name><memory unit='KiB'>524288</memory><currentMemory unit='KiB'>262144</currentMemory><vcpu placement='static'>2</vcpu>
<devices>${disks}<interface type='user'><mac address='52:54:00:00:00:01'/><alias name='net0'/></interface>
<memballoon model='virtio'><alias name='balloon0'/><address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></memballoon></devices></domain>`);
}

const VDA = "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/top.qcow2'/><backingStore type='file'><format type='raw'/><source file='/img/base.raw'/><backingStore/></backingStore><target dev='vda' bus='virtio'/><alias name='virtio-disk0'/></disk>";
const SDA = "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/sda.raw'/><target dev='sda' bus='sata'/><alias name='sata0-0-0'/></disk>";

function runningQmp(overrides: Parameters<typeof fakeQmp>[0] = {}): ReturnType<typeof fakeQmp> {
  return fakeQmp({
    // disks get their ids last to first: sda is libvirt-1, vda's chain libvirt-2 (top) and libvirt-3
    'query-blockstats': (args: Record<string, unknown> | undefined) => (args?.['query-nodes']
      ? [{ 'node-name': 'libvirt-3-format', stats: counters(0, { wr_highest_offset: 77 }) }]
      : [
          { device: '', qdev: '/machine/peripheral/virtio-disk0/virtio-backend', 'node-name': 'libvirt-2-format', stats: counters(3), parent: { stats: { wr_highest_offset: 8192 } } },
          { device: '', qdev: 'sata0-0-0', 'node-name': 'libvirt-1-format', stats: counters(5), parent: { stats: { wr_highest_offset: 0 } } },
        ]),
    'query-named-block-nodes': [
      { 'node-name': 'libvirt-2-format', image: { 'virtual-size': 1073741824, 'actual-size': 200704 }, write_threshold: 0 },
      { 'node-name': 'libvirt-2-storage', image: { 'virtual-size': 200704, 'actual-size': 200704 }, write_threshold: 65536 },
      { 'node-name': 'libvirt-3-format', image: { 'virtual-size': 16777216 }, write_threshold: 0 },
      { 'node-name': 'libvirt-1-format', image: { 'virtual-size': 8388608, 'actual-size': 4096 }, write_threshold: 0 },
    ],
    'query-balloon': { actual: 268435456 },
    'qom-get': { stats: { 'stat-swap-in': NEVER, 'stat-free-memory': 104857600, 'stat-major-faults': 12 }, 'last-update': 1700000000 },
    'query-cpus-fast': [{ 'cpu-index': 0, 'thread-id': process.pid, 'qom-path': '/machine/unattached/device[0]' }, { 'cpu-index': 1, 'thread-id': process.pid, 'qom-path': '/machine/unattached/device[2]' }],
    'query-stats': [],
    'query-iothreads': [{ id: 'iothread2', 'thread-id': 1, 'poll-max-ns': 32768, 'poll-grow': 0, 'poll-shrink': 0 }],
    'query-dirty-rate': { status: 'measured', 'start-time': 100, 'calc-time': 1, mode: 'dirty-ring', 'dirty-rate': 12, 'vcpu-dirty-rate': [{ id: 0, 'dirty-rate': 5 }, { id: 1, 'dirty-rate': 7 }] },
    ...overrides,
  });
}

function running(qmp: QmpClient | undefined): StatsSource {
  return { def: domain(VDA + SDA), active: true, state: 1, reason: 1, pid: process.pid, qmp };
}

const keys = (params: TypedParam[]) => params.map((p) => p.field);
const paramOf = (params: TypedParam[], field: string) => params.find((p) => p.field === field);
const valueOf = (params: TypedParam[], field: string) => { const p = paramOf(params, field); return p && typedParamValue(p); };
const typeOf = (params: TypedParam[], field: string) => paramOf(params, field)?.value.type;

test('checkStatsSupport: no groups means every group; unknown bits are dropped, or refused with --enforce', () => {
  assert.equal(checkStatsSupport(0, false), 0x7ff);
  assert.equal(checkStatsSupport(DomainStatsTypes.STATE | 0x1000, false), DomainStatsTypes.STATE);
  assert.throws(() => checkStatsSupport(DomainStatsTypes.STATE | 0x3000, true), { message: 'argument unsupported: Stats types bits 0x3000 are not supported by this daemon or QEMU' });
});

test('running domain: every group in libvirt order, with QEMU counters, sizes and the guest balloon statistics', async () => {
  const params = await collectDomainStats(running(runningQmp()), checkStatsSupport(0, false), 0);
  assert.deepEqual(keys(params), [
    'state.state', 'state.reason', 'cpu.time', 'cpu.user', 'cpu.system', 'cpu.cache.monitor.count', 'cpu.haltpoll.success.time', 'cpu.haltpoll.fail.time',
    'balloon.current', 'balloon.maximum', 'balloon.major_fault', 'balloon.unused', 'balloon.last-update', 'balloon.rss',
    'vcpu.current', 'vcpu.maximum', 'vcpu.0.state', 'vcpu.0.time', 'vcpu.0.wait', 'vcpu.0.delay', 'vcpu.1.state', 'vcpu.1.time', 'vcpu.1.wait', 'vcpu.1.delay',
    'net.count',
    'block.count',
    'block.0.name', 'block.0.path', 'block.0.backingIndex', 'block.0.rd.reqs', 'block.0.rd.bytes', 'block.0.rd.times', 'block.0.wr.reqs', 'block.0.wr.bytes', 'block.0.wr.times',
    'block.0.fl.reqs', 'block.0.fl.times', 'block.0.allocation', 'block.0.capacity', 'block.0.physical', 'block.0.threshold',
    'block.1.name', 'block.1.path', 'block.1.backingIndex', 'block.1.rd.reqs', 'block.1.rd.bytes', 'block.1.rd.times', 'block.1.wr.reqs', 'block.1.wr.bytes', 'block.1.wr.times',
    'block.1.fl.reqs', 'block.1.fl.times', 'block.1.allocation', 'block.1.capacity', 'block.1.physical',
    'iothread.count', 'iothread.2.poll-max-ns', 'iothread.2.poll-grow', 'iothread.2.poll-shrink',
    'dirtyrate.calc_status', 'dirtyrate.calc_start_time', 'dirtyrate.calc_period', 'dirtyrate.calc_mode', 'dirtyrate.megabytes_per_second',
    'dirtyrate.vcpu.0.megabytes_per_second', 'dirtyrate.vcpu.1.megabytes_per_second',
  ]);
  const v = (field: string) => valueOf(params, field);
  // the balloon's size is the live <currentMemory>, QEMU's guest statistics in KiB
  assert.deepEqual([v('balloon.current'), v('balloon.maximum'), v('balloon.unused'), v('balloon.major_fault'), v('balloon.last-update')], [262144n, 524288n, 102400n, 12n, 1700000000n]);
  // each record with the type libvirt gives it (the wire carries it)
  const t = (field: string) => typeOf(params, field);
  assert.deepEqual([t('state.state'), t('vcpu.current'), t('vcpu.0.state'), t('vcpu.0.time'), t('block.count'), t('block.0.name'), t('block.0.backingIndex'), t('iothread.2.poll-grow'), t('dirtyrate.calc_start_time')],
    [TypedParamType.INT, TypedParamType.UINT, TypedParamType.INT, TypedParamType.ULLONG, TypedParamType.UINT, TypedParamType.STRING, TypedParamType.UINT, TypedParamType.UINT, TypedParamType.LLONG]);
  assert.deepEqual([v('block.0.name'), v('block.0.path'), v('block.0.backingIndex'), v('block.0.rd.reqs'), v('block.0.rd.bytes')], ['vda', '/img/top.qcow2', 2, 3n, 1536n]);
  assert.deepEqual([v('block.0.allocation'), v('block.0.capacity'), v('block.0.physical'), v('block.0.threshold')], [8192n, 1073741824n, 200704n, 65536n]);
  assert.deepEqual([v('block.1.name'), v('block.1.backingIndex'), v('block.1.rd.reqs'), v('block.1.capacity'), v('block.1.physical')], ['sda', 1, 5n, 8388608n, 4096n]);
  assert.equal(v('block.count'), 2);
  assert.deepEqual([v('dirtyrate.calc_status'), v('dirtyrate.calc_mode'), v('dirtyrate.megabytes_per_second')], [2, 'dirty-ring', 12n]);
  assert.equal(v('cpu.time'), (v('cpu.user') as bigint) + (v('cpu.system') as bigint));
});

test('--backing: every image of a chain gets a record; QEMU counters only for the top one', async () => {
  const params = await collectDomainStats(running(runningQmp()), DomainStatsTypes.BLOCK, STATS_BACKING);
  assert.equal(valueOf(params, 'block.count'), 3);
  assert.deepEqual(keys(params).filter((k) => k.startsWith('block.1.')), ['block.1.name', 'block.1.path', 'block.1.backingIndex', 'block.1.allocation', 'block.1.capacity', 'block.1.physical']);
  assert.deepEqual([valueOf(params, 'block.1.name'), valueOf(params, 'block.1.path'), valueOf(params, 'block.1.backingIndex'), valueOf(params, 'block.1.allocation')], ['vda', '/img/base.raw', 3, 0n]);
  assert.equal(valueOf(params, 'block.2.name'), 'sda');
});

test('without the monitor (a busy domain with --nowait): the groups that need QEMU give what libvirt gives without a job', async () => {
  const params = await collectDomainStats(running(undefined), DomainStatsTypes.BALLOON | DomainStatsTypes.VCPU | DomainStatsTypes.BLOCK | DomainStatsTypes.DIRTYRATE, 0);
  assert.deepEqual(keys(params), ['balloon.current', 'balloon.maximum', 'vcpu.current', 'vcpu.maximum', 'block.count', 'block.0.name', 'block.0.path', 'block.0.backingIndex', 'block.1.name', 'block.1.path', 'block.1.backingIndex']);
});

test('shut-off domain: sizes from the image files, no QEMU counters, CPU times of the caller itself', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'domain-stats-'));
  try {
    const qcow2 = path.join(dir, 'top.qcow2');
    const header = Buffer.alloc(512);
    header.write('QFI\xfb', 0, 'latin1');
    header.writeBigUInt64BE(10737418240n, 24);
    writeFileSync(qcow2, header);
    const def = domain(VDA.replace('/img/top.qcow2', qcow2));
    const params = await collectDomainStats({ def, active: false, state: 5, reason: 0, pid: 0 }, checkStatsSupport(0, false), 0);
    assert.deepEqual(keys(params), ['state.state', 'state.reason', 'cpu.time', 'cpu.user', 'cpu.system', 'balloon.current', 'balloon.maximum', 'vcpu.current', 'vcpu.maximum',
      'block.count', 'block.0.name', 'block.0.path', 'block.0.allocation', 'block.0.capacity', 'block.0.physical']);
    assert.deepEqual([valueOf(params, 'block.0.capacity'), valueOf(params, 'block.0.physical')], [10737418240n, 512n]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('virDomainBlockStatsFlags: one disk by target or source, the sum over all disks, libvirt errors', async () => {
  const src = running(runningQmp());
  const vda = await blockDeviceStats(src, 'vda');
  assert.deepEqual(vda.map((p) => [p.field, typedParamValue(p)]), [
    ['wr_bytes', 4096n], ['wr_operations', 1n], ['rd_bytes', 1536n], ['rd_operations', 3n],
    ['flush_operations', 2n], ['wr_total_times', 8n], ['rd_total_times', 7n], ['flush_total_times', 9n],
  ]);
  assert.ok(vda.every((p) => p.value.type === TypedParamType.LLONG), 'libvirt reports block counters as llong');
  assert.deepEqual(await blockDeviceStats(src, '/img/sda.raw'), (await blockDeviceStats(src, 'sda')));
  const total = await blockDeviceStats(src, '');
  assert.equal(valueOf(total, 'rd_operations'), 8n);
  assert.equal(valueOf(total, 'wr_operations'), 2n);
  await assert.rejects(blockDeviceStats(src, 'vdz'), { message: 'invalid argument: invalid path: vdz' });
  await assert.rejects(blockDeviceStats({ ...src, active: false, qmp: undefined }, 'vda'), { message: 'Requested operation is not valid: domain is not running' });
});

test('virDomainMemoryStats: balloon size, the statistics the guest reported (not the -1 ones), then RSS', async () => {
  const stats = await memoryStats(running(runningQmp()));
  assert.deepEqual(stats.map((s) => s.tag), [MemoryStatTag.ACTUAL_BALLOON, MemoryStatTag.MAJOR_FAULT, MemoryStatTag.UNUSED, MemoryStatTag.LAST_UPDATE, MemoryStatTag.RSS]);
  assert.equal(stats[0]!.val, 262144n);
  assert.ok(stats[4]!.val > 0n);
  // without a balloon only the RSS, with no monitor command at all
  const qmp = runningQmp();
  const noBalloon = domain('');
  noBalloon.children.find((c) => c.name === 'devices')!.children = [];
  assert.deepEqual((await memoryStats({ ...running(qmp), def: noBalloon })).map((s) => s.tag), [MemoryStatTag.RSS]);
  assert.deepEqual(qmp.calls, []);
});

test('KVM counters (query-stats): halt polling summed over vCPUs, per-vCPU and VM statistics typed by the schema', async () => {
  const vcpuEntry = (qomPath: string, exits: number) => ({ provider: 'kvm', 'qom-path': qomPath, stats: [{ name: 'halt_exits', value: exits }, { name: 'blocking', value: true }, { name: 'halt_wait_hist', value: [1, 2] }] });
  const qmp = runningQmp({
    'query-stats-schemas': [
      { provider: 'kvm', target: 'vm', stats: [{ name: 'pages_4k', type: 'instant', unit: 'bytes' }, { name: 'max_mmu_page_hash_collisions', type: 'peak' }] },
      { provider: 'kvm', target: 'vcpu', stats: [{ name: 'halt_exits', type: 'cumulative' }, { name: 'blocking', type: 'instant', unit: 'boolean' }, { name: 'halt_wait_hist', type: 'log2-histogram' }] },
    ],
    'query-stats': (args: Record<string, unknown> | undefined) => {
      if (args?.target === 'vm') return [{ provider: 'kvm', stats: [{ name: 'pages_4k', value: 100 }, { name: 'max_mmu_page_hash_collisions', value: 3 }] }];
      if (args?.providers) return [1, 2].map((i) => ({ provider: 'kvm', 'qom-path': `/machine/unattached/device[${i}]`, stats: [{ name: 'halt_poll_success_ns', value: 10 * i }, { name: 'halt_poll_fail_ns', value: i }] }));
      return [vcpuEntry('/machine/unattached/device[2]', 7), vcpuEntry('/machine/unattached/device[0]', 5)];
    },
  });
  const params = await collectDomainStats(running(qmp), DomainStatsTypes.CPU_TOTAL | DomainStatsTypes.VCPU | DomainStatsTypes.VM, 0);
  assert.deepEqual([valueOf(params, 'cpu.haltpoll.success.time'), valueOf(params, 'cpu.haltpoll.fail.time')], [30n, 3n]);
  assert.deepEqual(keys(params).filter((k) => k.startsWith('vcpu.1.')), ['vcpu.1.state', 'vcpu.1.time', 'vcpu.1.wait', 'vcpu.1.delay', 'vcpu.1.halt_exits.sum', 'vcpu.1.blocking.cur']);
  assert.deepEqual([valueOf(params, 'vcpu.0.halt_exits.sum'), valueOf(params, 'vcpu.1.halt_exits.sum'), valueOf(params, 'vcpu.0.blocking.cur')], [5n, 7n, true]);
  assert.deepEqual(keys(params).filter((k) => k.startsWith('vm.')), ['vm.pages_4k.cur', 'vm.max_mmu_page_hash_collisions.max']);
  assert.equal(qmp.calls.filter((c) => c === 'query-stats-schemas').length, 1, 'the schema is asked once');
});

test('virDomainGetBlockInfo: sizes of the top image node; allocation the highest write, else QEMU\'s allocated size', async () => {
  const src = running(runningQmp());
  // written to (highest offset 8192) and not sparse by QEMU's account: QEMU's numbers; qcow2 allocation is its file's size
  assert.deepEqual(await blockInfo(src, 'vda'), { capacity: 1073741824, allocation: 200704, physical: 200704 });
  // never written (highest offset 0): allocation becomes QEMU's allocated size, physical the file's length (not readable here: QEMU's)
  assert.deepEqual(await blockInfo(src, 'sda'), { capacity: 8388608, allocation: 4096, physical: 4096 });
  await assert.rejects(blockInfo(src, 'vdz'), { message: 'invalid argument: invalid path vdz not assigned to domain' });
  await assert.rejects(blockInfo({ ...src, active: false, qmp: undefined }, 'vda'), { message: "cannot stat file '/img/top.qcow2': No such file or directory" });
});
