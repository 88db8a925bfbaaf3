// The public API's connection (virConnectPtr): opened through the registry of
// built-in drivers, every call made by procedure key through the contract's one
// dispatch, so what is not in the protocol tables cannot be called and read-only
// refusals come from the tables.
import type { Duplex } from 'node:stream';
import { dispatch } from '../driver/dispatch.js';
import { CloseReason, type ConnectionDrivers } from '../driver/families.js';

export { CloseReason };
import { procedureInfo, type ProcArgs, type ProcKey, type ProcRet, type StreamKeys } from '../driver/procedures.js';
import type { DriverRegistry } from '../driver/registry.js';
import { builtinDrivers } from '../drivers/builtin.js';
import { ErrorCode, ErrorDomain, isVirError, VirError } from '../util/error.js';
import { DomainSnapshot, HostInterface, Network, ObjectHandle, StoragePool, StorageVolume } from './handles.js';
import { migrate3, migrateToURI3 } from './migrate.js';
import type { TypedParam } from '../driver/typed-params.js';
import { cpuMapCpus, cpuMapLength, cString, MEMORY_STAT_NAMES, plainParams, type DomainInfo, type DomainInterfaceStats, type DomainRef, type DomainVcpuInfo, type NodeInfo, type PciTopology, type PlainParam, type StateWithReason } from './types.js';

/** The libvirt release this library reproduces, as virGetVersion encodes it (major * 1e6 + minor * 1e3 + micro). */
export const LIBRARY_VERSION = 9_000_000;

export interface ConnectOptions {
  readonly?: boolean;
}

/** virConnectCloseFunc: the connection and its virConnectCloseReason */
export type CloseCallback = (conn: Connection, reason: CloseReason) => void;

/** A call's arguments: none for a procedure without an argument struct. */
export type CallArgs<K extends ProcKey> = ProcArgs<K> extends void ? [] : [args: ProcArgs<K>];

/** libvirt registers its drivers once per process (virInitialize). */
let registry: DriverRegistry | undefined;

/** Opens a connection (virConnectOpen / virConnectOpenReadOnly); no URI (or '') opens the default one, as virConnectOpen(NULL). */
export async function connect(uri: string | null = null, options: ConnectOptions = {}): Promise<Connection> {
  const readonly = options.readonly ?? false;
  registry ??= builtinDrivers();
  const { name, drivers } = await registry.open(uri ?? '', { readonly });
  // the driver's canonical form when it has one (qemu:///embed?root= a normalised path), else the URI opened
  const canonical = drivers.hypervisor.connectGetURI ? (await dispatch({ drivers, readonly }, 'connectGetURI', undefined)).uri : name;
  return new Connection(drivers, readonly, canonical);
}

/**
 * An open connection. `invoke` makes any protocol call by key; the methods
 * below are the friendlier public API built on it.
 */
export class Connection {
  private closeCallback: CloseCallback | null = null;
  private readonly stopListening: (() => void) | undefined;

  constructor(
    /** the connection's drivers by family (virConnect's driver pointers); calls go through invoke */
    readonly drivers: ConnectionDrivers,
    readonly readonly: boolean,
    /** virConnectGetURI */
    readonly uri: string,
  ) {
    this.stopListening = drivers.onClose?.((reason) => {
      // called once, then forgotten (virConnectCloseCallbackDataCall)
      const callback = this.closeCallback;
      this.closeCallback = null;
      callback?.(this, reason);
    });
  }

  /**
   * virConnectRegisterCloseCallback: `callback` hears once why the connection
   * ended by itself (CloseReason: EOF, KEEPALIVE, ERROR...), never of close().
   */
  async registerCloseCallback(callback: CloseCallback): Promise<void> {
    if (this.closeCallback) throw new VirError(ErrorCode.OPERATION_INVALID, ErrorDomain.NONE, 'Requested operation is not valid: A close callback is already registered');
    // a daemon is told too (REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK); local drivers have nothing to do
    if (this.drivers.hypervisor.connectRegisterCloseCallback) await this.invoke('connectRegisterCloseCallback');
    this.closeCallback = callback;
  }

  /** virConnectUnregisterCloseCallback */
  async unregisterCloseCallback(callback: CloseCallback): Promise<void> {
    if (this.closeCallback !== callback) throw new VirError(ErrorCode.OPERATION_INVALID, ErrorDomain.NONE, 'Requested operation is not valid: A different callback was requested');
    if (this.drivers.hypervisor.connectUnregisterCloseCallback) await this.invoke('connectUnregisterCloseCallback');
    this.closeCallback = null;
  }

