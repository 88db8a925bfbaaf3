// Host CPU and memory statistics as libvirt's node calls report them
// (virHostCPUGetStats, virHostMemGetStats, virHostMemGetCellsFree): read
// live from /proc and sysfs at every call, never cached.

import { readFileSync, readdirSync } from 'node:fs';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { systemError } from '../../util/errno-text.js';

/** VIR_NODE_CPU_STATS_ALL_CPUS / VIR_NODE_MEMORY_STATS_ALL_CELLS */
export const ALL_CPUS = -1;
export const ALL_CELLS = -1;

/** /proc/stat counts in USER_HZ, which the kernel ABI fixes at 100 per second. */
const NSEC_PER_TICK = 10_000_000n;
const CPU_STATS_COUNT = 4;

export interface NodeStat { field: string; value: bigint }

/** libvirt reports argument errors of these helpers with the bare message, from no particular domain. */
function invalidArg(message: string): VirError {
  return new VirError(ErrorCode.INVALID_ARG, ErrorDomain.NONE, message);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw systemError(`cannot open ${path}`, e, ErrorDomain.NONE);
  }
}

/**
 * virHostCPUGetStats: kernel (system+irq+softirq), user (user+nice), idle and
 * iowait time in ns of one CPU or all. nparams 0 asks how many there are.
 */
export function hostCpuStats(cpuNum: number, nparams: number): { params: NodeStat[]; nparams: number } {
  if (nparams === 0) return { params: [], nparams: CPU_STATS_COUNT };
  if (nparams !== CPU_STATS_COUNT) throw invalidArg(`nparams in virHostCPUGetStatsLinux must be equal to ${CPU_STATS_COUNT}`);
  const header = cpuNum === ALL_CPUS ? 'cpu ' : `cpu${cpuNum} `;
  for (const line of readText('/proc/stat').split('\n')) {
    if (!line.startsWith(header)) continue;
    const ticks = line.trim().split(/\s+/).slice(1).map((n) => BigInt(n));
    if (ticks.length < 4) continue;
    const [user, nice, system, idle, iowait = 0n, irq = 0n, softirq = 0n] = ticks as [bigint, bigint, bigint, bigint, ...bigint[]];
    const params = [
      { field: 'kernel', value: (system + irq + softirq) * NSEC_PER_TICK },
      { field: 'user', value: (user + nice) * NSEC_PER_TICK },
      { field: 'idle', value: idle * NSEC_PER_TICK },
      { field: 'iowait', value: iowait * NSEC_PER_TICK },
    ];
    return { params, nparams: params.length };
  }
  throw invalidArg('Invalid cpuNum in virHostCPUGetStatsLinux');
}

export const NODE_DIR = '/sys/devices/system/node';

/** Highest NUMA node id, or undefined where the host has no NUMA (libvirt then fakes one cell). */
export function maxNumaNode(): number | undefined {
  let ids: number[];
  try {
    ids = readdirSync(NODE_DIR).flatMap((d) => (/^node\d+$/.test(d) ? [Number(d.slice(4))] : []));
  } catch {
    return undefined;
  }
  return ids.length > 0 ? Math.max(...ids) : undefined;
}

/** meminfo headers and the stat names libvirt gives them, in libvirt's order of interest. */
const MEMINFO_FIELDS: ReadonlyMap<string, string> = new Map([
  ['MemTotal:', 'total'],
  ['MemFree:', 'free'],
  ['Buffers:', 'buffers'],
  ['Cached:', 'cached'],
]);

/** The fields of a meminfo file (host or "Node N"-prefixed per node) libvirt knows, in file order, KiB. */
function meminfoStats(text: string, limit: number): NodeStat[] {
  const out: NodeStat[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.startsWith('Node ') ? raw.split(' ').slice(2).join(' ') : raw;
    const m = /^(\S+)\s+(\d+) kB/.exec(line);
    const field = m ? MEMINFO_FIELDS.get(m[1]!) : undefined;
    if (!field) continue;
    out.push({ field, value: BigInt(m![2]!) });
    if (out.length >= limit) break;
  }
  if (out.length === 0) throw virError(ErrorCode.INTERNAL_ERROR, 'no available memory line found', ErrorDomain.NONE);
  return out;
}

/**
 * virHostMemGetStats: total/free/buffers/cached KiB of the host, or
 * total/free of one NUMA cell. nparams 0 asks how many there are.
 */
