// Public API types shared by the API layer, the drivers and tsvirsh.
// Method names on HypervisorDriver mirror libvirt's public API (virDomainGetXMLDesc
// -> domainGetXMLDesc) so that "not supported" errors can name the API call.
import type { Duplex } from 'node:stream';
import type { PciTopology } from '../conf/pci-topology.js';

// the enums the object lists in conf work with
import { DomainState } from '../conf/objects/domain-enums.js';
export { DomainState, ListDomainsFlags, ModificationImpact } from '../conf/objects/domain-enums.js';
export { DomainStatsTypes, RunningReason, PausedReason, ShutdownReason, ShutoffReason, CrashedReason, DomainXMLFlags, DefineFlags, StartFlags, DomainConsoleFlags } from '../driver/flags.js';
export type { PciTopology, PciTopologyBus, PciTopologySlot, PciTopologyFunction, PciTopologyDevice, PciTopologySummary } from '../conf/pci-topology.js';

/** A domain as identified to API users: id is -1 while the domain is inactive. */
export interface DomainRef {
  name: string;
  uuid: string;
  id: number;
}

/** A network handle as identified to API users (virNetworkPtr). */
export interface NetworkRef {
  name: string;
  uuid: string;
}

/** A storage pool handle (virStoragePoolPtr). */
export interface StoragePoolRef {
  name: string;
  uuid: string;
}

/** A storage volume handle (virStorageVolPtr): name within its pool, globally unique key and path. */
export interface StorageVolRef {
  pool: string;
  name: string;
  key: string;
}

/** A host interface handle (virInterfacePtr). */
export interface InterfaceRef {
  name: string;
  mac: string;
}

/** A domain snapshot handle (virDomainSnapshotPtr). */
export interface SnapshotRef {
  domain: DomainRef;
  name: string;
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

/** virDomainBlockInfo; sizes in bytes. */
export interface DomainBlockInfo {
  capacity: number;
  allocation: number;
  physical: number;
}

/** One typed parameter as returned by virDomainGetStats / virDomainMemoryStats and friends. */
export interface TypedParam {
  field: string;
  value: number | bigint | string | boolean;
}

/** virDomainFSInfo: a guest filesystem and the disk targets it lives on. */
export interface DomainFSInfo {
  mountpoint: string;
  name: string;
  fstype: string;
  devAlias: string[];
}

export interface DomainStatsRecord {
  dom: DomainRef;
  params: TypedParam[];
}

/** virDomainInterfaceStatsStruct; -1 for a counter the driver does not know. */
export interface DomainInterfaceStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errs: number;
  rx_drop: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errs: number;
  tx_drop: number;
}

/** virDomainBlockStatsStruct (virDomainBlockStats); -1 for a counter the driver does not know. */
export interface DomainBlockStats {
  rd_req: number;
  rd_bytes: number;
  wr_req: number;
  wr_bytes: number;
  errs: number;
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

export interface DomainInfo {
  state: DomainState;
  /** KiB */
  maxMem: number;
  /** KiB */
  memory: number;
  nrVirtCpu: number;
  /** nanoseconds */
  cpuTime: bigint;
}

export interface StateWithReason {
  state: DomainState;
  reason: number;
}

export interface NodeInfo {
  model: string;
  /** KiB */
  memory: number;
  cpus: number;
  mhz: number;
  nodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

export interface ParsedURI {
  /** the URI as given */
  raw: string;
  scheme: string;
  /** the driver name, e.g. 'qemu', 'test' */
  driver: string;
  path: string;
  params: URLSearchParams;
}

/**
 * The contract every hypervisor driver implements. Optional methods the driver
 * lacks are reported by the API layer as libvirt's "not supported" error.
 */
export interface HypervisorDriver {
  /** The canonical URI of this connection (virConnectGetURI). */
  readonly uri: string;
  /** virConnectGetType: 'QEMU', 'TEST', ... */
  readonly type: string;
  close(): Promise<void>;

  connectGetVersion?(): Promise<number>;
  connectGetHostname?(): Promise<string>;
  connectGetCapabilities?(): Promise<string>;
  connectGetDomainCapabilities?(emulator: string | undefined, arch: string | undefined, machine: string | undefined, virttype: string | undefined): Promise<string>;
  connectGetSysinfo?(): Promise<string>;
  connectGetMaxVcpus?(type: string | undefined): Promise<number>;
  nodeGetInfo?(): Promise<NodeInfo>;
  nodeGetFreeMemory?(): Promise<bigint>;
  nodeGetCellsFreeMemory?(start: number, max: number): Promise<bigint[]>;
  nodeGetCPUMap?(): Promise<{ online: boolean[] }>;