  /** Calls procedure `key` with its argument struct; the result is its return struct. */
  invoke<K extends Exclude<ProcKey, StreamKeys>>(key: K, ...args: CallArgs<K>): Promise<ProcRet<K>> {
    // not async itself: list --all makes a call per domain, and each async layer costs a promise and a tick
    return dispatch(this, key, args[0] as ProcArgs<K>);
  }

  /** Calls a stream procedure: its return struct and the caller's end of the data stream. */
  async invokeStream<K extends StreamKeys>(key: K, ...args: CallArgs<K>): Promise<{ ret: ProcRet<K>; stream: Duplex }> {
    // node:stream is loaded by the first stream call, not by every connection
    const { streamPair } = await import('./stream-pair.js');
    const [driverSide, stream] = streamPair(procedureInfo(key)?.sparse ?? false);
    try {
      return { ret: await dispatch(this, key, args[0] as ProcArgs<K>, driverSide), stream };
    } catch (e) {
      stream.destroy();
      throw e;
    }
  }

  close(): Promise<void> {
    this.closeCallback = null;
    this.stopListening?.();
    return this.drivers.close();
  }

  /** virConnectGetType: 'QEMU', 'TEST', ... */
  async getType(): Promise<string> {
    return (await this.invoke('connectGetType')).type;
  }
  async getCapabilities(): Promise<string> {
    return (await this.invoke('connectGetCapabilities')).capabilities;
  }
  async getNodeInfo(): Promise<NodeInfo> {
    const info = await this.invoke('nodeGetInfo');
    return { ...info, model: cString(info.model), memory: Number(info.memory) };
  }
  /** The host CPUs present (virNodeGetCPUMap's count) and which are online. */
  async getCPUMap(): Promise<{ online: boolean[] }> {
    const map = await this.invoke('nodeGetCPUMap', { need_map: 1, need_online: 0, flags: 0 });
    const set = new Set(cpuMapCpus(map.cpumap, 0, cpuMapLength(map.ret)));
    return { online: Array.from({ length: map.ret }, (_, cpu) => set.has(cpu)) };
  }
  /** virConnectGetLibVersion: the driver's answer, else this library's own version (as libvirt does). */
  async getLibVersion(): Promise<number> {
    try {
      return Number((await this.invoke('connectGetLibVersion')).lib_ver);
    } catch (e) {
      if (isVirError(e) && e.code === ErrorCode.NO_SUPPORT) return LIBRARY_VERSION;
      throw e;
    }
  }
  /**
   * Runs `fn`, a sequence of queries, as one look at the domains where the driver
   * offers it (ConnectionDrivers.readView): list asks every domain's state, and
   * answers as of the moment it began instead of re-checking the disk per domain.
   */
  readView<T>(fn: () => Promise<T>): Promise<T> {
    return this.drivers.readView ? this.drivers.readView(fn) : fn();
  }
  async listAllDomains(flags = 0): Promise<Domain[]> {
    const { domains } = await this.invoke('connectListAllDomains', { need_results: 1, flags });
    return domains.map((r) => new Domain(this, r));
  }
  async lookupDomainByName(name: string): Promise<Domain> {
    return new Domain(this, (await this.invoke('domainLookupByName', { name })).dom);
  }
  async lookupDomainByUUID(uuid: string): Promise<Domain> {
    return new Domain(this, (await this.invoke('domainLookupByUUID', { uuid })).dom);
  }
  async lookupDomainByID(id: number): Promise<Domain> {
    return new Domain(this, (await this.invoke('domainLookupByID', { id })).dom);
  }
  /** virDomainDefineXML, or virDomainDefineXMLFlags when flags are given (as virsh chooses). */
  async defineDomain(xml: string, flags = 0): Promise<Domain> {
    const { dom } = flags ? await this.invoke('domainDefineXMLFlags', { xml, flags }) : await this.invoke('domainDefineXML', { xml });
    return new Domain(this, dom);
  }
  async createDomain(xml: string, flags = 0): Promise<Domain> {
    return new Domain(this, (await this.invoke('domainCreateXML', { xml_desc: xml, flags })).dom);
  }
  async domainXMLToNative(format: string, xml: string, flags = 0): Promise<string> {
    return (await this.invoke('connectDomainXMLToNative', { nativeFormat: format, domainXml: xml, flags })).nativeConfig;
  }
  async listAllNetworks(flags = 0): Promise<Network[]> {
    return (await this.invoke('connectListAllNetworks', { need_results: 1, flags })).nets.map((r) => new Network(this, r));
  }
  async lookupNetworkByName(name: string): Promise<Network> {
    return new Network(this, (await this.invoke('networkLookupByName', { name })).net);
  }
  async lookupNetworkByUUID(uuid: string): Promise<Network> {
    return new Network(this, (await this.invoke('networkLookupByUUID', { uuid })).net);
  }
  async defineNetwork(xml: string, flags = 0): Promise<Network> {
    const { net } = flags ? await this.invoke('networkDefineXMLFlags', { xml, flags }) : await this.invoke('networkDefineXML', { xml });
    return new Network(this, net);
  }
  async createNetwork(xml: string, flags = 0): Promise<Network> {
    const { net } = flags ? await this.invoke('networkCreateXMLFlags', { xml, flags }) : await this.invoke('networkCreateXML', { xml });
    return new Network(this, net);
  }
  async listAllStoragePools(flags = 0): Promise<StoragePool[]> {
    return (await this.invoke('connectListAllStoragePools', { need_results: 1, flags })).pools.map((r) => new StoragePool(this, r));
  }
  async lookupStoragePoolByName(name: string): Promise<StoragePool> {
    return new StoragePool(this, (await this.invoke('storagePoolLookupByName', { name })).pool);
  }
  async lookupStoragePoolByUUID(uuid: string): Promise<StoragePool> {
    return new StoragePool(this, (await this.invoke('storagePoolLookupByUUID', { uuid })).pool);
  }
  async defineStoragePool(xml: string, flags = 0): Promise<StoragePool> {
    return new StoragePool(this, (await this.invoke('storagePoolDefineXML', { xml, flags })).pool);
  }
  async createStoragePool(xml: string, flags = 0): Promise<StoragePool> {
    return new StoragePool(this, (await this.invoke('storagePoolCreateXML', { xml, flags })).pool);
  }
  async lookupStorageVolumeByPath(path: string): Promise<StorageVolume> {
    return new StorageVolume(this, (await this.invoke('storageVolLookupByPath', { path })).vol);
  }
  async lookupStorageVolumeByKey(key: string): Promise<StorageVolume> {
    return new StorageVolume(this, (await this.invoke('storageVolLookupByKey', { key })).vol);
  }
  async listAllInterfaces(flags = 0): Promise<HostInterface[]> {
    return (await this.invoke('connectListAllInterfaces', { need_results: 1, flags })).ifaces.map((r) => new HostInterface(this, r));
  }
  async lookupInterfaceByName(name: string): Promise<HostInterface> {
    return new HostInterface(this, (await this.invoke('interfaceLookupByName', { name })).iface);
  }
  async lookupInterfaceByMAC(mac: string): Promise<HostInterface> {
    return new HostInterface(this, (await this.invoke('interfaceLookupByMACString', { mac })).iface);
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

  private get dom(): { dom: DomainRef } {
    return { dom: this.ref };
  }

  async getXMLDesc(flags = 0): Promise<string> {
    return (await this.connection.invoke('domainGetXMLDesc', { ...this.dom, flags })).xml;
  }
  /** virDomainQemuMonitorCommand (libvirt-qemu): QEMU's reply to a QMP message, or an HMP command's output with flags 1. */
  async qemuMonitorCommand(cmd: string, flags = 0): Promise<string> {
    return (await this.connection.invoke('domainQemuMonitorCommand', { ...this.dom, cmd, flags })).result;
  }
  /** virDomainQemuAgentCommand: the agent's whole reply as JSON text; timeout in seconds, -1 default, -2 forever, 0 no wait. */
  async qemuAgentCommand(cmd: string, timeout = -1, flags = 0): Promise<string | null> {
    return (await this.connection.invoke('domainQemuAgentCommand', { ...this.dom, cmd, timeout, flags })).result;
  }
  /** virDomainGetGuestInfo: the guest agent's view, `types` a virDomainGuestInfoTypes mask (0: all it has). */
  async getGuestInfo(types = 0, flags = 0): Promise<PlainParam[]> {
    return plainParams((await this.connection.invoke('domainGetGuestInfo', { ...this.dom, types, flags })).params);
  }
  /** virDomainGetTime: the guest's clock through its agent. */
  async getTime(flags = 0): Promise<{ seconds: bigint; nseconds: number }> {
    return this.connection.invoke('domainGetTime', { ...this.dom, flags });
  }
  /** virDomainSetTime (flags VIR_DOMAIN_TIME_SYNC: from the guest's RTC). */
  async setTime(seconds: bigint, nseconds: number, flags = 0): Promise<void> {
    await this.connection.invoke('domainSetTime', { ...this.dom, seconds, nseconds, flags });
  }
  async setUserPassword(user: string, password: string, flags = 0): Promise<void> {
    await this.connection.invoke('domainSetUserPassword', { ...this.dom, user, password, flags });
  }
  async agentSetResponseTimeout(timeout: number, flags = 0): Promise<void> {
    await this.connection.invoke('domainAgentSetResponseTimeout', { ...this.dom, timeout, flags });
  }
  async getInfo(): Promise<DomainInfo> {
    const info = await this.connection.invoke('domainGetInfo', this.dom);
    return { ...info, maxMem: Number(info.maxMem), memory: Number(info.memory) };
  }
  getState(flags = 0): Promise<StateWithReason> {
    // list asks it of every domain: one argument object, not a copy of another
    return this.connection.invoke('domainGetState', { dom: this.ref, flags });
  }
  /** virDomainUndefine, or virDomainUndefineFlags when flags are given. */
  async undefine(flags = 0): Promise<void> {
    if (flags) await this.connection.invoke('domainUndefineFlags', { ...this.dom, flags });
    else await this.connection.invoke('domainUndefine', this.dom);
  }
  /** virDomainCreateWithFlags: the started domain, with its new id. */
  async create(flags = 0): Promise<Domain> {
    return new Domain(this.connection, (await this.connection.invoke('domainCreateWithFlags', { ...this.dom, flags })).dom);
  }
  /** virDomainShutdown, or virDomainShutdownFlags when flags are given. */
  async shutdown(flags = 0): Promise<void> {
    if (flags) await this.connection.invoke('domainShutdownFlags', { ...this.dom, flags });
    else await this.connection.invoke('domainShutdown', this.dom);
  }
  /** virDomainDestroy, or virDomainDestroyFlags when flags are given. */
  async destroy(flags = 0): Promise<void> {
    if (flags) await this.connection.invoke('domainDestroyFlags', { ...this.dom, flags });
    else await this.connection.invoke('domainDestroy', this.dom);
  }
  reboot(flags = 0): Promise<void> {
    return this.connection.invoke('domainReboot', { ...this.dom, flags });
  }
  reset(flags = 0): Promise<void> {
    return this.connection.invoke('domainReset', { ...this.dom, flags });
  }
  suspend(): Promise<void> {
    return this.connection.invoke('domainSuspend', this.dom);
  }
  resume(): Promise<void> {
    return this.connection.invoke('domainResume', this.dom);
  }
  /** virDomainOpenConsole: the guest's console (or the character device aliased `devName`) as a duplex stream. */
  async openConsole(devName: string | null = null, flags = 0): Promise<Duplex> {
    return (await this.connection.invokeStream('domainOpenConsole', { ...this.dom, dev_name: devName, flags })).stream;
  }
  /** virDomainOpenChannel: a stream on the guest channel named by alias or virtio name (null: the first). */
  async openChannel(name: string | null = null, flags = 0): Promise<Duplex> {
    return (await this.connection.invokeStream('domainOpenChannel', { ...this.dom, name, flags })).stream;
  }
  async isActive(): Promise<boolean> {
    return (await this.connection.invoke('domainIsActive', this.dom)).active !== 0;
  }
  async isPersistent(): Promise<boolean> {
    return (await this.connection.invoke('domainIsPersistent', this.dom)).persistent !== 0;
  }
  async getAutostart(): Promise<boolean> {
    return (await this.connection.invoke('domainGetAutostart', this.dom)).autostart !== 0;
  }
  setAutostart(autostart: boolean): Promise<void> {
    return this.connection.invoke('domainSetAutostart', { ...this.dom, autostart: autostart ? 1 : 0 });
  }
  attachDevice(xml: string, flags = 0): Promise<void> {
    return this.connection.invoke('domainAttachDeviceFlags', { ...this.dom, xml, flags });
  }
  detachDevice(xml: string, flags = 0): Promise<void> {
    return this.connection.invoke('domainDetachDeviceFlags', { ...this.dom, xml, flags });
  }
  async hasManagedSaveImage(flags = 0): Promise<boolean> {
    return (await this.connection.invoke('domainHasManagedSaveImage', { ...this.dom, flags })).result !== 0;
  }
  managedSaveRemove(flags = 0): Promise<void> {
    return this.connection.invoke('domainManagedSaveRemove', { ...this.dom, flags });
  }
  async createSnapshot(xml: string, flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, (await this.connection.invoke('domainSnapshotCreateXML', { ...this.dom, xml_desc: xml, flags })).snap);
  }
  async listAllSnapshots(flags = 0): Promise<DomainSnapshot[]> {
    const { snapshots } = await this.connection.invoke('domainListAllSnapshots', { ...this.dom, need_results: 1, flags });
    return snapshots.map((r) => new DomainSnapshot(this.connection, r));
  }
  async lookupSnapshotByName(name: string, flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, (await this.connection.invoke('domainSnapshotLookupByName', { ...this.dom, name, flags })).snap);
  }
  async currentSnapshot(flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, (await this.connection.invoke('domainSnapshotCurrent', { ...this.dom, flags })).snap);
  }
  /** tsvirt's own: the PCI tree with free hotpluggable slots and the room left for controllers. */
  getPciTopology(flags = 0): Promise<PciTopology> {
    return this.connection.invoke('domainGetPciTopology', { ...this.dom, flags });
  }
  /** virDomainListGetStats for this domain alone: the DomainStatsTypes groups asked for (0: all). */
  async getStats(stats = 0, flags = 0): Promise<PlainParam[]> {
    const { retStats } = await this.connection.invoke('connectGetAllDomainStats', { doms: [this.ref], stats, flags });
    return plainParams(retStats[0]?.params ?? []);
  }
  /** virDomainBlockStatsFlags: a disk's I/O counters (by target or source path; "" sums all disks). */
  async blockStats(disk: string, flags = 0): Promise<PlainParam[]> {
    const query = { ...this.dom, path: disk, flags };
    const { nparams } = await this.connection.invoke('domainBlockStatsFlags', { ...query, nparams: 0 });
    return plainParams((await this.connection.invoke('domainBlockStatsFlags', { ...query, nparams })).params);
  }
  interfaceStats(device: string): Promise<DomainInterfaceStats> {
    return this.connection.invoke('domainInterfaceStats', { ...this.dom, device });
  }
  /** virDomainMemoryStats: each VIR_DOMAIN_MEMORY_STAT_* tag the driver reports, with its value. */
  async memoryStats(flags = 0): Promise<{ tag: number; val: bigint }[]> {
    return (await this.connection.invoke('domainMemoryStats', { ...this.dom, maxStats: MEMORY_STAT_NAMES.length, flags })).stats;
  }
  /** virDomainMigrate3: the client drives the migration to `dest` (VIR_MIGRATE_* flags, VIR_MIGRATE_PARAM_* params); the domain on `dest`. */
  async migrate3(dest: Connection, params: readonly TypedParam[] = [], flags = 0): Promise<Domain> {
    return new Domain(dest, await migrate3(this.connection, this.ref, dest, params, flags));
  }
  /** virDomainMigrateToURI3: the source daemon migrates the domain itself (peer-to-peer to `dconnuri`, or direct). */
  migrateToURI3(dconnuri: string | null, params: readonly TypedParam[] = [], flags = 0): Promise<void> {
    return migrateToURI3(this.connection, this.ref, dconnuri, params, flags);
  }
  /** virDomainGetVcpus: the running vCPUs and the host CPUs each may use. */
  async getVcpus(maxinfo: number): Promise<{ info: DomainVcpuInfo[]; cpumaps: number[][] }> {
    const maplen = cpuMapLength((await this.connection.getCPUMap()).online.length);
    const { info, cpumaps } = await this.connection.invoke('domainGetVcpus', { ...this.dom, maxinfo, maplen });
    return {
      info: info.map((v) => ({ number: v.number, state: v.state, cpuTime: v.cpu_time, cpu: v.cpu })),
      cpumaps: info.map((_, i) => cpuMapCpus(cpumaps, i, maplen)),
    };
  }
}