export function hostMemoryStats(cellNum: number, nparams: number): { params: NodeStat[]; nparams: number } {
  const maxNode = maxNumaNode();
  const cell = maxNode === undefined && cellNum === 0 ? ALL_CELLS : cellNum;
  const count = cell === ALL_CELLS ? 4 : 2;
  if (cell !== ALL_CELLS && cell > (maxNode ?? 0)) throw invalidArg(`cellNum in virHostMemGetStats must be less than or equal to ${maxNode ?? 0}`);
  if (nparams === 0) return { params: [], nparams: count };
  if (nparams !== count) throw invalidArg(`nparams in virHostMemGetStatsLinux must be ${count}`);
  const params = meminfoStats(readText(cell === ALL_CELLS ? '/proc/meminfo' : `${NODE_DIR}/node${cell}/meminfo`), count);
  return { params, nparams: params.length };
}

/** virHostMemGetCellsFree: free bytes of maxCells NUMA cells from startCell on. */
export function hostCellsFreeMemory(startCell: number, maxCells: number): bigint[] {
  const maxNode = maxNumaNode();
  if (maxNode === undefined) {
    // libvirt's one fake cell: the whole host's free memory.
    if (startCell !== 0) throw virError(ErrorCode.INTERNAL_ERROR, `start cell ${startCell} out of range (0-0)`, ErrorDomain.NONE);
    const free = meminfoStats(readText('/proc/meminfo'), 2).find((s) => s.field === 'free');
    return maxCells > 0 ? [(free?.value ?? 0n) * 1024n] : [];
  }
  if (startCell > maxNode) throw virError(ErrorCode.INTERNAL_ERROR, `start cell ${startCell} out of range (0-${maxNode})`, ErrorDomain.NONE);
  const out: bigint[] = [];
  for (let n = startCell; n <= Math.min(maxNode, startCell + maxCells - 1); n++) {
    let free = 0n;
    try {
      free = meminfoStats(readFileSync(`${NODE_DIR}/node${n}/meminfo`, 'utf8'), 2).find((s) => s.field === 'free')?.value ?? 0n;
    } catch {
      // a hole in the node numbering counts as an empty cell, as numa_node_size64 reports it
    }
    out.push(free * 1024n);
  }
  return out;
}

/** The system page size in KiB (x86_64 and aarch64 hosts as Debian builds them). */
export const SYSTEM_PAGE_KIB = 4;

/** Free pages of one size on one cell (-1: the whole host), as virNumaGetPageInfo counts them. */
function freePagesOf(cell: number, pageKiB: number): bigint {
  if (pageKiB === SYSTEM_PAGE_KIB) {
    const meminfo = cell === ALL_CELLS ? readText('/proc/meminfo') : readText(`${NODE_DIR}/node${cell}/meminfo`);
    const free = meminfoStats(meminfo, 2).find((s) => s.field === 'free')?.value ?? 0n;
    return free / BigInt(SYSTEM_PAGE_KIB);
  }
  const dir = cell === ALL_CELLS ? '/sys/kernel/mm/hugepages' : `${NODE_DIR}/node${cell}/hugepages`;
  let text: string;
  try {
    text = readFileSync(`${dir}/hugepages-${pageKiB}kB/free_hugepages`, 'utf8');
  } catch {
    const where = cell === ALL_CELLS ? '' : ` on node ${cell}`;
    throw virError(ErrorCode.OPERATION_FAILED, `page size ${pageKiB} is not available${where}`, ErrorDomain.NONE);
  }
  if (!/^\d+\n$/.test(text)) throw virError(ErrorCode.INTERNAL_ERROR, `unable to parse: ${text}`, ErrorDomain.NONE);
  return BigInt(text.trim());
}

/**
 * virHostMemGetFreePages: for each cell from startCell (cellCount of them),
 * the free count of every asked page size (KiB), cell by cell.
 */
export function hostFreePages(pages: readonly number[], startCell: number, cellCount: number): bigint[] {
  const maxNode = maxNumaNode();
  const lastCell = maxNode ?? 0;
  // without NUMA the one fake cell is the whole host
  const first = maxNode === undefined && startCell === 0 && cellCount === 1 ? ALL_CELLS : startCell;
  if (first > lastCell) throw virError(ErrorCode.INTERNAL_ERROR, `start cell ${first} out of range (0-${lastCell})`, ErrorDomain.NONE);
  const counts: bigint[] = [];
  for (let cell = first; cell <= Math.min(lastCell, first + cellCount - 1); cell++) {
    for (const size of pages) counts.push(freePagesOf(cell, size));
  }
  if (counts.length === 0) throw virError(ErrorCode.INTERNAL_ERROR, 'no suitable info found', ErrorDomain.NONE);
  return counts;
}
