// The embedded QEMU driver (qemu:///embed?root=DIR, qemu:///session, qemu:///system):
// no daemon, every tsvirsh process or library user opens the state folder itself.
// This module holds the connection-level API; the domain list and its files live
// in domain-store.ts, the XML pipeline in domain-xml.ts, state paths in paths.ts,
// and runtime (start/stop/QMP/hotplug) modules add their methods beside these.
//
// Cross-process safety: define/undefine (anything that adds or removes a domain
// or rewrites a config file) hold the driver lock, operations on one domain hold
// that domain's lock. Lock order is always driver lock, then domain lock.
// Inside tsvirtd the driver owns its folders (state-owner.ts): the locks are
// in-memory and the domain list is not re-read per call.

import type { Duplex } from 'node:stream';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { HypervisorDriver, ConnectionDrivers, StorageDriver } from '../../driver/families.js';
import { DriverFeature, globalFeatureSupport } from '../../driver/features.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import type { OpenOptions, PeerOpener, SharedDriverAccess } from '../../driver/registry.js';
import type { SecretSource } from './disk-secrets.js';
import type { ParsedURI } from '../../driver/uri.js';
import { DefineFlags, DomainChannelFlags, DomainMessageType, DomainXMLFlags, MigrateFlags, ModificationImpact } from '../../driver/flags.js';
import { DefinedDetail, DomainEventType, UndefinedDetail } from '../../driver/event-numbers.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { withFileLock, type LockOptions } from '../../util/file-lock.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { unlinkDurable } from '../../util/atomic-file.js';
import { child, childText } from '../../util/xml.js';
import { parseBitmap } from '../../util/bitmap.js';
import { vcpuCpusets } from '../../conf/cputune.js';
import { domainCurrentMemoryKiB, domainCurrentVcpus, domainMaxMemoryKiB, domainMaxVcpus, domainName } from '../../conf/domain.js';
import { hostArch, QemuCapsCache } from './capabilities.js';
import { removeShutoffReason } from './status-file.js';
import { loadQemuDriverConfig, type QemuDriverConfig } from './config.js';
import { DomainStore } from './domain-store.js';
import { SnapshotMetadata } from './snapshot-metadata.js';
import { CheckpointMetadata } from './checkpoint-metadata.js';
import type { DomainObject } from '../../conf/objects/domain-object.js';
import { oneDefinition } from '../../conf/objects/modification-impact.js';
import { domainListFilter, LIST_DOMAINS_FILTERS_ALL, type ListFilterProbes } from '../../conf/objects/domain-list-filter.js';
import { qemuDomainXML, type DomainXMLPipeline } from './domain-xml.js';
import { qemuPathsForURI, requiredDirs, type QemuPaths } from './paths.js';
import { QemuDomainRuntime } from './domain-runtime.js';
import { primarySecurityModel, processLabels } from './security/process-label.js';
import { checkStateFolders } from './security/trusted-folders.js';
import { packCpuMaps } from './cpu-maps.js';
import { processCpuTimeNs } from '../../util/process.js';
import type { HostFacts } from './host/facts.js';
import { hostFactsFromEnvironment } from './host/select.js';
import { claimStateFolders, refuseServedFolders } from './state-owner.js';

/** virDomainPtr as the protocol carries it: id is -1 while the domain is inactive. */
export type DomainRef = ProcRet<'domainLookupByName'>['dom'];

export interface QemuDriverOptions {
  /** Where problems with state files are reported (default: a warning line on stderr). */
  warn?: (message: string) => void;
  /** The host the driver works on (default: the live host, or TSVIRT_RECORDED_HOST's record). */
  host?: HostFacts;
  /** Lays qemu:///system and /session out under this folder (OpenOptions.stateRoot). */
  stateRoot?: string;
  /** Lives as long as tsvirtd: watches its QEMUs and reports their events (OpenOptions.longLived). */
  longLived?: boolean;
  /** The shared drivers of the same URI (volume disks need the storage driver). */
  shared?: SharedDriverAccess;
  /** Opens the destination of a peer-to-peer migration (OpenOptions.openPeer). */
  openPeer?: PeerOpener;
}

/** Rejects flags a call does not know (virCheckFlags: virReportInvalidArg's message has no "invalid argument" prefix). */
export function checkFlags(flags: number | bigint, supported: number, fn: string): void {
  // the older calls carry 64-bit flags (an unsigned long)
  const unsupported = typeof flags === 'bigint' ? flags & ~BigInt(supported) : flags & ~supported;
  if (BigInt(unsupported) !== 0n) {
    throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, `unsupported flags (0x${unsupported.toString(16)}) in function ${fn}`);
  }
}

/** virDomainUndefineFlagsValues used here */
const UNDEFINE_MANAGED_SAVE = 1 << 0;
const UNDEFINE_SNAPSHOTS_METADATA = 1 << 1;
const UNDEFINE_CHECKPOINTS_METADATA = 1 << 4;
const UNDEFINE_NVRAM = 1 << 2;
const UNDEFINE_KEEP_NVRAM = 1 << 3;
/** virDomainVcpuFlags beside the modification impact */
const VCPU_MAXIMUM = 1 << 2;
const VCPU_GUEST = 1 << 3;
/** virDomainInterfaceAddressesSource */
const INTERFACE_ADDRESSES_SRC_LEASE = 0;
const INTERFACE_ADDRESSES_SRC_AGENT = 1;
const INTERFACE_ADDRESSES_SRC_ARP = 2;
/** virNodeInfo.model is a char[32] */
const NODE_INFO_MODEL_BYTES = 32;

/**
 * What this driver supports beyond the global features: the migratable XML
 * dumpxml --migratable gives, and migration protocol 3 with extensible
 * parameters, live or offline (migration.ts), also without them and protocol 2
 * (migration-legacy.ts), and peer-to-peer, where this driver drives the
 * destination itself (migration-p2p.ts); not yet change protection.
 */
const QEMU_FEATURES = new Set<number>([DriverFeature.XML_MIGRATABLE, DriverFeature.MIGRATION_V2, DriverFeature.MIGRATION_V3, DriverFeature.MIGRATION_PARAMS, DriverFeature.MIGRATION_OFFLINE, DriverFeature.MIGRATION_P2P]);

/** What a call reads of a domain beside its identity, state and persistence. */
interface DomainReads {
  /** the definition: a config file rewritten in place is re-read */
  definition: boolean;
  /** the autostart flag: the autostart links are re-read */
  autostart: boolean;
}
const READS_ALL: DomainReads = { definition: true, autostart: true };
const READS_STATE: DomainReads = { definition: false, autostart: false };

export const refOf = (obj: DomainObject): DomainRef => ({ name: obj.name, uuid: obj.uuid, id: obj.id });
const byName = (a: DomainObject, b: DomainObject) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const flag = (b: boolean) => (b ? 1 : 0);

/**
 * The QEMU hypervisor driver: one method per procedure it serves, each taking
 * the procedure's argument struct and returning its return struct. Only the
 * procedure keys are reachable through the contract's dispatch; the helpers
 * beside them are for the driver's own modules.
 */
export class QemuDriver implements HypervisorDriver {
  readonly caps: QemuCapsCache;
  readonly store: DomainStore;
  /** Running domains: QEMU processes, status files, hotplug (domain-runtime.ts). */
  readonly runtime: QemuDomainRuntime;
  /** the snapshot metadata files (lib/qemu/snapshot/DOMAIN/NAME.xml) */
  readonly snapshotMetadata: SnapshotMetadata;
  /** the checkpoint metadata files (lib/qemu/checkpoint/DOMAIN/NAME.xml) */
  readonly checkpointMetadata: CheckpointMetadata;
  /** the storage, network... drivers of the driver's URI (virGetConnectStorage) */
  shared?: SharedDriverAccess;
  /** connections to other hosts by URI, for peer-to-peer migration (OpenOptions.openPeer) */
  openPeer?: PeerOpener;
  /** the driver's locks once it owns its folders (ownStateFolders) */
  private ownLocks?: KeyedMutex;

  /** The storage driver of the same URI, when one is registered. */
  async storage(): Promise<StorageDriver | undefined> {
    return this.shared?.family('storage');
  }

  /** The secret driver of the same URI, which encrypted disks' passphrases come from (disk-secrets.ts). */
  async secrets(): Promise<SecretSource | undefined> {
    return this.shared?.family('secret') as Promise<SecretSource | undefined>;
  }

  constructor(
    readonly paths: QemuPaths,
    readonly config: QemuDriverConfig,
    readonly xml: DomainXMLPipeline,
    private readonly warn: (message: string) => void,
    host: HostFacts,
  ) {
    this.caps = new QemuCapsCache(paths.cacheDir, host);
    const reported = new Set<string>();
    this.store = new DomainStore(paths.configDir, paths.autostartDir, join(paths.cacheDir, 'domain-index.json'), (text, file, vouched) => xml.parseConfig(text, file, vouched), (def) => xml.format(def, { secure: true }), (file, error) => {
      // one report per file and message: sync() runs on every call
      const message = `Failed to load config file '${file}': ${error.message}`;
      if (!reported.has(message)) this.warn(message);
      reported.add(message);
    });
    this.runtime = new QemuDomainRuntime(this);
    this.snapshotMetadata = new SnapshotMetadata(paths.snapshotDir, warn);
    this.checkpointMetadata = new CheckpointMetadata(paths.checkpointDir, warn);
  }

  async close(): Promise<void> {
    // locks are taken and released per operation; QEMUs keep running
    this.runtime.close();
  }

  // ---- locks ---------------------------------------------------------------

  /** Serialises everything that adds, removes or rewrites domains, across processes. */
  withDriverLock<T>(fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    return this.withLock('driver', fn, { what: 'driver lock', ...options });
  }

  /** Serialises operations on one domain across processes (libvirt's domain job). */
  withDomainLock<T>(uuid: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    return this.withLock(`domain-${uuid}`, fn, { what: 'state change lock', ...options });
  }

  private withLock<T>(name: string, fn: () => Promise<T>, options: LockOptions): Promise<T> {
    if (this.ownLocks) return this.ownLocks.run(name, fn, options);
    return withFileLock(join(this.paths.lockDir, `${name}.lock`), async () => {
      // a daemon may have claimed the folders since this process opened them
      refuseServedFolders(this.paths);
      return fn();
    }, options);
  }

  /**
   * Makes this driver the only one of its folders, for the daemon's life
   * (state-owner.ts): claimed under the driver's file lock, so no embedded
   * process is changing them; from then on the locks are in memory and the
   * domain list is read once.
   */
  async ownStateFolders(): Promise<void> {
    await this.withDriverLock(() => claimStateFolders(this.paths));
    this.ownLocks = new KeyedMutex();
    this.store.own();
  }

  /**
   * Re-reads the config files (and the autostart links when `reads.autostart`), then lays the running domains' status files over them.
   * Running domains are refreshed (QEMUs that died, guests that powered off) unless the driver owns its folders: it hears that from their monitors.
   */
  async syncDomains(reads: Pick<DomainReads, 'autostart'> = READS_ALL): Promise<void> {
    await this.store.sync(reads);
    await this.runtime.sync({ refresh: this.ownLocks === undefined });
    if (this.view) this.view.synced = true;
  }

  /** The read view open on this driver (readView), and whether a sync happened in it. */
  private view?: { synced: boolean };

  /**
   * ConnectionDrivers.readView: inside `fn`, state-only lookups skip the folder
   * checks once a sync happened in the view (two stats per call, most of what
   * list costs per domain). Everything else, and every write, still syncs.
   */
  async readView<T>(fn: () => Promise<T>): Promise<T> {
    if (this.view) return fn();
    this.view = { synced: false };
    try {
      return await fn();
    } finally {
      this.view = undefined;
    }
  }

  /** virDomainEventLifecycleNewFromObj for the API's own changes. */
  private lifecycleEvent(obj: DomainObject, event: DomainEventType, detail: number): void {
    this.runtime.queueEvent({ key: 'domainEventCallbackLifecycle', body: { msg: { dom: refOf(obj), event, detail } } });
  }

  // ---- lookups -------------------------------------------------------------

  /**
   * The object behind a domain handle (qemuDomainObjFromDomain), current in
   * what the call `reads`: a call that reads only state and persistence (list
   * asks it of every domain) costs two folder stats.
   */
  async objectOf(dom: DomainRef, reads: DomainReads = READS_ALL): Promise<DomainObject> {
    const stateOnly = !reads.definition && !reads.autostart;
    if (!(stateOnly && this.view?.synced)) await this.syncDomains(reads);
    let obj = this.store.findByUUID(dom.uuid);
    // a config file rewritten in place is re-read, which may replace the object
    if (obj && reads.definition) {
      this.store.refreshConfig(obj.name);
      obj = this.store.findByUUID(dom.uuid);
    }
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${dom.uuid}' (${dom.name})`, ErrorDomain.QEMU);
    return obj;
  }