  connectListAllDomains?(flags: number): Promise<DomainRef[]>;
  domainLookupByName?(name: string): Promise<DomainRef>;
  domainLookupByUUID?(uuid: string): Promise<DomainRef>;
  domainLookupByID?(id: number): Promise<DomainRef>;
  domainDefineXML?(xml: string, flags: number): Promise<DomainRef>;
  domainCreateXML?(xml: string, flags: number): Promise<DomainRef>;
  domainUndefine?(dom: DomainRef, flags: number): Promise<void>;
  domainCreate?(dom: DomainRef, flags: number): Promise<DomainRef>;
  domainShutdown?(dom: DomainRef, flags: number): Promise<void>;
  domainDestroy?(dom: DomainRef, flags: number): Promise<void>;
  domainReboot?(dom: DomainRef, flags: number): Promise<void>;
  domainReset?(dom: DomainRef, flags: number): Promise<void>;
  domainSuspend?(dom: DomainRef): Promise<void>;
  domainResume?(dom: DomainRef): Promise<void>;
  /** virDomainOpenConsole: a duplex stream on the guest's character device (DomainConsoleFlags). */
  domainOpenConsole?(dom: DomainRef, devName: string | null, flags: number): Promise<Duplex>;
  domainGetXMLDesc?(dom: DomainRef, flags: number): Promise<string>;
  domainGetInfo?(dom: DomainRef): Promise<DomainInfo>;
  domainGetState?(dom: DomainRef, flags: number): Promise<StateWithReason>;
  domainIsActive?(dom: DomainRef): Promise<boolean>;
  domainIsPersistent?(dom: DomainRef): Promise<boolean>;
  domainGetAutostart?(dom: DomainRef): Promise<boolean>;
  domainSetAutostart?(dom: DomainRef, autostart: boolean): Promise<void>;
  domainAttachDeviceFlags?(dom: DomainRef, xml: string, flags: number): Promise<void>;
  domainDetachDeviceFlags?(dom: DomainRef, xml: string, flags: number): Promise<void>;
  connectDomainXMLToNative?(format: string, xml: string, flags: number): Promise<string>;

