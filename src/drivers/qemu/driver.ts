// The embedded QEMU driver (qemu:///embed?root=DIR, qemu:///session, qemu:///system):
// no daemon, every tsvirsh process or library user opens the state folder itself.
// This module holds the connection-level API; the domain list and its files live
// in domain-store.ts, the XML pipeline in domain-xml.ts, state paths in paths.ts,
// and runtime (start/stop/QMP/hotplug) modules add their methods beside these.
//
// Cross-process safety: define/undefine (anything that adds or removes a domain
// or rewrites a config file) hold the driver lock, operations on one domain hold
// that domain's lock. Lock order is always driver lock, then domain lock.

import type { Duplex } from 'node:stream';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DomainBlockInfo, DomainBlockStats, DomainInfo, DomainInterfaceStats, DomainRef, DomainStatsRecord, DomainVcpuInfo, HypervisorDriver, NodeInfo, ParsedURI, PciTopology, StateWithReason, TypedParam } from '../../api/types.js';
import { DefineFlags, DomainXMLFlags, ModificationImpact } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { withFileLock, type LockOptions } from '../../util/file-lock.js';
import { unlinkDurable } from '../../util/atomic-file.js';
import { child, childText } from '../../util/xml.js';
import { parseBitmap } from '../../util/bitmap.js';
import { vcpuCpusets } from '../../conf/cputune.js';
import { domainCurrentMemoryKiB, domainCurrentVcpus, domainMaxMemoryKiB, domainMaxVcpus, domainName } from '../../conf/domain.js';
import { hostArch, QemuCapsCache } from './capabilities.js';
import { loadQemuDriverConfig, type QemuDriverConfig } from './config.js';
import { DomainStore } from './domain-store.js';
import type { DomainObject } from '../../conf/objects/domain-object.js';
import { oneDefinition } from '../../conf/objects/modification-impact.js';
import { LIST_DOMAINS_FILTERS_ALL, matchesDomainListFilter, type ListFilterProbes } from '../../conf/objects/domain-list-filter.js';
import { qemuDomainXML, type DomainXMLPipeline } from './domain-xml.js';
import { qemuPathsForURI, requiredDirs, type QemuPaths } from './paths.js';
import { formatCapabilities, formatDomainCapabilities, formatHostSysinfo, hostCpuMap, hostFreeMemory, hostNodeInfo } from './host-capabilities.js';
import { QemuDomainRuntime } from './domain-runtime.js';
import { processCpuTimeNs } from '../../util/process.js';
import type { HostFacts } from './host/facts.js';
import { hostFactsFromEnvironment } from './host/select.js';

export interface QemuDriverOptions {
  readonly: boolean;
  /** Where problems with state files are reported (default: a warning line on stderr). */
  warn?: (message: string) => void;
  /** The host the driver works on (default: the live host, or TSVIRT_RECORDED_HOST's record). */
  host?: HostFacts;
}

/** Rejects flags a call does not know (virCheckFlags). */
export function checkFlags(flags: number, supported: number, fn: string): void {
  const unsupported = flags & ~supported;
  if (unsupported !== 0) {
    throw virError(ErrorCode.INVALID_ARG, `unsupported flags (0x${unsupported.toString(16)}) in function ${fn}`, ErrorDomain.QEMU);
  }
}

/** virDomainUndefineFlagsValues used here */
const UNDEFINE_MANAGED_SAVE = 1 << 0;
const UNDEFINE_NVRAM = 1 << 2;
const UNDEFINE_KEEP_NVRAM = 1 << 3;

const refOf = (obj: DomainObject): DomainRef => ({ name: obj.name, uuid: obj.uuid, id: obj.id });

export class QemuDriver implements HypervisorDriver {
  readonly type = 'QEMU';
  [method: string]: unknown;
  readonly caps: QemuCapsCache;
  readonly store: DomainStore;
  /** Running domains: QEMU processes, status files, hotplug (domain-runtime.ts). */
  readonly runtime: QemuDomainRuntime;

