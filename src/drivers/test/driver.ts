// libvirt's mock hypervisor driver (test:///default and test:///PATH.xml): every
// object lives in memory for the life of the process, behaviour and messages follow
// libvirt 9.0's src/test/test_driver.c, XML goes through the shared src/conf models.

import { formatDomainXML } from '../../conf/domain.js';
import { formatInterfaceXML, interfaceMAC, interfaceName, parseInterfaceXML } from '../../conf/interface.js';
import { formatNetworkXML, networkBridge, networkFirstIP, networkName, networkUUID, parseNetworkXML, updateNetworkDef } from '../../conf/network.js';
import { FILE_POOL_TYPES, formatStoragePoolXML, parseStoragePoolXML, POOL_TYPES } from '../../conf/storage-pool.js';
import { formatStorageVolXML, parseStorageVolXML, type StorageVolDef } from '../../conf/storage-vol.js';
import {
  DomainState,
  ListDomainsFlags,
  PausedReason,
  RunningReason,
  ShutoffReason,
  type DomainBlockInfo,
  type DomainInfo,
  type DomainRef,
  type DomainStatsRecord,
  type HypervisorDriver,
  type InterfaceRef,
  type NetworkRef,
  type NodeInfo,
  type ParsedURI,
  type SnapshotRef,
  type StateWithReason,
  type StoragePoolInfo,
  type StoragePoolRef,
  type StorageVolInfo,
  type StorageVolRef,
  type TypedParam,
} from '../../api/types.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { formatIPAddress, offsetIPAddress, parseIPAddress } from '../../util/ip-address.js';
import { parseUUID } from '../../util/uuid.js';
import { hostname } from 'node:os';
import { child, element, formatXml, type XmlElement } from '../../util/xml.js';
import { generateIfnames, parseTestDomainXML } from './domain-xml.js';
import { formatCapabilities } from './host.js';
import { hostHasIOMMU, loadDefaultNode, loadNodeFile, resetPoolSizes, type DomainObj, type NetworkObj, type PoolObj, type TestNode } from './node.js';
import { formatSnapshotXML, parseSnapshotRequest, SNAPSHOT_STATES, SnapshotList, type Snapshot } from './snapshots.js';

/** test:///default connections in one process share their state, as in libvirt. */
let defaultNode: TestNode | undefined;

export async function openTestDriver(uri: ParsedURI, _opts: { readonly: boolean }): Promise<HypervisorDriver> {
  if (uri.path === '' || uri.path === '/') {
    throw virError(ErrorCode.INVALID_ARG, 'testOpen: supply a path or use test:///default', ErrorDomain.TEST);
  }
  let node: TestNode;
  if (uri.path === '/default') node = defaultNode ??= loadDefaultNode();
  else node = loadNodeFile(uri.path);
  return new TestDriver(uri.raw, node);
}

/** virCheckFlags: libvirt names the C function that refused the flags. */
function checkFlags(flags: number, allowed: number, fn: string): void {
  const unsupported = flags & ~allowed;
  if (unsupported) {
    throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.TEST, `unsupported flags (0x${(unsupported >>> 0).toString(16)}) in function ${fn}`);
  }
}

/** virNodeDevCap names, in the order of the VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bits. */
const NODE_DEVICE_CAPS = [
  'system', 'pci', 'usb_device', 'usb', 'net', 'scsi_host', 'scsi_target', 'scsi', 'storage', 'fc_host', 'vports',
  'scsi_generic', 'drm', 'mdev_types', 'mdev', 'ccw', 'css', 'vdpa', 'ap_card', 'ap_queue', 'ap_matrix', 'vpd',
];

const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
const MEM_MAXIMUM = 4;
const VCPU_MAXIMUM = 4;
const XML_SECURE = 1;
const XML_INACTIVE = 2;
const XML_MIGRATABLE = 8;
const UNDEFINE_MANAGED_SAVE = 1;
const UNDEFINE_SNAPSHOTS_METADATA = 2;
const DEFINE_VALIDATE = 1;
const START_VALIDATE = 1 << 4;

function textOf(dom: XmlElement, name: string): string {
  return child(dom, name)?.text ?? '';
}

function devices(dom: XmlElement): XmlElement[] {
  return child(dom, 'devices')?.children ?? [];
}

class TestDriver implements HypervisorDriver {
  readonly type = 'TEST';
  [method: string]: unknown;

  constructor(
    readonly uri: string,
    private readonly node: TestNode,
  ) {}

  async close(): Promise<void> {}

  // ---- host ----

  async connectGetVersion(): Promise<number> {
    return 2; // "Running hypervisor: TEST 0.0.2"
  }
  async connectGetHostname(): Promise<string> {
    return hostname();
  }
  async connectGetCapabilities(): Promise<string> {
    return formatCapabilities(this.node.cells, hostHasIOMMU());
  }
  async connectGetSysinfo(flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testConnectGetSysinfo');
    return (
      "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>LENOVO</entry>\n    <entry name='version'>G4ETA1WW (2.61 )</entry>\n" +
      "    <entry name='date'>05/07/2014</entry>\n    <entry name='release'>2.61</entry>\n  </bios>\n</sysinfo>\n"
    );
  }
  async connectGetMaxVcpus(_type?: string): Promise<number> {
    return 32;
  }
  async nodeGetInfo(): Promise<NodeInfo> {
    return { ...this.node.nodeInfo };
  }
  async nodeGetCellsFreeMemory(start: number, max: number): Promise<bigint[]> {
    if (start >= this.node.cells.length) {
      throw virError(ErrorCode.INVALID_ARG, 'Range exceeds available cells', ErrorDomain.TEST);
    }
    return this.node.cells.slice(Math.max(start, 0), Math.max(start, 0) + Math.max(max, 0)).map((c) => BigInt(c.memory));
  }
  /** testNodeGetFreeMemory sums the cells' free KiB and returns them as the byte count. */
  async nodeGetFreeMemory(): Promise<bigint> {
    return BigInt(this.node.cells.reduce((n, c) => n + c.freeMemory, 0));
  }
  async nodeGetCPUMap(): Promise<{ online: boolean[] }> {
    // testNodeGetCPUMap: 8 CPUs, 0, 2 and 4 online.
    return { online: [true, false, true, false, true, false, false, false] };
  }
  /** Host devices, filtered by the VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bits (virNodeDevCap order). */
  async connectListAllNodeDevices(flags: number): Promise<{ name: string }[]> {
    checkFlags(flags, (1 << NODE_DEVICE_CAPS.length) - 1, 'testConnectListAllNodeDevices');
    return this.node.nodeDevices
      .filter((d) => flags === 0 || d.caps.some((c) => (flags & (1 << NODE_DEVICE_CAPS.indexOf(c))) !== 0 && NODE_DEVICE_CAPS.includes(c)))
      .map((d) => ({ name: d.name }));
  }
  async nodeDeviceLookupByName(name: string): Promise<{ name: string }> {
    const dev = this.node.nodeDevices.find((d) => d.name === name);
    if (!dev) throw virError(ErrorCode.NO_NODE_DEVICE, `no node device with matching name '${name}'`, ErrorDomain.NODEDEV);
    return { name };
  }
  async nodeDeviceGetParent(dev: { name: string }): Promise<string | null> {
    await this.nodeDeviceLookupByName(dev.name);
    return this.node.nodeDevices.find((d) => d.name === dev.name)!.parent ?? null;
  }
  async nodeDeviceListCaps(dev: { name: string }): Promise<string[]> {
    await this.nodeDeviceLookupByName(dev.name);
    return [...this.node.nodeDevices.find((d) => d.name === dev.name)!.caps];
  }