  async domainLookupByName({ name }: ProcArgs<'domainLookupByName'>): Promise<ProcRet<'domainLookupByName'>> {
    await this.syncDomains();
    const obj = this.store.findByName(name);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching name '${name}'`, ErrorDomain.QEMU);
    return { dom: refOf(obj) };
  }

  async domainLookupByUUID({ uuid }: ProcArgs<'domainLookupByUUID'>): Promise<ProcRet<'domainLookupByUUID'>> {
    await this.syncDomains();
    const obj = this.store.findByUUID(uuid);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${uuid.toLowerCase()}'`, ErrorDomain.QEMU);
    return { dom: refOf(obj) };
  }

  async domainLookupByID({ id }: ProcArgs<'domainLookupByID'>): Promise<ProcRet<'domainLookupByID'>> {
    await this.syncDomains();
    const obj = this.store.findByID(id);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching id ${id}`, ErrorDomain.QEMU);
    return { dom: refOf(obj) };
  }

  /** virConnectListAllDomains: the matching domains by name; only their count without need_results. */
  async connectListAllDomains({ need_results, flags }: ProcArgs<'connectListAllDomains'>): Promise<ProcRet<'connectListAllDomains'>> {
    checkFlags(flags, LIST_DOMAINS_FILTERS_ALL, 'qemuConnectListAllDomains');
    await this.syncDomains();
    const domains = this.store.list().filter(domainListFilter(flags, this.listProbes));
    return { domains: need_results ? domains.sort(byName).map(refOf) : [], ret: domains.length };
  }

  /** What the list filter asks beside the object. */
  private readonly listProbes: ListFilterProbes<DomainObject> = {
    hasManagedSave: (obj) => this.hasManagedSave(obj.name),
    snapshotCount: (obj) => this.snapshotMetadata.count(obj.name),
    checkpointCount: (obj) => this.checkpointMetadata.count(obj.name),
  };

  /** Where a domain's managed save image lives (qemuDomainManagedSavePath). */
  managedSavePath(name: string): string {
    return join(this.paths.saveDir, `${name}.save`);
  }

  hasManagedSave(name: string): boolean {
    return existsSync(this.managedSavePath(name));
  }

  async domainHasManagedSaveImage({ dom, flags }: ProcArgs<'domainHasManagedSaveImage'>): Promise<ProcRet<'domainHasManagedSaveImage'>> {
    checkFlags(flags, 0, 'qemuDomainHasManagedSaveImage');
    return { result: flag(this.hasManagedSave((await this.objectOf(dom, READS_STATE)).name)) };
  }

  // ---- define / undefine ---------------------------------------------------

  domainDefineXML({ xml }: ProcArgs<'domainDefineXML'>): Promise<ProcRet<'domainDefineXML'>> {
    return this.domainDefineXMLFlags({ xml, flags: 0 });
  }

  async domainDefineXMLFlags({ xml, flags }: ProcArgs<'domainDefineXMLFlags'>): Promise<ProcRet<'domainDefineXMLFlags'>> {
    checkFlags(flags, DefineFlags.VALIDATE, 'qemuDomainDefineXMLFlags');
    const def = await this.xml.parseNew(xml, { validateSchema: (flags & DefineFlags.VALIDATE) !== 0 });
    const name = domainName(def);
    if (name.includes('\n')) throw virError(ErrorCode.XML_DETAIL, 'invalid char in name: \n', ErrorDomain.DOMAIN);
    return this.withDriverLock(async () => {
      await this.syncDomains();
      const existing = this.store.checkAddable(def);
      // read before the save makes the domain persistent
      const replaces = existing?.persistent ?? false;
      const save = async () => {
        const { obj } = await this.store.savePersistent(def);
        // qemuDomainDefineXMLFlags: UPDATED only when a persistent definition is replaced
        this.lifecycleEvent(obj, DomainEventType.DEFINED, replaces ? DefinedDetail.UPDATED : DefinedDetail.ADDED);
        return { dom: refOf(obj) };
      };
      return existing ? this.withDomainLock(existing.uuid, save) : save();
    });
  }

  domainUndefine({ dom }: ProcArgs<'domainUndefine'>): Promise<void> {
    return this.domainUndefineFlags({ dom, flags: 0 });
  }

  async domainUndefineFlags({ dom, flags }: ProcArgs<'domainUndefineFlags'>): Promise<void> {
    // managed save, snapshot/checkpoint metadata, nvram, tpm: the flags virsh may pass
    checkFlags(flags, 0x7f, 'qemuDomainUndefineFlags');
    if ((flags & UNDEFINE_NVRAM) && (flags & UNDEFINE_KEEP_NVRAM)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot both keep and delete nvram', ErrorDomain.QEMU);
    if ((flags & 0x20) && (flags & 0x40)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot both keep and delete TPM', ErrorDomain.QEMU);
    await this.withDriverLock(async () => {
      const obj = await this.objectOf(dom);
      await this.withDomainLock(obj.uuid, async () => {
        if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot undefine transient domain', ErrorDomain.QEMU);
        await this.removeUndefinedFiles(obj, flags);
        await this.store.deleteConfig(obj);
        // an inactive domain leaves nothing behind; a running one becomes transient and goes when it stops
        if (obj.id === -1) await removeShutoffReason(this.paths.stateDir, obj.name);
        this.lifecycleEvent(obj, DomainEventType.UNDEFINED, UndefinedDetail.REMOVED);
      });
    });
  }

  /**
   * The files undefine must deal with before the config goes (qemuDomainUndefineFlags):
   * a managed save image and the per-domain NVRAM store, each removed only when
   * the caller asks, else the undefine is refused.
   */
  private async removeUndefinedFiles(obj: DomainObject, flags: number): Promise<void> {
    // an active domain keeps its snapshots while it runs on as a transient one
    const snapshots = obj.id === -1 ? this.snapshotMetadata.count(obj.name) : 0;
    if (snapshots > 0) {
      if (!(flags & UNDEFINE_SNAPSHOTS_METADATA)) {
        throw virError(ErrorCode.OPERATION_INVALID, `cannot delete inactive domain with ${snapshots} snapshots`, ErrorDomain.QEMU);
      }
      await this.snapshotMetadata.removeAll(obj.name);
    }
    const checkpoints = obj.id === -1 ? this.checkpointMetadata.count(obj.name) : 0;
    if (checkpoints > 0) {
      if (!(flags & UNDEFINE_CHECKPOINTS_METADATA)) {
        throw virError(ErrorCode.OPERATION_INVALID, `cannot delete inactive domain with ${checkpoints} checkpoints`, ErrorDomain.QEMU);
      }
      await this.checkpointMetadata.removeAll(obj.name);
    }
    const save = this.managedSavePath(obj.name);
    if (existsSync(save)) {
      if (!(flags & UNDEFINE_MANAGED_SAVE)) {
        throw virError(ErrorCode.OPERATION_INVALID, 'Refusing to undefine while domain managed save image exists', ErrorDomain.QEMU);
      }
      await unlinkDurable(save);
    }
    const persistentDef = obj.newDef ?? obj.def;
    const nvram = childText(child(persistentDef, 'os') ?? persistentDef, 'nvram');
    if (nvram && existsSync(nvram)) {
      if (flags & UNDEFINE_NVRAM) await unlinkDurable(nvram);
      else if (!(flags & UNDEFINE_KEEP_NVRAM)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot undefine domain with nvram', ErrorDomain.QEMU);
    }
  }

  // ---- domxml-to-native (the command-line builder lives in native-argv.ts) ----

  async connectDomainXMLToNative({ nativeFormat, domainXml, flags }: ProcArgs<'connectDomainXMLToNative'>): Promise<ProcRet<'connectDomainXMLToNative'>> {
    const parseDefinition = (text: string) => this.xml.parseNew(text, { validateSchema: false });
    // the command-line builder is loaded only by the commands that need it
    const { connectDomainXMLToNative } = await import('./native-argv.js');
    return { nativeConfig: await connectDomainXMLToNative({ caps: this.caps, paths: this.paths, parseDefinition, storage: () => this.storage(), secrets: () => this.secrets() }, nativeFormat, domainXml, flags) };
  }

  // ---- domain information --------------------------------------------------

  async domainGetXMLDesc({ dom, flags }: ProcArgs<'domainGetXMLDesc'>): Promise<ProcRet<'domainGetXMLDesc'>> {
    checkFlags(flags, DomainXMLFlags.SECURE | DomainXMLFlags.INACTIVE | DomainXMLFlags.UPDATE_CPU | DomainXMLFlags.MIGRATABLE, 'qemuDomainGetXMLDesc');
    const obj = await this.objectOf(dom);
    const def = flags & DomainXMLFlags.INACTIVE && obj.newDef ? obj.newDef : obj.def;
    return { xml: this.xml.format(def, { secure: (flags & DomainXMLFlags.SECURE) !== 0, inactive: (flags & DomainXMLFlags.INACTIVE) !== 0 || obj.id === -1, id: obj.id }) };
  }

  /** tsvirt's domtopology: the PCI tree with free hotpluggable slots and ports. */
  async domainGetPciTopology({ dom, flags }: ProcArgs<'domainGetPciTopology'>): Promise<ProcRet<'domainGetPciTopology'>> {
    checkFlags(flags, 0, 'qemuDomainGetPciTopology');
    const obj = await this.objectOf(dom);
    const { domainPciTopology } = await import('./topology.js');
    return domainPciTopology(obj.def);
  }

  async domainGetInfo({ dom }: ProcArgs<'domainGetInfo'>): Promise<ProcRet<'domainGetInfo'>> {
    const obj = await this.objectOf(dom);
    // without cgroups, libvirt's CPU time is the QEMU process's (qemuGetProcessInfo)
    const running = obj.id === -1 ? undefined : this.runtime.running(obj.name);
    return {
      state: obj.state,
      maxMem: BigInt(domainMaxMemoryKiB(obj.def)),
      memory: BigInt(domainCurrentMemoryKiB(obj.def)),
      nrVirtCpu: domainCurrentVcpus(obj.def),
      cpuTime: (running && processCpuTimeNs(running.pid)) ?? 0n,
    };
  }

  /** qemuDomainGetSecurityLabel: the primary model's label of a running QEMU; nothing for an inactive domain. */
  async domainGetSecurityLabel({ dom }: ProcArgs<'domainGetSecurityLabel'>): Promise<ProcRet<'domainGetSecurityLabel'>> {
    const running = this.runningProcess(await this.objectOf(dom));
    return running === undefined ? { label: [0], enforcing: 0 } : processLabels(running)[0]!;
  }

  /** qemuDomainGetSecurityLabelList: one label per stacked model, none for an inactive domain. */
  async domainGetSecurityLabelList({ dom }: ProcArgs<'domainGetSecurityLabelList'>): Promise<ProcRet<'domainGetSecurityLabelList'>> {
    const running = this.runningProcess(await this.objectOf(dom));
    const labels = running === undefined ? [] : processLabels(running);
    return { labels, ret: labels.length };
  }

  async nodeGetSecurityModel(): Promise<ProcRet<'nodeGetSecurityModel'>> {
    return primarySecurityModel();
  }

  private runningProcess(obj: DomainObject): number | undefined {
    return obj.id === -1 ? undefined : this.runtime.running(obj.name)?.pid;
  }

  domainGetState({ dom, flags }: ProcArgs<'domainGetState'>): Promise<ProcRet<'domainGetState'>> {
    // list asks every domain's state in one read view: found there, the answer takes no async frame
    const obj = flags === 0 && this.view?.synced ? this.store.findByUUID(dom.uuid) : undefined;
    if (obj) return Promise.resolve({ state: obj.state, reason: obj.reason });
    return this.domainGetStateSynced(flags, dom);
  }

  private async domainGetStateSynced(flags: number, dom: DomainRef): Promise<ProcRet<'domainGetState'>> {
    checkFlags(flags, 0, 'qemuDomainGetState');
    const obj = await this.objectOf(dom, READS_STATE);
    return { state: obj.state, reason: obj.reason };
  }

  async domainIsActive({ dom }: ProcArgs<'domainIsActive'>): Promise<ProcRet<'domainIsActive'>> {
    return { active: flag((await this.objectOf(dom, READS_STATE)).id !== -1) };
  }

  async domainIsPersistent({ dom }: ProcArgs<'domainIsPersistent'>): Promise<ProcRet<'domainIsPersistent'>> {
    return { persistent: flag((await this.objectOf(dom, READS_STATE)).persistent) };
  }

  async domainGetOSType({ dom }: ProcArgs<'domainGetOSType'>): Promise<ProcRet<'domainGetOSType'>> {
    const def = (await this.objectOf(dom)).def;
    return { type: childText(child(def, 'os') ?? def, 'type')?.trim() ?? '' };
  }

  async domainGetAutostart({ dom }: ProcArgs<'domainGetAutostart'>): Promise<ProcRet<'domainGetAutostart'>> {
    return { autostart: flag((await this.objectOf(dom)).autostart) };
  }

  async domainSetAutostart({ dom, autostart }: ProcArgs<'domainSetAutostart'>): Promise<void> {
    const obj = await this.objectOf(dom);
    await this.withDomainLock(obj.uuid, async () => {
      if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot set autostart for transient domain', ErrorDomain.QEMU);
      await this.store.setAutostart(obj, autostart !== 0);
    });
  }

  // ---- statistics (domain-stats.ts) ----------------------------------------

  /**
   * qemuConnectGetAllDomainStats (virConnectGetAllDomainStats, and virDomainListGetStats
   * when `doms` names domains): the list-filtered domains, one record each.
   */
  async connectGetAllDomainStats({ doms, stats, flags }: ProcArgs<'connectGetAllDomainStats'>): Promise<ProcRet<'connectGetAllDomainStats'>> {
    const { checkStatsSupport, collectDomainStats, statsNeedMonitor, STATS_BACKING, STATS_ENFORCE } = await import('./domain-stats.js');
    const LIST_FILTERS = 0xff;
    const NOWAIT = 1 << 29;
    checkFlags(flags, LIST_FILTERS | NOWAIT | STATS_BACKING | STATS_ENFORCE, 'qemuConnectGetAllDomainStats');
    await this.syncDomains();
    const objs = (doms.length > 0 ? doms.flatMap((d) => this.store.findByUUID(d.uuid) ?? []) : this.store.list().sort(byName))
      .filter(domainListFilter(flags & LIST_FILTERS, this.listProbes));
    const retStats: ProcRet<'connectGetAllDomainStats'>['retStats'] = [];
    for (const obj of objs) {
      const requested = checkStatsSupport(stats, (flags & STATS_ENFORCE) !== 0);
      const params = await this.runtime.withStatsSource(refOf(obj), (src) => collectDomainStats(src, requested, flags), {
        monitor: statsNeedMonitor(requested),
        nowait: (flags & NOWAIT) !== 0,
      });
      retStats.push({ dom: refOf(obj), params });
    }
    return { retStats };
  }

  /** qemuDomainBlockStatsFlags: with nparams 0, how many counters there are; else up to nparams of them. */
  async domainBlockStatsFlags({ dom, path, nparams, flags }: ProcArgs<'domainBlockStatsFlags'>): Promise<ProcRet<'domainBlockStatsFlags'>> {
    const TYPED_PARAM_STRING_OKAY = 1 << 2;
    checkFlags(flags, TYPED_PARAM_STRING_OKAY, 'qemuDomainBlockStatsFlags');
    const all = await this.blockStatsParams(dom, path);
    if (nparams === 0) return { params: [], nparams: all.length };
    const params = all.slice(0, nparams);
    return { params, nparams: params.length };
  }

  private async blockStatsParams(dom: DomainRef, path: string): Promise<TypedParam[]> {
    const { blockDeviceStats } = await import('./domain-stats.js');
    return this.runtime.withStatsSource(dom, (src) => blockDeviceStats(src, path), { monitor: true });
  }

  /** virDomainBlockStats: the older call's four counters; QEMU counts no errors. */
  async domainBlockStats({ dom, path }: ProcArgs<'domainBlockStats'>): Promise<ProcRet<'domainBlockStats'>> {
    const params = await this.blockStatsParams(dom, path);
    const counters = new Map(params.map((p) => [p.field, p.value.type === TypedParamType.LLONG ? p.value.l : -1n]));
    return { rd_req: counters.get('rd_operations') ?? -1n, rd_bytes: counters.get('rd_bytes') ?? -1n, wr_req: counters.get('wr_operations') ?? -1n, wr_bytes: counters.get('wr_bytes') ?? -1n, errs: -1n };
  }

  async domainGetBlockInfo({ dom, path, flags }: ProcArgs<'domainGetBlockInfo'>): Promise<ProcRet<'domainGetBlockInfo'>> {
    checkFlags(flags, 0, 'qemuDomainGetBlockInfo');
    const { blockInfo } = await import('./domain-stats.js');
    const info = await this.runtime.withStatsSource(dom, (src) => blockInfo(src, path), { monitor: true });
    return { allocation: BigInt(info.allocation), capacity: BigInt(info.capacity), physical: BigInt(info.physical) };
  }

  async domainInterfaceStats({ dom, device }: ProcArgs<'domainInterfaceStats'>): Promise<ProcRet<'domainInterfaceStats'>> {
    const { interfaceCounters } = await import('./domain-stats.js');
    // libvirt reads these without a job: no monitor needed
    return this.runtime.withStatsSource(dom, async (src) => interfaceCounters(src, device), { monitor: false });
  }

  /** qemuDomainInterfaceAddresses: DHCP leases (the network driver's), the host's ARP table, or the guest agent. */
  async domainInterfaceAddresses({ dom, source, flags }: ProcArgs<'domainInterfaceAddresses'>): Promise<ProcRet<'domainInterfaceAddresses'>> {
    checkFlags(flags, 0, 'qemuDomainInterfaceAddresses');
    if (source === INTERFACE_ADDRESSES_SRC_AGENT) {
      const { agentInterfaceAddresses } = await import('./agent-api.js');
      return agentInterfaceAddresses(this, dom);
    }
    const { leaseAddresses, arpAddresses } = await import('./interface-addresses.js');
    return this.runtime.withRunning(dom, async (_obj, running) => {
      switch (source) {
        case INTERFACE_ADDRESSES_SRC_LEASE:
          return { ifaces: await leaseAddresses(running.live, await this.shared?.family('network')) };
        case INTERFACE_ADDRESSES_SRC_ARP:
          return { ifaces: arpAddresses(running.live, await readFile('/proc/net/arp', 'utf8').catch(() => '')) };
        default:
          throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `Unknown IP address data source ${source}`, ErrorDomain.QEMU);
      }
    }, { monitor: false });
  }

  /** qemuDomainMemoryStats: up to maxStats of them. */
  async domainMemoryStats({ dom, maxStats, flags }: ProcArgs<'domainMemoryStats'>): Promise<ProcRet<'domainMemoryStats'>> {
    checkFlags(flags, 0, 'qemuDomainMemoryStats');
    const { memoryStats } = await import('./domain-stats.js');
    const stats = await this.runtime.withStatsSource(dom, (src) => memoryStats(src), { monitor: true });
    return { stats: stats.slice(0, maxStats) };
  }

  /** qemuDomainGetVcpus: up to maxinfo vCPUs, each with a maplen-byte map of the host CPUs it may use. */
  async domainGetVcpus({ dom, maxinfo, maplen }: ProcArgs<'domainGetVcpus'>): Promise<ProcRet<'domainGetVcpus'>> {
    const { vcpuInfo } = await import('./domain-stats.js');
    const { info, cpumaps } = await this.runtime.withStatsSource(dom, (src) => vcpuInfo(src, maxinfo), { monitor: true });
    return { info, cpumaps: packCpuMaps(cpumaps, maxinfo, maplen) };
  }

  /** qemuDomainGetVcpusFlags: from the live or the persistent definition; tsvirt connects no guest agent. */
  async domainGetVcpusFlags({ dom, flags }: ProcArgs<'domainGetVcpusFlags'>): Promise<ProcRet<'domainGetVcpusFlags'>> {
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG | VCPU_MAXIMUM | VCPU_GUEST, 'qemuDomainGetVcpusFlags');
    const obj = await this.objectOf(dom);
    const { def } = oneDefinition(obj, flags);
    if (flags & VCPU_GUEST) {
      if (obj.id === -1) throw virError(ErrorCode.INVALID_ARG, 'vCPU count provided by the guest agent can only be requested for live domains', ErrorDomain.QEMU);
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'QEMU guest agent is not configured', ErrorDomain.QEMU);
    }
    return { num: flags & VCPU_MAXIMUM ? domainMaxVcpus(def) : domainCurrentVcpus(def) };
  }

  /** qemuDomainGetMaxVcpus */
  async domainGetMaxVcpus({ dom }: ProcArgs<'domainGetMaxVcpus'>): Promise<ProcRet<'domainGetMaxVcpus'>> {
    return this.domainGetVcpusFlags({ dom, flags: ModificationImpact.LIVE | VCPU_MAXIMUM });
  }

  /** qemuDomainGetVcpuPinInfo: from the live or the persistent definition; an unpinned vCPU may use every online host CPU. */
  async domainGetVcpuPinInfo({ dom, ncpumaps, maplen, flags }: ProcArgs<'domainGetVcpuPinInfo'>): Promise<ProcRet<'domainGetVcpuPinInfo'>> {
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainGetVcpuPinInfo');
    const { hostCpuMap } = await import('./host-capabilities.js');
    const { def } = oneDefinition(await this.objectOf(dom), flags);
    const online = hostCpuMap().online.flatMap((on, cpu) => (on ? [cpu] : []));
    const maps = vcpuCpusets(def, ncpumaps).map((cpuset) => (cpuset === undefined ? online : [...(parseBitmap(cpuset) ?? [])]));
    return { cpumaps: packCpuMaps(maps, ncpumaps, maplen), num: maps.length };
  }

  // ---- save and restore (save-restore.ts) ------------------------------------

  /** Loaded on first use: only these calls need it. */
  private async saveRestore() {
    const { QemuSaveRestore } = await import('./save-restore.js');
    return new QemuSaveRestore(this);
  }

  async domainSave({ dom, to }: ProcArgs<'domainSave'>): Promise<void> {
    await (await this.saveRestore()).save(dom, to, null, 0);
  }

  async domainSaveFlags({ dom, to, dxml, flags }: ProcArgs<'domainSaveFlags'>): Promise<void> {
    await (await this.saveRestore()).save(dom, to, dxml, flags);
  }

  async domainRestore({ from }: ProcArgs<'domainRestore'>): Promise<void> {
    await (await this.saveRestore()).restore(from, null, 0);
  }

  async domainRestoreFlags({ from, dxml, flags }: ProcArgs<'domainRestoreFlags'>): Promise<void> {
    await (await this.saveRestore()).restore(from, dxml, flags);
  }

  async domainSaveImageGetXMLDesc({ file, flags }: ProcArgs<'domainSaveImageGetXMLDesc'>): Promise<ProcRet<'domainSaveImageGetXMLDesc'>> {
    return { xml: await (await this.saveRestore()).imageXML(file, flags) };
  }

  async domainSaveImageDefineXML({ file, dxml, flags }: ProcArgs<'domainSaveImageDefineXML'>): Promise<void> {
    await (await this.saveRestore()).defineImageXML(file, dxml, flags);
  }

  async domainManagedSave({ dom, flags }: ProcArgs<'domainManagedSave'>): Promise<void> {
    await (await this.saveRestore()).managedSave(dom, flags);
  }

  async domainManagedSaveGetXMLDesc({ dom, flags }: ProcArgs<'domainManagedSaveGetXMLDesc'>): Promise<ProcRet<'domainManagedSaveGetXMLDesc'>> {
    const sr = await this.saveRestore();
    return { xml: await sr.imageXML(await sr.managedImagePath(dom), flags) };
  }

  async domainManagedSaveDefineXML({ dom, dxml, flags }: ProcArgs<'domainManagedSaveDefineXML'>): Promise<void> {
    const sr = await this.saveRestore();
    if (dxml === null) throw virError(ErrorCode.INVALID_ARG, 'dxml in virDomainManagedSaveDefineXML must not be NULL', ErrorDomain.QEMU);
    await sr.defineImageXML(await sr.managedImagePath(dom), dxml, flags);
  }

  async domainManagedSaveRemove({ dom, flags }: ProcArgs<'domainManagedSaveRemove'>): Promise<void> {
    checkFlags(flags, 0, 'qemuDomainManagedSaveRemove');
    const obj = await this.objectOf(dom);
    await this.withDomainLock(obj.uuid, async () => {
      const path = this.managedSavePath(obj.name);
      if (existsSync(path)) await unlinkDurable(path);
    });
  }

  // ---- snapshots (snapshot.ts) ----------------------------------------------------

  private async snapshots() {
    const { QemuSnapshots } = await import('./snapshot.js');
    return new QemuSnapshots(this, this.warn);
  }

  async domainSnapshotCreateXML({ dom, xml_desc, flags }: ProcArgs<'domainSnapshotCreateXML'>): Promise<ProcRet<'domainSnapshotCreateXML'>> {
    return { snap: await (await this.snapshots()).create(dom, xml_desc, flags) };
  }

  async domainListAllSnapshots({ dom, need_results, flags }: ProcArgs<'domainListAllSnapshots'>): Promise<ProcRet<'domainListAllSnapshots'>> {
    const snapshots = await (await this.snapshots()).list(dom, flags, 'qemuDomainListAllSnapshots');
    return { snapshots: need_results ? snapshots : [], ret: snapshots.length };
  }

  async domainSnapshotNum({ dom, flags }: ProcArgs<'domainSnapshotNum'>): Promise<ProcRet<'domainSnapshotNum'>> {
    return { num: (await (await this.snapshots()).list(dom, flags, 'qemuDomainSnapshotNum')).length };
  }

  async domainSnapshotListNames({ dom, maxnames, flags }: ProcArgs<'domainSnapshotListNames'>): Promise<ProcRet<'domainSnapshotListNames'>> {
    const snapshots = await (await this.snapshots()).list(dom, flags, 'qemuDomainSnapshotListNames');
    return { names: snapshots.slice(0, maxnames).map((s) => s.name) };
  }

  async domainSnapshotListAllChildren({ snapshot, need_results, flags }: ProcArgs<'domainSnapshotListAllChildren'>): Promise<ProcRet<'domainSnapshotListAllChildren'>> {
    const snapshots = await (await this.snapshots()).children(snapshot, flags, 'qemuDomainSnapshotListAllChildren');
    return { snapshots: need_results ? snapshots : [], ret: snapshots.length };
  }

  async domainSnapshotNumChildren({ snap, flags }: ProcArgs<'domainSnapshotNumChildren'>): Promise<ProcRet<'domainSnapshotNumChildren'>> {
    return { num: (await (await this.snapshots()).children(snap, flags, 'qemuDomainSnapshotNumChildren')).length };
  }

  async domainSnapshotListChildrenNames({ snap, maxnames, flags }: ProcArgs<'domainSnapshotListChildrenNames'>): Promise<ProcRet<'domainSnapshotListChildrenNames'>> {
    const snapshots = await (await this.snapshots()).children(snap, flags, 'qemuDomainSnapshotListChildrenNames');
    return { names: snapshots.slice(0, maxnames).map((s) => s.name) };
  }

  async domainSnapshotLookupByName({ dom, name, flags }: ProcArgs<'domainSnapshotLookupByName'>): Promise<ProcRet<'domainSnapshotLookupByName'>> {
    checkFlags(flags, 0, 'qemuDomainSnapshotLookupByName');
    return { snap: await (await this.snapshots()).lookup(dom, name) };
  }

  async domainHasCurrentSnapshot({ dom, flags }: ProcArgs<'domainHasCurrentSnapshot'>): Promise<ProcRet<'domainHasCurrentSnapshot'>> {
    checkFlags(flags, 0, 'qemuDomainHasCurrentSnapshot');
    return { result: flag((await (await this.snapshots()).current(dom)) !== undefined) };
  }

  async domainSnapshotCurrent({ dom, flags }: ProcArgs<'domainSnapshotCurrent'>): Promise<ProcRet<'domainSnapshotCurrent'>> {
    checkFlags(flags, 0, 'qemuDomainSnapshotCurrent');
    const snap = await (await this.snapshots()).current(dom);
    if (!snap) throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, 'the domain does not have a current snapshot', ErrorDomain.QEMU);
    return { snap };
  }

  async domainSnapshotGetParent({ snap, flags }: ProcArgs<'domainSnapshotGetParent'>): Promise<ProcRet<'domainSnapshotGetParent'>> {
    checkFlags(flags, 0, 'qemuDomainSnapshotGetParent');
    return { snap: await (await this.snapshots()).parent(snap) };
  }

  async domainSnapshotIsCurrent({ snap, flags }: ProcArgs<'domainSnapshotIsCurrent'>): Promise<ProcRet<'domainSnapshotIsCurrent'>> {
    checkFlags(flags, 0, 'qemuDomainSnapshotIsCurrent');
    return { current: flag(await (await this.snapshots()).isCurrent(snap)) };
  }

  async domainSnapshotHasMetadata({ snap, flags }: ProcArgs<'domainSnapshotHasMetadata'>): Promise<ProcRet<'domainSnapshotHasMetadata'>> {
    checkFlags(flags, 0, 'qemuDomainSnapshotHasMetadata');
    return { metadata: flag(await (await this.snapshots()).hasMetadata(snap)) };
  }

  async domainSnapshotGetXMLDesc({ snap, flags }: ProcArgs<'domainSnapshotGetXMLDesc'>): Promise<ProcRet<'domainSnapshotGetXMLDesc'>> {
    return { xml: await (await this.snapshots()).xml(snap, flags) };
  }

  async domainRevertToSnapshot({ snap, flags }: ProcArgs<'domainRevertToSnapshot'>): Promise<void> {
    await (await this.snapshots()).revert(snap, flags);
  }

  async domainSnapshotDelete({ snap, flags }: ProcArgs<'domainSnapshotDelete'>): Promise<void> {
    await (await this.snapshots()).delete(snap, flags);
  }

  async domainScreenshot({ dom, screen, flags }: ProcArgs<'domainScreenshot'>, stream: Duplex): Promise<ProcRet<'domainScreenshot'>> {
    const { takeScreenshot } = await import('./screenshot.js');
    return { mime: await takeScreenshot(this, dom, screen, flags, stream) };
  }

  async domainGetMetadata(args: ProcArgs<'domainGetMetadata'>): Promise<ProcRet<'domainGetMetadata'>> {
    const { getMetadata } = await import('./metadata.js');
    return { metadata: await getMetadata(this, args) };
  }

  async domainSetMetadata(args: ProcArgs<'domainSetMetadata'>): Promise<void> {
    const { setMetadata } = await import('./metadata.js');
    await setMetadata(this, args);
  }

  // ---- jobs and the guest agent (jobs.ts) ----------------------------------------

  async domainGetJobInfo({ dom }: ProcArgs<'domainGetJobInfo'>): Promise<ProcRet<'domainGetJobInfo'>> {
    const { jobInfo } = await import('./jobs.js');
    return jobInfo(this, dom);
  }

  async domainGetJobStats({ dom, flags }: ProcArgs<'domainGetJobStats'>): Promise<ProcRet<'domainGetJobStats'>> {
    const { jobStats } = await import('./jobs.js');
    return jobStats(this, dom, flags);
  }

  async domainAbortJob({ dom }: ProcArgs<'domainAbortJob'>): Promise<void> {
    const { abortJob } = await import('./jobs.js');
    await abortJob(this, dom, 0);
  }

  async domainAbortJobFlags({ dom, flags }: ProcArgs<'domainAbortJobFlags'>): Promise<void> {
    const { abortJob } = await import('./jobs.js');
    await abortJob(this, dom, flags);
  }

  async domainSendKey(args: ProcArgs<'domainSendKey'>): Promise<void> {
    const { sendKey } = await import('./send-key.js');
    await sendKey(this, args);
  }

  async domainGetCPUStats(args: ProcArgs<'domainGetCPUStats'>): Promise<ProcRet<'domainGetCPUStats'>> {
    const { domainCPUStats } = await import('./cpu-stats.js');
    return domainCPUStats(this, args);
  }

  async domainRename({ dom, new_name, flags }: ProcArgs<'domainRename'>): Promise<ProcRet<'domainRename'>> {
    const { renameDomain } = await import('./rename.js');
    await renameDomain(this, dom, new_name, flags);
    return { retcode: 0 };
  }

  // ---- the guest agent (agent-api.ts) -----------------------------------------

  async domainGetTime({ dom, flags }: ProcArgs<'domainGetTime'>): Promise<ProcRet<'domainGetTime'>> {
    const { agentGetTime } = await import('./agent-api.js');
    return agentGetTime(this, dom, flags);
  }

  async domainSetTime({ dom, seconds, nseconds, flags }: ProcArgs<'domainSetTime'>): Promise<void> {
    const { agentSetTime } = await import('./agent-api.js');
    await agentSetTime(this, dom, seconds, nseconds, flags);
  }

  async domainQemuAgentCommand({ dom, cmd, timeout, flags }: ProcArgs<'domainQemuAgentCommand'>): Promise<ProcRet<'domainQemuAgentCommand'>> {
    const { agentArbitraryCommand } = await import('./agent-api.js');
    return { result: await agentArbitraryCommand(this, dom, cmd, timeout, flags) };
  }

  async domainGetFSInfo({ dom, flags }: ProcArgs<'domainGetFSInfo'>): Promise<ProcRet<'domainGetFSInfo'>> {
    const { agentFSInfo } = await import('./agent-api.js');
    return agentFSInfo(this, dom, flags);
  }

  async domainSetUserPassword({ dom, user, password, flags }: ProcArgs<'domainSetUserPassword'>): Promise<void> {
    const { agentSetUserPassword } = await import('./agent-api.js');
    await agentSetUserPassword(this, dom, user ?? '', password ?? '', flags);
  }

  async domainGetGuestInfo({ dom, types, flags }: ProcArgs<'domainGetGuestInfo'>): Promise<ProcRet<'domainGetGuestInfo'>> {
    const { guestInfo } = await import('./agent-guestinfo.js');
    return guestInfo(this, dom, types, flags);
  }

  async domainAgentSetResponseTimeout({ dom, timeout, flags }: ProcArgs<'domainAgentSetResponseTimeout'>): Promise<ProcRet<'domainAgentSetResponseTimeout'>> {
    const { agentSetResponseTimeout } = await import('./agent-api.js');
    await agentSetResponseTimeout(this, dom, timeout, flags);
    return { result: 0 };
  }

  // ---- memory, vCPUs and disk sizes (resize.ts) -------------------------------

  private async resize() {
    const { QemuResize } = await import('./resize.js');
    return new QemuResize(this);
  }

  async domainSetMemory({ dom, memory }: ProcArgs<'domainSetMemory'>): Promise<void> {
    // virDomainSetMemory changes the running domain only
    await (await this.resize()).setMemory(dom, memory, ModificationImpact.LIVE);
  }

  async domainSetMemoryFlags({ dom, memory, flags }: ProcArgs<'domainSetMemoryFlags'>): Promise<void> {
    await (await this.resize()).setMemory(dom, memory, flags);
  }

  async domainSetMaxMemory({ dom, memory }: ProcArgs<'domainSetMaxMemory'>): Promise<void> {
    await (await this.resize()).setMemory(dom, memory, 1 << 2);
  }

  async domainSetVcpus({ dom, nvcpus }: ProcArgs<'domainSetVcpus'>): Promise<void> {
    await (await this.resize()).setVcpus(dom, nvcpus, ModificationImpact.LIVE);
  }

  async domainSetVcpusFlags({ dom, nvcpus, flags }: ProcArgs<'domainSetVcpusFlags'>): Promise<void> {
    await (await this.resize()).setVcpus(dom, nvcpus, flags);
  }

  async domainBlockResize({ dom, disk, size, flags }: ProcArgs<'domainBlockResize'>): Promise<void> {
    await (await this.resize()).blockResize(dom, disk, size, flags);
  }

  // ---- block jobs (block-jobs.ts) ----------------------------------------------

  private async blockJobs() {
    const { QemuBlockJobs } = await import('./block-jobs.js');
    return new QemuBlockJobs(this);
  }

  async domainGetBlockJobInfo({ dom, path, flags }: ProcArgs<'domainGetBlockJobInfo'>): Promise<ProcRet<'domainGetBlockJobInfo'>> {
    return (await this.blockJobs()).info(dom, path, flags);
  }

  async domainBlockJobSetSpeed({ dom, path, bandwidth, flags }: ProcArgs<'domainBlockJobSetSpeed'>): Promise<void> {
    await (await this.blockJobs()).setSpeed(dom, path, bandwidth, flags);
  }

  async domainBlockJobAbort({ dom, path, flags }: ProcArgs<'domainBlockJobAbort'>): Promise<void> {
    await (await this.blockJobs()).abort(dom, path, flags);
  }

  async domainBlockPull({ dom, path, bandwidth, flags }: ProcArgs<'domainBlockPull'>): Promise<void> {
    await (await this.blockJobs()).pull(dom, path, null, bandwidth, flags, 'qemuDomainBlockPull');
  }

  async domainBlockRebase({ dom, path, base, bandwidth, flags }: ProcArgs<'domainBlockRebase'>): Promise<void> {
    await (await this.blockJobs()).rebase(dom, path, base, bandwidth, flags);
  }

  async domainBlockCopy({ dom, path, destxml, params, flags }: ProcArgs<'domainBlockCopy'>): Promise<void> {
    await (await this.blockJobs()).copy(dom, path, destxml, params, flags);
  }

  async domainBlockCommit({ dom, disk, base, top, bandwidth, flags }: ProcArgs<'domainBlockCommit'>): Promise<void> {
    await (await this.blockJobs()).commit(dom, disk, base, top, bandwidth, flags);
  }

  async domainGetBlockIoTune({ dom, disk, nparams, flags }: ProcArgs<'domainGetBlockIoTune'>): Promise<ProcRet<'domainGetBlockIoTune'>> {
    const { getBlockIoTune } = await import('./block-iotune.js');
    return getBlockIoTune(this, dom, disk, nparams, flags);
  }

  async domainSetBlockIoTune({ dom, disk, params, flags }: ProcArgs<'domainSetBlockIoTune'>): Promise<void> {
    const { setBlockIoTune } = await import('./block-iotune.js');
    await setBlockIoTune(this, dom, disk, params, flags);
  }

  // ---- running domains (domain-runtime.ts) ---------------------------------

  async domainCreate({ dom }: ProcArgs<'domainCreate'>): Promise<void> {
    await this.runtime.domainCreate(dom, 0);
  }

  async domainCreateWithFlags({ dom, flags }: ProcArgs<'domainCreateWithFlags'>): Promise<ProcRet<'domainCreateWithFlags'>> {
    return { dom: await this.runtime.domainCreate(dom, flags) };
  }

  async domainCreateXML({ xml_desc, flags }: ProcArgs<'domainCreateXML'>): Promise<ProcRet<'domainCreateXML'>> {
    return { dom: await this.runtime.domainCreateXML(xml_desc, flags) };
  }

  domainShutdown({ dom }: ProcArgs<'domainShutdown'>): Promise<void> {
    return this.runtime.domainShutdown(dom, 0);
  }

  domainShutdownFlags({ dom, flags }: ProcArgs<'domainShutdownFlags'>): Promise<void> {
    return this.runtime.domainShutdown(dom, flags);
  }

  domainDestroy({ dom }: ProcArgs<'domainDestroy'>): Promise<void> {
    return this.runtime.domainDestroy(dom, 0);
  }

  domainDestroyFlags({ dom, flags }: ProcArgs<'domainDestroyFlags'>): Promise<void> {
    return this.runtime.domainDestroy(dom, flags);
  }

  /** virDomainOpenConsole: the console's bytes flow through `stream` until either side ends. */
  async domainOpenConsole({ dom, dev_name, flags }: ProcArgs<'domainOpenConsole'>, stream: Duplex): Promise<void> {
    const session = await this.runtime.domainOpenConsole(dom, dev_name, flags);
    const { connectConsoleStream } = await import('./console.js');
    connectConsoleStream(session, stream);
  }

  domainReboot({ dom, flags }: ProcArgs<'domainReboot'>): Promise<void> {
    return this.runtime.domainReboot(dom, flags);
  }

  domainReset({ dom, flags }: ProcArgs<'domainReset'>): Promise<void> {
    return this.runtime.domainReset(dom, flags);
  }

  domainSuspend({ dom }: ProcArgs<'domainSuspend'>): Promise<void> {
    return this.runtime.domainSuspend(dom);
  }

  domainResume({ dom }: ProcArgs<'domainResume'>): Promise<void> {
    return this.runtime.domainResume(dom);
  }

  async domainQemuMonitorCommand({ dom, cmd, flags }: ProcArgs<'domainQemuMonitorCommand'>): Promise<ProcRet<'domainQemuMonitorCommand'>> {
    return { result: await this.runtime.domainMonitorCommand(dom, cmd, flags) };
  }

  /** virDomainQemuMonitorCommandWithFiles: the files reach it only by fd passing, which tsvirtd refuses (CALL_WITH_FDS), so it is the plain command. */
  async domainQemuMonitorCommandWithFiles({ dom, cmd, flags }: ProcArgs<'domainQemuMonitorCommandWithFiles'>): Promise<ProcRet<'domainQemuMonitorCommandWithFiles'>> {
    return { result: await this.runtime.domainMonitorCommand(dom, cmd, flags) };
  }

  domainSetMemoryStatsPeriod({ dom, period, flags }: ProcArgs<'domainSetMemoryStatsPeriod'>): Promise<void> {
    return this.runtime.domainSetMemoryStatsPeriod(dom, period, flags);
  }

  /** qemuDomainAttachDevice: the running domain only. */
  domainAttachDevice({ dom, xml }: ProcArgs<'domainAttachDevice'>): Promise<void> {
    return this.runtime.domainAttachDeviceFlags(dom, xml, ModificationImpact.LIVE);
  }

  domainAttachDeviceFlags({ dom, xml, flags }: ProcArgs<'domainAttachDeviceFlags'>): Promise<void> {
    return this.runtime.domainAttachDeviceFlags(dom, xml, flags);
  }

  /** qemuDomainDetachDevice: the running domain only. */
  domainDetachDevice({ dom, xml }: ProcArgs<'domainDetachDevice'>): Promise<void> {
    return this.runtime.domainDetachDeviceFlags(dom, xml, ModificationImpact.LIVE);
  }

  domainDetachDeviceFlags({ dom, xml, flags }: ProcArgs<'domainDetachDeviceFlags'>): Promise<void> {
    return this.runtime.domainDetachDeviceFlags(dom, xml, flags);
  }

  domainUpdateDeviceFlags({ dom, xml, flags }: ProcArgs<'domainUpdateDeviceFlags'>): Promise<void> {
    return this.runtime.domainUpdateDeviceFlags(dom, xml, flags);
  }

  // ---- host ----------------------------------------------------------------

  async connectGetType(): Promise<ProcRet<'connectGetType'>> {
    return { type: 'QEMU' };
  }

  /** qemuConnectSupportsFeature: the global features as every driver answers them, then this driver's own. */
  async connectSupportsFeature({ feature }: ProcArgs<'connectSupportsFeature'>): Promise<ProcRet<'connectSupportsFeature'>> {
    const global = globalFeatureSupport(feature);
    if (global !== undefined) return { supported: global };
    return { supported: flag(QEMU_FEATURES.has(feature)) };
  }

  /** The connection's canonical URI (an embed root resolved). */
  async connectGetURI(): Promise<ProcRet<'connectGetURI'>> {
    return { uri: this.paths.uri };
  }

  async connectGetHostname(): Promise<ProcRet<'connectGetHostname'>> {
    return { hostname: hostname() };
  }

  /** Version of the QEMU binary for the host's arch (virQEMUCapsGetDefaultVersion). */
  async connectGetVersion(): Promise<ProcRet<'connectGetVersion'>> {
    return { hv_ver: BigInt((await this.caps.forArch(hostArch())).versionNumber) };
  }

  async connectGetSysinfo({ flags }: ProcArgs<'connectGetSysinfo'>): Promise<ProcRet<'connectGetSysinfo'>> {
    checkFlags(flags, 0, 'qemuConnectGetSysinfo');
    const { formatHostSysinfo } = await import('./host-capabilities.js');
    return { sysinfo: formatHostSysinfo() };
  }

  async nodeGetInfo(): Promise<ProcRet<'nodeGetInfo'>> {
    const { hostNodeInfo } = await import('./host-capabilities.js');
    const info = hostNodeInfo();
    const model = [...Buffer.from(info.model, 'utf8').subarray(0, NODE_INFO_MODEL_BYTES - 1)];
    return { ...info, model: [...model, ...Array<number>(NODE_INFO_MODEL_BYTES - model.length).fill(0)], memory: BigInt(info.memory) };
  }

  /** virHostCPUGetMap: how many CPUs the host has; which are online and how many, as asked. */
  async nodeGetCPUMap({ need_map, need_online, flags }: ProcArgs<'nodeGetCPUMap'>): Promise<ProcRet<'nodeGetCPUMap'>> {
    checkFlags(flags, 0, 'qemuNodeGetCPUMap');
    const { hostCpuMap } = await import('./host-capabilities.js');
    const { online } = hostCpuMap();
    const onlineCpus = online.flatMap((on, cpu) => (on ? [cpu] : []));
    return {
      cpumap: need_map ? packCpuMaps([onlineCpus], 1, Math.ceil(online.length / 8)) : Buffer.alloc(0),
      online: need_online ? onlineCpus.length : 0,
      ret: online.length,
    };
  }

  async nodeGetFreeMemory(): Promise<ProcRet<'nodeGetFreeMemory'>> {
    const { hostFreeMemory } = await import('./host-capabilities.js');
    return { freeMem: hostFreeMemory() };
  }

  /** qemuConnectGetMaxVcpus: TCG's historical limit; KVM's needs an ioctl tsvirt cannot make. */
  async connectGetMaxVcpus({ type }: ProcArgs<'connectGetMaxVcpus'>): Promise<ProcRet<'connectGetMaxVcpus'>> {
    if (type === null || type.toLowerCase() === 'qemu') return { max_vcpus: 16 };
    if (type.toLowerCase() === 'kvm') {
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'the KVM vCPU limit cannot be queried; use domcapabilities', ErrorDomain.QEMU);
    }
    throw virError(ErrorCode.INVALID_ARG, `unknown type '${type}'`, ErrorDomain.QEMU);
  }

  async connectGetCapabilities(): Promise<ProcRet<'connectGetCapabilities'>> {
    const { formatCapabilities } = await import('./host-capabilities.js');
    return { capabilities: await formatCapabilities(this) };
  }

  async connectGetDomainCapabilities({ emulatorbin, arch, machine, virttype, flags }: ProcArgs<'connectGetDomainCapabilities'>): Promise<ProcRet<'connectGetDomainCapabilities'>> {
    checkFlags(flags, 0, 'qemuConnectGetDomainCapabilities');
    const query = { emulator: emulatorbin ?? undefined, arch: arch ?? undefined, machine: machine ?? undefined, virttype: virttype ?? undefined };
    const { formatDomainCapabilities } = await import('./host-capabilities.js');
    return { capabilities: await formatDomainCapabilities(this, query) };
  }

  // ---- node and tuning entry points (issue #14, s5-epn) ----

  /** qemuNodeGetCPUStats: the host's CPU times from /proc/stat. */
  async nodeGetCPUStats({ cpuNum, nparams, flags }: ProcArgs<'nodeGetCPUStats'>): Promise<ProcRet<'nodeGetCPUStats'>> {
    checkFlags(flags, 0, 'virHostCPUGetStats');
    const { hostCpuStats } = await import('./node-stats.js');
    return hostCpuStats(cpuNum, nparams);
  }

  /** qemuNodeGetMemoryStats: the host's (or one NUMA cell's) meminfo. */
  async nodeGetMemoryStats({ cellNum, nparams, flags }: ProcArgs<'nodeGetMemoryStats'>): Promise<ProcRet<'nodeGetMemoryStats'>> {
    checkFlags(flags, 0, 'virHostMemGetStats');
    const { hostMemoryStats } = await import('./node-stats.js');
    return hostMemoryStats(cellNum, nparams);
  }

  /** qemuNodeGetCellsFreeMemory: free bytes per NUMA cell. */
  async nodeGetCellsFreeMemory({ startCell, maxcells }: ProcArgs<'nodeGetCellsFreeMemory'>): Promise<ProcRet<'nodeGetCellsFreeMemory'>> {
    const { hostCellsFreeMemory } = await import('./node-stats.js');
    return { cells: hostCellsFreeMemory(startCell, maxcells) };
  }

  /** qemuNodeGetFreePages: free pages of each asked size (KiB) per NUMA cell. */
  async nodeGetFreePages({ pages, startCell, cellCount, flags }: ProcArgs<'nodeGetFreePages'>): Promise<ProcRet<'nodeGetFreePages'>> {
    checkFlags(flags, 0, 'qemuNodeGetFreePages');
    const { hostFreePages } = await import('./node-stats.js');
    return { counts: hostFreePages(pages, startCell, cellCount) };
  }

  /** qemuDomainGetMaxMemory: the definition's total memory (KiB), running or not. */
  async domainGetMaxMemory({ dom }: ProcArgs<'domainGetMaxMemory'>): Promise<ProcRet<'domainGetMaxMemory'>> {
    return { memory: BigInt(domainMaxMemoryKiB((await this.objectOf(dom)).def)) };
  }

  /** qemuConnectGetCPUModelNames: the CPU map's models of an architecture. */
  async connectGetCPUModelNames({ arch, need_results, flags }: ProcArgs<'connectGetCPUModelNames'>): Promise<ProcRet<'connectGetCPUModelNames'>> {
    checkFlags(flags, 0, 'qemuConnectGetCPUModelNames');
    const { cpuModelNames } = await import('./cpu-model-names.js');
    const models = cpuModelNames(arch);
    return { models: need_results ? models : [], ret: models.length };
  }

  /** qemuNodeGetMemoryParameters: the host's KSM knobs and counters. */
  async nodeGetMemoryParameters({ nparams, flags }: ProcArgs<'nodeGetMemoryParameters'>): Promise<ProcRet<'nodeGetMemoryParameters'>> {
    checkFlags(flags, 1 << 2 /* VIR_TYPED_PARAM_STRING_OKAY */, 'virHostMemGetParameters');
    const { nodeMemoryParameters } = await import('./node-memory-tune.js');
    return nodeMemoryParameters(nparams);
  }

  /** qemuNodeSetMemoryParameters: the host's KSM tunables. */
  async nodeSetMemoryParameters({ params, flags }: ProcArgs<'nodeSetMemoryParameters'>): Promise<ProcRet<'nodeSetMemoryParameters'>> {
    checkFlags(flags, 0, 'virHostMemSetParameters');
    const { setNodeMemoryParameters } = await import('./node-memory-tune.js');
    setNodeMemoryParameters(params);
  }

  // ---- guest-facing entry points (issue 14) --------------------------------------

  async domainGetHostname({ dom, flags }: ProcArgs<'domainGetHostname'>): Promise<ProcRet<'domainGetHostname'>> {
    const { domainHostname } = await import('./hostname.js');
    return { hostname: await domainHostname(this, dom, flags) };
  }

  async domainInjectNMI({ dom, flags }: ProcArgs<'domainInjectNMI'>): Promise<void> {
    checkFlags(flags, 0, 'qemuDomainInjectNMI');
    await this.runtime.withRunning(dom, async (_obj, running) => {
      await (await this.runtime.runtime.ensureMonitor(running)).execute('inject-nmi');
    });
  }

  /** qemuDomainPMWakeup: QEMU's wake-up request, refused by QEMU where the guest cannot suspend. */
  async domainPMWakeup({ dom, flags }: ProcArgs<'domainPMWakeup'>): Promise<void> {
    checkFlags(flags, 0, 'qemuDomainPMWakeup');
    await this.runtime.withRunning(dom, async (_obj, running) => {
      await (await this.runtime.runtime.ensureMonitor(running)).execute('system_wakeup');
    });
  }

  async domainGetControlInfo({ dom, flags }: ProcArgs<'domainGetControlInfo'>): Promise<ProcRet<'domainGetControlInfo'>> {
    const { controlInfo } = await import('./jobs.js');
    return controlInfo(this, dom, flags);
  }

  async domainGetDiskErrors({ dom, maxerrors, flags }: ProcArgs<'domainGetDiskErrors'>): Promise<ProcRet<'domainGetDiskErrors'>> {
    const { diskErrors } = await import('./disk-errors.js');
    return diskErrors(this, dom, maxerrors, flags);
  }

  async domainFSFreeze({ dom, mountpoints, flags }: ProcArgs<'domainFSFreeze'>): Promise<ProcRet<'domainFSFreeze'>> {
    const { fsFreeze } = await import('./agent-filesystems.js');
    return { filesystems: await fsFreeze(this, dom, mountpoints, flags) };
  }

  async domainFSThaw({ dom, mountpoints, flags }: ProcArgs<'domainFSThaw'>): Promise<ProcRet<'domainFSThaw'>> {
    const { fsThaw } = await import('./agent-filesystems.js');
    return { filesystems: await fsThaw(this, dom, mountpoints, flags) };
  }

  async domainFSTrim({ dom, mountPoint, minimum, flags }: ProcArgs<'domainFSTrim'>): Promise<void> {
    const { fsTrim } = await import('./agent-filesystems.js');
    await fsTrim(this, dom, mountPoint, minimum, flags);
  }

  async domainGetGuestVcpus({ dom, flags }: ProcArgs<'domainGetGuestVcpus'>): Promise<ProcRet<'domainGetGuestVcpus'>> {
    const { getGuestVcpus } = await import('./agent-vcpus.js');
    return getGuestVcpus(this, dom, flags);
  }

  async domainSetGuestVcpus({ dom, cpumap, state, flags }: ProcArgs<'domainSetGuestVcpus'>): Promise<void> {
    const { setGuestVcpus } = await import('./agent-vcpus.js');
    await setGuestVcpus(this, dom, cpumap, state, flags);
  }

  // ---- CPU pinning and IOThreads (cpu-pinning.ts, iothreads.ts; issue 14) ----

  async domainPinVcpu({ dom, vcpu, cpumap }: ProcArgs<'domainPinVcpu'>): Promise<void> {
    const { pinVcpu } = await import('./cpu-pinning.js');
    await pinVcpu(this, dom, vcpu, cpumap, ModificationImpact.LIVE);
  }

  async domainPinVcpuFlags({ dom, vcpu, cpumap, flags }: ProcArgs<'domainPinVcpuFlags'>): Promise<void> {
    const { pinVcpu } = await import('./cpu-pinning.js');
    await pinVcpu(this, dom, vcpu, cpumap, flags);
  }

  async domainPinEmulator({ dom, cpumap, flags }: ProcArgs<'domainPinEmulator'>): Promise<void> {
    const { pinEmulator } = await import('./cpu-pinning.js');
    await pinEmulator(this, dom, cpumap, flags);
  }

  async domainGetEmulatorPinInfo({ dom, maplen, flags }: ProcArgs<'domainGetEmulatorPinInfo'>): Promise<ProcRet<'domainGetEmulatorPinInfo'>> {
    const { emulatorPinInfo } = await import('./cpu-pinning.js');
    return emulatorPinInfo(this, dom, maplen, flags);
  }

  async domainPinIOThread({ dom, iothreads_id, cpumap, flags }: ProcArgs<'domainPinIOThread'>): Promise<void> {
    const { pinIOThread } = await import('./cpu-pinning.js');
    await pinIOThread(this, dom, iothreads_id, cpumap, flags);
  }

  async domainGetIOThreadInfo({ dom, flags }: ProcArgs<'domainGetIOThreadInfo'>): Promise<ProcRet<'domainGetIOThreadInfo'>> {
    const { ioThreadInfo } = await import('./iothreads.js');
    return ioThreadInfo(this, dom, flags);
  }

  async domainAddIOThread({ dom, iothread_id, flags }: ProcArgs<'domainAddIOThread'>): Promise<void> {
    const { addIOThread } = await import('./iothreads.js');
    await addIOThread(this, dom, iothread_id, flags);
  }

  async domainDelIOThread({ dom, iothread_id, flags }: ProcArgs<'domainDelIOThread'>): Promise<void> {
    const { delIOThread } = await import('./iothreads.js');
    await delIOThread(this, dom, iothread_id, flags);
  }

  async domainSetIOThreadParams({ dom, iothread_id, params, flags }: ProcArgs<'domainSetIOThreadParams'>): Promise<void> {
    const { setIOThreadParams } = await import('./iothreads.js');
    await setIOThreadParams(this, dom, iothread_id, params, flags);
  }

  async domainSetVcpu({ dom, cpumap, state, flags }: ProcArgs<'domainSetVcpu'>): Promise<void> {
    const { setVcpu } = await import('./vcpu-hotplug.js');
    await setVcpu(this, dom, cpumap, state, flags);
  }

  // ---- checkpoints and backup (checkpoint.ts, backup.ts) ----------------------------

  private async checkpoints() {
    const { QemuCheckpoints } = await import('./checkpoint.js');
    return new QemuCheckpoints(this, this.warn);
  }

  async domainCheckpointCreateXML({ dom, xml_desc, flags }: ProcArgs<'domainCheckpointCreateXML'>): Promise<ProcRet<'domainCheckpointCreateXML'>> {
    return { checkpoint: await (await this.checkpoints()).create(dom, xml_desc, flags) };
  }

  async domainCheckpointGetXMLDesc({ checkpoint, flags }: ProcArgs<'domainCheckpointGetXMLDesc'>): Promise<ProcRet<'domainCheckpointGetXMLDesc'>> {
    return { xml: await (await this.checkpoints()).xml(checkpoint, flags) };
  }

  async domainListAllCheckpoints({ dom, need_results, flags }: ProcArgs<'domainListAllCheckpoints'>): Promise<ProcRet<'domainListAllCheckpoints'>> {
    const checkpoints = await (await this.checkpoints()).list(dom, flags);
    return { checkpoints: need_results ? checkpoints : [], ret: checkpoints.length };
  }

  async domainCheckpointListAllChildren({ checkpoint, need_results, flags }: ProcArgs<'domainCheckpointListAllChildren'>): Promise<ProcRet<'domainCheckpointListAllChildren'>> {
    const checkpoints = await (await this.checkpoints()).children(checkpoint, flags);
    return { checkpoints: need_results ? checkpoints : [], ret: checkpoints.length };
  }

  async domainCheckpointLookupByName({ dom, name, flags }: ProcArgs<'domainCheckpointLookupByName'>): Promise<ProcRet<'domainCheckpointLookupByName'>> {
    checkFlags(flags, 0, 'qemuDomainCheckpointLookupByName');
    return { checkpoint: await (await this.checkpoints()).lookup(dom, name) };
  }

  async domainCheckpointGetParent({ checkpoint, flags }: ProcArgs<'domainCheckpointGetParent'>): Promise<ProcRet<'domainCheckpointGetParent'>> {
    checkFlags(flags, 0, 'qemuDomainCheckpointGetParent');
    return { parent: await (await this.checkpoints()).parent(checkpoint) };
  }

  async domainCheckpointDelete({ checkpoint, flags }: ProcArgs<'domainCheckpointDelete'>): Promise<void> {
    await (await this.checkpoints()).delete(checkpoint, flags);
  }

  async domainBackupBegin({ dom, backup_xml, checkpoint_xml, flags }: ProcArgs<'domainBackupBegin'>): Promise<void> {
    const { QemuBackup } = await import('./backup.js');
    await new QemuBackup(this).begin(dom, backup_xml, checkpoint_xml ?? undefined, flags);
  }

  async domainBackupGetXMLDesc({ dom, flags }: ProcArgs<'domainBackupGetXMLDesc'>): Promise<ProcRet<'domainBackupGetXMLDesc'>> {
    const { QemuBackup } = await import('./backup.js');
    return { xml: await new QemuBackup(this).xml(dom, flags) };
  }

  // ---- resource tuning: scheduler, memory, block I/O, NUMA, interfaces, perf (scheduler-tuning.ts & co) ----

  async domainGetSchedulerType({ dom }: ProcArgs<'domainGetSchedulerType'>): Promise<ProcRet<'domainGetSchedulerType'>> {
    const { schedulerType } = await import('./scheduler-tuning.js');
    return schedulerType(this, dom);
  }

  async domainGetSchedulerParameters({ dom, nparams }: ProcArgs<'domainGetSchedulerParameters'>): Promise<ProcRet<'domainGetSchedulerParameters'>> {
    const { getSchedulerParameters } = await import('./scheduler-tuning.js');
    return { params: await getSchedulerParameters(this, dom, nparams, 0) };
  }

  async domainGetSchedulerParametersFlags({ dom, nparams, flags }: ProcArgs<'domainGetSchedulerParametersFlags'>): Promise<ProcRet<'domainGetSchedulerParametersFlags'>> {
    const { getSchedulerParameters } = await import('./scheduler-tuning.js');
    return { params: await getSchedulerParameters(this, dom, nparams, flags) };
  }

  async domainSetSchedulerParameters({ dom, params }: ProcArgs<'domainSetSchedulerParameters'>): Promise<void> {
    const { setSchedulerParameters } = await import('./scheduler-tuning.js');
    await setSchedulerParameters(this, dom, params, 0);
  }

  async domainSetSchedulerParametersFlags({ dom, params, flags }: ProcArgs<'domainSetSchedulerParametersFlags'>): Promise<void> {
    const { setSchedulerParameters } = await import('./scheduler-tuning.js');
    await setSchedulerParameters(this, dom, params, flags);
  }

  async domainGetMemoryParameters({ dom, nparams, flags }: ProcArgs<'domainGetMemoryParameters'>): Promise<ProcRet<'domainGetMemoryParameters'>> {
    const { getMemoryParameters } = await import('./memory-tuning.js');
    return getMemoryParameters(this, dom, nparams, flags);
  }

  async domainSetMemoryParameters({ dom, params, flags }: ProcArgs<'domainSetMemoryParameters'>): Promise<void> {
    const { setMemoryParameters } = await import('./memory-tuning.js');
    await setMemoryParameters(this, dom, params, flags);
  }

  async domainGetBlkioParameters({ dom, nparams, flags }: ProcArgs<'domainGetBlkioParameters'>): Promise<ProcRet<'domainGetBlkioParameters'>> {
    const { getBlkioParameters } = await import('./blkio-tuning.js');
    return getBlkioParameters(this, dom, nparams, flags);
  }

  async domainSetBlkioParameters({ dom, params, flags }: ProcArgs<'domainSetBlkioParameters'>): Promise<void> {
    const { setBlkioParameters } = await import('./blkio-tuning.js');
    await setBlkioParameters(this, dom, params, flags);
  }

  async domainGetNumaParameters({ dom, nparams, flags }: ProcArgs<'domainGetNumaParameters'>): Promise<ProcRet<'domainGetNumaParameters'>> {
    const { getNumaParameters } = await import('./numa-tuning.js');
    return getNumaParameters(this, dom, nparams, flags);
  }

  async domainSetNumaParameters({ dom, params, flags }: ProcArgs<'domainSetNumaParameters'>): Promise<void> {
    const { setNumaParameters } = await import('./numa-tuning.js');
    await setNumaParameters(this, dom, params, flags);
  }

  // ---- CPU models, launch security and host power (issue 14, s6-cpu) ----------

  /** qemuNodeGetSEVInfo */
  async nodeGetSEVInfo({ flags }: ProcArgs<'nodeGetSEVInfo'>): Promise<ProcRet<'nodeGetSEVInfo'>> {
    const { nodeSevInfo } = await import('./launch-security.js');
    const params = await nodeSevInfo(this, flags);
    return { params, nparams: params.length };
  }

  /** qemuDomainGetLaunchSecurityInfo */
  async domainGetLaunchSecurityInfo({ dom, flags }: ProcArgs<'domainGetLaunchSecurityInfo'>): Promise<ProcRet<'domainGetLaunchSecurityInfo'>> {
    const { launchSecurityInfo } = await import('./launch-security.js');
    return { params: await launchSecurityInfo(this, dom, flags) };
  }

  /** qemuDomainSetLaunchSecurityState */
  async domainSetLaunchSecurityState({ dom, params, flags }: ProcArgs<'domainSetLaunchSecurityState'>): Promise<void> {
    const { setLaunchSecurityState } = await import('./launch-security.js');
    await setLaunchSecurityState(this, dom, params, flags);
  }

  /** qemuNodeAllocPages: VIR_NODE_ALLOC_PAGES_SET sets the pools, otherwise they grow. */
  async nodeAllocPages({ pageSizes, pageCounts, startCell, cellCount, flags }: ProcArgs<'nodeAllocPages'>): Promise<ProcRet<'nodeAllocPages'>> {
    const ALLOC_PAGES_SET = 1 << 0;
    checkFlags(flags, ALLOC_PAGES_SET, 'qemuNodeAllocPages');
    const { allocHostPages } = await import('./host-page-pool.js');
    return { ret: allocHostPages(pageSizes, pageCounts, startCell, cellCount, !(flags & ALLOC_PAGES_SET)) };
  }

  /** qemuConnectCompareCPU */
  async connectCompareCPU({ xml, flags }: ProcArgs<'connectCompareCPU'>): Promise<ProcRet<'connectCompareCPU'>> {
    const { compareWithHostCpu } = await import('./cpu-comparison.js');
    return { result: await compareWithHostCpu(this, xml, flags) };
  }

  /** qemuConnectCompareHypervisorCPU */
  async connectCompareHypervisorCPU({ emulator, arch, machine, virttype, xmlCPU, flags }: ProcArgs<'connectCompareHypervisorCPU'>): Promise<ProcRet<'connectCompareHypervisorCPU'>> {
    const { compareWithHypervisorCpu } = await import('./cpu-comparison.js');
    return { result: await compareWithHypervisorCpu(this, { emulator, arch, machine, virttype }, xmlCPU, flags) };
  }

  /** qemuNodeSuspendForDuration */
  async nodeSuspendForDuration({ target, duration, flags }: ProcArgs<'nodeSuspendForDuration'>): Promise<void> {
    const { suspendHost } = await import('./host-suspend.js');
    await suspendHost(target, duration, flags);
  }

  // ---- guest-facing entry points, session 6 (s6-guest) ----------------------------

  async domainCoreDump({ dom, to, flags }: ProcArgs<'domainCoreDump'>): Promise<void> {
    const { coreDump } = await import('./core-dump.js');
    await coreDump(this, dom, to, 0, flags);
  }

  async domainCoreDumpWithFormat({ dom, to, dumpformat, flags }: ProcArgs<'domainCoreDumpWithFormat'>): Promise<void> {
    const { coreDump } = await import('./core-dump.js');
    await coreDump(this, dom, to, dumpformat, flags);
  }

  async domainBlockPeek({ dom, path, offset, size, flags }: ProcArgs<'domainBlockPeek'>): Promise<ProcRet<'domainBlockPeek'>> {
    const { blockPeek } = await import('./peek.js');
    return { buffer: await blockPeek(this, dom, path, offset, size, flags) };
  }

  async domainMemoryPeek({ dom, offset, size, flags }: ProcArgs<'domainMemoryPeek'>): Promise<ProcRet<'domainMemoryPeek'>> {
    const { memoryPeek } = await import('./peek.js');
    return { buffer: await memoryPeek(this, dom, offset, size, flags) };
  }

  async domainDetachDeviceAlias({ dom, alias, flags }: ProcArgs<'domainDetachDeviceAlias'>): Promise<void> {
    const { detachDeviceAlias } = await import('./detach-alias.js');
    await detachDeviceAlias(this, dom, alias, flags);
  }

  async domainSetLifecycleAction({ dom, type, action, flags }: ProcArgs<'domainSetLifecycleAction'>): Promise<void> {
    const { setLifecycleAction } = await import('./lifecycle-action.js');
    await setLifecycleAction(this, dom, type, action, flags);
  }

  /** qemuDomainIsUpdated: libvirt's flag is never set by any qemu driver path, so a found domain reads 0. */
  async domainIsUpdated({ dom }: ProcArgs<'domainIsUpdated'>): Promise<ProcRet<'domainIsUpdated'>> {
    await this.objectOf(dom, READS_STATE);
    return { updated: 0 };
  }

  async domainPMSuspendForDuration({ dom, target, duration, flags }: ProcArgs<'domainPMSuspendForDuration'>): Promise<void> {
    const { pmSuspendForDuration } = await import('./pm-suspend.js');
    await pmSuspendForDuration(this, dom, target, duration, flags);
  }

  async domainStartDirtyRateCalc({ dom, seconds, flags }: ProcArgs<'domainStartDirtyRateCalc'>): Promise<void> {
    const { startDirtyRateCalc } = await import('./dirty-rate.js');
    await startDirtyRateCalc(this, dom, seconds, flags);
  }

  async domainSaveParams({ dom, params, flags }: ProcArgs<'domainSaveParams'>): Promise<void> {
    const { saveParams } = await import('./save-params.js');
    await saveParams(this, dom, params, flags);
  }

  async domainRestoreParams({ params, flags }: ProcArgs<'domainRestoreParams'>): Promise<void> {
    const { restoreParams } = await import('./save-params.js');
    await restoreParams(this, params, flags);
  }

  // ---- migration (issue 14): tunables ---------------------------------------------

  async domainMigrateSetMaxDowntime({ dom, downtime, flags }: ProcArgs<'domainMigrateSetMaxDowntime'>): Promise<void> {
    const { setMaxDowntime } = await import('./migration-tunables.js');
    await setMaxDowntime(this, dom, downtime, flags);
  }

  async domainMigrateGetMaxDowntime({ dom, flags }: ProcArgs<'domainMigrateGetMaxDowntime'>): Promise<ProcRet<'domainMigrateGetMaxDowntime'>> {
    const { maxDowntime } = await import('./migration-tunables.js');
    return { downtime: await maxDowntime(this, dom, flags) };
  }

  async domainMigrateGetCompressionCache({ dom, flags }: ProcArgs<'domainMigrateGetCompressionCache'>): Promise<ProcRet<'domainMigrateGetCompressionCache'>> {
    const { compressionCache } = await import('./migration-tunables.js');
    return { cacheSize: await compressionCache(this, dom, flags) };
  }

  async domainMigrateSetCompressionCache({ dom, cacheSize, flags }: ProcArgs<'domainMigrateSetCompressionCache'>): Promise<void> {
    const { setCompressionCache } = await import('./migration-tunables.js');
    await setCompressionCache(this, dom, cacheSize, flags);
  }

  async domainMigrateSetMaxSpeed({ dom, bandwidth, flags }: ProcArgs<'domainMigrateSetMaxSpeed'>): Promise<void> {
    const { setMaxSpeed } = await import('./migration-tunables.js');
    await setMaxSpeed(this, dom, bandwidth, flags);
  }

  async domainMigrateGetMaxSpeed({ dom, flags }: ProcArgs<'domainMigrateGetMaxSpeed'>): Promise<ProcRet<'domainMigrateGetMaxSpeed'>> {
    const { maxSpeed } = await import('./migration-tunables.js');
    return { bandwidth: await maxSpeed(this, dom, flags) };
  }

  async domainMigrateStartPostCopy({ dom, flags }: ProcArgs<'domainMigrateStartPostCopy'>): Promise<void> {
    const { startPostCopy } = await import('./migration-tunables.js');
    await startPostCopy(this, dom, flags);
  }

  // ---- migration (issue 14): version 3 with parameters (migration.ts) ------------

  async domainMigrateBegin3Params({ dom, params, flags }: ProcArgs<'domainMigrateBegin3Params'>): Promise<ProcRet<'domainMigrateBegin3Params'>> {
    const { begin } = await import('./migration.js');
    return begin(this, dom, params, flags);
  }

  async domainMigratePrepare3Params({ params, cookie_in, flags }: ProcArgs<'domainMigratePrepare3Params'>): Promise<ProcRet<'domainMigratePrepare3Params'>> {
    const { prepare } = await import('./migration.js');
    return prepare(this, params, cookie_in, flags);
  }

  async domainMigratePerform3Params({ dom, dconnuri, params, cookie_in, flags }: ProcArgs<'domainMigratePerform3Params'>): Promise<ProcRet<'domainMigratePerform3Params'>> {
    const { perform } = await import('./migration.js');
    if (flags & MigrateFlags.PEER2PEER) return (await import('./migration-p2p.js')).performPeer2Peer(this, dom, dconnuri, params, flags);
    return perform(this, dom, params, cookie_in, flags);
  }

  async domainMigrateFinish3Params({ params, flags, cancelled }: ProcArgs<'domainMigrateFinish3Params'>): Promise<ProcRet<'domainMigrateFinish3Params'>> {
    const { finish } = await import('./migration.js');
    return finish(this, params, flags, cancelled !== 0);
  }

  async domainMigrateConfirm3Params({ dom, params, flags, cancelled }: ProcArgs<'domainMigrateConfirm3Params'>): Promise<void> {
    const { confirm } = await import('./migration.js');
    await confirm(this, dom, params, flags, cancelled !== 0);
  }

  // ---- the connection's older list calls and isSecure (python3-libvirt's listDomainsID, numOfDomains, isSecure, ...) ----

  private async activeDomains(): Promise<DomainObject[]> {
    await this.syncDomains();
    return this.store.list().filter((obj) => obj.active);
  }

  private async inactiveDomains(): Promise<DomainObject[]> {
    await this.syncDomains();
    return this.store.list().filter((obj) => !obj.active);
  }

  async connectNumOfDomains(): Promise<ProcRet<'connectNumOfDomains'>> {
    return { num: (await this.activeDomains()).length };
  }

  /** virConnectListDomains: the ids of running domains, at most `maxids`. */
  async connectListDomains({ maxids }: ProcArgs<'connectListDomains'>): Promise<ProcRet<'connectListDomains'>> {
    return { ids: (await this.activeDomains()).map((obj) => obj.id).sort((a, b) => a - b).slice(0, Math.max(0, maxids)) };
  }

  async connectNumOfDefinedDomains(): Promise<ProcRet<'connectNumOfDefinedDomains'>> {
    return { num: (await this.inactiveDomains()).length };
  }

  /** virConnectListDefinedDomains: the names of defined domains that do not run, at most `maxnames`. */
  async connectListDefinedDomains({ maxnames }: ProcArgs<'connectListDefinedDomains'>): Promise<ProcRet<'connectListDefinedDomains'>> {
    return { names: (await this.inactiveDomains()).map((obj) => obj.name).sort().slice(0, Math.max(0, maxnames)) };
  }

  /** qemuConnectIsSecure: trivially secure, the driver runs inside the daemon or the caller (a remote client adds its transport's answer). */
  async connectIsSecure(): Promise<ProcRet<'connectIsSecure'>> {
    return { secure: 1 };
  }

  // ---- interface bandwidth (domiftune) ----

  async domainGetInterfaceParameters({ dom, device, nparams, flags }: ProcArgs<'domainGetInterfaceParameters'>): Promise<ProcRet<'domainGetInterfaceParameters'>> {
    const { getInterfaceParameters } = await import('./interface-tuning.js');
    return getInterfaceParameters(this, dom, device, nparams, flags);
  }

  async domainSetInterfaceParameters({ dom, device, params, flags }: ProcArgs<'domainSetInterfaceParameters'>): Promise<void> {
    const { setInterfaceParameters } = await import('./interface-tuning.js');
    await setInterfaceParameters(this, dom, device, params, flags);
  }

  // ---- taints and deprecations (virDomainGetMessages; recorded by taint.ts) ----

  /** qemuDomainGetMessages: what the running domain was tainted with; a domain that does not run has none. */
  async domainGetMessages({ dom, flags }: ProcArgs<'domainGetMessages'>): Promise<ProcRet<'domainGetMessages'>> {
    checkFlags(flags, DomainMessageType.DEPRECATION | DomainMessageType.TAINTING, 'qemuDomainGetMessages');
    // libvirt reads the messages without a job: a domain that does not run has none, and
    // dominfo asks for them on every domain, so it costs no lock (nor crypto's load)
    if ((await this.objectOf(dom, READS_STATE)).id === -1) return { msgs: [] };
    const { domainMessages } = await import('./taint.js');
    return this.runtime.withDomain(dom, async (_obj, running) => ({ msgs: running ? domainMessages(running.taint, flags) : [] }), { monitor: false });
  }

  // ---- virtio channels (virDomainOpenChannel; sessions in console.ts) ----

  /** qemuDomainOpenChannel: the bytes of a UNIX socket channel flow through `stream` until either side ends. */
  async domainOpenChannel({ dom, name, flags }: ProcArgs<'domainOpenChannel'>, stream: Duplex): Promise<void> {
    checkFlags(flags, DomainChannelFlags.FORCE, 'qemuDomainOpenChannel');
    const { channelDevice, connectConsoleStream, openChannelSession } = await import('./console.js');
    const session = await this.runtime.withRunning(dom, async (obj, running) => {
      const { chr, socketPath } = channelDevice(running.live, name);
      // one session per device, as libvirt keys its sessions by the device's source
      const owner = join(this.paths.stateDir, `${obj.name}.channel-${child(chr, 'alias')?.attrs.name ?? encodeURIComponent(socketPath)}`);
      return openChannelSession(socketPath, owner, (flags & DomainChannelFlags.FORCE) !== 0);
    }, { monitor: false });
    connectConsoleStream(session, stream);
  }

  // ---- tunnelled migration's destination (issue 14; migration-tunnel.ts, migration-p2p.ts) ----

  /** qemuDomainMigratePrepareTunnel3Params: the guest's QEMU, fed from `stream` by this daemon. */
  async domainMigratePrepareTunnel3Params({ params, cookie_in, flags }: ProcArgs<'domainMigratePrepareTunnel3Params'>, stream: Duplex): Promise<ProcRet<'domainMigratePrepareTunnel3Params'>> {
    const { prepare } = await import('./migration.js');
    const { cookie_out } = await prepare(this, params, cookie_in, flags, { stream, fn: 'qemuDomainMigratePrepareTunnel3Params' });
    return { cookie_out };
  }

  /** qemuDomainMigratePrepareTunnel3: the same, its parameters passed as arguments. */
  async domainMigratePrepareTunnel3({ cookie_in, flags, dname, dom_xml }: ProcArgs<'domainMigratePrepareTunnel3'>, stream: Duplex): Promise<ProcRet<'domainMigratePrepareTunnel3'>> {
    const [{ prepare }, { tunnelParams }] = await Promise.all([import('./migration.js'), import('./migration-tunnel.js')]);
    const { cookie_out } = await prepare(this, tunnelParams(dom_xml, dname), cookie_in, Number(flags), { stream, fn: 'qemuDomainMigratePrepareTunnel3' });
    return { cookie_out };
  }

  /** qemuDomainMigratePrepareTunnel: version 2, without cookies. */
  async domainMigratePrepareTunnel({ flags, dname, dom_xml }: ProcArgs<'domainMigratePrepareTunnel'>, stream: Duplex): Promise<void> {
    const [{ prepare }, { tunnelParams }] = await Promise.all([import('./migration.js'), import('./migration-tunnel.js')]);
    await prepare(this, tunnelParams(dom_xml, dname), Buffer.alloc(0), Number(flags), { stream, fn: 'qemuDomainMigratePrepareTunnel' });
  }

  // ---- migration (issue 14): version 3 without parameters and version 2 (migration-legacy.ts) ----

  async domainMigrateBegin3(args: ProcArgs<'domainMigrateBegin3'>): Promise<ProcRet<'domainMigrateBegin3'>> {
    const { begin3 } = await import('./migration-legacy.js');
    return begin3(this, args);
  }

  async domainMigratePrepare3(args: ProcArgs<'domainMigratePrepare3'>): Promise<ProcRet<'domainMigratePrepare3'>> {
    const { prepare3 } = await import('./migration-legacy.js');
    return prepare3(this, args);
  }

  async domainMigratePerform3(args: ProcArgs<'domainMigratePerform3'>): Promise<ProcRet<'domainMigratePerform3'>> {
    const { perform3 } = await import('./migration-legacy.js');
    return perform3(this, args);
  }

  async domainMigrateFinish3(args: ProcArgs<'domainMigrateFinish3'>): Promise<ProcRet<'domainMigrateFinish3'>> {
    const { finish3 } = await import('./migration-legacy.js');
    return finish3(this, args);
  }

  async domainMigrateConfirm3(args: ProcArgs<'domainMigrateConfirm3'>): Promise<void> {
    const { confirm3 } = await import('./migration-legacy.js');
    await confirm3(this, args);
  }

  async domainMigratePrepare2(args: ProcArgs<'domainMigratePrepare2'>): Promise<ProcRet<'domainMigratePrepare2'>> {
    const { prepare2 } = await import('./migration-legacy.js');
    return prepare2(this, args);
  }

  async domainMigratePerform(args: ProcArgs<'domainMigratePerform'>): Promise<void> {
    const { performV2 } = await import('./migration-legacy.js');
    await performV2(this, args);
  }

  async domainMigrateFinish2(args: ProcArgs<'domainMigrateFinish2'>): Promise<ProcRet<'domainMigrateFinish2'>> {
    const { finish2 } = await import('./migration-legacy.js');
    return finish2(this, args);
  }

  // ---- block threshold, guest SSH keys, URI probe (block-threshold.ts, agent-ssh-keys.ts, uri-probe.ts) ----

  /** qemuDomainSetBlockThreshold: QEMU reports the block-threshold event once the image is written past `threshold`. */
  async domainSetBlockThreshold({ dom, dev, threshold, flags }: ProcArgs<'domainSetBlockThreshold'>): Promise<void> {
    const { setBlockThreshold } = await import('./block-threshold.js');
    await setBlockThreshold(this, dom, dev, threshold, flags);
  }

  /** qemuDomainAuthorizedSSHKeysGet: the guest user's authorized keys, as the guest agent reads them. */
  async domainAuthorizedSSHKeysGet({ dom, user, flags }: ProcArgs<'domainAuthorizedSSHKeysGet'>): Promise<ProcRet<'domainAuthorizedSSHKeysGet'>> {
    const { authorizedSSHKeysGet } = await import('./agent-ssh-keys.js');
    return { keys: await authorizedSSHKeysGet(this, dom, user, flags) };
  }

  /** qemuDomainAuthorizedSSHKeysSet: adds, replaces or removes the guest user's authorized keys through the agent. */
  async domainAuthorizedSSHKeysSet({ dom, user, keys, flags }: ProcArgs<'domainAuthorizedSSHKeysSet'>): Promise<void> {
    const { authorizedSSHKeysSet } = await import('./agent-ssh-keys.js');
    await authorizedSSHKeysSet(this, dom, user, keys, flags);
  }

  // ---- CPU baselines, session 7 (s7-baseline) ----------------------------------

  /** qemuConnectBaselineCPU */
  async connectBaselineCPU({ xmlCPUs, flags }: ProcArgs<'connectBaselineCPU'>): Promise<ProcRet<'connectBaselineCPU'>> {
    const { baselineCpu } = await import('./cpu-baseline.js');
    return { cpu: baselineCpu(xmlCPUs, flags) };
  }

  /** qemuConnectBaselineHypervisorCPU */
  async connectBaselineHypervisorCPU({ emulator, arch, machine, virttype, xmlCPUs, flags }: ProcArgs<'connectBaselineHypervisorCPU'>): Promise<ProcRet<'connectBaselineHypervisorCPU'>> {
    const { baselineHypervisorCpu } = await import('./cpu-baseline.js');
    return { cpu: await baselineHypervisorCpu(this, { emulator, arch, machine, virttype }, xmlCPUs, flags) };
  }
}

/** Opens the qemu driver for a qemu:/// URI: computes the state layout, reads qemu.conf, creates the folders. */
export async function openQemuDriver(uri: ParsedURI, opts: QemuDriverOptions = {}): Promise<QemuDriver> {
  const paths = qemuPathsForURI(uri, opts.stateRoot);
  await checkStateFolders(paths);
  // synchronous, like the opening reads after it: every tsvirsh call opens the driver, and
  // a thread-pool round trip per folder cost more than the calls (most folders exist)
  for (const dir of requiredDirs(paths)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw virError(ErrorCode.SYSTEM_ERROR, `Failed to create directory '${dir}': ${(e as Error).message}`, ErrorDomain.QEMU);
    }
  }
  const config = await loadQemuDriverConfig(paths.configFile);
  const warn = opts.warn ?? ((message: string) => process.stderr.write(`tsvirt: warning: ${message}\n`));
  const driver: QemuDriver = new QemuDriver(paths, config, qemuDomainXML(() => driver), warn, opts.host ?? hostFactsFromEnvironment());
  driver.shared = opts.shared;
  driver.openPeer = opts.openPeer;
  if (opts.longLived) await driver.ownStateFolders();
  else refuseServedFolders(paths);
  await driver.store.sync();
  await driver.runtime.open(warn, { longLived: opts.longLived ?? false });
  await driver.runtime.autostart(warn);
  return driver;
}

/**
 * The registry's open for qemu:/// URIs (qemuConnectOpen): the hypervisor family;
 * the shared network and storage families join from the registry. Read-only
 * refusals are the dispatch's, from the procedure tables.
 */
export async function openQemuConnection(uri: ParsedURI, options: OpenOptions, shared?: SharedDriverAccess): Promise<ConnectionDrivers> {
  const opts: QemuDriverOptions = { ...(options.stateRoot === undefined ? {} : { stateRoot: options.stateRoot }), ...(shared ? { shared } : {}), ...(options.openPeer ? { openPeer: options.openPeer } : {}) };
  if (!options.longLived) {
    const driver = await openQemuDriver(uri, opts);
    return { hypervisor: driver, readView: (fn) => driver.readView(fn), close: () => driver.close() };
  }
  const driver = await sharedDriver(uri, opts);
  // the driver outlives its connections, as libvirtd's driver state does
  return { hypervisor: driver, events: driver.runtime.events, close: async () => undefined };
}

/** tsvirtd's drivers, one per state layout, opened by the first connection and kept for the daemon's life. */
const longLivedDrivers = new Map<string, Promise<QemuDriver>>();

function sharedDriver(uri: ParsedURI, opts: QemuDriverOptions): Promise<QemuDriver> {
  const paths = qemuPathsForURI(uri, opts.stateRoot);
  const key = `${paths.uri}\n${paths.stateDir}`;
  let opening = longLivedDrivers.get(key);
  if (!opening) {
    opening = openQemuDriver(uri, { ...opts, longLived: true });
    longLivedDrivers.set(key, opening);
    // a failed open is retried by the next connection
    opening.catch(() => longLivedDrivers.delete(key));
  }
  return opening;
}