  constructor(
    readonly paths: QemuPaths,
    readonly config: QemuDriverConfig,
    readonly xml: DomainXMLPipeline,
    readonly readonly: boolean,
    private readonly warn: (message: string) => void,
    host: HostFacts,
  ) {
    this.caps = new QemuCapsCache(paths.cacheDir, host);
    const reported = new Set<string>();
    this.store = new DomainStore(paths.configDir, paths.autostartDir, join(paths.cacheDir, 'domain-index.json'), (text, file) => xml.parseConfig(text, file), (def) => xml.format(def, { secure: true }), (file, error) => {
      // one report per file and message: sync() runs on every call
      const message = `Failed to load config file '${file}': ${error.message}`;
      if (!reported.has(message)) this.warn(message);
      reported.add(message);
    });
    this.runtime = new QemuDomainRuntime(this);
  }

  get uri(): string {
    return this.paths.uri;
  }

  async close(): Promise<void> {
    // locks are taken and released per operation; QEMUs keep running
    this.runtime.close();
  }

  // ---- locks ---------------------------------------------------------------

  /** Serialises everything that adds, removes or rewrites domains, across processes. */
  withDriverLock<T>(fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    return withFileLock(join(this.paths.lockDir, 'driver.lock'), fn, { what: 'driver lock', ...options });
  }

  /** Serialises operations on one domain across processes (libvirt's domain job). */
  withDomainLock<T>(uuid: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    return withFileLock(join(this.paths.lockDir, `domain-${uuid}.lock`), fn, { what: 'state change lock', ...options });
  }

  /** Re-reads the config files, then lays the running domains' status files over them. */
  async syncDomains(): Promise<void> {
    await this.store.sync();
    await this.runtime.sync();
  }

  // ---- lookups -------------------------------------------------------------

  /** The object behind a domain handle (qemuDomainObjFromDomain). */
  async objectOf(dom: DomainRef): Promise<DomainObject> {
    await this.syncDomains();
    const found = this.store.findByUUID(dom.uuid);
    if (found) this.store.refreshConfig(found.name);
    const obj = this.store.findByUUID(dom.uuid);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${dom.uuid}' (${dom.name})`, ErrorDomain.QEMU);
    return obj;
  }

