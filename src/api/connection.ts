import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { parseURI } from './uri.js';
import { DomainSnapshot, HostInterface, Network, ObjectHandle, StoragePool, StorageVolume } from './handles.js';
import type { DomainInfo, DomainInterfaceStats, DomainRef, DomainStatsRecord, DomainVcpuInfo, HypervisorDriver, InterfaceRef, NetworkRef, NodeInfo, PciTopology, SnapshotRef, StateWithReason, StoragePoolRef, TypedParam } from './types.js';

/** Driver factories by URI driver name, loaded lazily so a test:/// connection never loads QEMU code. */
const DRIVERS: Record<string, () => Promise<(uri: ReturnType<typeof parseURI>, o: { readonly: boolean }) => Promise<HypervisorDriver>>> = {
  test: async () => (await import('../drivers/test/driver.js')).openTestDriver,
  qemu: async () => (await import('../drivers/qemu/driver.js')).openQemuDriver,
};

/** The libvirt release this library reproduces, as virGetVersion encodes it (major * 1e6 + minor * 1e3 + micro). */
export const LIBRARY_VERSION = 9_000_000;

export interface ConnectOptions {
  readonly?: boolean;
}

/** Opens a connection (virConnectOpen). */
export async function connect(uri: string, options: ConnectOptions = {}): Promise<Connection> {
  const parsed = parseURI(uri);
  const load = DRIVERS[parsed.driver];
  if (!load || parsed.scheme !== parsed.driver) {
    throw virError(ErrorCode.NO_CONNECT, `no connection driver available for ${uri}`, ErrorDomain.NONE);
  }
  const open = await load();
  return new Connection(await open(parsed, { readonly: options.readonly ?? false }), options.readonly ?? false);
}

/**
 * APIs a read-only connection may call (libvirt's virCheckReadOnly is absent
 * from them): lookups, listings, getters and queries. Everything else changes
 * state and fails with "read only access prevents virXxx".
 */
const READ_ONLY_SAFE =
  /^(close|connect(Get|List|NumOf|Is|Supports|Compare|Baseline|DomainXMLToNative|FindStoragePoolSources)|node(Get|List|Num)|[a-zA-Z]+(LookupBy|Get|List|Num|Is|Has|MemoryStats|BlockStats|InterfaceStats|InterfaceAddresses|Current))/;

/** Queries libvirt still refuses on read-only connections: they reach into the guest or leak secrets. */
const READ_ONLY_DENIED_QUERIES = new Set([
  'connectGetDomainCapabilities', 'domainGetHostname', 'domainGetTime', 'domainGetFSInfo', 'domainGetGuestVcpus',
  'domainManagedSaveGetXMLDesc', 'domainSaveImageGetXMLDesc', 'domainMigrateGetMaxSpeed', 'domainAuthorizedSSHKeysGet',
  'nodeDeviceGetAutostart', 'nodeGetSEVInfo', 'interfaceChangeBegin', 'interfaceChangeCommit', 'interfaceChangeRollback',
]);

/** libvirt's read-only checks on a call, with its message; undefined when the call may go ahead. */
function readOnlyRefusal(method: string, args: unknown[]): string | undefined {
  const flags = typeof args[1] === 'number' ? args[1] : 0;
  // VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE, VIR_DOMAIN_SNAPSHOT_XML_SECURE
  if (method === 'domainGetXMLDesc' && flags & (1 | 8)) return 'virDomainGetXMLDesc with secure flag';
  if (method === 'domainSnapshotGetXMLDesc' && flags & 1) return 'virDomainSnapshotGetXMLDesc with secure flag';
  // VIR_DOMAIN_VCPU_GUEST; VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT
  const guestQuery = (method === 'domainGetVcpusFlags' && flags & 8) || (method === 'domainInterfaceAddresses' && args[1] === 1);
  if (guestQuery || READ_ONLY_DENIED_QUERIES.has(method) || !READ_ONLY_SAFE.test(method)) return `read only access prevents ${apiName(method)}`;
  return undefined;
}

function apiName(method: string): string {
  return `vir${method[0]!.toUpperCase()}${method.slice(1)}`;
}

/**
 * A typed connection. Every call dispatches to the driver; a method the driver
 * lacks fails with libvirt's "not supported by the connection driver: virXxx".
 */
export class Connection {
  constructor(
    readonly driver: HypervisorDriver,
    readonly readonly: boolean,
  ) {}

  get uri(): string {
    return this.driver.uri;
  }

