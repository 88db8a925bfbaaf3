// Public API types shared by the API layer, the drivers and tsvirsh.
// Method names on HypervisorDriver mirror libvirt's public API (virDomainGetXMLDesc
// -> domainGetXMLDesc) so that "not supported" errors can name the API call.

/** virDomainState */
export enum DomainState {
  NOSTATE = 0,
  RUNNING = 1,
  BLOCKED = 2,
  PAUSED = 3,
  SHUTDOWN = 4,
  SHUTOFF = 5,
  CRASHED = 6,
  PMSUSPENDED = 7,
}

/** A domain as identified to API users: id is -1 while the domain is inactive. */
export interface DomainRef {
  name: string;
  uuid: string;
  id: number;
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

/** Flags of virConnectListAllDomains. */
export enum ListDomainsFlags {
  ACTIVE = 1 << 0,
  INACTIVE = 1 << 1,
  PERSISTENT = 1 << 2,
  TRANSIENT = 1 << 3,
  RUNNING = 1 << 4,
  PAUSED = 1 << 5,
  SHUTOFF = 1 << 6,
  OTHER = 1 << 7,
  MANAGEDSAVE = 1 << 8,
  NO_MANAGEDSAVE = 1 << 9,
  AUTOSTART = 1 << 10,
  NO_AUTOSTART = 1 << 11,
  HAS_SNAPSHOT = 1 << 12,
  NO_SNAPSHOT = 1 << 13,
  HAS_CHECKPOINT = 1 << 14,
  NO_CHECKPOINT = 1 << 15,
}

/** Flags of virDomainGetXMLDesc. */
export enum DomainXMLFlags {
  SECURE = 1 << 0,
  INACTIVE = 1 << 1,
  UPDATE_CPU = 1 << 2,
  MIGRATABLE = 1 << 3,
}

/** Flags of virDomainDefineXMLFlags / virDomainCreateXML. */
export enum DefineFlags {
  VALIDATE = 1 << 0,
}

/** virDomainModificationImpact, shared by setters and device attach/detach. */
export enum ModificationImpact {
  CURRENT = 0,
  LIVE = 1 << 0,
  CONFIG = 1 << 1,
}

/** Flags of virDomainCreate / virDomainCreateXML. */
export enum StartFlags {
  PAUSED = 1 << 0,
  AUTODESTROY = 1 << 1,
  BYPASS_CACHE = 1 << 2,
  FORCE_BOOT = 1 << 3,
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
  /** Everything else a driver offers, looked up by libvirt API name by the API layer. */
  [method: string]: unknown;
}

export type DriverFactory = (uri: ParsedURI, options: { readonly: boolean }) => Promise<HypervisorDriver>;
