// The test driver's domain calls: lookups and listing, define/create/undefine,
// lifecycle with libvirt's state reasons, information, memory, vCPUs, stats, metadata.

import { formatDomainXML } from '../../conf/domain.js';
import { domainMetadata, setDomainMetadata } from '../../conf/domain-metadata.js';
import { networkFirstIP } from '../../conf/network.js';
import { DefinedDetail, DomainEventType, ResumedDetail, StartedDetail, StoppedDetail, SuspendedDetail, UndefinedDetail } from '../../driver/event-numbers.js';
import { DomainMessageType, DomainState, DomainStatsTypes, PausedReason, RunningReason, ShutoffReason } from '../../driver/flags.js';
import type { HypervisorDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { typedParam, type TypedParam } from '../../driver/typed-params.js';
import { findDiskByName, findInterface } from '../../conf/device-lookup.js';
import { activeMemballoon, setMemballoonPeriod } from '../../conf/devices/memballoon.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { formatIPAddress, offsetIPAddress, parseIPAddress } from '../../util/ip-address.js';
import { parseUUID } from '../../util/uuid.js';
import { child, type XmlElement } from '../../util/xml.js';
import { generateIfnames, parseTestDomainXML } from './domain-xml.js';
import { DomainObj, textOf } from './node.js';
import { domainListFilter, type ListFilterProbes } from '../../conf/objects/domain-list-filter.js';
import { definitionsFor, oneDefinition } from '../../conf/objects/modification-impact.js';
import {
  TestObjects,
  cChars,
  checkFlags,
  devices,
  flag,
  wanted,
  MAX_VCPUS,
  AFFECT_LIVE,
  AFFECT_CONFIG,
  MEM_MAXIMUM,
  VCPU_MAXIMUM,
  XML_SECURE,
  XML_INACTIVE,
  XML_MIGRATABLE,
  UNDEFINE_MANAGED_SAVE,
  UNDEFINE_SNAPSHOTS_METADATA,
  DEFINE_VALIDATE,
  START_VALIDATE,
  type DomainRef,
} from './objects.js';

/** virDomainMemoryStatTags */
enum MemoryStat {
  SWAP_IN = 0,
  SWAP_OUT = 1,
  MAJOR_FAULT = 2,
  MINOR_FAULT = 3,
  UNUSED = 4,
  AVAILABLE = 5,
  ACTUAL_BALLOON = 6,
  RSS = 7,
  USABLE = 8,
  LAST_UPDATE = 9,
  DISK_CACHES = 10,
  HUGETLB_PGALLOC = 11,
  HUGETLB_PGFAIL = 12,
}

export class DomainAPI extends TestObjects implements HypervisorDriver {
  async connectListAllDomains({ need_results, flags }: ProcArgs<'connectListAllDomains'>): Promise<ProcRet<'connectListAllDomains'>> {
    checkFlags(flags, 0xffff, 'testConnectListAllDomains');
    const domains = this.node.domains.all().filter(domainListFilter(flags, this.listProbes)).map((d) => this.refOf(d));
    return { domains: wanted(domains, need_results), ret: domains.length };
  }

  /** What the list filter asks beside the object; the test driver keeps no checkpoints. */
  private readonly listProbes: ListFilterProbes<DomainObj> = {
    hasManagedSave: (d) => d.hasManagedSave,
    snapshotCount: (d) => d.snapshots.all.length,
    checkpointCount: () => 0,
  };

  async domainLookupByName({ name }: ProcArgs<'domainLookupByName'>): Promise<ProcRet<'domainLookupByName'>> {
    const d = this.node.domains.findByName(name);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return { dom: this.refOf(d) };
  }
  async domainLookupByUUID({ uuid }: ProcArgs<'domainLookupByUUID'>): Promise<ProcRet<'domainLookupByUUID'>> {
    const wantedUUID = parseUUID(uuid);
    const d = wantedUUID === undefined ? undefined : this.node.domains.findByUUID(wantedUUID);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return { dom: this.refOf(d) };
  }
  async domainLookupByID({ id }: ProcArgs<'domainLookupByID'>): Promise<ProcRet<'domainLookupByID'>> {
    const d = this.node.domains.findByID(id);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return { dom: this.refOf(d) };
  }

  async domainDefineXML({ xml }: ProcArgs<'domainDefineXML'>): Promise<ProcRet<'domainDefineXML'>> {
    return { dom: this.define(xml, 0) };
  }
  async domainDefineXMLFlags({ xml, flags }: ProcArgs<'domainDefineXMLFlags'>): Promise<ProcRet<'domainDefineXMLFlags'>> {
    return { dom: this.define(xml, flags) };
  }

  /** testDomainDefineXMLFlags */
  private define(xml: string, flags: number): DomainRef {
    checkFlags(flags, DEFINE_VALIDATE, 'testDomainDefineXMLFlags');
    const def = parseTestDomainXML(xml, (flags & DEFINE_VALIDATE) !== 0);
    generateIfnames(def);
    const existing = this.node.findDomainForAdd(def, false);
    let obj: DomainObj;
    if (existing) {
      obj = existing;
      // virDomainObjAssignDef: a running domain keeps its live definition.
      if (this.isActive(obj)) obj.newDef = def;
      else obj.def = def;
    } else {
      obj = new DomainObj(def, true);
      this.node.domains.add(obj);
    }
    obj.persistent = true;
    this.domainEvent(obj, DomainEventType.DEFINED, existing ? DefinedDetail.UPDATED : DefinedDetail.ADDED);
    return this.refOf(obj);
  }

  async domainCreateXML({ xml_desc, flags }: ProcArgs<'domainCreateXML'>): Promise<ProcRet<'domainCreateXML'>> {
    checkFlags(flags, START_VALIDATE, 'testDomainCreateXML');
    const def = parseTestDomainXML(xml_desc, (flags & START_VALIDATE) !== 0);
    generateIfnames(def);
    const existing = this.node.findDomainForAdd(def, true);
    let obj: DomainObj;
    if (existing) {
      obj = existing;
      obj.newDef = obj.def;
      obj.def = def;
    } else {
      obj = new DomainObj(def, false);
      this.node.domains.add(obj);
    }
    this.startState(obj, RunningReason.BOOTED);
    this.domainEvent(obj, DomainEventType.STARTED, StartedDetail.BOOTED);
    return { dom: this.refOf(obj) };
  }

  async domainUndefine({ dom }: ProcArgs<'domainUndefine'>): Promise<void> {
    this.undefine(dom, 0);
  }
  async domainUndefineFlags({ dom, flags }: ProcArgs<'domainUndefineFlags'>): Promise<void> {
    this.undefine(dom, flags);
  }

  /** testDomainUndefineFlags: a running domain only loses its persistence. */
  private undefine(dom: DomainRef, flags: number): void {
    checkFlags(flags, UNDEFINE_MANAGED_SAVE | UNDEFINE_SNAPSHOTS_METADATA, 'testDomainUndefineFlags');
    const obj = this.domainObj(dom);
    if (obj.hasManagedSave && !(flags & UNDEFINE_MANAGED_SAVE)) {
      throw virError(ErrorCode.OPERATION_INVALID, 'Refusing to undefine while domain managed save image exists', ErrorDomain.DOMAIN);
    }
    const nsnapshots = obj.snapshots.all.length;
    if (!this.isActive(obj) && nsnapshots > 0 && !(flags & UNDEFINE_SNAPSHOTS_METADATA)) {
      throw virError(ErrorCode.OPERATION_INVALID, `cannot delete inactive domain with ${nsnapshots} snapshots`, ErrorDomain.DOMAIN);
    }
    this.domainEvent(obj, DomainEventType.UNDEFINED, UndefinedDetail.REMOVED);
    obj.hasManagedSave = false;
    if (this.isActive(obj)) {
      obj.persistent = false;
      obj.newDef = undefined;
    } else {
      this.removeDomain(obj);
    }
  }

  async domainCreate({ dom }: ProcArgs<'domainCreate'>): Promise<void> {
    this.start(dom, 0);
  }
  async domainCreateWithFlags({ dom, flags }: ProcArgs<'domainCreateWithFlags'>): Promise<ProcRet<'domainCreateWithFlags'>> {
    return { dom: this.start(dom, flags) };
  }

  /** testDomainCreateWithFlags: the started domain, with its new id. */
  private start(dom: DomainRef, flags: number): DomainRef {
    checkFlags(flags, 0, 'testDomainCreateWithFlags');
    const obj = this.domainObj(dom);
    if (obj.state !== DomainState.SHUTOFF) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Domain '${dom.name}' is already running`, ErrorDomain.TEST);
    }
    this.startState(obj, RunningReason.BOOTED);
    this.domainEvent(obj, DomainEventType.STARTED, StartedDetail.BOOTED);
    return this.refOf(obj);
  }

  async domainDestroy({ dom }: ProcArgs<'domainDestroy'>): Promise<void> {
    this.destroy(dom, 0);
  }
  async domainDestroyFlags({ dom, flags }: ProcArgs<'domainDestroyFlags'>): Promise<void> {
    this.destroy(dom, flags);
  }

  /** testDomainDestroyFlags: a transient domain is gone afterwards. */
  private destroy(dom: DomainRef, flags: number): void {
    checkFlags(flags, 1, 'testDomainDestroyFlags');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    this.shutdownState(obj, ShutoffReason.DESTROYED, StoppedDetail.DESTROYED);
    if (!obj.persistent) this.removeDomain(obj);
  }

  /** testDomainActionSetState: what on_poweroff/on_reboot do to a running domain (a restart raises no event). */
  private lifecycleAction(obj: DomainObj, action: string): void {
    if (action === 'restart' || action === 'rename-restart') {
      this.setState(obj, DomainState.RUNNING, RunningReason.BOOTED);
      return;
    }
    this.shutdownState(obj, ShutoffReason.SHUTDOWN, StoppedDetail.SHUTDOWN);
    if (!obj.persistent) this.removeDomain(obj);
  }

  async domainShutdown({ dom }: ProcArgs<'domainShutdown'>): Promise<void> {
    this.shutdown(dom, 0);
  }
  async domainShutdownFlags({ dom, flags }: ProcArgs<'domainShutdownFlags'>): Promise<void> {
    this.shutdown(dom, flags);
  }

  /** testDomainShutdownFlags: whatever <on_poweroff> says (destroy by default). */
  private shutdown(dom: DomainRef, flags: number): void {
    checkFlags(flags, 0, 'testDomainShutdownFlags');
    const obj = this.domainObj(dom);
    if (obj.state === DomainState.SHUTOFF) throw virError(ErrorCode.INTERNAL_ERROR, `domain '${dom.name}' not running`, ErrorDomain.TEST);
    this.lifecycleAction(obj, textOf(obj.def, 'on_poweroff') || 'destroy');
  }

  async domainReboot({ dom, flags }: ProcArgs<'domainReboot'>): Promise<void> {
    checkFlags(flags, 0x3f, 'testDomainReboot');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    this.lifecycleAction(obj, textOf(obj.def, 'on_reboot') || 'restart');
  }

  async domainReset({ dom, flags }: ProcArgs<'domainReset'>): Promise<void> {
    checkFlags(flags, 0, 'testDomainReset');
    this.checkActive(this.domainObj(dom));
  }

  async domainSuspend({ dom }: ProcArgs<'domainSuspend'>): Promise<void> {
    const obj = this.domainObj(dom);
    if (obj.state === DomainState.SHUTOFF || obj.state === DomainState.PAUSED) {
      throw virError(ErrorCode.INTERNAL_ERROR, `domain '${dom.name}' not running`, ErrorDomain.TEST);
    }
    this.setState(obj, DomainState.PAUSED, PausedReason.USER);
    this.domainEvent(obj, DomainEventType.SUSPENDED, SuspendedDetail.PAUSED);
  }

  async domainResume({ dom }: ProcArgs<'domainResume'>): Promise<void> {
    const obj = this.domainObj(dom);
    if (obj.state !== DomainState.PAUSED) throw virError(ErrorCode.INTERNAL_ERROR, `domain '${dom.name}' not paused`, ErrorDomain.TEST);
    this.setState(obj, DomainState.RUNNING, RunningReason.UNPAUSED);
    this.domainEvent(obj, DomainEventType.RESUMED, ResumedDetail.UNPAUSED);
  }

  async domainManagedSave({ dom, flags }: ProcArgs<'domainManagedSave'>): Promise<void> {
    checkFlags(flags, 1 | 2 | 4, 'testDomainManagedSave');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot do managed save for transient domain', ErrorDomain.TEST);
    this.shutdownState(obj, ShutoffReason.SAVED, StoppedDetail.SAVED);
    obj.hasManagedSave = true;
  }

  async domainRename({ dom, new_name, flags }: ProcArgs<'domainRename'>): Promise<ProcRet<'domainRename'>> {
    checkFlags(flags, 0, 'testDomainRename');
    if (new_name === null) throw virError(ErrorCode.INVALID_ARG, 'new_name in virDomainRename must not be NULL', ErrorDomain.DOMAIN);
    const obj = this.domainObj(dom);
    if (this.isActive(obj)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot rename active domain', ErrorDomain.TEST);
    if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot rename a transient domain', ErrorDomain.TEST);
    if (this.node.domains.findByName(new_name)) {
      throw virError(ErrorCode.OPERATION_INVALID, `domain with name '${new_name}' already exists`, ErrorDomain.DOMAIN);
    }
    if (new_name.includes('/')) throw virError(ErrorCode.XML_ERROR, `name ${new_name} cannot contain '/'`, ErrorDomain.TEST);
    this.domainEvent(obj, DomainEventType.UNDEFINED, UndefinedDetail.RENAMED);
    child(obj.def, 'name')!.text = new_name;
    this.node.domains.rename(obj, new_name);
    this.domainEvent(obj, DomainEventType.DEFINED, DefinedDetail.RENAMED);
    return { retcode: 0 };
  }

  async domainSetTime({ dom, seconds, flags }: ProcArgs<'domainSetTime'>): Promise<void> {
    checkFlags(flags, 1, 'testDomainSetTime');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    obj.seconds = Number(seconds);
  }

  async domainHasManagedSaveImage({ dom, flags }: ProcArgs<'domainHasManagedSaveImage'>): Promise<ProcRet<'domainHasManagedSaveImage'>> {
    checkFlags(flags, 0, 'testDomainHasManagedSaveImage');
    return { result: flag(this.domainObj(dom).hasManagedSave) };
  }
  async domainManagedSaveRemove({ dom, flags }: ProcArgs<'domainManagedSaveRemove'>): Promise<void> {
    checkFlags(flags, 0, 'testDomainManagedSaveRemove');
    this.domainObj(dom).hasManagedSave = false;
  }

  async domainGetXMLDesc({ dom, flags }: ProcArgs<'domainGetXMLDesc'>): Promise<ProcRet<'domainGetXMLDesc'>> {
    checkFlags(flags, XML_SECURE | XML_INACTIVE | XML_MIGRATABLE, 'testDomainGetXMLDesc');
    const obj = this.domainObj(dom);
    const inactive = (flags & XML_INACTIVE) !== 0;
    const def = inactive ? this.persistentDef(obj) : obj.def;
    return { xml: formatDomainXML(def, { inactive: inactive || !this.isActive(obj), secure: (flags & XML_SECURE) !== 0, id: obj.id }) };
  }

  async domainGetState({ dom, flags }: ProcArgs<'domainGetState'>): Promise<ProcRet<'domainGetState'>> {
    checkFlags(flags, 0, 'testDomainGetState');
    const obj = this.domainObj(dom);
    return { state: obj.state, reason: obj.reason };
  }

  async domainGetInfo({ dom }: ProcArgs<'domainGetInfo'>): Promise<ProcRet<'domainGetInfo'>> {
    const obj = this.domainObj(dom);
    return {
      state: obj.state,
      maxMem: BigInt(textOf(obj.def, 'memory')),
      memory: BigInt(textOf(obj.def, 'currentMemory')),
      nrVirtCpu: this.vcpus(obj.def).current,
      cpuTime: BigInt(Date.now()) * 1000000n,
    };
  }

  async domainIsActive({ dom }: ProcArgs<'domainIsActive'>): Promise<ProcRet<'domainIsActive'>> {
    return { active: flag(this.isActive(this.domainObj(dom))) };
  }
  async domainIsPersistent({ dom }: ProcArgs<'domainIsPersistent'>): Promise<ProcRet<'domainIsPersistent'>> {
    return { persistent: flag(this.domainObj(dom).persistent) };
  }
  async domainIsUpdated({ dom }: ProcArgs<'domainIsUpdated'>): Promise<ProcRet<'domainIsUpdated'>> {
    this.domainObj(dom);
    return { updated: 0 };
  }
  async domainGetAutostart({ dom }: ProcArgs<'domainGetAutostart'>): Promise<ProcRet<'domainGetAutostart'>> {
    return { autostart: flag(this.domainObj(dom).autostart) };
  }
  async domainSetAutostart({ dom, autostart }: ProcArgs<'domainSetAutostart'>): Promise<void> {
    this.domainObj(dom).autostart = autostart !== 0;
  }
  async domainGetOSType({ dom }: ProcArgs<'domainGetOSType'>): Promise<ProcRet<'domainGetOSType'>> {
    this.domainObj(dom);
    return { type: 'linux' };
  }

  /** testDomainGetSecurityLabel: running domains carry the enforcing label "libvirt-test". */
  async domainGetSecurityLabel({ dom }: ProcArgs<'domainGetSecurityLabel'>): Promise<ProcRet<'domainGetSecurityLabel'>> {
    const active = this.isActive(this.domainObj(dom));
    return { label: cChars(active ? 'libvirt-test' : ''), enforcing: flag(active) };
  }

  /** testDomainGetMessages: virDomainObjGetMessages lists taints and deprecations, which the test driver never records. */
  async domainGetMessages({ dom, flags }: ProcArgs<'domainGetMessages'>): Promise<ProcRet<'domainGetMessages'>> {
    checkFlags(flags, DomainMessageType.DEPRECATION | DomainMessageType.TAINTING, 'testDomainGetMessages');
    this.domainObj(dom);
    return { msgs: [] };
  }

  async domainGetHostname({ dom, flags }: ProcArgs<'domainGetHostname'>): Promise<ProcRet<'domainGetHostname'>> {
    checkFlags(flags, 0, 'testDomainGetHostname');
    this.checkActive(this.domainObj(dom));
    return { hostname: `${dom.name}host` };
  }

  async domainGetTime({ dom, flags }: ProcArgs<'domainGetTime'>): Promise<ProcRet<'domainGetTime'>> {
    checkFlags(flags, 0, 'testDomainGetTime');
    const obj = this.domainObj(dom);
    if (obj.state !== DomainState.RUNNING) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.TEST);
    return { seconds: BigInt(obj.seconds), nseconds: 0 };
  }

  async domainGetControlInfo({ dom, flags }: ProcArgs<'domainGetControlInfo'>): Promise<ProcRet<'domainGetControlInfo'>> {
    checkFlags(flags, 0, 'testDomainGetControlInfo');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    const s = obj.seconds;
    if (s > 0 && s < 10000) return { state: 1, details: 0, stateTime: BigInt(s) };
    if (s >= 10000 && s < 30000) return { state: 2, details: 0, stateTime: BigInt(s - 10000) };
    if (s >= 30000 && s < 60000) return { state: 3, details: s % 4, stateTime: BigInt(s - 30000) };
    return { state: 0, details: 0, stateTime: 0n };
  }

  /** testDomainGetDiskErrors: asked for none (maxerrors 0), only how many disks could report one. */
  async domainGetDiskErrors({ dom, maxerrors, flags }: ProcArgs<'domainGetDiskErrors'>): Promise<ProcRet<'domainGetDiskErrors'>> {
    checkFlags(flags, 0, 'testDomainGetDiskErrors');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    const disks = this.disks(obj.def);
    if (maxerrors === 0) return { errors: [], nerrors: disks.length };
    // virDomainDiskErrorCode cycles through UNSPEC (1) and NO_SPACE (2).
    const errors = disks.slice(0, maxerrors).map((d, i) => ({ disk: child(d, 'target')?.attrs.dev ?? '', error: (i % 2) + 1 }));
    return { errors, nerrors: errors.length };
  }

  async domainGetBlockInfo({ dom, path, flags }: ProcArgs<'domainGetBlockInfo'>): Promise<ProcRet<'domainGetBlockInfo'>> {
    checkFlags(flags, 0, 'testDomainGetBlockInfo');
    const obj = this.domainObj(dom);
    const found = this.disks(obj.def).find((d) => child(d, 'target')?.attrs.dev === path || this.diskSource(d) === path);
    if (!found) throw virError(ErrorCode.INVALID_ARG, `invalid path ${path} not assigned to domain`, ErrorDomain.TEST);
    if (this.diskSource(found) === undefined) {
      throw virError(ErrorCode.INVALID_ARG, `disk '${path}' does not currently have a source assigned`, ErrorDomain.TEST);
    }
    return { capacity: 1099506450432n, allocation: 1099511627776n, physical: 1099511627776n };
  }

  private diskSource(disk: XmlElement): string | undefined {
    const src = child(disk, 'source');
    return src?.attrs.file ?? src?.attrs.dev ?? src?.attrs.dir ?? src?.attrs.name ?? src?.attrs.volume;
  }

  async domainInterfaceAddresses({ dom, source, flags }: ProcArgs<'domainInterfaceAddresses'>): Promise<ProcRet<'domainInterfaceAddresses'>> {
    checkFlags(flags, 0, 'testDomainInterfaceAddresses');
    if (source > 2) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `Unknown IP address data source ${source}`, ErrorDomain.TEST);
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    const ifaces = devices(obj.def)
      .filter((d) => d.name === 'interface')
      .map((net, i) => {
        const name = child(net, 'target')?.attrs.dev ?? '';
        const hwaddr = child(net, 'mac')?.attrs.address ?? '';
        if (net.attrs.type !== 'network') return { name, hwaddr, addrs: [{ type: 0, addr: `192.168.0.${1 + i}`, prefix: 24 }] };
        // A different address per interface and domain, counted from the network's first DHCP address.
        const offset = 20 * (obj.id - 1) + i + 1;
        const network = this.networkObj({ name: child(net, 'source')?.attrs.network ?? '', uuid: '' }, 'name');
        const ip = networkFirstIP(network.def);
        if (!ip) return { name, hwaddr, addrs: [] };
        const base = parseIPAddress(ip.firstRangeStart ?? ip.address)!;
        return { name, hwaddr, addrs: [{ type: ip.family === 'ipv6' ? 1 : 0, addr: formatIPAddress(offsetIPAddress(base, offset)), prefix: ip.prefix }] };
      });
    return { ifaces };
  }

  private setMemoryElement(def: XmlElement, name: 'memory' | 'currentMemory', kib: number): void {
    const el = child(def, name);
    if (el) {
      el.text = String(kib);
      el.attrs = { unit: 'KiB' };
    }
  }

  async domainSetMemoryFlags({ dom, memory, flags }: ProcArgs<'domainSetMemoryFlags'>): Promise<void> {
    this.setMemory(dom, Number(memory), flags);
  }
  async domainSetMemory({ dom, memory }: ProcArgs<'domainSetMemory'>): Promise<void> {
    this.setMemory(dom, Number(memory), AFFECT_LIVE);
  }
  async domainSetMaxMemory({ dom, memory }: ProcArgs<'domainSetMaxMemory'>): Promise<void> {
    this.setMemory(dom, Number(memory), MEM_MAXIMUM);
  }

  /** testDomainSetMemoryFlags: the current or (MEM_MAXIMUM) the maximum memory, in KiB. */
  private setMemory(dom: DomainRef, kib: number, flags: number): void {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | MEM_MAXIMUM, 'testDomainSetMemoryFlags');
    const obj = this.domainObj(dom);
    const { def, live } = oneDefinition(obj, flags & ~MEM_MAXIMUM);
    if (flags & MEM_MAXIMUM) {
      if (live) throw virError(ErrorCode.OPERATION_INVALID, 'cannot resize the maximum memory on an active domain', ErrorDomain.TEST);
      const maxMemory = child(def, 'maxMemory');
      if (maxMemory && Number(maxMemory.text) < kib) {
        throw virError(ErrorCode.OPERATION_INVALID, 'cannot set initial memory size greater than the maximum memory size', ErrorDomain.TEST);
      }
      this.setMemoryElement(def, 'memory', kib);
      if (Number(textOf(def, 'currentMemory')) > kib) this.setMemoryElement(def, 'currentMemory', kib);
      return;
    }
    if (kib > Number(textOf(def, 'memory'))) throw virError(ErrorCode.INVALID_ARG, 'cannot set memory higher than max memory', ErrorDomain.TEST);
    this.setMemoryElement(def, 'currentMemory', kib);
  }
  async domainGetMaxMemory({ dom }: ProcArgs<'domainGetMaxMemory'>): Promise<ProcRet<'domainGetMaxMemory'>> {
    return { memory: BigInt(textOf(this.domainObj(dom).def, 'memory')) };
  }

  /** testDomainSetMemoryStatsPeriod: the balloon's <stats period>, which a period of 0 removes. */
  async domainSetMemoryStatsPeriod({ dom, period, flags }: ProcArgs<'domainSetMemoryStatsPeriod'>): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainSetMemoryStatsPeriod');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const balloon = activeMemballoon(def);
    if (!balloon) throw virError(ErrorCode.INTERNAL_ERROR, 'No memory balloon device configured, can not set the collection period', ErrorDomain.TEST);
    setMemballoonPeriod(balloon, period);
  }

  /** testDomainMemoryStats: made up from the current balloon size, up to maxStats of them. */
  async domainMemoryStats({ dom, maxStats, flags }: ProcArgs<'domainMemoryStats'>): Promise<ProcRet<'domainMemoryStats'>> {
    checkFlags(flags, 0, 'testDomainMemoryStats');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    if (!devices(obj.def).some((d) => d.name === 'memballoon' && d.attrs.model !== 'none')) return { stats: [] };
    const cur = Number(textOf(obj.def, 'currentMemory'));
    const half = Math.floor(cur / 2);
    const stats: [MemoryStat, number][] = [
      [MemoryStat.ACTUAL_BALLOON, cur], [MemoryStat.SWAP_IN, 0], [MemoryStat.SWAP_OUT, 0], [MemoryStat.MAJOR_FAULT, 0],
      [MemoryStat.MINOR_FAULT, 0], [MemoryStat.UNUSED, half], [MemoryStat.AVAILABLE, cur], [MemoryStat.USABLE, half],
      [MemoryStat.LAST_UPDATE, 627319920], [MemoryStat.DISK_CACHES, Math.floor(cur / 8)], [MemoryStat.HUGETLB_PGALLOC, 0],
      [MemoryStat.HUGETLB_PGFAIL, 0], [MemoryStat.RSS, half],
    ];
    return { stats: stats.slice(0, maxStats).map(([tag, val]) => ({ tag, val: BigInt(val) })) };
  }

  /** testDomainBlockStats: counters made up from the clock, for one disk only. */
  async domainBlockStats({ dom, path }: ProcArgs<'domainBlockStats'>): Promise<ProcRet<'domainBlockStats'>> {
    if (!path) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'summary statistics are not supported yet', ErrorDomain.TEST);
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    if (!findDiskByName(obj.def, path)) throw virError(ErrorCode.INVALID_ARG, `invalid path: ${path}`, ErrorDomain.TEST);
    const c = clockCounter();
    return { rd_req: c(10), rd_bytes: c(20), wr_req: c(30), wr_bytes: c(40), errs: c(2_000_000) };
  }

  /** testDomainInterfaceStats: counters made up from the clock. */
  async domainInterfaceStats({ dom, device }: ProcArgs<'domainInterfaceStats'>): Promise<ProcRet<'domainInterfaceStats'>> {
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    findInterface(obj.def, device);
    const c = clockCounter();
    return {
      rx_bytes: c(10), rx_packets: c(100), rx_errs: c(1_000_000), rx_drop: c(2_000_000),
      tx_bytes: c(20), tx_packets: c(110), tx_errs: c(3_000_000), tx_drop: c(4_000_000),
    };
  }

  private vcpus(def: XmlElement): { max: number; current: number } {
    const vcpu = child(def, 'vcpu');
    const max = Number(vcpu?.text || '1');
    return { max, current: Number(vcpu?.attrs.current ?? max) };
  }

  /** virDomainDefSetVcpus / virDomainDefSetVcpusMax on the <vcpu> element. */
  private setVcpus(def: XmlElement, max: number, current: number): void {
    const vcpu = child(def, 'vcpu');
    if (!vcpu) return;
    vcpu.text = String(max);
    const { current: _old, ...rest } = vcpu.attrs;
    vcpu.attrs = current < max ? { ...rest, current: String(current) } : rest;
  }

  async domainSetVcpusFlags({ dom, nvcpus, flags }: ProcArgs<'domainSetVcpusFlags'>): Promise<void> {
    this.setVcpuCount(dom, nvcpus, flags);
  }
  async domainSetVcpus({ dom, nvcpus }: ProcArgs<'domainSetVcpus'>): Promise<void> {
    this.setVcpuCount(dom, nvcpus, AFFECT_LIVE);
  }

  /** testDomainSetVcpusFlags */
  private setVcpuCount(dom: DomainRef, count: number, flags: number): void {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM, 'testDomainSetVcpusFlags');
    const maxvcpus = MAX_VCPUS;
    if (count > maxvcpus) {
      throw virError(ErrorCode.INVALID_ARG, `requested cpu amount exceeds maximum supported amount (${count} > ${maxvcpus})`, ErrorDomain.TEST);
    }
    const obj = this.domainObj(dom);
    const { live, config } = definitionsFor(obj, flags);
    if (live && this.vcpus(live).max < count) {
      throw virError(ErrorCode.INVALID_ARG, `requested cpu amount exceeds maximum (${count} > ${this.vcpus(live).max})`, ErrorDomain.TEST);
    }
    if (config && !(flags & VCPU_MAXIMUM) && this.vcpus(config).max < count) {
      throw virError(ErrorCode.INVALID_ARG, `requested cpu amount exceeds maximum (${count} > ${this.vcpus(config).max})`, ErrorDomain.TEST);
    }
    if (live) this.setVcpus(live, this.vcpus(live).max, count);
    if (config) {
      const cur = this.vcpus(config);
      if (flags & VCPU_MAXIMUM) this.setVcpus(config, count, Math.min(cur.current, count));
      else this.setVcpus(config, cur.max, count);
    }
  }

  async domainGetVcpusFlags({ dom, flags }: ProcArgs<'domainGetVcpusFlags'>): Promise<ProcRet<'domainGetVcpusFlags'>> {
    return { num: this.vcpuCount(dom, flags) };
  }
  async domainGetMaxVcpus({ dom }: ProcArgs<'domainGetMaxVcpus'>): Promise<ProcRet<'domainGetMaxVcpus'>> {
    return { num: this.vcpuCount(dom, AFFECT_LIVE | VCPU_MAXIMUM) };
  }

  /** testDomainGetVcpusFlags */
  private vcpuCount(dom: DomainRef, flags: number): number {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM, 'testDomainGetVcpusFlags');
    const { def } = oneDefinition(this.domainObj(dom), flags & ~VCPU_MAXIMUM);
    const v = this.vcpus(def);
    return flags & VCPU_MAXIMUM ? v.max : v.current;
  }

  /** testConnectGetAllDomainStats: every domain the flags select, or (virDomainListGetStats) those of `doms`. */
  async connectGetAllDomainStats({ doms, stats, flags }: ProcArgs<'connectGetAllDomainStats'>): Promise<ProcRet<'connectGetAllDomainStats'>> {
    const objs = doms.length > 0 ? doms.map((r) => this.domainObj(r)) : this.node.domains.all();
    return { retStats: this.collectStats(objs.filter(domainListFilter(flags & 0x7f, this.listProbes)), stats, flags) };
  }

  /** The state group; the test driver's domains have no IOThread polling to report. */
  private collectStats(objs: DomainObj[], stats: number, flags: number): ProcRet<'connectGetAllDomainStats'>['retStats'] {
    checkFlags(flags, 0x7f | (1 << 29) | (1 << 30) | (1 << 31), 'testConnectGetAllDomainStats');
    const supported = DomainStatsTypes.STATE | DomainStatsTypes.IOTHREAD;
    if (stats === 0) stats = supported;
    else if (flags & (1 << 31) && stats & ~supported) {
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `Stats types bits 0x${(stats & ~supported).toString(16)} are not supported by this daemon`, ErrorDomain.TEST);
    }
    return objs.map((d) => {
      const params: TypedParam[] = [];
      if (stats & DomainStatsTypes.STATE) params.push(typedParam.int('state.state', d.state), typedParam.int('state.reason', d.reason));
      return { dom: this.refOf(d), params };
    });
  }

  async domainGetMetadata({ dom, type, uri, flags }: ProcArgs<'domainGetMetadata'>): Promise<ProcRet<'domainGetMetadata'>> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainGetMetadata');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    return { metadata: domainMetadata(def, type, uri) };
  }

  async domainSetMetadata({ dom, type, metadata, key, uri, flags }: ProcArgs<'domainSetMetadata'>): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainSetMetadata');
    const obj = this.domainObj(dom);
    // virDomainObjSetMetadata
    const { live, config } = definitionsFor(obj, flags);
    for (const def of [live, config]) if (def) setDomainMetadata(def, type, metadata, key, uri);
    this.queueEvent({ key: 'domainEventCallbackMetadataChange', body: { dom: this.refOf(obj), type, nsuri: uri } });
  }
}

/** The test driver's made-up counters: the wall clock in microseconds (g_get_real_time), integer-divided. */
function clockCounter(): (divisor: number) => bigint {
  const now = BigInt(Date.now()) * 1000n;
  return (divisor) => now / BigInt(divisor);
}