  /** Calls a driver method by its libvirt API name (without the 'vir' prefix, first letter lowercased). */
  async invoke<T>(method: string, ...args: unknown[]): Promise<T> {
    const refusal = this.readonly ? readOnlyRefusal(method, args) : undefined;
    if (refusal !== undefined) throw virError(ErrorCode.OPERATION_DENIED, refusal, ErrorDomain.NONE);
    const fn = this.driver[method];
    if (typeof fn !== 'function') {
      throw virError(ErrorCode.NO_SUPPORT, `vir${method[0]!.toUpperCase()}${method.slice(1)}`, ErrorDomain.NONE);
    }
    return (await (fn as (...a: unknown[]) => Promise<T>).apply(this.driver, args)) as T;
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  getCapabilities(): Promise<string> {
    return this.invoke('connectGetCapabilities');
  }
  getNodeInfo(): Promise<NodeInfo> {
    return this.invoke('nodeGetInfo');
  }
  listAllDomains(flags = 0): Promise<Domain[]> {
    return this.invoke<DomainRef[]>('connectListAllDomains', flags).then((refs) => refs.map((r) => new Domain(this, r)));
  }
  async lookupDomainByName(name: string): Promise<Domain> {
    return new Domain(this, await this.invoke('domainLookupByName', name));
  }
  async lookupDomainByUUID(uuid: string): Promise<Domain> {
    return new Domain(this, await this.invoke('domainLookupByUUID', uuid));
  }
  async lookupDomainByID(id: number): Promise<Domain> {
    return new Domain(this, await this.invoke('domainLookupByID', id));
  }
  async defineDomain(xml: string, flags = 0): Promise<Domain> {
    return new Domain(this, await this.invoke('domainDefineXML', xml, flags));
  }
  async createDomain(xml: string, flags = 0): Promise<Domain> {
    return new Domain(this, await this.invoke('domainCreateXML', xml, flags));
  }
  domainXMLToNative(format: string, xml: string, flags = 0): Promise<string> {
    return this.invoke('connectDomainXMLToNative', format, xml, flags);
  }
  async listAllNetworks(flags = 0): Promise<Network[]> {
    return (await this.invoke<NetworkRef[]>('connectListAllNetworks', flags)).map((r) => new Network(this, r));
  }
  async lookupNetworkByName(name: string): Promise<Network> {
    return new Network(this, await this.invoke('networkLookupByName', name));
  }
  async lookupNetworkByUUID(uuid: string): Promise<Network> {
    return new Network(this, await this.invoke('networkLookupByUUID', uuid));
  }
  async defineNetwork(xml: string, flags = 0): Promise<Network> {
    return new Network(this, await this.invoke('networkDefineXML', xml, flags));
  }
  async createNetwork(xml: string, flags = 0): Promise<Network> {
    return new Network(this, await this.invoke('networkCreateXML', xml, flags));
  }
  async listAllStoragePools(flags = 0): Promise<StoragePool[]> {
    return (await this.invoke<StoragePoolRef[]>('connectListAllStoragePools', flags)).map((r) => new StoragePool(this, r));
  }
  async lookupStoragePoolByName(name: string): Promise<StoragePool> {
    return new StoragePool(this, await this.invoke('storagePoolLookupByName', name));
  }
  async lookupStoragePoolByUUID(uuid: string): Promise<StoragePool> {
    return new StoragePool(this, await this.invoke('storagePoolLookupByUUID', uuid));
  }
  async defineStoragePool(xml: string, flags = 0): Promise<StoragePool> {
    return new StoragePool(this, await this.invoke('storagePoolDefineXML', xml, flags));
  }
  async createStoragePool(xml: string, flags = 0): Promise<StoragePool> {
    return new StoragePool(this, await this.invoke('storagePoolCreateXML', xml, flags));
  }
  async lookupStorageVolumeByPath(path: string): Promise<StorageVolume> {
    return new StorageVolume(this, await this.invoke('storageVolLookupByPath', path));
  }
  async lookupStorageVolumeByKey(key: string): Promise<StorageVolume> {
    return new StorageVolume(this, await this.invoke('storageVolLookupByKey', key));
  }
  async listAllInterfaces(flags = 0): Promise<HostInterface[]> {
    return (await this.invoke<InterfaceRef[]>('connectListAllInterfaces', flags)).map((r) => new HostInterface(this, r));
  }
  async lookupInterfaceByName(name: string): Promise<HostInterface> {
    return new HostInterface(this, await this.invoke('interfaceLookupByName', name));
  }
  async lookupInterfaceByMAC(mac: string): Promise<HostInterface> {
    return new HostInterface(this, await this.invoke('interfaceLookupByMACString', mac));
  }
  /** virConnectGetLibVersion: the driver's answer, else this library's own version (as libvirt does). */
  async getLibVersion(): Promise<number> {
    if (typeof this.driver.connectGetLibVersion === 'function') return this.invoke<number>('connectGetLibVersion');
    return LIBRARY_VERSION;
  }
}

/** A domain handle (virDomainPtr). Holds name, UUID and the id it had when looked up. */
export class Domain extends ObjectHandle<DomainRef> {