  // More domain calls tsvirsh makes (libvirt names and flag values).
  domainSetMemoryFlags?(dom: DomainRef, kib: number, flags: number): Promise<void>;
  domainSetMaxMemory?(dom: DomainRef, kib: number): Promise<void>;
  domainSetMemory?(dom: DomainRef, kib: number): Promise<void>;
  domainSetVcpusFlags?(dom: DomainRef, count: number, flags: number): Promise<void>;
  domainGetVcpusFlags?(dom: DomainRef, flags: number): Promise<number>;
  domainGetMaxVcpus?(dom: DomainRef): Promise<number>;
  domainMemoryStats?(dom: DomainRef, flags: number): Promise<TypedParam[]>;
  connectGetAllDomainStats?(stats: number, flags: number): Promise<DomainStatsRecord[]>;
  domainListGetStats?(doms: DomainRef[], stats: number, flags: number): Promise<DomainStatsRecord[]>;
  /** virDomainBlockStatsFlags: a disk's counters ("" sums all disks), VIR_DOMAIN_BLOCK_STATS_* fields. */
  domainBlockStatsFlags?(dom: DomainRef, disk: string, flags: number): Promise<TypedParam[]>;
  domainBlockStats?(dom: DomainRef, disk: string): Promise<DomainBlockStats>;
  domainInterfaceStats?(dom: DomainRef, device: string): Promise<DomainInterfaceStats>;
  /** virDomainGetVcpus: up to `maxinfo` vCPUs and each one's host CPU affinity. */
  domainGetVcpus?(dom: DomainRef, maxinfo: number): Promise<{ info: DomainVcpuInfo[]; cpumaps: number[][] }>;
  domainGetMetadata?(dom: DomainRef, type: number, uri: string | null, flags: number): Promise<string>;
  domainSetMetadata?(dom: DomainRef, type: number, metadata: string | null, key: string | null, uri: string | null, flags: number): Promise<void>;
  domainGetHostname?(dom: DomainRef, flags: number): Promise<string>;
  domainGetTime?(dom: DomainRef, flags: number): Promise<{ seconds: number; nseconds: number }>;
  domainGetControlInfo?(dom: DomainRef, flags: number): Promise<{ state: number; details: number; stateTime: number }>;
  domainGetDiskErrors?(dom: DomainRef, flags: number): Promise<{ disk: string; error: number }[]>;
  domainGetBlockInfo?(dom: DomainRef, disk: string, flags: number): Promise<DomainBlockInfo>;
  domainInterfaceAddresses?(dom: DomainRef, source: number, flags: number): Promise<{ name: string; hwaddr: string; addrs: { type: number; addr: string; prefix: number }[] }[]>;
  /** virDomainGetSecurityLabel (one label) and virNodeGetSecurityModel, as dominfo prints them. */
  domainGetSecurityLabel?(dom: DomainRef): Promise<{ label: string; enforcing: boolean }>;
  nodeGetSecurityModel?(): Promise<{ model: string; doi: string }>;
  domainIsUpdated?(dom: DomainRef): Promise<boolean>;
  domainGetMaxMemory?(dom: DomainRef): Promise<number>;
  domainSetVcpus?(dom: DomainRef, count: number): Promise<void>;
  domainSnapshotNum?(dom: DomainRef, flags: number): Promise<number>;
  domainSnapshotNumChildren?(snap: SnapshotRef, flags: number): Promise<number>;
  interfaceDefineXML?(xml: string, flags: number): Promise<InterfaceRef>;
  interfaceUndefine?(iface: InterfaceRef): Promise<void>;
  interfaceCreate?(iface: InterfaceRef, flags: number): Promise<void>;
  interfaceChangeBegin?(flags: number): Promise<void>;
  interfaceChangeCommit?(flags: number): Promise<void>;
  interfaceChangeRollback?(flags: number): Promise<void>;
  storagePoolNumOfVolumes?(pool: StoragePoolRef): Promise<number>;
  domainHasManagedSaveImage?(dom: DomainRef, flags: number): Promise<boolean>;
  domainManagedSaveRemove?(dom: DomainRef, flags: number): Promise<void>;
  domainAttachDevice?(dom: DomainRef, xml: string): Promise<void>;
  domainDetachDevice?(dom: DomainRef, xml: string): Promise<void>;
  domainCreateWithFlags?(dom: DomainRef, flags: number): Promise<DomainRef>;
  domainShutdownFlags?(dom: DomainRef, flags: number): Promise<void>;
  domainUndefineFlags?(dom: DomainRef, flags: number): Promise<void>;
  domainGetOSType?(dom: DomainRef): Promise<string>;
  domainSetMemoryStatsPeriod?(dom: DomainRef, period: number, flags: number): Promise<void>;
  domainSetTime?(dom: DomainRef, seconds: number, nseconds: number, flags: number): Promise<void>;
  storageVolGetInfoFlags?(vol: StorageVolRef, flags: number): Promise<StorageVolInfo>;
  connectGetLibVersion?(): Promise<number>;
  /** Host objects tsvirsh lists; a driver without them gets virsh's count fallbacks. */
  nodeGetMemoryStats?(cell: number, flags: number): Promise<{ field: string; value: number | bigint }[]>;
  connectListAllSecrets?(flags: number): Promise<{ name: string; uuid: string; usage?: string }[]>;
  connectNumOfSecrets?(): Promise<number>;
  connectListAllNWFilters?(flags: number): Promise<{ name: string; uuid: string }[]>;
  connectNumOfNWFilters?(): Promise<number>;
  /** Node devices are known by name only (virNodeDevicePtr has no UUID). */
  connectListAllNodeDevices?(flags: number): Promise<{ name: string }[]>;
  nodeDeviceLookupByName?(name: string): Promise<{ name: string }>;
  nodeNumOfDevices?(): Promise<number>;
  /** tsvirt's own: the domain's PCI tree, empty slots and hotplug room (tsvirsh domtopology). */
  domainGetPciTopology?(dom: DomainRef, flags: number): Promise<PciTopology>;

  // Networks, storage, host interfaces, snapshots: libvirt API names, libvirt flag values.
  connectListAllNetworks?(flags: number): Promise<NetworkRef[]>;
  networkLookupByName?(name: string): Promise<NetworkRef>;
  networkLookupByUUID?(uuid: string): Promise<NetworkRef>;
  networkDefineXML?(xml: string, flags: number): Promise<NetworkRef>;
  networkCreateXML?(xml: string, flags: number): Promise<NetworkRef>;
  networkUndefine?(net: NetworkRef): Promise<void>;
  networkCreate?(net: NetworkRef, flags: number): Promise<void>;
  networkDestroy?(net: NetworkRef): Promise<void>;
  networkGetXMLDesc?(net: NetworkRef, flags: number): Promise<string>;
  networkIsActive?(net: NetworkRef): Promise<boolean>;
  networkIsPersistent?(net: NetworkRef): Promise<boolean>;
  networkGetAutostart?(net: NetworkRef): Promise<boolean>;
  networkSetAutostart?(net: NetworkRef, autostart: boolean): Promise<void>;
  networkGetBridgeName?(net: NetworkRef): Promise<string>;
  networkUpdate?(net: NetworkRef, command: number, section: number, parentIndex: number, xml: string, flags: number): Promise<void>;

