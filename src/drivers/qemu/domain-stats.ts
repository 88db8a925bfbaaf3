// Runtime statistics of a domain as libvirt's qemu driver reports them
// (virConnectGetAllDomainStats, virDomainBlockStatsFlags, virDomainMemoryStats,
// virDomainGetVcpus, virDomainInterfaceStats): QEMU's own counters over QMP,
// the QEMU process's and its vCPU threads' from /proc. tsvirt runs QEMU without
// cgroups, so CPU times are libvirt's cgroup-less ones (/proc/PID/stat).
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { DomainStatsTypes } from '../../driver/flags.js';
import type { ProcRet } from '../../driver/procedures.js';
import { typedParam, type TypedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { processRssKiB, processStatInfo, processThreads, threadAffinity, threadRunDelayNs, threadWaitNs } from '../../util/process.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';
import { domainCurrentMemoryKiB, domainCurrentVcpus, domainMaxMemoryKiB, domainMaxVcpus } from '../../conf/domain.js';
import { diskSource, findDiskByName, findInterface } from '../../conf/device-lookup.js';
import { activeMemballoon } from '../../conf/devices/memballoon.js';
import { assignStorageIds } from './command-line/disks.js';
import type { QmpClient } from './qmp.js';

/** What the statistics are taken from: one domain, with its QEMU's monitor when the domain's lock was taken. */
export interface StatsSource {
  /** The live definition of a running domain, else the persistent one. */
  def: XmlElement;
  active: boolean;
  state: number;
  reason: number;
  /** QEMU's pid; 0 for an inactive domain, which makes /proc/self the source, as libvirt's vm->pid of 0 does. */
  pid: number;
  /** Present when the domain's lock is held (libvirt's job): what needs QEMU is skipped without it. */
  qmp?: QmpClient;
}

/** Every group qemuDomainGetStatsWorkers knows (QEMU 7.2 has the capabilities iothread, dirtyrate and vm need). */
const SUPPORTED_STATS = 0x7ff;
/** VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING / ENFORCE_STATS */
export const STATS_BACKING = 1 << 30;
export const STATS_ENFORCE = 2 ** 31;

/** qemuDomainGetStatsCheckSupport: no groups means all; unknown ones are dropped or, with `enforce`, refused. */
export function checkStatsSupport(stats: number, enforce: boolean): number {
  if (stats === 0) return SUPPORTED_STATS;
  const unsupported = (stats & ~SUPPORTED_STATS) >>> 0;
  if (enforce && unsupported) {
    throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `Stats types bits 0x${unsupported.toString(16)} are not supported by this daemon or QEMU`, ErrorDomain.QEMU);
  }
  return stats & SUPPORTED_STATS;
}

/** The groups that want the monitor (and so the domain's lock). */
export function statsNeedMonitor(stats: number): boolean {
  return (stats & (DomainStatsTypes.CPU_TOTAL | DomainStatsTypes.BALLOON | DomainStatsTypes.VCPU | DomainStatsTypes.BLOCK | DomainStatsTypes.IOTHREAD | DomainStatsTypes.DIRTYRATE | DomainStatsTypes.VM)) !== 0;
}

/** qemuDomainGetStats: the groups in libvirt's order. */
export async function collectDomainStats(src: StatsSource, stats: number, flags: number): Promise<TypedParam[]> {
  const params = new ParamList();
  // libvirt keeps the schema per domain; here it is asked once per collection, and only when needed
  let schema: Promise<StatsSchema | undefined> | undefined;
  const schemaOnce = () => (schema ??= src.qmp ? statsSchema(src.qmp) : Promise.resolve(undefined));
  if (stats & DomainStatsTypes.STATE) params.int('state.state', src.state).int('state.reason', src.reason);
  if (stats & DomainStatsTypes.CPU_TOTAL) await cpuStats(src, params);
  if (stats & DomainStatsTypes.BALLOON) await balloonStats(src, params);
  if (stats & DomainStatsTypes.VCPU) await vcpuStats(src, params, schemaOnce);
  if (stats & DomainStatsTypes.INTERFACE) interfaceStats(src, params);
  if (stats & DomainStatsTypes.BLOCK) await blockStats(src, params, (flags & STATS_BACKING) !== 0);
  // PERF: tsvirt enables no perf events; MEMORY: no resctrl memory bandwidth monitors
  if (stats & DomainStatsTypes.IOTHREAD) await iothreadStats(src, params);
  if (stats & DomainStatsTypes.DIRTYRATE) await dirtyRateStats(src, params);
  if (stats & DomainStatsTypes.VM) await vmStats(src, params, schemaOnce);
  return params.list;
}

/** virDomainInterfaceStatsStruct */
export type DomainInterfaceStats = ProcRet<'domainInterfaceStats'>;
/** virDomainBlockInfo, in bytes */
export interface DomainBlockInfo {
  allocation: number;
  capacity: number;
  physical: number;
}
/** virVcpuInfo */
export type DomainVcpuInfo = ProcRet<'domainGetVcpus'>['info'][number];
/** virDomainMemoryStatStruct */
export type DomainMemoryStat = ProcRet<'domainMemoryStats'>['stats'][number];

