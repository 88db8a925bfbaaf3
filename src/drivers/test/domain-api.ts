// The test driver's domain calls: lookups and listing, define/create/undefine,
// lifecycle with libvirt's state reasons, information, memory, vCPUs, stats, metadata.

import { formatDomainXML } from '../../conf/domain.js';
import { metadataElementXML, setMetadataElement } from '../../conf/domain-metadata.js';
import { networkFirstIP } from '../../conf/network.js';
import {
  DomainState,
  PausedReason,
  RunningReason,
  ShutoffReason,
  type DomainBlockInfo,
  type DomainInfo,
  type DomainRef,
  type DomainStatsRecord,
  type StateWithReason,
  type TypedParam,
} from '../../api/types.js';
import type { DomainBlockStats, DomainInterfaceStats } from '../../api/types.js';
import { findDiskByName, findInterface } from '../../conf/device-lookup.js';
import { activeMemballoon, setMemballoonPeriod } from '../../conf/devices/memballoon.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { formatIPAddress, offsetIPAddress, parseIPAddress } from '../../util/ip-address.js';
import { parseUUID } from '../../util/uuid.js';
import { child, element, type XmlElement } from '../../util/xml.js';
import { generateIfnames, parseTestDomainXML } from './domain-xml.js';
import { DomainObj, textOf } from './node.js';
import { matchesDomainListFilter, type ListFilterProbes } from '../../conf/objects/domain-list-filter.js';
import { definitionsFor, oneDefinition } from '../../conf/objects/modification-impact.js';
import {
  TestObjects,
  checkFlags,
  devices,
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
} from './objects.js';

export class DomainAPI extends TestObjects {
  async connectListAllDomains(flags: number): Promise<DomainRef[]> {
    checkFlags(flags, 0xffff, 'testConnectListAllDomains');
    return this.node.domains.all().filter((d) => matchesDomainListFilter(d, flags, this.listProbes)).map((d) => this.refOf(d));
  }

  /** What the list filter asks beside the object; the test driver keeps no checkpoints. */
  private readonly listProbes: ListFilterProbes<DomainObj> = {
    hasManagedSave: (d) => d.hasManagedSave,
    snapshotCount: (d) => d.snapshots.all.length,
    checkpointCount: () => 0,
  };