  async domainLookupByName(name: string): Promise<DomainRef> {
    await this.syncDomains();
    const obj = this.store.findByName(name);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching name '${name}'`, ErrorDomain.QEMU);
    return refOf(obj);
  }

  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    await this.syncDomains();
    const obj = this.store.findByUUID(uuid);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${uuid.toLowerCase()}'`, ErrorDomain.QEMU);
    return refOf(obj);
  }

  async domainLookupByID(id: number): Promise<DomainRef> {
    await this.syncDomains();
    const obj = this.store.findByID(id);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching id ${id}`, ErrorDomain.QEMU);
    return refOf(obj);
  }

  async connectListAllDomains(flags: number): Promise<DomainRef[]> {
    checkFlags(flags, LIST_DOMAINS_FILTERS_ALL, 'qemuConnectListAllDomains');
    await this.syncDomains();
    return this.store
      .list()
      .filter((obj) => matchesDomainListFilter(obj, flags, this.listProbes))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(refOf);
  }

  /** What the list filter asks beside the object; the qemu driver keeps no snapshot or checkpoint metadata yet. */
  private readonly listProbes: ListFilterProbes<DomainObject> = {
    hasManagedSave: (obj) => this.hasManagedSave(obj.name),
    snapshotCount: () => 0,
    checkpointCount: () => 0,
  };

  /** Where a domain's managed save image lives (qemuDomainManagedSavePath). */
  managedSavePath(name: string): string {
    return join(this.paths.saveDir, `${name}.save`);
  }

  hasManagedSave(name: string): boolean {
    return existsSync(this.managedSavePath(name));
  }

  async domainHasManagedSaveImage(dom: DomainRef, flags: number): Promise<boolean> {
    checkFlags(flags, 0, 'qemuDomainHasManagedSaveImage');
    return this.hasManagedSave((await this.objectOf(dom)).name);
  }

  // ---- define / undefine ---------------------------------------------------

  async domainDefineXML(xml: string, flags: number): Promise<DomainRef> {
    checkFlags(flags, DefineFlags.VALIDATE, 'qemuDomainDefineXMLFlags');
    this.checkWritable('virDomainDefineXMLFlags');
    const def = await this.xml.parseNew(xml, { validateSchema: (flags & DefineFlags.VALIDATE) !== 0 });
    const name = domainName(def);
    if (name.includes('\n')) throw virError(ErrorCode.XML_DETAIL, 'invalid char in name: \n', ErrorDomain.DOMAIN);
    return this.withDriverLock(async () => {
      await this.syncDomains();
      const existing = this.store.checkAddable(def);
      const save = async () => refOf((await this.store.savePersistent(def)).obj);
      return existing ? this.withDomainLock(existing.uuid, save) : save();
    });
  }

  async domainUndefine(dom: DomainRef, flags: number): Promise<void> {
    // managed save, snapshot/checkpoint metadata, nvram, tpm: the flags virsh may pass
    checkFlags(flags, 0x7f, 'qemuDomainUndefineFlags');
    this.checkWritable('virDomainUndefineFlags');
    if ((flags & UNDEFINE_NVRAM) && (flags & UNDEFINE_KEEP_NVRAM)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot both keep and delete nvram', ErrorDomain.QEMU);
    if ((flags & 0x20) && (flags & 0x40)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot both keep and delete TPM', ErrorDomain.QEMU);
    await this.withDriverLock(async () => {
      const obj = await this.objectOf(dom);
      await this.withDomainLock(obj.uuid, async () => {
        if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot undefine transient domain', ErrorDomain.QEMU);
        await this.removeUndefinedFiles(obj, flags);
        await this.store.deleteConfig(obj);
      });
    });
  }

  /**
   * The files undefine must deal with before the config goes (qemuDomainUndefineFlags):
   * a managed save image and the per-domain NVRAM store, each removed only when
   * the caller asks, else the undefine is refused.
   */
  private async removeUndefinedFiles(obj: DomainObject, flags: number): Promise<void> {
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

  private checkWritable(api: string): void {
    if (this.readonly) throw virError(ErrorCode.OPERATION_DENIED, `read only access prevents ${api}`, ErrorDomain.NONE);
  }

  // ---- domxml-to-native (the command-line builder lives in native-argv.ts) ----

  async connectDomainXMLToNative(format: string, xml: string, flags: number): Promise<string> {
    const parseDefinition = (text: string) => this.xml.parseNew(text, { validateSchema: false });
    // the command-line builder is loaded only by the commands that need it
    const { connectDomainXMLToNative } = await import('./native-argv.js');
    return connectDomainXMLToNative({ caps: this.caps, paths: this.paths, parseDefinition }, format, xml, flags);
  }

  // ---- domain information --------------------------------------------------

  async domainGetXMLDesc(dom: DomainRef, flags: number): Promise<string> {
    checkFlags(flags, DomainXMLFlags.SECURE | DomainXMLFlags.INACTIVE | DomainXMLFlags.UPDATE_CPU | DomainXMLFlags.MIGRATABLE, 'qemuDomainGetXMLDesc');
    if ((flags & DomainXMLFlags.SECURE) && this.readonly) {
      throw virError(ErrorCode.OPERATION_DENIED, 'virDomainGetXMLDesc with secure flag', ErrorDomain.NONE);
    }
    const obj = await this.objectOf(dom);
    const def = flags & DomainXMLFlags.INACTIVE && obj.newDef ? obj.newDef : obj.def;
    return this.xml.format(def, { secure: (flags & DomainXMLFlags.SECURE) !== 0, inactive: (flags & DomainXMLFlags.INACTIVE) !== 0 || obj.id === -1 });
  }

  /** tsvirt's domtopology: the PCI tree with free hotpluggable slots and ports. */
  async domainGetPciTopology(dom: DomainRef, flags: number): Promise<PciTopology> {
    checkFlags(flags, 0, 'qemuDomainGetPciTopology');
    const obj = await this.objectOf(dom);
    const { domainPciTopology } = await import('./topology.js');
    return domainPciTopology(obj.def);
  }

  async domainGetInfo(dom: DomainRef): Promise<DomainInfo> {
    const obj = await this.objectOf(dom);
    // without cgroups, libvirt's CPU time is the QEMU process's (qemuGetProcessInfo)
    const running = obj.id === -1 ? undefined : this.runtime.runtime.get(obj.name);
    return {
      state: obj.state,
      maxMem: Number(domainMaxMemoryKiB(obj.def)),
      memory: Number(domainCurrentMemoryKiB(obj.def)),
      nrVirtCpu: domainCurrentVcpus(obj.def),
      cpuTime: (running && processCpuTimeNs(running.pid)) ?? 0n,
    };
  }

  async domainGetState(dom: DomainRef, flags: number): Promise<StateWithReason> {
    checkFlags(flags, 0, 'qemuDomainGetState');
    const obj = await this.objectOf(dom);
    return { state: obj.state, reason: obj.reason };
  }

  async domainIsActive(dom: DomainRef): Promise<boolean> {
    return (await this.objectOf(dom)).id !== -1;
  }

  async domainIsPersistent(dom: DomainRef): Promise<boolean> {
    return (await this.objectOf(dom)).persistent;
  }

  async domainGetAutostart(dom: DomainRef): Promise<boolean> {
    return (await this.objectOf(dom)).autostart;
  }

  async domainSetAutostart(dom: DomainRef, autostart: boolean): Promise<void> {
    this.checkWritable('virDomainSetAutostart');
    const obj = await this.objectOf(dom);
    await this.withDomainLock(obj.uuid, async () => {
      if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot set autostart for transient domain', ErrorDomain.QEMU);
      await this.store.setAutostart(obj, autostart);
    });
  }

  // ---- statistics (domain-stats.ts) ----------------------------------------

  async connectGetAllDomainStats(stats: number, flags: number): Promise<DomainStatsRecord[]> {
    return this.domainStats(undefined, stats, flags);
  }

  async domainListGetStats(doms: DomainRef[], stats: number, flags: number): Promise<DomainStatsRecord[]> {
    return this.domainStats(doms, stats, flags);
  }

  /** qemuConnectGetAllDomainStats: the list-filtered domains (all, or those of `doms` that still exist), one record each. */
  private async domainStats(doms: DomainRef[] | undefined, stats: number, flags: number): Promise<DomainStatsRecord[]> {
    const { checkStatsSupport, collectDomainStats, statsNeedMonitor, STATS_BACKING, STATS_ENFORCE } = await import('./domain-stats.js');
    const LIST_FILTERS = 0xff;
    const NOWAIT = 1 << 29;
    checkFlags(flags, LIST_FILTERS | NOWAIT | STATS_BACKING | STATS_ENFORCE, 'qemuConnectGetAllDomainStats');
    await this.syncDomains();
    const objs = (doms ? doms.flatMap((d) => this.store.findByUUID(d.uuid) ?? []) : this.store.list().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
      .filter((obj) => matchesDomainListFilter(obj, flags & LIST_FILTERS, this.listProbes));
    const records: DomainStatsRecord[] = [];
    for (const obj of objs) {
      const requested = checkStatsSupport(stats, (flags & STATS_ENFORCE) !== 0);
      const params = await this.runtime.withStatsSource(refOf(obj), (src) => collectDomainStats(src, requested, flags), {
        monitor: statsNeedMonitor(requested),
        nowait: (flags & NOWAIT) !== 0,
      });
      records.push({ dom: refOf(obj), params });
    }
    return records;
  }

  async domainBlockStatsFlags(dom: DomainRef, disk: string, flags: number): Promise<TypedParam[]> {
    const TYPED_PARAM_STRING_OKAY = 1 << 2;
    checkFlags(flags, TYPED_PARAM_STRING_OKAY, 'qemuDomainBlockStatsFlags');
    const { blockDeviceStats } = await import('./domain-stats.js');
    return this.runtime.withStatsSource(dom, (src) => blockDeviceStats(src, disk), { monitor: true });
  }

  /** virDomainBlockStats: the older call's four counters; QEMU counts no errors. */
  async domainBlockStats(dom: DomainRef, disk: string): Promise<DomainBlockStats> {
    const counters = new Map((await this.domainBlockStatsFlags(dom, disk, 0)).map((p) => [p.field, Number(p.value)]));
    return { rd_req: counters.get('rd_operations') ?? -1, rd_bytes: counters.get('rd_bytes') ?? -1, wr_req: counters.get('wr_operations') ?? -1, wr_bytes: counters.get('wr_bytes') ?? -1, errs: -1 };
  }

  async domainGetBlockInfo(dom: DomainRef, disk: string, flags: number): Promise<DomainBlockInfo> {
    checkFlags(flags, 0, 'qemuDomainGetBlockInfo');
    const { blockInfo } = await import('./domain-stats.js');
    return this.runtime.withStatsSource(dom, (src) => blockInfo(src, disk), { monitor: true });
  }

  async domainInterfaceStats(dom: DomainRef, device: string): Promise<DomainInterfaceStats> {
    const { interfaceCounters } = await import('./domain-stats.js');
    // libvirt reads these without a job: no monitor needed
    return this.runtime.withStatsSource(dom, async (src) => interfaceCounters(src, device), { monitor: false });
  }

  async domainMemoryStats(dom: DomainRef, flags: number): Promise<TypedParam[]> {
    checkFlags(flags, 0, 'qemuDomainMemoryStats');
    const { memoryStats } = await import('./domain-stats.js');
    return this.runtime.withStatsSource(dom, (src) => memoryStats(src), { monitor: true });
  }

  async domainGetVcpus(dom: DomainRef, maxinfo: number): Promise<{ info: DomainVcpuInfo[]; cpumaps: number[][] }> {
    const { vcpuInfo } = await import('./domain-stats.js');
    return this.runtime.withStatsSource(dom, (src) => vcpuInfo(src, maxinfo), { monitor: true });
  }

  /** qemuDomainGetVcpusFlags: from the live or the persistent definition; tsvirt connects no guest agent. */
  async domainGetVcpusFlags(dom: DomainRef, flags: number): Promise<number> {
    const VCPU_MAXIMUM = 1 << 2;
    const VCPU_GUEST = 1 << 3;
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG | VCPU_MAXIMUM | VCPU_GUEST, 'qemuDomainGetVcpusFlags');
    const obj = await this.objectOf(dom);
    const { def } = oneDefinition(obj, flags);
    if (flags & VCPU_GUEST) {
      if (obj.id === -1) throw virError(ErrorCode.INVALID_ARG, 'vCPU count provided by the guest agent can only be requested for live domains', ErrorDomain.QEMU);
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'QEMU guest agent is not configured', ErrorDomain.QEMU);
    }
    return flags & VCPU_MAXIMUM ? domainMaxVcpus(def) : domainCurrentVcpus(def);
  }

  /** qemuDomainGetVcpuPinInfo: from the live or the persistent definition; an unpinned vCPU may use every online host CPU. */
  async domainGetVcpuPinInfo(dom: DomainRef, ncpumaps: number, flags: number): Promise<number[][]> {
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainGetVcpuPinInfo');
    const { def } = oneDefinition(await this.objectOf(dom), flags);
    const online = hostCpuMap().online.flatMap((on, cpu) => (on ? [cpu] : []));
    return vcpuCpusets(def, ncpumaps).map((cpuset) => (cpuset === undefined ? online : [...(parseBitmap(cpuset) ?? [])].sort((a, b) => a - b)));
  }

  // ---- running domains (domain-runtime.ts) ---------------------------------

  domainCreate(dom: DomainRef, flags: number): Promise<DomainRef> {
    this.checkWritable('virDomainCreateWithFlags');
    return this.runtime.domainCreate(dom, flags);
  }

  domainCreateXML(xml: string, flags: number): Promise<DomainRef> {
    this.checkWritable('virDomainCreateXML');
    return this.runtime.domainCreateXML(xml, flags);
  }

  domainShutdown(dom: DomainRef, flags: number): Promise<void> {
    this.checkWritable('virDomainShutdownFlags');
    return this.runtime.domainShutdown(dom, flags);
  }

  domainDestroy(dom: DomainRef, flags: number): Promise<void> {
    this.checkWritable('virDomainDestroyFlags');
    return this.runtime.domainDestroy(dom, flags);
  }

  domainOpenConsole(dom: DomainRef, devName: string | null, flags: number): Promise<Duplex> {
    this.checkWritable('virDomainOpenConsole');
    return this.runtime.domainOpenConsole(dom, devName, flags);
  }

  domainReboot(dom: DomainRef, flags: number): Promise<void> {
    this.checkWritable('virDomainReboot');
    return this.runtime.domainReboot(dom, flags);
  }

  domainReset(dom: DomainRef, flags: number): Promise<void> {
    this.checkWritable('virDomainReset');
    return this.runtime.domainReset(dom, flags);
  }

  domainSuspend(dom: DomainRef): Promise<void> {
    this.checkWritable('virDomainSuspend');
    return this.runtime.domainSuspend(dom);
  }

  domainResume(dom: DomainRef): Promise<void> {
    this.checkWritable('virDomainResume');
    return this.runtime.domainResume(dom);
  }

  domainSetMemoryStatsPeriod(dom: DomainRef, period: number, flags: number): Promise<void> {
    this.checkWritable('virDomainSetMemoryStatsPeriod');
    return this.runtime.domainSetMemoryStatsPeriod(dom, period, flags);
  }

  domainAttachDeviceFlags(dom: DomainRef, xml: string, flags: number): Promise<void> {
    this.checkWritable('virDomainAttachDeviceFlags');
    return this.runtime.domainAttachDeviceFlags(dom, xml, flags);
  }

  domainDetachDeviceFlags(dom: DomainRef, xml: string, flags: number): Promise<void> {
    this.checkWritable('virDomainDetachDeviceFlags');
    return this.runtime.domainDetachDeviceFlags(dom, xml, flags);
  }

  // ---- host ----------------------------------------------------------------

  async connectGetHostname(): Promise<string> {
    return hostname();
  }

  /** Version of the QEMU binary for the host's arch (virQEMUCapsGetDefaultVersion). */
  async connectGetVersion(): Promise<number> {
    return (await this.caps.forArch(hostArch())).versionNumber;
  }

  async connectGetSysinfo(flags = 0): Promise<string> {
    checkFlags(flags, 0, 'qemuConnectGetSysinfo');
    return formatHostSysinfo();
  }

  async nodeGetInfo(): Promise<NodeInfo> {
    return hostNodeInfo();
  }

  async nodeGetCPUMap(): Promise<{ online: boolean[] }> {
    return hostCpuMap();
  }

  async nodeGetFreeMemory(): Promise<bigint> {
    return hostFreeMemory();
  }

  /** qemuConnectGetMaxVcpus: TCG's historical limit; KVM's needs an ioctl tsvirt cannot make. */
  async connectGetMaxVcpus(type: string | undefined): Promise<number> {
    if (type === undefined || type.toLowerCase() === 'qemu') return 16;
    if (type.toLowerCase() === 'kvm') {
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'the KVM vCPU limit cannot be queried; use domcapabilities', ErrorDomain.QEMU);
    }
    throw virError(ErrorCode.INVALID_ARG, `unknown type '${type}'`, ErrorDomain.QEMU);
  }

  async connectGetCapabilities(): Promise<string> {
    return formatCapabilities(this);
  }

  async connectGetDomainCapabilities(emulator: string | undefined, arch: string | undefined, machine: string | undefined, virttype: string | undefined): Promise<string> {
    return formatDomainCapabilities(this, { emulator, arch, machine, virttype });
  }
}

/** Opens a qemu:/// connection: computes the state layout, reads qemu.conf, creates the folders. */
export async function openQemuDriver(uri: ParsedURI, opts: QemuDriverOptions): Promise<QemuDriver> {
  const paths = qemuPathsForURI(uri);
  for (const dir of requiredDirs(paths)) {
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw virError(ErrorCode.SYSTEM_ERROR, `Failed to create directory '${dir}': ${(e as Error).message}`, ErrorDomain.QEMU);
    }
  }
  const config = await loadQemuDriverConfig(paths.configFile);
  const warn = opts.warn ?? ((message: string) => process.stderr.write(`tsvirt: warning: ${message}\n`));
  const driver: QemuDriver = new QemuDriver(paths, config, qemuDomainXML(() => driver), opts.readonly, warn, opts.host ?? hostFactsFromEnvironment());
  await driver.store.sync();
  await driver.runtime.open(warn);
  await driver.runtime.autostart(warn);
  return driver;
}