/** The records of one domain, each with libvirt's VIR_TYPED_PARAM_* type for its field. */
class ParamList {
  readonly list: TypedParam[] = [];
  private push(param: TypedParam): this {
    this.list.push(param);
    return this;
  }
  int(field: string, value: number): this {
    return this.push(typedParam.int(field, value));
  }
  uint(field: string, value: number): this {
    return this.push(typedParam.uint(field, value));
  }
  llong(field: string, value: number | bigint): this {
    return this.push(typedParam.llong(field, value));
  }
  ullong(field: string, value: number | bigint): this {
    return this.push(typedParam.ullong(field, value));
  }
  boolean(field: string, value: boolean): this {
    return this.push(typedParam.boolean(field, value));
  }
  string(field: string, value: string): this {
    return this.push(typedParam.string(field, value));
  }
}

const devicesOf = (def: XmlElement, kind: string) => {
  const devices = child(def, 'devices');
  return devices ? childrenNamed(devices, kind) : [];
};

// ---- cpu -----------------------------------------------------------------

async function cpuStats(src: StatsSource, params: ParamList): Promise<void> {
  const info = processStatInfo(src.pid);
  if (info) params.ullong('cpu.time', info.userNs + info.systemNs).ullong('cpu.user', info.userNs).ullong('cpu.system', info.systemNs);
  if (!src.active) return;
  // tsvirt sets up no resctrl cache monitors: libvirt's count is 0 then
  params.uint('cpu.cache.monitor.count', 0);
  const haltPoll = src.qmp && (await haltPollTimes(src.qmp));
  if (haltPoll) params.ullong('cpu.haltpoll.success.time', haltPoll.success).ullong('cpu.haltpoll.fail.time', haltPoll.fail);
}

interface QueryStatsResult {
  provider: string;
  'qom-path'?: string;
  stats: { name: string; value: unknown }[];
}

/** KVM's halt polling times summed over the vCPUs (query-stats; none under TCG: zeros); undefined when QEMU cannot say. */
async function haltPollTimes(qmp: QmpClient): Promise<{ success: bigint; fail: bigint } | undefined> {
  const names = ['halt_poll_success_ns', 'halt_poll_fail_ns'];
  const result = await qmp.execute<QueryStatsResult[]>('query-stats', { target: 'vcpu', providers: [{ provider: 'kvm', names }] }).catch(() => undefined);
  if (!result) return undefined;
  const sums = [0n, 0n];
  for (const entry of result) {
    for (const [i, name] of names.entries()) {
      const value = entry.stats.find((s) => s.name === name)?.value;
      if (typeof value !== 'number') return undefined;
      sums[i]! += BigInt(value);
    }
  }
  return { success: sums[0]!, fail: sums[1]! };
}

// ---- balloon and memory --------------------------------------------------

/** The QOM path of the balloon device (qemuMonitorInitBalloonObjectPath): only PCI and CCW balloons have guest statistics. */
export function balloonQomPath(balloon: XmlElement): string | undefined {
  const alias = child(balloon, 'alias')?.attrs.name;
  const addressed = ['pci', 'ccw'].includes(child(balloon, 'address')?.attrs.type ?? 'pci');
  return alias && addressed ? `/machine/peripheral/${alias}` : undefined;
}

/** At start, QEMU learns the <stats period> of the definition (qemuProcessSetupBalloon); it polls the guest from then on. */
export async function applyBalloonPeriod(qmp: QmpClient, def: XmlElement): Promise<void> {
  const balloon = activeMemballoon(def);
  const period = Number(balloon && child(balloon, 'stats')?.attrs.period);
  const qomPath = balloon && balloonQomPath(balloon);
  if (period > 0 && qomPath) await qmp.execute('qom-set', { path: qomPath, property: 'guest-stats-polling-interval', value: period });
}

async function balloonStats(src: StatsSource, params: ParamList): Promise<void> {
  const maximum = domainMaxMemoryKiB(src.def);
  params.ullong('balloon.current', activeMemballoon(src.def) ? domainCurrentMemoryKiB(src.def) : maximum).ullong('balloon.maximum', maximum);
  if (!src.qmp || !src.active) return;
  for (const stat of await memoryStats(src)) {
    const name = BALLOON_RECORD_NAMES.get(stat.tag);
    if (name) params.ullong(`balloon.${name}`, stat.val);
  }
}

/** virDomainMemoryStatTags */
export enum MemoryStatTag {
  SWAP_IN, SWAP_OUT, MAJOR_FAULT, MINOR_FAULT, UNUSED, AVAILABLE, ACTUAL_BALLOON, RSS, USABLE, LAST_UPDATE, DISK_CACHES, HUGETLB_PGALLOC, HUGETLB_PGFAIL,
}