  get name(): string {
    return this.ref.name;
  }
  get uuid(): string {
    return this.ref.uuid;
  }
  get id(): number {
    return this.ref.id;
  }


  getXMLDesc(flags = 0): Promise<string> {
    return this.call('domainGetXMLDesc', flags);
  }
  getInfo(): Promise<DomainInfo> {
    return this.call('domainGetInfo');
  }
  getState(flags = 0): Promise<StateWithReason> {
    return this.call('domainGetState', flags);
  }
  undefine(flags = 0): Promise<void> {
    return this.call('domainUndefine', flags);
  }
  async create(flags = 0): Promise<Domain> {
    return new Domain(this.connection, await this.call<DomainRef>('domainCreate', flags));
  }
  shutdown(flags = 0): Promise<void> {
    return this.call('domainShutdown', flags);
  }
  destroy(flags = 0): Promise<void> {
    return this.call('domainDestroy', flags);
  }
  reboot(flags = 0): Promise<void> {
    return this.call('domainReboot', flags);
  }
  reset(flags = 0): Promise<void> {
    return this.call('domainReset', flags);
  }
  suspend(): Promise<void> {
    return this.call('domainSuspend');
  }
  resume(): Promise<void> {
    return this.call('domainResume');
  }
  /** virDomainOpenConsole: the guest's console (or the pty device aliased `devName`) as a duplex stream. */
  openConsole(devName: string | null = null, flags = 0): Promise<Duplex> {
    return this.call('domainOpenConsole', devName, flags);
  }
  isActive(): Promise<boolean> {
    return this.call('domainIsActive');
  }
  isPersistent(): Promise<boolean> {
    return this.call('domainIsPersistent');
  }
  getAutostart(): Promise<boolean> {
    return this.call('domainGetAutostart');
  }
  setAutostart(autostart: boolean): Promise<void> {
    return this.call('domainSetAutostart', autostart);
  }
  attachDevice(xml: string, flags = 0): Promise<void> {
    return this.call('domainAttachDeviceFlags', xml, flags);
  }
  detachDevice(xml: string, flags = 0): Promise<void> {
    return this.call('domainDetachDeviceFlags', xml, flags);
  }
  async createSnapshot(xml: string, flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, await this.call('domainSnapshotCreateXML', xml, flags));
  }
  async listAllSnapshots(flags = 0): Promise<DomainSnapshot[]> {
    return (await this.call<SnapshotRef[]>('domainListAllSnapshots', flags)).map((r) => new DomainSnapshot(this.connection, r));
  }
  async lookupSnapshotByName(name: string, flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, await this.call('domainSnapshotLookupByName', name, flags));
  }
  async currentSnapshot(flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, await this.call('domainSnapshotCurrent', flags));
  }
  /** tsvirt's own: the PCI tree with free hotpluggable slots and the room left for controllers. */
  getPciTopology(flags = 0): Promise<PciTopology> {
    return this.call('domainGetPciTopology', flags);
  }
  /** virDomainListGetStats for this domain alone: the DomainStatsTypes groups asked for (0: all). */
  async getStats(stats = 0, flags = 0): Promise<TypedParam[]> {
    const records = await this.connection.invoke<DomainStatsRecord[]>('domainListGetStats', [this.ref], stats, flags);
    return records[0]?.params ?? [];
  }
  /** virDomainBlockStatsFlags: a disk's I/O counters (by target or source path; "" sums all disks). */
  blockStats(disk: string, flags = 0): Promise<TypedParam[]> {
    return this.call('domainBlockStatsFlags', disk, flags);
  }
  interfaceStats(device: string): Promise<DomainInterfaceStats> {
    return this.call('domainInterfaceStats', device);
  }
  memoryStats(flags = 0): Promise<TypedParam[]> {
    return this.call('domainMemoryStats', flags);
  }
  /** virDomainGetVcpus: the running vCPUs and the host CPUs each may use. */
  getVcpus(maxinfo: number): Promise<{ info: DomainVcpuInfo[]; cpumaps: number[][] }> {
    return this.call('domainGetVcpus', maxinfo);
  }
}
