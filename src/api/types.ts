// The value types of the public API. Object references and structured results are
// the protocol's own structs (src/driver's procedure tables), so what a user holds
// is what travels on the wire; a few friendlier shapes (plain numbers, CPU lists,
// untagged parameters) are what the handle classes return.
import type { ProcRet } from '../driver/procedures.js';
import { typedParamValue, type TypedParam } from '../driver/typed-params.js';

export { DomainState, ListDomainsFlags, ModificationImpact } from '../driver/flags.js';
export { DomainStatsTypes, RunningReason, PausedReason, ShutdownReason, ShutoffReason, CrashedReason, DomainXMLFlags, DefineFlags, StartFlags, DomainConsoleFlags, CheckpointCreateFlags, MigrateFlags } from '../driver/flags.js';
export { TypedParamType, typedParam, typedParamValue, type TypedParam } from '../driver/typed-params.js';
export type { ProcArgs, ProcKey, ProcRet } from '../driver/procedures.js';
export type { DomainRef, NetworkRef, StoragePoolRef, StorageVolRef, InterfaceRef, SnapshotRef, CheckpointRef, NodeDeviceRef, SecretRef, NWFilterRef } from '../driver/refs.js';
/** The domain events a connection's event source delivers (message keys in virDomainEventID order). */
export { DOMAIN_EVENT_MESSAGES, type DriverEvent } from '../driver/events.js';
export type { NodeInfo } from '../driver/node-info.js';
/** tsvirt's PCI topology of a domain (tsvirsh domtopology): absent parts are null. */
export type PciTopology = ProcRet<'domainGetPciTopology'>;
export type PciTopologyBus = PciTopology['root'];
export type PciTopologySummary = PciTopology['summary'];
export type PciTopologySlot = PciTopologyBus['slots'][number];
export type PciTopologyFunction = PciTopologySlot['functions'][number];
export type PciTopologyDevice = NonNullable<PciTopologyFunction['device']>;

/** virDomainStatsRecord as the wire carries it (tagged parameters). */
export type DomainStatsRecord = ProcRet<'connectGetAllDomainStats'>['retStats'][number];
/** virDomainFSInfo */
export type DomainFSInfo = ProcRet<'domainGetFSInfo'>['info'][number];
/** virDomainInterfaceStatsStruct; -1 for a counter the driver does not know. */
export type DomainInterfaceStats = ProcRet<'domainInterfaceStats'>;
/** virDomainBlockStatsStruct; -1 for a counter the driver does not know. */
export type DomainBlockStats = ProcRet<'domainBlockStats'>;
/** virDomainBlockInfo; sizes in bytes. */
export type DomainBlockInfo = ProcRet<'domainGetBlockInfo'>;

/** A typed parameter with its value untagged (numbers, bigints for 64-bit, booleans, strings). */
export interface PlainParam {
  field: string;
  value: number | bigint | string | boolean;
}

/** virDomainInfo with the memory sizes as plain numbers (KiB). */
export interface DomainInfo {
  state: number;
  maxMem: number;
  memory: number;
  nrVirtCpu: number;
  /** nanoseconds */
  cpuTime: bigint;
}

export interface StateWithReason {
  state: number;
  reason: number;
}

/** virVcpuInfo: one vCPU of a running domain. */
export interface DomainVcpuInfo {
  number: number;
  /** virVcpuState: 0 offline, 1 running, 2 blocked */
  state: number;
  /** nanoseconds */
  cpuTime: bigint;
  /** the host CPU it last ran on */
  cpu: number;
}

/** virStoragePoolInfo; sizes in bytes. */
export interface StoragePoolInfo {
  /** virStoragePoolState: 0 inactive, 1 building, 2 running, 3 degraded, 4 inaccessible */
  state: number;
  capacity: number;
  allocation: number;
  available: number;
}

/** virStorageVolInfo; sizes in bytes. */
export interface StorageVolInfo {
  /** virStorageVolType: 0 file, 1 block, 2 dir, 3 network, 4 netdir, 5 ploop */
  type: number;
  capacity: number;
  allocation: number;
}

/** virDomainMemoryStatTags by tag number, in virsh's spelling. */
export const MEMORY_STAT_NAMES: readonly string[] = [
  'swap_in', 'swap_out', 'major_fault', 'minor_fault', 'unused', 'available', 'actual', 'rss', 'usable', 'last_update', 'disk_caches', 'hugetlb_pgalloc', 'hugetlb_pgfail',
];

/** The plain form of tagged parameters. */
export function plainParams(params: readonly TypedParam[]): PlainParam[] {
  return params.map((p) => ({ field: p.field, value: typedParamValue(p) }));
}

/** A fixed-size C char array from the wire (virNodeInfo.model, security labels) as text: up to its NUL. */
export function cString(chars: readonly number[]): string {
  const end = chars.indexOf(0);
  return Buffer.from(end < 0 ? chars : chars.slice(0, end)).toString('utf8');
}

/** VIR_CPU_MAPLEN: bytes of a CPU bitmap for `cpus` host CPUs. */
export const cpuMapLength = (cpus: number) => Math.ceil(cpus / 8);

/** The host CPUs set in the `index`-th `maplen`-byte map of a packed cpumaps buffer. */
export function cpuMapCpus(maps: Buffer, index: number, maplen: number): number[] {
  const cpus: number[] = [];
  for (let byte = 0; byte < maplen; byte++) {
    const bits = maps[index * maplen + byte] ?? 0;
    for (let bit = 0; bit < 8; bit++) if (bits & (1 << bit)) cpus.push(byte * 8 + bit);
  }
  return cpus;
}