/** The balloon's guest-stats members, in libvirt's order: the tag, QEMU's name, the divisor to KiB or counts. */
const GUEST_STATS: [MemoryStatTag, string, number][] = [
  [MemoryStatTag.SWAP_IN, 'stat-swap-in', 1024], [MemoryStatTag.SWAP_OUT, 'stat-swap-out', 1024], [MemoryStatTag.MAJOR_FAULT, 'stat-major-faults', 1],
  [MemoryStatTag.MINOR_FAULT, 'stat-minor-faults', 1], [MemoryStatTag.UNUSED, 'stat-free-memory', 1024], [MemoryStatTag.AVAILABLE, 'stat-total-memory', 1024],
  [MemoryStatTag.USABLE, 'stat-available-memory', 1024], [MemoryStatTag.LAST_UPDATE, 'last-update', 1], [MemoryStatTag.DISK_CACHES, 'stat-disk-caches', 1024],
  [MemoryStatTag.HUGETLB_PGALLOC, 'stat-htlb-pgalloc', 1], [MemoryStatTag.HUGETLB_PGFAIL, 'stat-htlb-pgfail', 1],
];

/** The names of the balloon group's records (qemuDomainGetStatsBalloon); the balloon's size is balloon.current already. */
const BALLOON_RECORD_NAMES = new Map<MemoryStatTag, string>([
  [MemoryStatTag.SWAP_IN, 'swap_in'], [MemoryStatTag.SWAP_OUT, 'swap_out'], [MemoryStatTag.MAJOR_FAULT, 'major_fault'],
  [MemoryStatTag.MINOR_FAULT, 'minor_fault'], [MemoryStatTag.UNUSED, 'unused'], [MemoryStatTag.AVAILABLE, 'available'],
  [MemoryStatTag.RSS, 'rss'], [MemoryStatTag.LAST_UPDATE, 'last-update'], [MemoryStatTag.USABLE, 'usable'],
  [MemoryStatTag.DISK_CACHES, 'disk_caches'], [MemoryStatTag.HUGETLB_PGALLOC, 'hugetlb_pgalloc'], [MemoryStatTag.HUGETLB_PGFAIL, 'hugetlb_pgfail'],
]);

/** A guest statistic the guest never reported: -1 as QEMU's uint64, which JSON numbers round to 2^64. */
const NOT_COLLECTED = 2 ** 64 - 1;

/**
 * qemuDomainMemoryStatsInternal: the balloon's size and the guest's own
 * statistics (only those the guest ever reported), then QEMU's resident memory.
 */
export async function memoryStats(src: StatsSource): Promise<DomainMemoryStat[]> {
  if (!src.active) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);
  const out: DomainMemoryStat[] = [];
  const stat = (tag: MemoryStatTag, value: number) => out.push({ tag, val: BigInt(Math.floor(value)) });
  const balloon = activeMemballoon(src.def);
  if (balloon && src.qmp) {
    const info = await src.qmp.execute<{ actual: number }>('query-balloon').catch(() => undefined);
    if (info) stat(MemoryStatTag.ACTUAL_BALLOON, info.actual / 1024);
    const qomPath = balloonQomPath(balloon);
    type GuestStats = { stats?: Record<string, number>; 'last-update'?: number };
    const guest = qomPath ? await src.qmp.execute<GuestStats>('qom-get', { path: qomPath, property: 'guest-stats' }).catch(() => undefined) : undefined;
    if (guest?.stats) {
      for (const [tag, qemuName, divisor] of GUEST_STATS) {
        const value = qemuName === 'last-update' ? guest['last-update'] : guest.stats[qemuName];
        // -1 (as QEMU's uint64, 2^64 - 1): never collected
        if (typeof value === 'number' && value < NOT_COLLECTED) stat(tag, value / divisor);
      }
    }
  }
  const rss = processRssKiB(src.pid);
  if (rss === undefined) throw virError(ErrorCode.OPERATION_FAILED, 'cannot get RSS for domain', ErrorDomain.QEMU);
  stat(MemoryStatTag.RSS, rss);
  return out;
}

// ---- vcpu ----------------------------------------------------------------

/** virVcpuState */
const VCPU_RUNNING = 1;

/** The vCPU threads QEMU runs, by vCPU index. */
export async function vcpuThreads(pid: number, qmp: QmpClient | undefined): Promise<Map<number, { tid: number; qomPath?: string }> | undefined> {
  if (!qmp) {
    // without the monitor (libvirt keeps the thread ids from start): QEMU's debug-threads names, "CPU N/TCG"
    const named = processThreads(pid).flatMap(({ tid, name }) => {
      const index = /^CPU (\d+)\/[A-Z]+$/.exec(name)?.[1];
      return index === undefined ? [] : [[Number(index), { tid }] as const];
    });
    return named.length > 0 ? new Map(named) : undefined;
  }
  const cpus = await qmp.execute<{ 'cpu-index': number; 'thread-id': number; 'qom-path': string }[]>('query-cpus-fast').catch(() => undefined);
  return cpus && new Map(cpus.map((c) => [c['cpu-index'], { tid: c['thread-id'], qomPath: c['qom-path'] }]));
}

