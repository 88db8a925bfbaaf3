// Shared ground of the test driver's API families: flag checks, libvirt's flag
// values, and the object lookups and state transitions every family uses.

import { interfaceName } from '../../conf/interface.js';
import { networkName, networkUUID } from '../../conf/network.js';
import { type StorageVolDef } from '../../conf/storage-vol.js';
import type { DriverEvent } from '../../driver/events.js';
import { DomainEventType, StoppedDetail, type NetworkEventType, type StoragePoolEventType } from '../../driver/event-numbers.js';
import { DomainState, RunningReason, ShutoffReason } from '../../driver/flags.js';
import type { DomainRef, NetworkRef, StoragePoolRef, StorageVolRef } from '../../driver/refs.js';
import type { TypedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { child, type XmlElement } from '../../util/xml.js';
import { type DomainObj, type NetworkObj, type PoolObj, type TestNode } from './node.js';

/** virCheckFlags: libvirt names the C function that refused the flags. */
export function checkFlags(flags: number, allowed: number, fn: string): void {
  const unsupported = flags & ~allowed;
  if (unsupported) {
    throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.TEST, `unsupported flags (0x${(unsupported >>> 0).toString(16)}) in function ${fn}`);
  }
}

export type { DomainRef, NetworkRef, StoragePoolRef, StorageVolRef, InterfaceRef, SnapshotRef } from '../../driver/refs.js';

/** The objects a virConnectListAll* call returns: only when the caller asked for them (need_results); the count goes back always. */
export function wanted<T>(items: T[], needResults: number): T[] {
  return needResults ? items : [];
}

/**
 * A typed-parameter getter's answer as the daemon sends it: up to `nparams` of
 * them (the count travels only for the nparams-0 query, which the getters answer first).
 */
export function typedParamsUpTo(params: TypedParam[], nparams: number): { params: TypedParam[]; nparams: number } {
  return { params: params.slice(0, nparams), nparams: 0 };
}

/** A C string as the protocol's char arrays carry it: its bytes and the terminating NUL. */
export function cChars(text: string): number[] {
  return [...Buffer.from(text, 'utf8'), 0];
}

/** A boolean answer (virDomainIsActive, ...) as the int the protocol carries. */
export const flag = (b: boolean): number => (b ? 1 : 0);

/** testConnectGetMaxVcpus */
export const MAX_VCPUS = 32;

// virDomainModificationImpact, virDomainMemoryModFlags, virDomainVcpuFlags
export const AFFECT_LIVE = 1;
export const AFFECT_CONFIG = 2;
export const MEM_MAXIMUM = 4;
export const VCPU_MAXIMUM = 4;
// virDomainXMLFlags
export const XML_SECURE = 1;
export const XML_INACTIVE = 2;
export const XML_MIGRATABLE = 8;
// virDomainUndefineFlagsValues, virDomainDefineFlags, virDomainCreateFlags
export const UNDEFINE_MANAGED_SAVE = 1;
export const UNDEFINE_SNAPSHOTS_METADATA = 2;
export const DEFINE_VALIDATE = 1;
export const START_VALIDATE = 1 << 4;

export function devices(dom: XmlElement): XmlElement[] {
  return child(dom, 'devices')?.children ?? [];
}

/**
 * The test driver's objects and the lookups, state changes and definition
 * choices every API family shares; the families extend it.
 */
export class TestObjects {
  constructor(protected readonly node: TestNode) {}