  async domainLookupByName(name: string): Promise<DomainRef> {
    const d = this.node.domains.findByName(name);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return this.refOf(d);
  }
  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    const wanted = parseUUID(uuid);
    const d = wanted === undefined ? undefined : this.node.domains.findByUUID(wanted);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return this.refOf(d);
  }
  async domainLookupByID(id: number): Promise<DomainRef> {
    const d = this.node.domains.findByID(id);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return this.refOf(d);
  }

  async domainDefineXML(xml: string, flags = 0): Promise<DomainRef> {
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
    return this.refOf(obj);
  }
  async domainDefineXMLFlags(xml: string, flags: number): Promise<DomainRef> {
    return this.domainDefineXML(xml, flags);
  }

  async domainCreateXML(xml: string, flags = 0): Promise<DomainRef> {
    checkFlags(flags, START_VALIDATE, 'testDomainCreateXML');
    const def = parseTestDomainXML(xml, (flags & START_VALIDATE) !== 0);
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
    return this.refOf(obj);
  }

  async domainUndefine(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, UNDEFINE_MANAGED_SAVE | UNDEFINE_SNAPSHOTS_METADATA, 'testDomainUndefineFlags');
    const obj = this.domainObj(dom);
    if (obj.hasManagedSave && !(flags & UNDEFINE_MANAGED_SAVE)) {
      throw virError(ErrorCode.OPERATION_INVALID, 'Refusing to undefine while domain managed save image exists', ErrorDomain.DOMAIN);
    }
    const nsnapshots = obj.snapshots.all.length;
    if (!this.isActive(obj) && nsnapshots > 0 && !(flags & UNDEFINE_SNAPSHOTS_METADATA)) {
      throw virError(ErrorCode.OPERATION_INVALID, `cannot delete inactive domain with ${nsnapshots} snapshots`, ErrorDomain.DOMAIN);
    }
    obj.hasManagedSave = false;
    if (this.isActive(obj)) {
      obj.persistent = false;
      obj.newDef = undefined;
    } else {
      this.removeDomain(obj);
    }
  }
  async domainUndefineFlags(dom: DomainRef, flags: number): Promise<void> {
    return this.domainUndefine(dom, flags);
  }

  async domainCreate(dom: DomainRef, flags = 0): Promise<DomainRef> {
    checkFlags(flags, 0, 'testDomainCreateWithFlags');
    const obj = this.domainObj(dom);
    if (obj.state !== DomainState.SHUTOFF) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Domain '${dom.name}' is already running`, ErrorDomain.TEST);
    }
    this.startState(obj, RunningReason.BOOTED);
    return this.refOf(obj);
  }
  async domainCreateWithFlags(dom: DomainRef, flags: number): Promise<DomainRef> {
    return this.domainCreate(dom, flags);
  }

  async domainDestroy(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 1, 'testDomainDestroyFlags');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    this.shutdownState(obj, ShutoffReason.DESTROYED);
    if (!obj.persistent) this.removeDomain(obj);
  }
  async domainDestroyFlags(dom: DomainRef, flags: number): Promise<void> {
    return this.domainDestroy(dom, flags);
  }

  /** testDomainActionSetState: what on_poweroff/on_reboot do to a running domain. */
  private lifecycleAction(obj: DomainObj, action: string): void {
    if (action === 'restart' || action === 'rename-restart') {
      obj.state = DomainState.RUNNING;
      obj.reason = RunningReason.BOOTED;
      return;
    }
    obj.state = DomainState.SHUTOFF;
    obj.reason = ShutoffReason.SHUTDOWN;
    this.shutdownState(obj, ShutoffReason.SHUTDOWN);
    if (!obj.persistent) this.removeDomain(obj);
  }

  async domainShutdown(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testDomainShutdownFlags');
    const obj = this.domainObj(dom);
    if (obj.state === DomainState.SHUTOFF) throw virError(ErrorCode.INTERNAL_ERROR, `domain '${dom.name}' not running`, ErrorDomain.TEST);
    this.lifecycleAction(obj, textOf(obj.def, 'on_poweroff') || 'destroy');
  }
  async domainShutdownFlags(dom: DomainRef, flags: number): Promise<void> {
    return this.domainShutdown(dom, flags);
  }

  async domainReboot(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 0x3f, 'testDomainReboot');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    this.lifecycleAction(obj, textOf(obj.def, 'on_reboot') || 'restart');
  }

  async domainReset(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testDomainReset');
    this.checkActive(this.domainObj(dom));
  }

  async domainSuspend(dom: DomainRef): Promise<void> {
    const obj = this.domainObj(dom);
    if (obj.state === DomainState.SHUTOFF || obj.state === DomainState.PAUSED) {
      throw virError(ErrorCode.INTERNAL_ERROR, `domain '${dom.name}' not running`, ErrorDomain.TEST);
    }
    obj.state = DomainState.PAUSED;
    obj.reason = PausedReason.USER;
  }

  async domainResume(dom: DomainRef): Promise<void> {
    const obj = this.domainObj(dom);
    if (obj.state !== DomainState.PAUSED) throw virError(ErrorCode.INTERNAL_ERROR, `domain '${dom.name}' not paused`, ErrorDomain.TEST);
    obj.state = DomainState.RUNNING;
    obj.reason = RunningReason.UNPAUSED;
  }

  async domainManagedSave(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 1 | 2 | 4, 'testDomainManagedSave');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot do managed save for transient domain', ErrorDomain.TEST);
    this.shutdownState(obj, ShutoffReason.SAVED);
    obj.hasManagedSave = true;
  }

  async domainRename(dom: DomainRef, newName: string, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testDomainRename');
    const obj = this.domainObj(dom);
    if (this.isActive(obj)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot rename active domain', ErrorDomain.TEST);
    if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot rename a transient domain', ErrorDomain.TEST);
    if (this.node.domains.findByName(newName)) {
      throw virError(ErrorCode.OPERATION_INVALID, `domain with name '${newName}' already exists`, ErrorDomain.DOMAIN);
    }
    if (newName.includes('/')) throw virError(ErrorCode.XML_ERROR, `name ${newName} cannot contain '/'`, ErrorDomain.TEST);
    child(obj.def, 'name')!.text = newName;
    this.node.domains.rename(obj, newName);
  }

  async domainSetTime(dom: DomainRef, seconds: number, _nseconds: number, flags = 0): Promise<void> {
    checkFlags(flags, 1, 'testDomainSetTime');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    obj.seconds = seconds;
  }

  async domainHasManagedSaveImage(dom: DomainRef, flags = 0): Promise<boolean> {
    checkFlags(flags, 0, 'testDomainHasManagedSaveImage');
    return this.domainObj(dom).hasManagedSave;
  }
  async domainManagedSaveRemove(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testDomainManagedSaveRemove');
    this.domainObj(dom).hasManagedSave = false;
  }

  async domainGetXMLDesc(dom: DomainRef, flags = 0): Promise<string> {
    checkFlags(flags, XML_SECURE | XML_INACTIVE | XML_MIGRATABLE, 'testDomainGetXMLDesc');
    const obj = this.domainObj(dom);
    const inactive = (flags & XML_INACTIVE) !== 0;
    const def = inactive ? this.persistentDef(obj) : obj.def;
    return formatDomainXML(def, { inactive: inactive || !this.isActive(obj), secure: (flags & XML_SECURE) !== 0, id: obj.id });
  }

  async domainGetState(dom: DomainRef, flags = 0): Promise<StateWithReason> {
    checkFlags(flags, 0, 'testDomainGetState');
    const obj = this.domainObj(dom);
    return { state: obj.state, reason: obj.reason };
  }

  async domainGetInfo(dom: DomainRef): Promise<DomainInfo> {
    const obj = this.domainObj(dom);
    return {
      state: obj.state,
      maxMem: Number(textOf(obj.def, 'memory')),
      memory: Number(textOf(obj.def, 'currentMemory')),
      nrVirtCpu: this.vcpus(obj.def).current,
      cpuTime: BigInt(Date.now()) * 1000000n,
    };
  }

  async domainIsActive(dom: DomainRef): Promise<boolean> {
    return this.isActive(this.domainObj(dom));
  }
  async domainIsPersistent(dom: DomainRef): Promise<boolean> {
    return this.domainObj(dom).persistent;
  }
  async domainIsUpdated(dom: DomainRef): Promise<boolean> {
    this.domainObj(dom);
    return false;
  }
  async domainGetAutostart(dom: DomainRef): Promise<boolean> {
    return this.domainObj(dom).autostart;
  }
  async domainSetAutostart(dom: DomainRef, autostart: boolean): Promise<void> {
    this.domainObj(dom).autostart = autostart;
  }
  async domainGetOSType(dom: DomainRef): Promise<string> {
    this.domainObj(dom);
    return 'linux';
  }

  /** testDomainGetSecurityLabel: running domains carry the enforcing label "libvirt-test". */
  async domainGetSecurityLabel(dom: DomainRef): Promise<{ label: string; enforcing: boolean }> {
    const active = this.isActive(this.domainObj(dom));
    return { label: active ? 'libvirt-test' : '', enforcing: active };
  }
  async nodeGetSecurityModel(): Promise<{ model: string; doi: string }> {
    return { model: 'testSecurity', doi: '' };
  }

  async domainGetHostname(dom: DomainRef, flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testDomainGetHostname');
    this.checkActive(this.domainObj(dom));
    return `${dom.name}host`;
  }

  async domainGetTime(dom: DomainRef, flags = 0): Promise<{ seconds: number; nseconds: number }> {
    checkFlags(flags, 0, 'testDomainGetTime');
    const obj = this.domainObj(dom);
    if (obj.state !== DomainState.RUNNING) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.TEST);
    return { seconds: obj.seconds, nseconds: 0 };
  }

  async domainGetControlInfo(dom: DomainRef, flags = 0): Promise<{ state: number; details: number; stateTime: number }> {
    checkFlags(flags, 0, 'testDomainGetControlInfo');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    const s = obj.seconds;
    if (s > 0 && s < 10000) return { state: 1, details: 0, stateTime: s };
    if (s >= 10000 && s < 30000) return { state: 2, details: 0, stateTime: s - 10000 };
    if (s >= 30000 && s < 60000) return { state: 3, details: s % 4, stateTime: s - 30000 };
    return { state: 0, details: 0, stateTime: 0 };
  }

  async domainGetDiskErrors(dom: DomainRef, flags = 0): Promise<{ disk: string; error: number }[]> {
    checkFlags(flags, 0, 'testDomainGetDiskErrors');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    // virDomainDiskErrorCode cycles through UNSPEC (1) and NO_SPACE (2).
    return this.disks(obj.def).map((d, i) => ({ disk: child(d, 'target')?.attrs.dev ?? '', error: (i % 2) + 1 }));
  }

  async domainGetBlockInfo(dom: DomainRef, disk: string, flags = 0): Promise<DomainBlockInfo> {
    checkFlags(flags, 0, 'testDomainGetBlockInfo');
    const obj = this.domainObj(dom);
    const found = this.disks(obj.def).find((d) => child(d, 'target')?.attrs.dev === disk || this.diskSource(d) === disk);
    if (!found) throw virError(ErrorCode.INVALID_ARG, `invalid path ${disk} not assigned to domain`, ErrorDomain.TEST);
    if (this.diskSource(found) === undefined) {
      throw virError(ErrorCode.INVALID_ARG, `disk '${disk}' does not currently have a source assigned`, ErrorDomain.TEST);
    }
    return { capacity: 1099506450432, allocation: 1099511627776, physical: 1099511627776 };
  }


  private diskSource(disk: XmlElement): string | undefined {
    const src = child(disk, 'source');
    return src?.attrs.file ?? src?.attrs.dev ?? src?.attrs.dir ?? src?.attrs.name ?? src?.attrs.volume;
  }

  async domainInterfaceAddresses(dom: DomainRef, source: number, flags = 0): Promise<{ name: string; hwaddr: string; addrs: { type: number; addr: string; prefix: number }[] }[]> {
    checkFlags(flags, 0, 'testDomainInterfaceAddresses');
    if (source > 2) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `Unknown IP address data source ${source}`, ErrorDomain.TEST);
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    return devices(obj.def)
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
  }

  private setMemoryElement(def: XmlElement, name: 'memory' | 'currentMemory', kib: number): void {
    const el = child(def, name);
    if (el) {
      el.text = String(kib);
      el.attrs = { unit: 'KiB' };
    }
  }

  async domainSetMemoryFlags(dom: DomainRef, kib: number, flags: number): Promise<void> {
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
  async domainSetMemory(dom: DomainRef, kib: number): Promise<void> {
    return this.domainSetMemoryFlags(dom, kib, AFFECT_LIVE);
  }
  async domainSetMaxMemory(dom: DomainRef, kib: number): Promise<void> {
    return this.domainSetMemoryFlags(dom, kib, MEM_MAXIMUM);
  }
  async domainGetMaxMemory(dom: DomainRef): Promise<number> {
    return Number(textOf(this.domainObj(dom).def, 'memory'));
  }

  /** testDomainSetMemoryStatsPeriod: the balloon's <stats period>, which a period of 0 removes. */
  async domainSetMemoryStatsPeriod(dom: DomainRef, period: number, flags: number): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainSetMemoryStatsPeriod');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const balloon = activeMemballoon(def);
    if (!balloon) throw virError(ErrorCode.INTERNAL_ERROR, 'No memory balloon device configured, can not set the collection period', ErrorDomain.TEST);
    setMemballoonPeriod(balloon, period);
  }

  async domainMemoryStats(dom: DomainRef, flags = 0): Promise<TypedParam[]> {
    checkFlags(flags, 0, 'testDomainMemoryStats');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    if (!devices(obj.def).some((d) => d.name === 'memballoon' && d.attrs.model !== 'none')) return [];
    const cur = Number(textOf(obj.def, 'currentMemory'));
    const half = Math.floor(cur / 2);
    const stats: [string, number][] = [
      ['actual', cur], ['swap_in', 0], ['swap_out', 0], ['major_fault', 0], ['minor_fault', 0], ['unused', half],
      ['available', cur], ['usable', half], ['last_update', 627319920], ['disk_caches', Math.floor(cur / 8)],
      ['hugetlb_pgalloc', 0], ['hugetlb_pgfail', 0], ['rss', half],
    ];
    return stats.map(([field, value]) => ({ field, value }));
  }

  /** testDomainBlockStats: counters made up from the clock, for one disk only. */
  async domainBlockStats(dom: DomainRef, path: string): Promise<DomainBlockStats> {
    if (!path) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'summary statistics are not supported yet', ErrorDomain.TEST);
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    if (!findDiskByName(obj.def, path)) throw virError(ErrorCode.INVALID_ARG, `invalid path: ${path}`, ErrorDomain.TEST);
    const c = clockCounter();
    return { rd_req: c(10), rd_bytes: c(20), wr_req: c(30), wr_bytes: c(40), errs: c(2_000_000) };
  }

  /** testDomainInterfaceStats: counters made up from the clock. */
  async domainInterfaceStats(dom: DomainRef, device: string): Promise<DomainInterfaceStats> {
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

  async domainSetVcpusFlags(dom: DomainRef, count: number, flags: number): Promise<void> {
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
  async domainSetVcpus(dom: DomainRef, count: number): Promise<void> {
    return this.domainSetVcpusFlags(dom, count, AFFECT_LIVE);
  }

  async domainGetVcpusFlags(dom: DomainRef, flags: number): Promise<number> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM, 'testDomainGetVcpusFlags');
    const { def } = oneDefinition(this.domainObj(dom), flags & ~VCPU_MAXIMUM);
    const v = this.vcpus(def);
    return flags & VCPU_MAXIMUM ? v.max : v.current;
  }
  async domainGetMaxVcpus(dom: DomainRef): Promise<number> {
    return this.domainGetVcpusFlags(dom, AFFECT_LIVE | VCPU_MAXIMUM);
  }

  async connectGetAllDomainStats(stats: number, flags: number): Promise<DomainStatsRecord[]> {
    return this.collectStats(this.node.domains.all().filter((d) => matchesDomainListFilter(d, flags & 0x7f, this.listProbes)), stats, flags);
  }
  async domainListGetStats(doms: DomainRef[], stats: number, flags: number): Promise<DomainStatsRecord[]> {
    return this.collectStats(doms.map((r) => this.domainObj(r)).filter((d) => matchesDomainListFilter(d, flags & 0x7f, this.listProbes)), stats, flags);
  }

  /** testConnectGetAllDomainStats: the state and iothread groups. */
  private collectStats(objs: DomainObj[], stats: number, flags: number): DomainStatsRecord[] {
    checkFlags(flags, 0x7f | (1 << 29) | (1 << 30) | (1 << 31), 'testConnectGetAllDomainStats');
    const STATE = 1;
    const IOTHREAD = 128;
    const supported = STATE | IOTHREAD;
    if (stats === 0) stats = supported;
    else if (flags & (1 << 31) && stats & ~supported) {
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `Stats types bits 0x${(stats & ~supported).toString(16)} are not supported by this daemon`, ErrorDomain.TEST);
    }
    return objs.map((d) => {
      const params: TypedParam[] = [];
      if (stats & STATE) params.push({ field: 'state.state', value: d.state }, { field: 'state.reason', value: d.reason });
      return { dom: this.refOf(d), params };
    });
  }

  async domainGetMetadata(dom: DomainRef, type: number, uri: string | null, flags: number): Promise<string> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainGetMetadata');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const missing = () => virError(ErrorCode.NO_DOMAIN_METADATA, 'Requested metadata element is not present', ErrorDomain.DOMAIN);
    if (type === 0 || type === 1) {
      const el = child(def, type === 0 ? 'description' : 'title');
      if (el === undefined) throw missing();
      return el.text;
    }
    if (type !== 2) throw virError(ErrorCode.INVALID_ARG, `unknown metadata type '${type}'`, ErrorDomain.DOMAIN);
    const found = metadataElementXML(def, uri ?? '');
    if (found === undefined) throw missing();
    return found;
  }

  async domainSetMetadata(dom: DomainRef, type: number, metadata: string | null, key: string | null, uri: string | null, flags: number): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainSetMetadata');
    const obj = this.domainObj(dom);
    const { live, config } = definitionsFor(obj, flags);
    if (type === 2) {
      for (const def of [live, config]) if (def) setMetadataElement(def, metadata, key, uri ?? '');
      return;
    }
    if (type !== 0 && type !== 1) throw virError(ErrorCode.INVALID_ARG, `unknown metadata type '${type}'`, ErrorDomain.DOMAIN);
    const name = type === 0 ? 'description' : 'title';
    if (type === 1 && metadata?.includes('\n')) throw virError(ErrorCode.INVALID_ARG, "title can't contain newlines", ErrorDomain.DOMAIN);
    for (const def of [live, config]) {
      if (!def) continue;
      def.children = def.children.filter((c) => c.name !== name);
      if (metadata) {
        // <title> and <description> follow <uuid> (or <genid>), title first.
        const after = ['name', 'uuid', 'genid', ...(name === 'description' ? ['title'] : [])];
        let at = 0;
        def.children.forEach((c, i) => {
          if (after.includes(c.name)) at = i + 1;
        });
        def.children.splice(at, 0, element(name, {}, [], metadata));
      }
    }
  }
}

/** The test driver's made-up counters: the wall clock in microseconds (g_get_real_time), integer-divided. */
function clockCounter(): (divisor: number) => number {
  const now = Date.now() * 1000;
  return (divisor) => Math.floor(now / divisor);
}