/** The online vCPUs: <vcpus> when it lists them, else the first <vcpu current> ones. */
function onlineVcpus(def: XmlElement): number[] {
  const vcpus = child(def, 'vcpus');
  const listed = vcpus ? childrenNamed(vcpus, 'vcpu') : [];
  if (listed.length > 0) return listed.filter((v) => v.attrs.enabled !== 'no').map((v) => Number(v.attrs.id));
  return [...Array(domainCurrentVcpus(def)).keys()];
}

/**
 * qemuDomainHelperGetVcpus: each online vCPU's state, CPU time and last
 * physical CPU, its affinity, wait and run-queue delay, from its thread.
 */
async function vcpuDetails(src: StatsSource, max: number): Promise<(DomainVcpuInfo & { affinity: number[]; waitNs: bigint; delayNs: bigint; qomPath?: string })[]> {
  const threads = src.active ? await vcpuThreads(src.pid, src.qmp) : undefined;
  if (!threads) throw virError(ErrorCode.OPERATION_INVALID, 'cpu affinity is not supported', ErrorDomain.QEMU);
  return onlineVcpus(src.def).slice(0, max).map((number) => {
    const { tid, qomPath } = threads.get(number) ?? { tid: 0 };
    const info = processStatInfo(src.pid, tid);
    if (!info) throw virError(ErrorCode.SYSTEM_ERROR, 'cannot get vCPU placement & pCPU time: No such file or directory', ErrorDomain.QEMU);
    const affinity = threadAffinity(src.pid, tid);
    if (!affinity) throw virError(ErrorCode.SYSTEM_ERROR, `cannot get CPU affinity of process ${tid}: No such process`, ErrorDomain.QEMU);
    return { number, state: VCPU_RUNNING, cpu_time: info.userNs + info.systemNs, cpu: info.lastCpu, affinity, waitNs: threadWaitNs(src.pid, tid), delayNs: threadRunDelayNs(src.pid, tid), qomPath };
  });
}

/** virDomainGetVcpus: each vCPU's information and the host CPUs it may run on. */
export async function vcpuInfo(src: StatsSource, max: number): Promise<{ info: DomainVcpuInfo[]; cpumaps: number[][] }> {
  if (!src.active) throw virError(ErrorCode.OPERATION_INVALID, 'cannot retrieve vcpu information for inactive domain', ErrorDomain.QEMU);
  const details = await vcpuDetails(src, max);
  return { info: details.map(({ number, state, cpu_time, cpu }) => ({ number, state, cpu_time, cpu })), cpumaps: details.map((d) => d.affinity) };
}

async function vcpuStats(src: StatsSource, params: ParamList, schema: () => Promise<StatsSchema | undefined>): Promise<void> {
  params.uint('vcpu.current', domainCurrentVcpus(src.def)).uint('vcpu.maximum', domainMaxVcpus(src.def));
  // like libvirt, silent when the threads are unknown (inactive, or no monitor)
  const details = await vcpuDetails(src, Infinity).catch(() => []);
  const known = details.length > 0 && src.qmp && (await schema());
  const queried = known ? await src.qmp!.execute<QueryStatsResult[]>('query-stats', { target: 'vcpu' }).catch(() => undefined) : undefined;
  for (const d of details) {
    params.int(`vcpu.${d.number}.state`, d.state).ullong(`vcpu.${d.number}.time`, d.cpu_time).ullong(`vcpu.${d.number}.wait`, d.waitNs).ullong(`vcpu.${d.number}.delay`, d.delayNs);
    const entry = queried?.find((e) => e['qom-path']?.toLowerCase() === d.qomPath?.toLowerCase());
    if (entry && known) addQueryStats(params, `vcpu.${d.number}`, entry, known);
  }
}

// ---- QEMU's query-stats (KVM's counters) --------------------------------

/** Each statistic's type and unit by name (query-stats-schemas). */
type StatsSchema = Map<string, { type: string; unit?: string }>;

async function statsSchema(qmp: QmpClient): Promise<StatsSchema | undefined> {
  type Schema = { target: string; stats: { name: string; type: string; unit?: string }[] };
  const schemas = await qmp.execute<Schema[]>('query-stats-schemas').catch(() => undefined);
  return schemas && new Map(schemas.flatMap((s) => s.stats.map((st) => [st.name, { type: st.type, unit: st.unit }] as const)));
}

/** The key suffix libvirt gives each statistic type; histograms are left out. */
const STAT_TYPE_SUFFIX: Record<string, string> = { cumulative: 'sum', instant: 'cur', peak: 'max' };

/** qemuDomainAddStatsFromHashTable: "PREFIX.NAME.sum|cur|max" for each statistic the schema types. */
function addQueryStats(params: ParamList, prefix: string, entry: QueryStatsResult, schema: StatsSchema): void {
  for (const { name, value } of entry.stats) {
    const data = schema.get(name);
    const suffix = data && STAT_TYPE_SUFFIX[data.type];
    if (!suffix) continue;
    const field = `${prefix}.${name}.${suffix}`;
    if (data.unit === 'boolean') {
      if (typeof value === 'boolean') params.boolean(field, value);
    } else if (typeof value === 'number') {
      params.ullong(field, value);
    }
  }
}