  // ---- domain objects ----

  private domainObj(ref: DomainRef): DomainObj {
    const obj = this.node.domains.find((d) => textOf(d.def, 'uuid') === ref.uuid);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${ref.uuid}' (${ref.name})`, ErrorDomain.TEST);
    return obj;
  }

  private refOf(obj: DomainObj): DomainRef {
    return { name: textOf(obj.def, 'name'), uuid: textOf(obj.def, 'uuid'), id: obj.id };
  }

  private isActive(obj: DomainObj): boolean {
    return obj.id !== -1;
  }

  private checkActive(obj: DomainObj): void {
    if (!this.isActive(obj)) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.DOM);
  }

  /** testDomainStartState */
  private startState(obj: DomainObj, reason: RunningReason): void {
    obj.state = DomainState.RUNNING;
    obj.reason = reason;
    obj.id = this.node.allocateDomainID();
    if (obj.persistent && obj.newDef === undefined) obj.newDef = structuredClone(obj.def);
    obj.hasManagedSave = false;
  }

  /** testDomainShutdownState: the persistent definition comes back. */
  private shutdownState(obj: DomainObj, reason: ShutoffReason): void {
    if (obj.newDef) {
      obj.def = obj.newDef;
      obj.newDef = undefined;
    }
    obj.state = DomainState.SHUTOFF;
    obj.reason = reason;
    obj.id = -1;
  }

  private removeDomain(obj: DomainObj): void {
    this.node.domains.splice(this.node.domains.indexOf(obj), 1);
  }

  /** The persistent definition, whether the domain runs or not. */
  private persistentDef(obj: DomainObj): XmlElement {
    return obj.newDef ?? obj.def;
  }

  /** virDomainObjUpdateModificationImpact + virDomainObjGetDefs. */
  private defsFor(obj: DomainObj, flags: number): { live?: XmlElement; config?: XmlElement } {
    let f = flags & (AFFECT_LIVE | AFFECT_CONFIG);
    if (f === 0) f = this.isActive(obj) ? AFFECT_LIVE : AFFECT_CONFIG;
    if (f & AFFECT_LIVE && !this.isActive(obj)) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.DOM);
    if (f & AFFECT_CONFIG && !obj.persistent) {
      throw virError(ErrorCode.OPERATION_INVALID, 'transient domains do not have any persistent config', ErrorDomain.DOM);
    }
    return { live: f & AFFECT_LIVE ? obj.def : undefined, config: f & AFFECT_CONFIG ? this.persistentDef(obj) : undefined };
  }

  /** virDomainObjGetOneDefState: exactly one of live or config. */
  private oneDef(obj: DomainObj, flags: number): { def: XmlElement; live: boolean } {
    if (flags & AFFECT_LIVE && flags & AFFECT_CONFIG) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.DOM, "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive");
    }
    const { live, config } = this.defsFor(obj, flags);
    return live ? { def: live, live: true } : { def: config!, live: false };
  }

  /** virDomainObjListAdd: the duplicate name/UUID rules; returns the existing object, if any. */
  private findForAdd(def: XmlElement, checkLive: boolean): DomainObj | undefined {
    const name = textOf(def, 'name');
    const uuid = textOf(def, 'uuid');
    const byUUID = this.node.domains.find((d) => textOf(d.def, 'uuid') === uuid);
    if (byUUID) {
      if (textOf(byUUID.def, 'name') !== name) {
        throw virError(ErrorCode.OPERATION_FAILED, `domain '${textOf(byUUID.def, 'name')}' is already defined with uuid ${uuid}`, ErrorDomain.DOM);
      }
      if (checkLive && this.isActive(byUUID)) throw virError(ErrorCode.OPERATION_INVALID, `domain '${name}' is already active`, ErrorDomain.DOM);
      if (checkLive && !byUUID.persistent) throw virError(ErrorCode.OPERATION_INVALID, `domain '${name}' is already being started`, ErrorDomain.DOM);
      return byUUID;
    }
    const byName = this.node.domains.find((d) => textOf(d.def, 'name') === name);
    if (byName) throw virError(ErrorCode.OPERATION_FAILED, `domain '${name}' already exists with uuid ${textOf(byName.def, 'uuid')}`, ErrorDomain.DOM);
    return undefined;
  }

  private newDomainObj(def: XmlElement, persistent: boolean): DomainObj {
    const obj: DomainObj = {
      def,
      persistent,
      state: DomainState.SHUTOFF,
      reason: ShutoffReason.UNKNOWN,
      id: -1,
      autostart: false,
      hasManagedSave: false,
      snapshots: new SnapshotList(),
      seconds: 627319920,
    };
    return obj;
  }

  // ---- domain lookups and listing ----

  async connectListAllDomains(flags: number): Promise<DomainRef[]> {
    checkFlags(flags, 0xffff, 'testConnectListAllDomains');
    return this.node.domains.filter((d) => this.matchesListFlags(d, flags)).map((d) => this.refOf(d));
  }

  /** virDomainObjListFilter */
  private matchesListFlags(d: DomainObj, flags: number): boolean {
    const pair = (a: number, b: number, has: boolean) => {
      const both = flags & (a | b);
      if (both === 0 || both === (a | b)) return true;
      return flags & a ? has : !has;
    };
    if (!pair(ListDomainsFlags.ACTIVE, ListDomainsFlags.INACTIVE, this.isActive(d))) return false;
    if (!pair(ListDomainsFlags.PERSISTENT, ListDomainsFlags.TRANSIENT, d.persistent)) return false;
    const stateFlags = flags & (ListDomainsFlags.RUNNING | ListDomainsFlags.PAUSED | ListDomainsFlags.SHUTOFF | ListDomainsFlags.OTHER);
    if (stateFlags) {
      const s = d.state;
      const ok =
        (flags & ListDomainsFlags.RUNNING && s === DomainState.RUNNING) ||
        (flags & ListDomainsFlags.PAUSED && s === DomainState.PAUSED) ||
        (flags & ListDomainsFlags.SHUTOFF && s === DomainState.SHUTOFF) ||
        (flags & ListDomainsFlags.OTHER && s !== DomainState.RUNNING && s !== DomainState.PAUSED && s !== DomainState.SHUTOFF);
      if (!ok) return false;
    }
    if (!pair(ListDomainsFlags.MANAGEDSAVE, ListDomainsFlags.NO_MANAGEDSAVE, d.hasManagedSave)) return false;
    if (!pair(ListDomainsFlags.AUTOSTART, ListDomainsFlags.NO_AUTOSTART, d.autostart)) return false;
    if (!pair(ListDomainsFlags.HAS_SNAPSHOT, ListDomainsFlags.NO_SNAPSHOT, d.snapshots.all.length > 0)) return false;
    if (!pair(ListDomainsFlags.HAS_CHECKPOINT, ListDomainsFlags.NO_CHECKPOINT, false)) return false;
    return true;
  }

  async domainLookupByName(name: string): Promise<DomainRef> {
    const d = this.node.domains.find((o) => textOf(o.def, 'name') === name);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return this.refOf(d);
  }
  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    const wanted = parseUUID(uuid);
    const d = this.node.domains.find((o) => textOf(o.def, 'uuid') === wanted);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return this.refOf(d);
  }
  async domainLookupByID(id: number): Promise<DomainRef> {
    const d = this.node.domains.find((o) => o.id === id && id !== -1);
    if (!d) throw virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST);
    return this.refOf(d);
  }

  // ---- define, create, undefine ----

  async domainDefineXML(xml: string, flags = 0): Promise<DomainRef> {
    checkFlags(flags, DEFINE_VALIDATE, 'testDomainDefineXMLFlags');
    const def = parseTestDomainXML(xml, (flags & DEFINE_VALIDATE) !== 0);
    generateIfnames(def);
    const existing = this.findForAdd(def, false);
    let obj: DomainObj;
    if (existing) {
      obj = existing;
      // virDomainObjAssignDef: a running domain keeps its live definition.
      if (this.isActive(obj)) obj.newDef = def;
      else obj.def = def;
    } else {
      obj = this.newDomainObj(def, true);
      this.node.domains.push(obj);
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
    const existing = this.findForAdd(def, true);
    let obj: DomainObj;
    if (existing) {
      obj = existing;
      obj.newDef = obj.def;
      obj.def = def;
    } else {
      obj = this.newDomainObj(def, false);
      this.node.domains.push(obj);
    }
    this.startState(obj, RunningReason.BOOTED);
    return this.refOf(obj);
  }

  async domainUndefine(dom: DomainRef, flags = 0): Promise<void> {
    checkFlags(flags, UNDEFINE_MANAGED_SAVE | UNDEFINE_SNAPSHOTS_METADATA, 'testDomainUndefineFlags');
    const obj = this.domainObj(dom);
    if (obj.hasManagedSave && !(flags & UNDEFINE_MANAGED_SAVE)) {
      throw virError(ErrorCode.OPERATION_INVALID, 'Refusing to undefine while domain managed save image exists', ErrorDomain.DOM);
    }
    const nsnapshots = obj.snapshots.all.length;
    if (!this.isActive(obj) && nsnapshots > 0 && !(flags & UNDEFINE_SNAPSHOTS_METADATA)) {
      throw virError(ErrorCode.OPERATION_INVALID, `cannot delete inactive domain with ${nsnapshots} snapshots`, ErrorDomain.DOM);
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

  // ---- lifecycle ----

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
    if (this.node.domains.some((d) => textOf(d.def, 'name') === newName)) {
      throw virError(ErrorCode.OPERATION_INVALID, `domain with name '${newName}' already exists`, ErrorDomain.DOM);
    }
    if (newName.includes('/')) throw virError(ErrorCode.XML_ERROR, `name ${newName} cannot contain '/'`, ErrorDomain.TEST);
    child(obj.def, 'name')!.text = newName;
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

  // ---- state and information ----

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

  private disks(def: XmlElement): XmlElement[] {
    return devices(def).filter((d) => d.name === 'disk');
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

  // ---- memory and vCPUs ----

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
    const { def, live } = this.oneDef(obj, flags & ~MEM_MAXIMUM);
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
    const maxvcpus = await this.connectGetMaxVcpus();
    if (count > maxvcpus) {
      throw virError(ErrorCode.INVALID_ARG, `requested cpu amount exceeds maximum supported amount (${count} > ${maxvcpus})`, ErrorDomain.TEST);
    }
    const obj = this.domainObj(dom);
    const { live, config } = this.defsFor(obj, flags);
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
    const { def } = this.oneDef(this.domainObj(dom), flags & ~VCPU_MAXIMUM);
    const v = this.vcpus(def);
    return flags & VCPU_MAXIMUM ? v.max : v.current;
  }
  async domainGetMaxVcpus(dom: DomainRef): Promise<number> {
    return this.domainGetVcpusFlags(dom, AFFECT_LIVE | VCPU_MAXIMUM);
  }

  // ---- stats ----

  async connectGetAllDomainStats(stats: number, flags: number): Promise<DomainStatsRecord[]> {
    return this.domainStats(this.node.domains.filter((d) => this.matchesListFlags(d, flags & 0x7f)), stats, flags);
  }
  async domainListGetStats(doms: DomainRef[], stats: number, flags: number): Promise<DomainStatsRecord[]> {
    return this.domainStats(doms.map((r) => this.domainObj(r)).filter((d) => this.matchesListFlags(d, flags & 0x7f)), stats, flags);
  }

  /** testConnectGetAllDomainStats: the state and iothread groups. */
  private domainStats(objs: DomainObj[], stats: number, flags: number): DomainStatsRecord[] {
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

  // ---- metadata ----

  async domainGetMetadata(dom: DomainRef, type: number, uri: string | null, flags: number): Promise<string> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainGetMetadata');
    const { def } = this.oneDef(this.domainObj(dom), flags);
    const missing = () => virError(ErrorCode.NO_DOMAIN_METADATA, 'Requested metadata element is not present', ErrorDomain.DOM);
    if (type === 0 || type === 1) {
      const el = child(def, type === 0 ? 'description' : 'title');
      if (el === undefined) throw missing();
      return el.text;
    }
    if (type !== 2) throw virError(ErrorCode.INVALID_ARG, `unknown metadata type '${type}'`, ErrorDomain.DOM);
    const found = child(def, 'metadata')?.children.find((c) => Object.entries(c.attrs).some(([k, v]) => k.startsWith('xmlns') && v === uri));
    if (!found) throw missing();
    return formatXml(found).replace(/\n$/, '');
  }

  async domainSetMetadata(dom: DomainRef, type: number, metadata: string | null, _key: string | null, _uri: string | null, flags: number): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainSetMetadata');
    const obj = this.domainObj(dom);
    const { live, config } = this.defsFor(obj, flags);
    if (type !== 0 && type !== 1) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'metadata type not supported by the test driver', ErrorDomain.TEST);
    const name = type === 0 ? 'description' : 'title';
    if (type === 1 && metadata?.includes('\n')) throw virError(ErrorCode.INVALID_ARG, "title can't contain newlines", ErrorDomain.DOM);
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

  // ---- snapshots ----

  private snapObj(snap: SnapshotRef): { obj: DomainObj; snap: Snapshot } {
    const obj = this.domainObj(snap.domain);
    return { obj, snap: obj.snapshots.get(snap.name) };
  }

  private snapRef(obj: DomainObj, name: string): SnapshotRef {
    return { domain: this.refOf(obj), name };
  }

  async domainSnapshotCreateXML(dom: DomainRef, xml: string, flags: number): Promise<SnapshotRef> {
    // REDEFINE, CURRENT, HALT, QUIESCE, ATOMIC, LIVE, VALIDATE
    checkFlags(flags, 1 | 4 | 8 | 64 | 128 | 256 | 512, 'testDomainSnapshotCreateXML');
    const HALT = 8;
    const obj = this.domainObj(dom);
    if (!obj.persistent && flags & HALT) throw virError(ErrorCode.OPERATION_INVALID, 'cannot halt after transient domain snapshot', ErrorDomain.TEST);
    const req = parseSnapshotRequest(xml);
    const now = Math.floor(Date.now() / 1000);
    const state = SNAPSHOT_STATES[obj.state]!;
    const offline = obj.state === DomainState.SHUTOFF;
    const snap: Snapshot = {
      name: req.name ?? String(now),
      description: req.description,
      state,
      creationTime: now,
      memory: offline ? 'no' : 'internal',
      disks: this.snapshotDisks(obj.def),
      dom: structuredClone(obj.def),
      parent: obj.snapshots.current,
    };
    obj.snapshots.add(snap);
    if (flags & HALT && this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT);
    obj.snapshots.current = snap.name;
    return this.snapRef(obj, snap.name);
  }

  /** virDomainSnapshotAlignDisks: every disk gets an internal snapshot unless it cannot have one. */
  private snapshotDisks(def: XmlElement): XmlElement | undefined {
    const disks = this.disks(def).map((d) => {
      const readOnly = child(d, 'readonly') !== undefined || d.attrs.device === 'cdrom' || d.attrs.device === 'floppy';
      return element('disk', { name: child(d, 'target')?.attrs.dev ?? '', snapshot: readOnly ? 'no' : 'internal' });
    });
    return disks.length ? element('disks', {}, disks) : undefined;
  }

  async domainListAllSnapshots(dom: DomainRef, flags: number): Promise<SnapshotRef[]> {
    checkFlags(flags, 0x7ff, 'testDomainListAllSnapshots');
    const obj = this.domainObj(dom);
    return obj.snapshots.list(flags).map((s) => this.snapRef(obj, s.name));
  }
  async domainSnapshotNum(dom: DomainRef, flags: number): Promise<number> {
    return (await this.domainListAllSnapshots(dom, flags)).length;
  }
  async domainSnapshotListAllChildren(snapRef: SnapshotRef, flags: number): Promise<SnapshotRef[]> {
    checkFlags(flags, 0x7ff, 'testDomainSnapshotListAllChildren');
    const { obj, snap } = this.snapObj(snapRef);
    return obj.snapshots.list(flags, snap.name).map((s) => this.snapRef(obj, s.name));
  }
  async domainSnapshotNumChildren(snapRef: SnapshotRef, flags: number): Promise<number> {
    return (await this.domainSnapshotListAllChildren(snapRef, flags)).length;
  }
  async domainSnapshotLookupByName(dom: DomainRef, name: string, flags = 0): Promise<SnapshotRef> {
    checkFlags(flags, 0, 'testDomainSnapshotLookupByName');
    const obj = this.domainObj(dom);
    return this.snapRef(obj, obj.snapshots.get(name).name);
  }
  async domainHasCurrentSnapshot(dom: DomainRef, flags = 0): Promise<boolean> {
    checkFlags(flags, 0, 'testDomainHasCurrentSnapshot');
    return this.domainObj(dom).snapshots.current !== undefined;
  }
  async domainSnapshotCurrent(dom: DomainRef, flags = 0): Promise<SnapshotRef> {
    checkFlags(flags, 0, 'testDomainSnapshotCurrent');
    const obj = this.domainObj(dom);
    if (obj.snapshots.current === undefined) {
      throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, 'the domain does not have a current snapshot', ErrorDomain.DOMAIN_SNAPSHOT);
    }
    return this.snapRef(obj, obj.snapshots.current);
  }
  async domainSnapshotGetParent(snapRef: SnapshotRef, flags = 0): Promise<SnapshotRef> {
    checkFlags(flags, 0, 'testDomainSnapshotGetParent');
    const { obj, snap } = this.snapObj(snapRef);
    if (snap.parent === undefined) {
      throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, `snapshot '${snap.name}' does not have a parent`, ErrorDomain.DOMAIN_SNAPSHOT);
    }
    return this.snapRef(obj, snap.parent);
  }
  async domainSnapshotIsCurrent(snapRef: SnapshotRef, flags = 0): Promise<boolean> {
    checkFlags(flags, 0, 'testDomainSnapshotIsCurrent');
    const { obj, snap } = this.snapObj(snapRef);
    return obj.snapshots.current === snap.name;
  }
  async domainSnapshotHasMetadata(snapRef: SnapshotRef, flags = 0): Promise<boolean> {
    checkFlags(flags, 0, 'testDomainSnapshotHasMetadata');
    this.snapObj(snapRef);
    return true;
  }
  async domainSnapshotGetXMLDesc(snapRef: SnapshotRef, flags = 0): Promise<string> {
    checkFlags(flags, XML_SECURE, 'testDomainSnapshotGetXMLDesc');
    const { obj, snap } = this.snapObj(snapRef);
    return formatSnapshotXML(snap, textOf(obj.def, 'uuid'), (flags & XML_SECURE) !== 0);
  }

  async domainRevertToSnapshot(snapRef: SnapshotRef, flags = 0): Promise<void> {
    const RUNNING = 1;
    const PAUSED = 2;
    checkFlags(flags, RUNNING | PAUSED | 4, 'testDomainRevertToSnapshot');
    const { obj, snap } = this.snapObj(snapRef);
    const liveState = snap.state === 'running' || snap.state === 'paused';
    if (!obj.persistent && !liveState && !(flags & (RUNNING | PAUSED))) {
      throw virError(ErrorCode.OPERATION_INVALID, 'transient domain needs to request run or pause to revert to inactive snapshot', ErrorDomain.TEST);
    }
    if (!snap.dom) {
      throw virError(ErrorCode.OPERATION_INVALID, `snapshot '${snap.name}' lacks domain '${snapRef.domain.name}' rollback info`, ErrorDomain.TEST);
    }
    obj.snapshots.current = undefined;
    const config = structuredClone(snap.dom);
    if (liveState) {
      if (this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT);
      obj.def = config;
      this.startState(obj, RunningReason.FROM_SNAPSHOT);
      if (!(flags & RUNNING) && (snap.state === 'paused' || flags & PAUSED)) {
        obj.state = DomainState.PAUSED;
        obj.reason = PausedReason.FROM_SNAPSHOT;
      }
    } else {
      if (this.isActive(obj)) obj.newDef = config;
      else obj.def = config;
      if (this.isActive(obj)) this.shutdownState(obj, ShutoffReason.FROM_SNAPSHOT);
      if (flags & (RUNNING | PAUSED)) {
        this.startState(obj, RunningReason.FROM_SNAPSHOT);
        if (flags & PAUSED) {
          obj.state = DomainState.PAUSED;
          obj.reason = PausedReason.FROM_SNAPSHOT;
        }
      }
    }
    obj.snapshots.current = snap.name;
  }

  async domainSnapshotDelete(snapRef: SnapshotRef, flags = 0): Promise<void> {
    const CHILDREN = 1;
    const CHILDREN_ONLY = 4;
    checkFlags(flags, CHILDREN | CHILDREN_ONLY, 'testDomainSnapshotDelete');
    const { obj, snap } = this.snapObj(snapRef);
    obj.snapshots.remove(snap.name, (flags & CHILDREN) !== 0, (flags & CHILDREN_ONLY) !== 0);
  }

  // ---- networks ----

  private networkObj(net: NetworkRef, by: 'name' | 'uuid'): NetworkObj {
    const obj = this.node.networks.find((n) => (by === 'name' ? networkName(n.def) === net.name : networkUUID(n.def) === net.uuid));
    if (!obj) {
      const detail = by === 'name' ? `no network with matching name '${net.name}'` : `no network with matching uuid '${net.uuid}'`;
      throw virError(ErrorCode.NO_NETWORK, detail, ErrorDomain.NETWORK);
    }
    return obj;
  }

  private netRef(obj: NetworkObj): NetworkRef {
    return { name: networkName(obj.def), uuid: networkUUID(obj.def) };
  }

  async connectListAllNetworks(flags: number): Promise<NetworkRef[]> {
    checkFlags(flags, 0x3f, 'testConnectListAllNetworks');
    const pair = (a: number, b: number, has: boolean) => {
      const both = flags & (a | b);
      return both === 0 || both === (a | b) || (flags & a ? has : !has);
    };
    return this.node.networks
      .filter((n) => pair(2, 1, n.active) && pair(4, 8, n.persistent) && pair(16, 32, n.autostart))
      .map((n) => this.netRef(n));
  }

  async networkLookupByName(name: string): Promise<NetworkRef> {
    return this.netRef(this.networkObj({ name, uuid: '' }, 'name'));
  }
  async networkLookupByUUID(uuid: string): Promise<NetworkRef> {
    return this.netRef(this.networkObj({ name: '', uuid: parseUUID(uuid) ?? uuid }, 'uuid'));
  }

  /** virNetworkObjAssignDef: duplicate checks, then the new definition takes its place. */
  private assignNetwork(def: XmlElement, live: boolean): NetworkObj {
    const name = networkName(def);
    const uuid = networkUUID(def);
    const byUUID = this.node.networks.find((n) => networkUUID(n.def) === uuid);
    if (byUUID) {
      if (networkName(byUUID.def) !== name) {
        throw virError(ErrorCode.OPERATION_FAILED, `network '${networkName(byUUID.def)}' is already defined with uuid ${uuid}`, ErrorDomain.NETWORK);
      }
      if (live && byUUID.active) throw virError(ErrorCode.OPERATION_INVALID, `network is already active as '${name}'`, ErrorDomain.NETWORK);
      if (live) {
        if (byUUID.persistent) byUUID.newDef = byUUID.def;
        byUUID.def = def;
      } else if (byUUID.active) {
        byUUID.newDef = def;
        byUUID.persistent = true;
      } else {
        byUUID.def = def;
        byUUID.persistent = true;
      }
      return byUUID;
    }
    const byName = this.node.networks.find((n) => networkName(n.def) === name);
    if (byName) {
      throw virError(ErrorCode.OPERATION_FAILED, `network '${name}' already exists with uuid ${networkUUID(byName.def)}`, ErrorDomain.NETWORK);
    }
    const obj: NetworkObj = { def, active: false, persistent: !live, autostart: false };
    this.node.networks.push(obj);
    return obj;
  }

  async networkDefineXML(xml: string, flags = 0): Promise<NetworkRef> {
    checkFlags(flags, 1, 'testNetworkDefineXMLFlags');
    return this.netRef(this.assignNetwork(parseNetworkXML(xml), false));
  }
  async networkCreateXML(xml: string, flags = 0): Promise<NetworkRef> {
    checkFlags(flags, 1, 'testNetworkCreateXMLFlags');
    const obj = this.assignNetwork(parseNetworkXML(xml), true);
    obj.active = true;
    return this.netRef(obj);
  }
  async networkUndefine(net: NetworkRef): Promise<void> {
    const obj = this.networkObj(net, 'name');
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `Network '${net.name}' is still running`, ErrorDomain.NETWORK);
    this.node.networks.splice(this.node.networks.indexOf(obj), 1);
  }
  async networkCreate(net: NetworkRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testNetworkCreate');
    const obj = this.networkObj(net, 'name');
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `Network '${net.name}' is already running`, ErrorDomain.NETWORK);
    obj.active = true;
  }
  async networkDestroy(net: NetworkRef): Promise<void> {
    // The test driver does not check that the network is active.
    const obj = this.networkObj(net, 'name');
    obj.active = false;
    if (obj.newDef) {
      obj.def = obj.newDef;
      obj.newDef = undefined;
    }
    if (!obj.persistent) this.node.networks.splice(this.node.networks.indexOf(obj), 1);
  }
  async networkGetXMLDesc(net: NetworkRef, flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testNetworkGetXMLDesc');
    return formatNetworkXML(this.networkObj(net, 'name').def);
  }
  async networkIsActive(net: NetworkRef): Promise<boolean> {
    return this.networkObj(net, 'uuid').active;
  }
  async networkIsPersistent(net: NetworkRef): Promise<boolean> {
    return this.networkObj(net, 'uuid').persistent;
  }
  async networkGetAutostart(net: NetworkRef): Promise<boolean> {
    return this.networkObj(net, 'name').autostart;
  }
  async networkSetAutostart(net: NetworkRef, autostart: boolean): Promise<void> {
    this.networkObj(net, 'name').autostart = autostart;
  }
  async networkGetBridgeName(net: NetworkRef): Promise<string> {
    const obj = this.networkObj(net, 'name');
    const bridge = networkBridge(obj.def);
    if (bridge === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `network '${net.name}' does not have a bridge name.`, ErrorDomain.NETWORK);
    return bridge;
  }
  async networkUpdate(net: NetworkRef, command: number, section: number, parentIndex: number, xml: string, flags: number): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testNetworkUpdate');
    const obj = this.networkObj(net, 'uuid');
    let f = flags;
    if ((f & (AFFECT_LIVE | AFFECT_CONFIG)) === 0) f |= obj.active ? AFFECT_LIVE : AFFECT_CONFIG;
    if (f & AFFECT_LIVE && !obj.active) throw virError(ErrorCode.OPERATION_INVALID, 'network is not running', ErrorDomain.NETWORK);
    if (f & AFFECT_CONFIG && !obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot change persistent config of a transient network', ErrorDomain.NETWORK);
    const live = f & AFFECT_LIVE ? updateNetworkDef(obj.def, command, section, parentIndex, xml) : undefined;
    const configBase = obj.newDef ?? obj.def;
    const config = f & AFFECT_CONFIG ? updateNetworkDef(configBase, command, section, parentIndex, xml) : undefined;
    if (config) {
      if (obj.active) obj.newDef = config;
      else obj.def = config;
    }
    if (live) obj.def = live;
  }

  // ---- host interfaces ----

  private ifaceObj(name: string) {
    const obj = this.node.interfaces.find((i) => interfaceName(i.def) === name);
    if (!obj) throw virError(ErrorCode.NO_INTERFACE, `no interface with matching name '${name}'`, ErrorDomain.INTERFACE);
    return obj;
  }

  async connectListAllInterfaces(flags: number): Promise<InterfaceRef[]> {
    checkFlags(flags, 3, 'testConnectListAllInterfaces');
    const both = flags & 3;
    return this.node.interfaces
      .filter((i) => both === 0 || both === 3 || (flags & 2 ? i.active : !i.active))
      .map((i) => ({ name: interfaceName(i.def), mac: interfaceMAC(i.def) }));
  }
  async interfaceLookupByName(name: string): Promise<InterfaceRef> {
    const obj = this.ifaceObj(name);
    return { name, mac: interfaceMAC(obj.def) };
  }
  async interfaceLookupByMACString(mac: string): Promise<InterfaceRef> {
    const matches = this.node.interfaces.filter((i) => interfaceMAC(i.def).toLowerCase() === mac.toLowerCase());
    if (matches.length === 0) throw virError(ErrorCode.NO_INTERFACE, `no interface with matching mac '${mac}'`, ErrorDomain.INTERFACE);
    if (matches.length > 1) throw virError(ErrorCode.MULTIPLE_INTERFACES, undefined, ErrorDomain.INTERFACE);
    return { name: interfaceName(matches[0]!.def), mac: interfaceMAC(matches[0]!.def) };
  }
  async interfaceGetXMLDesc(iface: InterfaceRef, flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testInterfaceGetXMLDesc');
    return formatInterfaceXML(this.ifaceObj(iface.name).def);
  }
  async interfaceIsActive(iface: InterfaceRef): Promise<boolean> {
    return this.ifaceObj(iface.name).active;
  }
  async interfaceCreate(iface: InterfaceRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceCreate');
    const obj = this.ifaceObj(iface.name);
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, undefined, ErrorDomain.INTERFACE);
    obj.active = true;
  }
  async interfaceDestroy(iface: InterfaceRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceDestroy');
    const obj = this.ifaceObj(iface.name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, undefined, ErrorDomain.INTERFACE);
    obj.active = false;
  }
  /** virInterfaceObjListAssignDef: a known name gets the new definition, a new one starts inactive. */
  async interfaceDefineXML(xml: string, flags = 0): Promise<InterfaceRef> {
    checkFlags(flags, 1, 'testInterfaceDefineXML');
    const def = parseInterfaceXML(xml);
    const existing = this.node.interfaces.find((i) => interfaceName(i.def) === interfaceName(def));
    if (existing) existing.def = def;
    else this.node.interfaces.push({ def, active: false });
    return { name: interfaceName(def), mac: interfaceMAC(def) };
  }
  async interfaceUndefine(iface: InterfaceRef): Promise<void> {
    const obj = this.ifaceObj(iface.name);
    this.node.interfaces.splice(this.node.interfaces.indexOf(obj), 1);
  }
  async interfaceChangeBegin(flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeBegin');
    if (this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'there is another transaction running.', ErrorDomain.INTERFACE);
    this.node.interfaceBackup = structuredClone(this.node.interfaces);
  }
  async interfaceChangeCommit(flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeCommit');
    if (!this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'no transaction running, nothing to be committed.', ErrorDomain.INTERFACE);
    this.node.interfaceBackup = undefined;
  }
  async interfaceChangeRollback(flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testInterfaceChangeRollback');
    if (!this.node.interfaceBackup) throw virError(ErrorCode.OPERATION_INVALID, 'no transaction running, nothing to rollback.', ErrorDomain.INTERFACE);
    this.node.interfaces = this.node.interfaceBackup;
    this.node.interfaceBackup = undefined;
  }

  // ---- storage pools ----

  private poolObj(name: string): PoolObj {
    const obj = this.node.pools.find((p) => p.def.name === name);
    if (!obj) throw virError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${name}'`, ErrorDomain.STORAGE);
    return obj;
  }
  private activePool(name: string): PoolObj {
    const obj = this.poolObj(name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, `storage pool '${name}' is not active`, ErrorDomain.STORAGE);
    return obj;
  }
  private inactivePool(name: string): PoolObj {
    const obj = this.poolObj(name);
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `storage pool '${name}' is active`, ErrorDomain.STORAGE);
    return obj;
  }
  private poolRef(obj: PoolObj): StoragePoolRef {
    return { name: obj.def.name, uuid: obj.def.uuid };
  }

  async connectListAllStoragePools(flags: number): Promise<StoragePoolRef[]> {
    checkFlags(flags, 0x3ffff, 'testConnectListAllStoragePools');
    const pair = (a: number, b: number, has: boolean) => {
      const both = flags & (a | b);
      return both === 0 || both === (a | b) || (flags & a ? has : !has);
    };
    // Type filters occupy bits 6.. in virStoragePoolType order.
    const typeBits = flags >> 6;
    return this.node.pools
      .filter((p) => pair(2, 1, p.active) && pair(4, 8, p.persistent) && pair(16, 32, p.autostart))
      .filter((p) => typeBits === 0 || (typeBits & (1 << POOL_TYPES.indexOf(p.def.type))) !== 0)
      .map((p) => this.poolRef(p));
  }

  async storagePoolLookupByName(name: string): Promise<StoragePoolRef> {
    return this.poolRef(this.poolObj(name));
  }
  async storagePoolLookupByUUID(uuid: string): Promise<StoragePoolRef> {
    const wanted = parseUUID(uuid);
    const obj = this.node.pools.find((p) => p.def.uuid === wanted);
    if (!obj) throw virError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching uuid '${uuid}'`, ErrorDomain.STORAGE);
    return this.poolRef(obj);
  }
  async storagePoolLookupByVolume(vol: StorageVolRef): Promise<StoragePoolRef> {
    return this.storagePoolLookupByName(vol.pool);
  }

  /** virStoragePoolObjListAdd's duplicate rules. */
  private addPool(def: PoolObj['def'], checkLive: boolean): PoolObj {
    const byUUID = this.node.pools.find((p) => p.def.uuid === def.uuid);
    if (byUUID) {
      if (byUUID.def.name !== def.name) {
        throw virError(ErrorCode.OPERATION_FAILED, `pool '${byUUID.def.name}' is already defined with uuid ${def.uuid}`, ErrorDomain.STORAGE);
      }
      if (checkLive && byUUID.active) throw virError(ErrorCode.OPERATION_INVALID, `pool is already active as '${def.name}'`, ErrorDomain.STORAGE);
      byUUID.def = def;
      return byUUID;
    }
    const byName = this.node.pools.find((p) => p.def.name === def.name);
    if (byName) throw virError(ErrorCode.OPERATION_FAILED, `pool '${def.name}' already exists with uuid ${byName.def.uuid}`, ErrorDomain.STORAGE);
    const obj: PoolObj = { def, active: false, persistent: true, autostart: false, volumes: [] };
    this.node.pools.push(obj);
    return obj;
  }

  async storagePoolDefineXML(xml: string, flags = 0): Promise<StoragePoolRef> {
    checkFlags(flags, 1, 'testStoragePoolDefineXML');
    const def = parseStoragePoolXML(xml);
    resetPoolSizes(def);
    const obj = this.addPool(def, false);
    obj.persistent = true;
    return this.poolRef(obj);
  }
  async storagePoolCreateXML(xml: string, flags = 0): Promise<StoragePoolRef> {
    checkFlags(flags, 0, 'testStoragePoolCreateXML');
    const def = parseStoragePoolXML(xml);
    resetPoolSizes(def);
    const obj = this.addPool(def, true);
    obj.persistent = false;
    obj.active = true;
    return this.poolRef(obj);
  }
  async storagePoolBuild(pool: StoragePoolRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolBuild');
    this.inactivePool(pool.name);
  }
  async storagePoolCreate(pool: StoragePoolRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolCreate');
    this.inactivePool(pool.name).active = true;
  }
  async storagePoolDestroy(pool: StoragePoolRef): Promise<void> {
    const obj = this.activePool(pool.name);
    obj.active = false;
    if (!obj.persistent) this.node.pools.splice(this.node.pools.indexOf(obj), 1);
  }
  async storagePoolDelete(pool: StoragePoolRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolDelete');
    this.inactivePool(pool.name);
  }
  async storagePoolUndefine(pool: StoragePoolRef): Promise<void> {
    const obj = this.inactivePool(pool.name);
    this.node.pools.splice(this.node.pools.indexOf(obj), 1);
  }
  async storagePoolRefresh(pool: StoragePoolRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolRefresh');
    this.activePool(pool.name);
  }
  async storagePoolGetInfo(pool: StoragePoolRef): Promise<StoragePoolInfo> {
    const obj = this.poolObj(pool.name);
    return { state: obj.active ? 2 : 0, capacity: Number(obj.def.capacity), allocation: Number(obj.def.allocation), available: Number(obj.def.available) };
  }
  async storagePoolGetXMLDesc(pool: StoragePoolRef, flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testStoragePoolGetXMLDesc');
    return formatStoragePoolXML(this.poolObj(pool.name).def);
  }
  async storagePoolIsActive(pool: StoragePoolRef): Promise<boolean> {
    return this.poolObj(pool.name).active;
  }
  async storagePoolIsPersistent(pool: StoragePoolRef): Promise<boolean> {
    return this.poolObj(pool.name).persistent;
  }
  async storagePoolGetAutostart(pool: StoragePoolRef): Promise<boolean> {
    const obj = this.poolObj(pool.name);
    return obj.persistent && obj.autostart;
  }
  async storagePoolSetAutostart(pool: StoragePoolRef, autostart: boolean): Promise<void> {
    const obj = this.poolObj(pool.name);
    if (!obj.persistent) throw virError(ErrorCode.INVALID_ARG, 'pool has no config file', ErrorDomain.STORAGE);
    obj.autostart = autostart;
  }
  async storagePoolNumOfVolumes(pool: StoragePoolRef): Promise<number> {
    return this.activePool(pool.name).volumes.length;
  }
  async storagePoolListAllVolumes(pool: StoragePoolRef, flags = 0): Promise<StorageVolRef[]> {
    checkFlags(flags, 0, 'testStoragePoolListAllVolumes');
    const obj = this.poolObj(pool.name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, 'storage pool is not active', ErrorDomain.STORAGE);
    return obj.volumes.map((v) => this.volRef(obj, v));
  }

  // ---- storage volumes ----

  private volRef(pool: PoolObj, vol: StorageVolDef): StorageVolRef {
    return { pool: pool.def.name, name: vol.name, key: vol.key ?? '' };
  }
  private volume(pool: PoolObj, name: string): StorageVolDef {
    const vol = pool.volumes.find((v) => v.name === name);
    if (!vol) throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${name}'`, ErrorDomain.STORAGE);
    return vol;
  }

  async storageVolLookupByName(pool: StoragePoolRef, name: string): Promise<StorageVolRef> {
    const obj = this.activePool(pool.name);
    return this.volRef(obj, this.volume(obj, name));
  }
  async storageVolLookupByKey(key: string): Promise<StorageVolRef> {
    for (const p of this.node.pools.filter((x) => x.active)) {
      const v = p.volumes.find((x) => x.key === key);
      if (v) return this.volRef(p, v);
    }
    throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching key '${key}'`, ErrorDomain.STORAGE);
  }
  async storageVolLookupByPath(path: string): Promise<StorageVolRef> {
    for (const p of this.node.pools.filter((x) => x.active)) {
      const v = p.volumes.find((x) => x.targetPath === path);
      if (v) return this.volRef(p, v);
    }
    throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching path '${path}'`, ErrorDomain.STORAGE);
  }

  /** testStorageVolCreateXML(From): the volume lives at <pool target>/<name>. */
  private addVolume(obj: PoolObj, vol: StorageVolDef): StorageVolRef {
    if (obj.volumes.some((v) => v.name === vol.name)) throw virError(ErrorCode.OPERATION_FAILED, 'storage vol already exists', ErrorDomain.STORAGE);
    // CVE-2015-5313: a name must never lead outside the pool's directory.
    if (vol.name.includes('/') && FILE_POOL_TYPES.has(obj.def.type)) {
      throw virError(ErrorCode.OPERATION_INVALID, `volume name '${vol.name}' cannot contain '/'`, ErrorDomain.STORAGE);
    }
    if (obj.def.allocation + vol.allocation > obj.def.capacity) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Not enough free space in pool for volume '${vol.name}'`, ErrorDomain.STORAGE);
    }
    vol.targetPath = `${obj.def.targetPath}/${vol.name}`;
    vol.key = vol.targetPath;
    obj.volumes.push(vol);
    obj.def.allocation += vol.allocation;
    obj.def.available = obj.def.capacity - obj.def.allocation;
    return this.volRef(obj, vol);
  }

  async storageVolCreateXML(pool: StoragePoolRef, xml: string, flags = 0): Promise<StorageVolRef> {
    checkFlags(flags, 1 << 1, 'testStorageVolCreateXML');
    const obj = this.activePool(pool.name);
    return this.addVolume(obj, parseStorageVolXML(xml, obj.def.type));
  }
  async storageVolCreateXMLFrom(pool: StoragePoolRef, xml: string, clone: StorageVolRef, flags = 0): Promise<StorageVolRef> {
    checkFlags(flags, 1 << 1, 'testStorageVolCreateXMLFrom');
    const obj = this.activePool(pool.name);
    const vol = parseStorageVolXML(xml, obj.def.type);
    if (obj.volumes.some((v) => v.name === vol.name)) throw virError(ErrorCode.OPERATION_FAILED, 'storage vol already exists', ErrorDomain.STORAGE);
    this.volume(obj, clone.name);
    return this.addVolume(obj, vol);
  }
  async storageVolDelete(vol: StorageVolRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testStorageVolDelete');
    const obj = this.activePool(vol.pool);
    const def = this.volume(obj, vol.name);
    obj.def.allocation -= def.allocation;
    obj.def.available = obj.def.capacity - obj.def.allocation;
    obj.volumes.splice(obj.volumes.indexOf(def), 1);
  }
  async storageVolGetInfo(vol: StorageVolRef): Promise<StorageVolInfo> {
    const obj = this.activePool(vol.pool);
    const def = this.volume(obj, vol.name);
    return { type: volumeTypeForPool(obj.def.type), capacity: Number(def.capacity), allocation: Number(def.allocation) };
  }
  async storageVolGetXMLDesc(vol: StorageVolRef, flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testStorageVolGetXMLDesc');
    const obj = this.activePool(vol.pool);
    return formatStorageVolXML(this.volume(obj, vol.name));
  }
  async storageVolGetPath(vol: StorageVolRef): Promise<string> {
    const obj = this.activePool(vol.pool);
    return this.volume(obj, vol.name).targetPath ?? '';
  }
}

/** testStorageVolumeTypeForPool: virStorageVolType of a pool's volumes. */
function volumeTypeForPool(type: string): number {
  if (['dir', 'fs', 'netfs', 'vstorage'].includes(type)) return 0;
  if (['sheepdog', 'iscsi-direct', 'gluster', 'rbd'].includes(type)) return 3;
  return 1;
}