  connectListAllStoragePools?(flags: number): Promise<StoragePoolRef[]>;
  storagePoolLookupByName?(name: string): Promise<StoragePoolRef>;
  storagePoolLookupByUUID?(uuid: string): Promise<StoragePoolRef>;
  storagePoolLookupByVolume?(vol: StorageVolRef): Promise<StoragePoolRef>;
  storagePoolDefineXML?(xml: string, flags: number): Promise<StoragePoolRef>;
  storagePoolCreateXML?(xml: string, flags: number): Promise<StoragePoolRef>;
  storagePoolBuild?(pool: StoragePoolRef, flags: number): Promise<void>;
  storagePoolCreate?(pool: StoragePoolRef, flags: number): Promise<void>;
  storagePoolDestroy?(pool: StoragePoolRef): Promise<void>;
  storagePoolDelete?(pool: StoragePoolRef, flags: number): Promise<void>;
  storagePoolUndefine?(pool: StoragePoolRef): Promise<void>;
  storagePoolRefresh?(pool: StoragePoolRef, flags: number): Promise<void>;
  storagePoolGetInfo?(pool: StoragePoolRef): Promise<StoragePoolInfo>;
  storagePoolGetXMLDesc?(pool: StoragePoolRef, flags: number): Promise<string>;
  storagePoolIsActive?(pool: StoragePoolRef): Promise<boolean>;
  storagePoolIsPersistent?(pool: StoragePoolRef): Promise<boolean>;
  storagePoolGetAutostart?(pool: StoragePoolRef): Promise<boolean>;
  storagePoolSetAutostart?(pool: StoragePoolRef, autostart: boolean): Promise<void>;
  storagePoolListAllVolumes?(pool: StoragePoolRef, flags: number): Promise<StorageVolRef[]>;
  storageVolLookupByName?(pool: StoragePoolRef, name: string): Promise<StorageVolRef>;
  storageVolLookupByKey?(key: string): Promise<StorageVolRef>;
  storageVolLookupByPath?(path: string): Promise<StorageVolRef>;
  storageVolCreateXML?(pool: StoragePoolRef, xml: string, flags: number): Promise<StorageVolRef>;
  storageVolCreateXMLFrom?(pool: StoragePoolRef, xml: string, clone: StorageVolRef, flags: number): Promise<StorageVolRef>;
  storageVolDelete?(vol: StorageVolRef, flags: number): Promise<void>;
  storageVolResize?(vol: StorageVolRef, capacity: number, flags: number): Promise<void>;
  storageVolGetInfo?(vol: StorageVolRef): Promise<StorageVolInfo>;
  storageVolGetXMLDesc?(vol: StorageVolRef, flags: number): Promise<string>;
  storageVolGetPath?(vol: StorageVolRef): Promise<string>;

  connectListAllInterfaces?(flags: number): Promise<InterfaceRef[]>;
  interfaceLookupByName?(name: string): Promise<InterfaceRef>;
  interfaceLookupByMACString?(mac: string): Promise<InterfaceRef>;
  interfaceGetXMLDesc?(iface: InterfaceRef, flags: number): Promise<string>;
  interfaceIsActive?(iface: InterfaceRef): Promise<boolean>;
  interfaceDestroy?(iface: InterfaceRef, flags: number): Promise<void>;

  domainSnapshotCreateXML?(dom: DomainRef, xml: string, flags: number): Promise<SnapshotRef>;
  domainListAllSnapshots?(dom: DomainRef, flags: number): Promise<SnapshotRef[]>;
  domainSnapshotListAllChildren?(snap: SnapshotRef, flags: number): Promise<SnapshotRef[]>;
  domainSnapshotLookupByName?(dom: DomainRef, name: string, flags: number): Promise<SnapshotRef>;
  domainHasCurrentSnapshot?(dom: DomainRef, flags: number): Promise<boolean>;
  domainSnapshotCurrent?(dom: DomainRef, flags: number): Promise<SnapshotRef>;
  domainSnapshotGetParent?(snap: SnapshotRef, flags: number): Promise<SnapshotRef>;
  domainSnapshotIsCurrent?(snap: SnapshotRef, flags: number): Promise<boolean>;
  domainSnapshotHasMetadata?(snap: SnapshotRef, flags: number): Promise<boolean>;
  domainSnapshotGetXMLDesc?(snap: SnapshotRef, flags: number): Promise<string>;
  domainRevertToSnapshot?(snap: SnapshotRef, flags: number): Promise<void>;
  domainSnapshotDelete?(snap: SnapshotRef, flags: number): Promise<void>;
  /** Everything else a driver offers, looked up by libvirt API name by the API layer. */
  [method: string]: unknown;
}

export type DriverFactory = (uri: ParsedURI, options: { readonly: boolean }) => Promise<HypervisorDriver>;