/** qemuDomainGetStatsVm: the VM-wide statistics, when QEMU has exactly one set of them. */
async function vmStats(src: StatsSource, params: ParamList, schema: () => Promise<StatsSchema | undefined>): Promise<void> {
  if (!src.qmp || !src.active) return;
  const known = await schema();
  if (!known) return;
  const queried = await src.qmp.execute<QueryStatsResult[]>('query-stats', { target: 'vm' }).catch(() => undefined);
  if (queried?.length === 1) addQueryStats(params, 'vm', queried[0]!, known);
}

// ---- interfaces ----------------------------------------------------------

/** virDomainNetTypeSharesHostView: a tap's counters are the guest's mirrored, except for these types. */
const SHARES_HOST_VIEW = new Set(['direct', 'ethernet']);

/** virNetDevTapInterfaceStats: a host interface's counters from /proc/net/dev, seen from the guest. */
function hostInterfaceCounters(ifname: string | undefined, swapped: boolean): DomainInterfaceStats {
  if (!ifname) throw virError(ErrorCode.INTERNAL_ERROR, 'Interface name not provided', ErrorDomain.NONE);
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== ifname) continue;
    const n = line.slice(colon + 1).trim().split(/\s+/).map(BigInt);
    if (n.length < 16) continue;
    const rx = { bytes: n[0]!, packets: n[1]!, errs: n[2]!, drop: n[3]! };
    const tx = { bytes: n[8]!, packets: n[9]!, errs: n[10]!, drop: n[11]! };
    const [guestRx, guestTx] = swapped ? [tx, rx] : [rx, tx];
    return {
      rx_bytes: guestRx.bytes, rx_packets: guestRx.packets, rx_errs: guestRx.errs, rx_drop: guestRx.drop,
      tx_bytes: guestTx.bytes, tx_packets: guestTx.packets, tx_errs: guestTx.errs, tx_drop: guestTx.drop,
    };
  }
  throw virError(ErrorCode.INTERNAL_ERROR, '/proc/net/dev: Interface not found', ErrorDomain.NONE);
}

/** virDomainInterfaceStats: the interface by MAC or host name (virDomainNetFind). */
export function interfaceCounters(src: StatsSource, device: string): DomainInterfaceStats {
  if (!src.active) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);
  const net = findInterface(src.def, device);
  if (net.attrs.type === 'hostdev' || net.attrs.type === 'vhostuser') {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, `interface statistics of type '${net.attrs.type}' are not supported by tsvirt`, ErrorDomain.QEMU);
  }
  return hostInterfaceCounters(child(net, 'target')?.attrs.dev, !SHARES_HOST_VIEW.has(net.attrs.type ?? ''));
}

function interfaceStats(src: StatsSource, params: ParamList): void {
  if (!src.active) return;
  const nets = devicesOf(src.def, 'interface');
  params.uint('net.count', nets.length);
  nets.forEach((net, i) => {
    const ifname = child(net, 'target')?.attrs.dev;
    if (!ifname) return;
    params.string(`net.${i}.name`, ifname);
    let counters: DomainInterfaceStats;
    try {
      counters = hostInterfaceCounters(ifname, !SHARES_HOST_VIEW.has(net.attrs.type ?? ''));
    } catch {
      return;
    }
    for (const [key, value] of Object.entries(counters)) if (value >= 0n) params.ullong(`net.${i}.${key.replace('_', '.').replace('packets', 'pkts')}`, value);
  });
}

// ---- block ---------------------------------------------------------------

/** qemuBlockStats: one entry per qdev path and node name. */
interface BlockEntry {
  rd_req: number; rd_bytes: number; wr_req: number; wr_bytes: number;
  rd_total_times: number; wr_total_times: number; flush_req: number; flush_total_times: number;
  wr_highest_offset: number; wr_highest_offset_valid: boolean; capacity: number; physical: number; write_threshold: number;
}

type BlockCounter = Exclude<keyof BlockEntry, 'wr_highest_offset_valid'>;

interface QmpBlockStats {
  device?: string;
  qdev?: string;
  'node-name'?: string;
  stats: Record<string, unknown>;
  parent?: { stats?: Record<string, unknown> };
}

/** The counters libvirt reads, in its order: QEMU's name, ours, whether QEMU always has it. */
const BLOCK_COUNTERS: [string, BlockCounter, boolean][] = [
  ['rd_bytes', 'rd_bytes', true], ['wr_bytes', 'wr_bytes', true], ['rd_operations', 'rd_req', true], ['wr_operations', 'wr_req', true],
  ['rd_total_time_ns', 'rd_total_times', false], ['wr_total_time_ns', 'wr_total_times', false],
  ['flush_operations', 'flush_req', false], ['flush_total_time_ns', 'flush_total_times', false],
];

const emptyBlockEntry = (): BlockEntry => ({
  rd_req: 0, rd_bytes: 0, wr_req: 0, wr_bytes: 0, rd_total_times: 0, wr_total_times: 0, flush_req: 0, flush_total_times: 0,
  wr_highest_offset: 0, wr_highest_offset_valid: false, capacity: 0, physical: 0, write_threshold: 0,
});

