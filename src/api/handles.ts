// Typed handles for the objects beside domains (virNetworkPtr, virStoragePoolPtr,
// virStorageVolPtr, virInterfacePtr, virDomainSnapshotPtr). Like Domain, each
// holds its identity and calls the driver through its connection.

import type { Connection } from './connection.js';
import type { InterfaceRef, NetworkRef, SnapshotRef, StoragePoolInfo, StoragePoolRef, StorageVolInfo, StorageVolRef } from './types.js';

/**
 * What every object handle shares: its connection, the driver's reference to
 * the object, and dispatch of libvirt-named driver methods with that reference
 * as first argument.
 */
export abstract class ObjectHandle<Ref> {
  constructor(
    readonly connection: Connection,
    readonly ref: Ref,
  ) {}

  protected call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.connection.invoke<T>(method, this.ref, ...args);
  }
}

/** A virtual network (virNetworkPtr). */
export class Network extends ObjectHandle<NetworkRef> {

  get name(): string {
    return this.ref.name;
  }
  get uuid(): string {
    return this.ref.uuid;
  }

  getXMLDesc(flags = 0): Promise<string> {
    return this.call('networkGetXMLDesc', flags);
  }
  isActive(): Promise<boolean> {
    return this.call('networkIsActive');
  }
  isPersistent(): Promise<boolean> {
    return this.call('networkIsPersistent');
  }
  getBridgeName(): Promise<string> {
    return this.call('networkGetBridgeName');
  }
  getAutostart(): Promise<boolean> {
    return this.call('networkGetAutostart');
  }
  setAutostart(autostart: boolean): Promise<void> {
    return this.call('networkSetAutostart', autostart);
  }
  create(flags = 0): Promise<void> {
    return this.call('networkCreate', flags);
  }
  destroy(): Promise<void> {
    return this.call('networkDestroy');
  }
  undefine(): Promise<void> {
    return this.call('networkUndefine');
  }
  /** virNetworkUpdate: `command`, `section` and `flags` take libvirt's values. */
  update(command: number, section: number, parentIndex: number, xml: string, flags = 0): Promise<void> {
    return this.call('networkUpdate', command, section, parentIndex, xml, flags);
  }
}

/** A storage pool (virStoragePoolPtr). */
export class StoragePool extends ObjectHandle<StoragePoolRef> {

  get name(): string {
    return this.ref.name;
  }
  get uuid(): string {
    return this.ref.uuid;
  }

  getInfo(): Promise<StoragePoolInfo> {
    return this.call('storagePoolGetInfo');
  }
  getXMLDesc(flags = 0): Promise<string> {
    return this.call('storagePoolGetXMLDesc', flags);
  }
  isActive(): Promise<boolean> {
    return this.call('storagePoolIsActive');
  }
  isPersistent(): Promise<boolean> {
    return this.call('storagePoolIsPersistent');
  }
  getAutostart(): Promise<boolean> {
    return this.call('storagePoolGetAutostart');
  }
  setAutostart(autostart: boolean): Promise<void> {
    return this.call('storagePoolSetAutostart', autostart);
  }
  build(flags = 0): Promise<void> {
    return this.call('storagePoolBuild', flags);
  }
  create(flags = 0): Promise<void> {
    return this.call('storagePoolCreate', flags);
  }
  refresh(flags = 0): Promise<void> {
    return this.call('storagePoolRefresh', flags);
  }
  destroy(): Promise<void> {
    return this.call('storagePoolDestroy');
  }
  undefine(): Promise<void> {
    return this.call('storagePoolUndefine');
  }
  async listAllVolumes(flags = 0): Promise<StorageVolume[]> {
    return (await this.call<StorageVolRef[]>('storagePoolListAllVolumes', flags)).map((r) => new StorageVolume(this.connection, r));
  }
  async lookupVolumeByName(name: string): Promise<StorageVolume> {
    return new StorageVolume(this.connection, await this.call('storageVolLookupByName', name));
  }
  async createVolume(xml: string, flags = 0): Promise<StorageVolume> {
    return new StorageVolume(this.connection, await this.call('storageVolCreateXML', xml, flags));
  }
  async cloneVolume(xml: string, source: StorageVolume, flags = 0): Promise<StorageVolume> {
    return new StorageVolume(this.connection, await this.call('storageVolCreateXMLFrom', xml, source.ref, flags));
  }
}

/** A storage volume (virStorageVolPtr): its pool, name and key. */
export class StorageVolume extends ObjectHandle<StorageVolRef> {

  get name(): string {
    return this.ref.name;
  }
  get key(): string {
    return this.ref.key;
  }

  getInfo(): Promise<StorageVolInfo> {
    return this.call('storageVolGetInfo');
  }
  getXMLDesc(flags = 0): Promise<string> {
    return this.call('storageVolGetXMLDesc', flags);
  }
  getPath(): Promise<string> {
    return this.call('storageVolGetPath');
  }
  delete(flags = 0): Promise<void> {
    return this.call('storageVolDelete', flags);
  }
  async pool(): Promise<StoragePool> {
    return new StoragePool(this.connection, await this.call('storagePoolLookupByVolume'));
  }
}

/** A host network interface (virInterfacePtr). */
export class HostInterface extends ObjectHandle<InterfaceRef> {

  get name(): string {
    return this.ref.name;
  }
  get mac(): string {
    return this.ref.mac;
  }

  getXMLDesc(flags = 0): Promise<string> {
    return this.call('interfaceGetXMLDesc', flags);
  }
  isActive(): Promise<boolean> {
    return this.call('interfaceIsActive');
  }
  create(flags = 0): Promise<void> {
    return this.call('interfaceCreate', flags);
  }
  destroy(flags = 0): Promise<void> {
    return this.call('interfaceDestroy', flags);
  }
  undefine(): Promise<void> {
    return this.call('interfaceUndefine');
  }
}

/** A domain snapshot (virDomainSnapshotPtr). */
export class DomainSnapshot extends ObjectHandle<SnapshotRef> {

  get name(): string {
    return this.ref.name;
  }
  private wrap(refs: SnapshotRef[]): DomainSnapshot[] {
    return refs.map((r) => new DomainSnapshot(this.connection, r));
  }

  getXMLDesc(flags = 0): Promise<string> {
    return this.call('domainSnapshotGetXMLDesc', flags);
  }
  async getParent(flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, await this.call('domainSnapshotGetParent', flags));
  }
  async listAllChildren(flags = 0): Promise<DomainSnapshot[]> {
    return this.wrap(await this.call('domainSnapshotListAllChildren', flags));
  }
  isCurrent(flags = 0): Promise<boolean> {
    return this.call('domainSnapshotIsCurrent', flags);
  }
  revert(flags = 0): Promise<void> {
    return this.call('domainRevertToSnapshot', flags);
  }
  delete(flags = 0): Promise<void> {
    return this.call('domainSnapshotDelete', flags);
  }
}