  protected domainObj(ref: DomainRef): DomainObj {
    const obj = this.node.domains.findByUUID(ref.uuid);
    if (!obj) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching uuid '${ref.uuid}' (${ref.name})`, ErrorDomain.TEST);
    return obj;
  }

  protected refOf(obj: DomainObj): DomainRef {
    return { name: obj.name, uuid: obj.uuid, id: obj.id };
  }

  protected isActive(obj: DomainObj): boolean {
    return obj.id !== -1;
  }

  protected checkActive(obj: DomainObj): void {
    if (!this.isActive(obj)) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.DOMAIN);
  }

  /** The one place a domain's run state changes (where lifecycle events will be raised). */
  protected setState(obj: DomainObj, state: DomainState, reason: number): void {
    obj.state = state;
    obj.reason = reason;
  }

  /** testDomainStartState */
  protected startState(obj: DomainObj, reason: RunningReason): void {
    obj.id = this.node.allocateDomainID();
    if (obj.persistent && obj.newDef === undefined) obj.newDef = structuredClone(obj.def);
    obj.hasManagedSave = false;
    this.setState(obj, DomainState.RUNNING, reason);
  }

  /**
   * testDomainShutdownState and the STOPPED event every caller raises: the
   * persistent definition comes back. libvirt keeps the id in the live
   * definition, so the event of a domain with none to bring back (transient)
   * still shows the id it ran with.
   */
  protected shutdownState(obj: DomainObj, reason: ShutoffReason, detail: StoppedDetail): void {
    const ranAs = this.refOf(obj);
    const persistentDef = obj.newDef;
    if (persistentDef) {
      obj.def = persistentDef;
      obj.newDef = undefined;
    }
    obj.id = -1;
    this.setState(obj, DomainState.SHUTOFF, reason);
    const dom = persistentDef ? this.refOf(obj) : ranAs;
    this.queueEvent({ key: 'domainEventCallbackLifecycle', body: { msg: { dom, event: DomainEventType.STOPPED, detail } } });
  }

  /**
   * virObjectEventStateQueue: every connection to the node hears of it once the
   * current call has answered (libvirt dispatches its queue from a timer).
   */
  protected queueEvent(event: DriverEvent): void {
    setImmediate(() => this.node.events.emit(event));
  }

  /** virDomainEventLifecycleNewFromObj: the domain as it is now (a stopped one has id -1). */
  protected domainEvent(obj: DomainObj, event: DomainEventType, detail: number): void {
    this.queueEvent({ key: 'domainEventCallbackLifecycle', body: { msg: { dom: this.refOf(obj), event, detail } } });
  }

  /** virNetworkEventLifecycleNew (the test driver's details are always 0). */
  protected networkEvent(net: NetworkRef, event: NetworkEventType): void {
    this.queueEvent({ key: 'networkEventLifecycle', body: { net, event, detail: 0 } });
  }

  /** virStoragePoolEventLifecycleNew (the test driver's details are always 0); the pool's reference, for answers. */
  protected poolEvent(obj: PoolObj, event: StoragePoolEventType): StoragePoolRef {
    const pool = this.poolRef(obj);
    this.queueEvent({ key: 'storagePoolEventLifecycle', body: { pool, event, detail: 0 } });
    return pool;
  }

  protected removeDomain(obj: DomainObj): void {
    this.node.domains.remove(obj);
  }

  /** The persistent definition, whether the domain runs or not. */
  protected persistentDef(obj: DomainObj): XmlElement {
    return obj.newDef ?? obj.def;
  }

  protected networkObj(net: NetworkRef, by: 'name' | 'uuid'): NetworkObj {
    const obj = by === 'name' ? this.node.networks.findByName(net.name) : this.node.networks.findByUUID(net.uuid);
    if (!obj) {
      const detail = by === 'name' ? `no network with matching name '${net.name}'` : `no network with matching uuid '${net.uuid}'`;
      throw virError(ErrorCode.NO_NETWORK, detail, ErrorDomain.NETWORK);
    }
    return obj;
  }

  protected netRef(obj: NetworkObj): NetworkRef {
    return { name: networkName(obj.def), uuid: networkUUID(obj.def) };
  }

  protected ifaceObj(name: string) {
    const obj = this.node.interfaces.find((i) => interfaceName(i.def) === name);
    if (!obj) throw virError(ErrorCode.NO_INTERFACE, `no interface with matching name '${name}'`, ErrorDomain.INTERFACE);
    return obj;
  }

  protected poolObj(name: string): PoolObj {
    const obj = this.node.pools.findByName(name);
    if (!obj) throw virError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${name}'`, ErrorDomain.STORAGE);
    return obj;
  }

  protected activePool(name: string): PoolObj {
    const obj = this.poolObj(name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, `storage pool '${name}' is not active`, ErrorDomain.STORAGE);
    return obj;
  }

  protected inactivePool(name: string): PoolObj {
    const obj = this.poolObj(name);
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `storage pool '${name}' is active`, ErrorDomain.STORAGE);
    return obj;
  }

  protected poolRef(obj: PoolObj): StoragePoolRef {
    return { name: obj.def.name, uuid: obj.def.uuid };
  }

  protected volRef(pool: PoolObj, vol: StorageVolDef): StorageVolRef {
    return { pool: pool.def.name, name: vol.name, key: vol.key ?? '' };
  }

  protected volume(pool: PoolObj, name: string): StorageVolDef {
    const vol = pool.volumes.findByName(name);
    if (!vol) throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${name}'`, ErrorDomain.STORAGE);
    return vol;
  }

  protected disks(def: XmlElement): XmlElement[] {
    return devices(def).filter((d) => d.name === 'disk');
  }
}