/** qemuMonitorJSONBlockStatsCollectData: one query-blockstats entry, and how many counters it had. */
function blockEntry(dev: QmpBlockStats): { entry: BlockEntry; count: number } {
  const entry = emptyBlockEntry();
  let count = 0;
  for (const [qemuName, key, mandatory] of BLOCK_COUNTERS) {
    const value = dev.stats[qemuName];
    if (value === undefined && !mandatory) continue;
    if (typeof value !== 'number') throw virError(ErrorCode.INTERNAL_ERROR, `cannot read ${qemuName} statistic`, ErrorDomain.QEMU);
    entry[key] = value;
    count++;
  }
  const highest = dev.parent?.stats?.wr_highest_offset;
  if (typeof highest === 'number') Object.assign(entry, { wr_highest_offset: highest, wr_highest_offset_valid: true });
  return { entry, count };
}

/**
 * qemuMonitorGetAllBlockStatsInfo (+ UpdateCapacityBlockdev): the counters of
 * every front end by qdev path and of every node by name, with the nodes'
 * sizes; `count` is how many counters QEMU reports.
 */
async function queryBlockStats(qmp: QmpClient, capacity: boolean): Promise<{ entries: Map<string, BlockEntry>; count: number }> {
  const entries = new Map<string, BlockEntry>();
  let count = 0;
  for (const dev of await qmp.execute<QmpBlockStats[]>('query-blockstats', { 'query-nodes': false })) {
    const { entry, count: n } = blockEntry(dev);
    count = Math.max(count, n);
    // blockdev QEMUs name no -drive devices: only qdev paths and node names
    for (const name of [dev.device || undefined, dev.qdev, dev['node-name']]) if (name) entries.set(name, { ...entry });
  }
  for (const dev of await qmp.execute<QmpBlockStats[]>('query-blockstats', { 'query-nodes': true })) {
    const name = dev['node-name'];
    if (!name || entries.has(name)) continue;
    const { entry, count: n } = blockEntry(dev);
    count = Math.max(count, n);
    entries.set(name, entry);
  }
  if (capacity) {
    type NamedNode = { 'node-name': string; image: { 'virtual-size'?: number; 'actual-size'?: number }; write_threshold?: number };
    for (const node of await qmp.execute<NamedNode[]>('query-named-block-nodes', { flat: true })) {
      let entry = entries.get(node['node-name']);
      if (!entry) entries.set(node['node-name'], (entry = emptyBlockEntry()));
      const size = node.image['virtual-size'];
      if (size === undefined) continue;
      entry.capacity = size;
      // no actual-size: the image is not thin provisioned
      entry.physical = node.image['actual-size'] ?? size;
      entry.write_threshold = node.write_threshold ?? 0;
    }
  }
  return { entries, count };
}

/** The QOM name libvirt gives a disk's front end (qemuAssignDeviceDiskAlias); the alias for buses without one. */
function diskFrontend(disk: XmlElement): string | undefined {
  const alias = child(disk, 'alias')?.attrs.name;
  if (!alias) return undefined;
  switch (child(disk, 'target')?.attrs.bus) {
    case 'virtio': return `/machine/peripheral/${alias}/virtio-backend`;
    case 'usb': return `/machine/peripheral/${alias}/${alias}.0/legacy[0]`;
    default: return alias;
  }
}

/** VIR_DOMAIN_BLOCK_STATS_* in qemuDomainBlockStatsFlags's order. */
const BLOCK_STATS_FIELDS: [string, BlockCounter][] = [
  ['wr_bytes', 'wr_bytes'], ['wr_operations', 'wr_req'], ['rd_bytes', 'rd_bytes'], ['rd_operations', 'rd_req'],
  ['flush_operations', 'flush_req'], ['wr_total_times', 'wr_total_times'], ['rd_total_times', 'rd_total_times'], ['flush_total_times', 'flush_total_times'],
];

/** virDomainBlockStatsFlags: one disk's counters, or ("") the sum over all disks. */
export async function blockDeviceStats(src: StatsSource, path: string): Promise<TypedParam[]> {
  if (!src.active || !src.qmp) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);
  let disks = devicesOf(src.def, 'disk');
  if (path) {
    const disk = findDiskByName(src.def, path);
    if (!disk) throw virError(ErrorCode.INVALID_ARG, `invalid path: ${path}`, ErrorDomain.QEMU);
    if (disk.attrs.type === 'vhostuser') throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'block stats are not supported for vhostuser disk', ErrorDomain.QEMU);
    disks = [disk];
  } else {
    disks = disks.filter((d) => d.attrs.type !== 'vhostuser');
  }
  const { entries, count } = await queryBlockStats(src.qmp, false);
  const total = emptyBlockEntry();
  for (const disk of disks) {
    const name = diskFrontend(disk);
    if (!name) {
      if (path) throw virError(ErrorCode.INTERNAL_ERROR, `missing disk device alias name for ${child(disk, 'target')?.attrs.dev}`, ErrorDomain.QEMU);
      continue;
    }
    const entry = entries.get(name);
    if (!entry) throw virError(ErrorCode.INTERNAL_ERROR, `cannot find statistics for device '${name}'`, ErrorDomain.QEMU);
    for (const [, key] of BLOCK_STATS_FIELDS) total[key] += entry[key];
  }
  return BLOCK_STATS_FIELDS.slice(0, count).map(([field, key]) => typedParam.llong(field, total[key]));
}

/** Where an image's bytes live on this host (virStorageSourceIsLocalStorage with a path). */
function localPath(type: string, source: XmlElement): string | undefined {
  if (type === 'file') return source.attrs.file;
  if (type === 'block') return source.attrs.dev;
  if (type === 'dir') return source.attrs.dir;
  return undefined;
}

/** "QFI\xfb" */
const QCOW2_MAGIC = 0x514649fb;

/** An image's virtual size: qcow2's from its header (offset 24), else the file's length (virStorageSourceUpdateCapacity). */
function imageCapacity(file: string, format: string, size: number): number {
  if (format !== 'qcow2') return size;
  const header = Buffer.alloc(32);
  const fd = openSync(file, 'r');
  try {
    const isQcow2 = readSync(fd, header, 0, header.length, 0) === header.length && header.readUInt32BE(0) === QCOW2_MAGIC;
    return isQcow2 ? Number(header.readBigUInt64BE(24)) : 0;
  } finally {
    closeSync(fd);
  }
}

async function blockStats(src: StatsSource, params: ParamList, backing: boolean): Promise<void> {
  const stats = src.active && src.qmp ? await queryBlockStats(src.qmp, true).then((r) => r.entries).catch(() => undefined) : undefined;
  const countAt = params.list.length;
  params.uint('block.count', 0);
  let record = 0;
  for (const disk of devicesOf(src.def, 'disk')) {
    const target = child(disk, 'target')?.attrs.dev ?? '';
    const chain = diskChain(src.def, disk);
    if (chain.length === 0 || disk.attrs.type === 'vhostuser') {
      // no medium, or storage QEMU does not own: the header only
      params.string(`block.${record}.name`, target);
      const path = localPath(disk.attrs.type ?? 'file', child(disk, 'source') ?? disk);
      if (path) params.string(`block.${record}.path`, path);
      record++;
      continue;
    }
    for (const image of chain) {
      const i = record++;
      params.string(`block.${i}.name`, target);
      const path = localPath(image.type, image.source);
      if (path) params.string(`block.${i}.path`, path);
      // image ids exist while the domain runs (libvirt's index='N')
      if (src.active) params.uint(`block.${i}.backingIndex`, image.id);
      if (image === chain[0]) {
        const frontend = diskFrontend(disk);
        const entry = frontend === undefined ? undefined : stats?.get(frontend);
        if (entry) {
          params.ullong(`block.${i}.rd.reqs`, entry.rd_req).ullong(`block.${i}.rd.bytes`, entry.rd_bytes).ullong(`block.${i}.rd.times`, entry.rd_total_times);
          params.ullong(`block.${i}.wr.reqs`, entry.wr_req).ullong(`block.${i}.wr.bytes`, entry.wr_bytes).ullong(`block.${i}.wr.times`, entry.wr_total_times);
          params.ullong(`block.${i}.fl.reqs`, entry.flush_req).ullong(`block.${i}.fl.times`, entry.flush_total_times);
        }
      }
      if (!src.active) {
        addSizesOnDisk(params, i, path, image.type, image.format);
      } else {
        const entry = stats?.get(`libvirt-${image.id}-format`);
        if (entry) {
          params.ullong(`block.${i}.allocation`, entry.wr_highest_offset);
          if (entry.capacity) params.ullong(`block.${i}.capacity`, entry.capacity);
          // QEMU knows no allocated size: the file's length (qemuDomainStorageUpdatePhysical)
          const physical = entry.physical || (path && image.type === 'file' ? fileSize(path) : undefined);
          if (physical !== undefined) params.ullong(`block.${i}.physical`, physical);
        }
        const threshold = stats?.get(`libvirt-${image.id}-storage`)?.write_threshold;
        if (threshold) params.ullong(`block.${i}.threshold`, threshold);
      }
      if (!backing) break;
    }
  }
  params.list[countAt] = typedParam.uint('block.count', record);
}

function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** qemuStorageLimitsRefresh: an image's sizes from the file itself (undefined when it cannot be read). */
function imageSizesOnDisk(path: string | undefined, type: string, format: string): DomainBlockInfo | undefined {
  if (!path || (type !== 'file' && type !== 'block')) return undefined;
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  return { allocation: st.blocks * 512, capacity: imageCapacity(path, format, st.size), physical: st.size };
}

/** qemuDomainGetStatsOneBlockFallback: an inactive domain's image sizes; zeros are left out. */
function addSizesOnDisk(params: ParamList, i: number, path: string | undefined, type: string, format: string): void {
  const sizes = imageSizesOnDisk(path, type, format);
  if (sizes?.allocation) params.ullong(`block.${i}.allocation`, sizes.allocation);
  if (sizes?.capacity) params.ullong(`block.${i}.capacity`, sizes.capacity);
  if (sizes?.physical) params.ullong(`block.${i}.physical`, sizes.physical);
}

/** The images of a disk's chain with their storage ids, as the command line named their nodes. */
function diskChain(def: XmlElement, disk: XmlElement) {
  return assignStorageIds(devicesOf(def, 'disk')).get(disk)?.chain ?? [];
}

/**
 * virDomainGetBlockInfo (qemuDomainGetBlockInfo): a disk's capacity,
 * allocation and physical size; libvirt's sparse-file rules for a running
 * domain, the file itself for an inactive one.
 */
export async function blockInfo(src: StatsSource, path: string): Promise<DomainBlockInfo> {
  const disk = findDiskByName(src.def, path);
  if (!disk) throw virError(ErrorCode.INVALID_ARG, `invalid path ${path} not assigned to domain`, ErrorDomain.QEMU);
  const type = disk.attrs.type ?? 'file';
  if (type === 'vhostuser') throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'block info is not supported for vhostuser disk', ErrorDomain.QEMU);
  if (diskSource(disk) === undefined) throw virError(ErrorCode.INVALID_ARG, `disk '${path}' does not currently have a source assigned`, ErrorDomain.QEMU);
  const file = localPath(type, child(disk, 'source')!);
  const format = child(disk, 'driver')?.attrs.type ?? 'raw';
  if (!src.active) {
    const sizes = imageSizesOnDisk(file, type, format);
    if (!sizes) throw virError(ErrorCode.SYSTEM_ERROR, `cannot stat file '${file ?? path}': No such file or directory`, ErrorDomain.QEMU);
    return sizes;
  }
  if (!src.qmp) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);
  const { entries } = await queryBlockStats(src.qmp, true);
  const frontend = diskFrontend(disk);
  if (!frontend || !entries.has(frontend)) throw virError(ErrorCode.INTERNAL_ERROR, `cannot find statistics for device '${frontend ?? path}'`, ErrorDomain.QEMU);
  // capacity is reported per node name only
  const top = diskChain(src.def, disk)[0];
  const node = (top && entries.get(`libvirt-${top.id}-format`)) ?? entries.get(frontend)!;
  let allocation = !node.wr_highest_offset_valid || (type === 'file' && format === 'qcow2') ? node.physical : node.wr_highest_offset;
  let physical = node.physical;
  // a sparse file or one QEMU has not written yet: its length is the physical size
  if (node.physical === 0 || allocation === 0 || allocation === node.physical) {
    if (allocation === 0) allocation = node.physical;
    physical = (file && type === 'file' ? fileSize(file) : undefined) ?? node.physical;
  }
  return { capacity: node.capacity, allocation, physical };
}

// ---- iothreads and dirty rate -------------------------------------------

async function iothreadStats(src: StatsSource, params: ParamList): Promise<void> {
  if (!src.qmp || !src.active) return;
  type IOThread = { id: string; 'poll-max-ns'?: number; 'poll-grow'?: number; 'poll-shrink'?: number };
  const threads = await src.qmp.execute<IOThread[]>('query-iothreads');
  if (threads.length === 0) return;
  params.uint('iothread.count', threads.length);
  for (const t of threads) {
    const id = Number(/(\d+)$/.exec(t.id)?.[1] ?? 0);
    if (t['poll-max-ns'] === undefined) continue;
    params.ullong(`iothread.${id}.poll-max-ns`, t['poll-max-ns']).uint(`iothread.${id}.poll-grow`, t['poll-grow'] ?? 0).uint(`iothread.${id}.poll-shrink`, t['poll-shrink'] ?? 0);
  }
}

/** QEMU's DirtyRateStatus, as virDomainDirtyRateStatus numbers. */
const DIRTY_RATE_STATUS = ['unstarted', 'measuring', 'measured'];

async function dirtyRateStats(src: StatsSource, params: ParamList): Promise<void> {
  if (!src.qmp || !src.active) return;
  type DirtyRate = { status: string; 'start-time': number; 'calc-time': number; mode?: string; 'dirty-rate'?: number; 'vcpu-dirty-rate'?: { id: number; 'dirty-rate': number }[] };
  const info = await src.qmp.execute<DirtyRate>('query-dirty-rate');
  const status = DIRTY_RATE_STATUS.indexOf(info.status);
  if (status < 0) throw virError(ErrorCode.INTERNAL_ERROR, `Unknown dirty rate status: ${info.status}`, ErrorDomain.QEMU);
  const mode = info.mode ?? 'page-sampling';
  params.int('dirtyrate.calc_status', status).llong('dirtyrate.calc_start_time', info['start-time']).int('dirtyrate.calc_period', info['calc-time']).string('dirtyrate.calc_mode', mode);
  if (status !== 2) return;
  params.llong('dirtyrate.megabytes_per_second', info['dirty-rate'] ?? 0);
  if (mode === 'dirty-ring') for (const v of info['vcpu-dirty-rate'] ?? []) params.ullong(`dirtyrate.vcpu.${v.id}.megabytes_per_second`, v['dirty-rate']);
}
