// Typed handles for the objects beside domains (virNetworkPtr, virStoragePoolPtr,
// virStorageVolPtr, virInterfacePtr, virDomainSnapshotPtr). Like Domain, each
// holds its identity and makes its calls by procedure key through its connection.
import type { Connection } from './connection.js';
import type { InterfaceRef, NetworkRef, SnapshotRef, StoragePoolInfo, StoragePoolRef, StorageVolInfo, StorageVolRef } from './types.js';

/** What every object handle shares: its connection and the protocol's reference to the object. */
export abstract class ObjectHandle<Ref> {
  constructor(
    readonly connection: Connection,
    readonly ref: Ref,
  ) {}
}

/** A virtual network (virNetworkPtr). */
export class Network extends ObjectHandle<NetworkRef> {
  get name(): string {
    return this.ref.name;
  }
  get uuid(): string {
    return this.ref.uuid;
  }
  private get net(): { net: NetworkRef } {
    return { net: this.ref };
  }

  async getXMLDesc(flags = 0): Promise<string> {
    return (await this.connection.invoke('networkGetXMLDesc', { ...this.net, flags })).xml;
  }
  async isActive(): Promise<boolean> {
    return (await this.connection.invoke('networkIsActive', this.net)).active !== 0;
  }
  async isPersistent(): Promise<boolean> {
    return (await this.connection.invoke('networkIsPersistent', this.net)).persistent !== 0;
  }
  async getBridgeName(): Promise<string> {
    return (await this.connection.invoke('networkGetBridgeName', this.net)).name;
  }
  async getAutostart(): Promise<boolean> {
    return (await this.connection.invoke('networkGetAutostart', this.net)).autostart !== 0;
  }
  setAutostart(autostart: boolean): Promise<void> {
    return this.connection.invoke('networkSetAutostart', { ...this.net, autostart: autostart ? 1 : 0 });
  }
  create(): Promise<void> {
    return this.connection.invoke('networkCreate', this.net);
  }
  destroy(): Promise<void> {
    return this.connection.invoke('networkDestroy', this.net);
  }
  undefine(): Promise<void> {
    return this.connection.invoke('networkUndefine', this.net);
  }
  /** virNetworkUpdate: `command`, `section` and `flags` take libvirt's values. */
  update(command: number, section: number, parentIndex: number, xml: string, flags = 0): Promise<void> {
    return this.connection.invoke('networkUpdate', { ...this.net, command, section, parentIndex, xml, flags });
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
  private get pool(): { pool: StoragePoolRef } {
    return { pool: this.ref };
  }

  async getInfo(): Promise<StoragePoolInfo> {
    const info = await this.connection.invoke('storagePoolGetInfo', this.pool);
    return { state: info.state, capacity: Number(info.capacity), allocation: Number(info.allocation), available: Number(info.available) };
  }
  async getXMLDesc(flags = 0): Promise<string> {
    return (await this.connection.invoke('storagePoolGetXMLDesc', { ...this.pool, flags })).xml;
  }
  async isActive(): Promise<boolean> {
    return (await this.connection.invoke('storagePoolIsActive', this.pool)).active !== 0;
  }
  async isPersistent(): Promise<boolean> {
    return (await this.connection.invoke('storagePoolIsPersistent', this.pool)).persistent !== 0;
  }
  async getAutostart(): Promise<boolean> {
    return (await this.connection.invoke('storagePoolGetAutostart', this.pool)).autostart !== 0;
  }
  setAutostart(autostart: boolean): Promise<void> {
    return this.connection.invoke('storagePoolSetAutostart', { ...this.pool, autostart: autostart ? 1 : 0 });
  }
  build(flags = 0): Promise<void> {
    return this.connection.invoke('storagePoolBuild', { ...this.pool, flags });
  }
  create(flags = 0): Promise<void> {
    return this.connection.invoke('storagePoolCreate', { ...this.pool, flags });
  }
  refresh(flags = 0): Promise<void> {
    return this.connection.invoke('storagePoolRefresh', { ...this.pool, flags });
  }
  destroy(): Promise<void> {
    return this.connection.invoke('storagePoolDestroy', this.pool);
  }
  undefine(): Promise<void> {
    return this.connection.invoke('storagePoolUndefine', this.pool);
  }
  /** virStoragePoolDelete: removes the pool's underlying storage. */
  delete(flags = 0): Promise<void> {
    return this.connection.invoke('storagePoolDelete', { ...this.pool, flags });
  }
  async listAllVolumes(flags = 0): Promise<StorageVolume[]> {
    const { vols } = await this.connection.invoke('storagePoolListAllVolumes', { ...this.pool, need_results: 1, flags });
    return vols.map((r) => new StorageVolume(this.connection, r));
  }
  async lookupVolumeByName(name: string): Promise<StorageVolume> {
    return new StorageVolume(this.connection, (await this.connection.invoke('storageVolLookupByName', { ...this.pool, name })).vol);
  }
  async createVolume(xml: string, flags = 0): Promise<StorageVolume> {
    return new StorageVolume(this.connection, (await this.connection.invoke('storageVolCreateXML', { ...this.pool, xml, flags })).vol);
  }
  async cloneVolume(xml: string, source: StorageVolume, flags = 0): Promise<StorageVolume> {
    const { vol } = await this.connection.invoke('storageVolCreateXMLFrom', { ...this.pool, xml, clonevol: source.ref, flags });
    return new StorageVolume(this.connection, vol);
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
  private get vol(): { vol: StorageVolRef } {
    return { vol: this.ref };
  }

  /** virStorageVolGetInfo, or virStorageVolGetInfoFlags when flags are given. */
  async getInfo(flags = 0): Promise<StorageVolInfo> {
    const info = flags ? await this.connection.invoke('storageVolGetInfoFlags', { ...this.vol, flags }) : await this.connection.invoke('storageVolGetInfo', this.vol);
    return { type: info.type, capacity: Number(info.capacity), allocation: Number(info.allocation) };
  }
  async getXMLDesc(flags = 0): Promise<string> {
    return (await this.connection.invoke('storageVolGetXMLDesc', { ...this.vol, flags })).xml;
  }
  async getPath(): Promise<string> {
    return (await this.connection.invoke('storageVolGetPath', this.vol)).name;
  }
  delete(flags = 0): Promise<void> {
    return this.connection.invoke('storageVolDelete', { ...this.vol, flags });
  }
  wipe(flags = 0): Promise<void> {
    return this.connection.invoke('storageVolWipe', { ...this.vol, flags });
  }
  /** virStorageVolWipePattern: `algorithm` is a virStorageVolWipeAlgorithm. */
  wipePattern(algorithm: number, flags = 0): Promise<void> {
    return this.connection.invoke('storageVolWipePattern', { ...this.vol, algorithm, flags });
  }
  /** virStorageVolResize: `capacity` in bytes (VIR_STORAGE_VOL_RESIZE_* flags: delta, shrink, allocate). */
  resize(capacity: bigint | number, flags = 0): Promise<void> {
    return this.connection.invoke('storageVolResize', { ...this.vol, capacity: BigInt(capacity), flags });
  }
  async pool(): Promise<StoragePool> {
    return new StoragePool(this.connection, (await this.connection.invoke('storagePoolLookupByVolume', this.vol)).pool);
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
  private get iface(): { iface: InterfaceRef } {
    return { iface: this.ref };
  }

  async getXMLDesc(flags = 0): Promise<string> {
    return (await this.connection.invoke('interfaceGetXMLDesc', { ...this.iface, flags })).xml;
  }
  async isActive(): Promise<boolean> {
    return (await this.connection.invoke('interfaceIsActive', this.iface)).active !== 0;
  }
  create(flags = 0): Promise<void> {
    return this.connection.invoke('interfaceCreate', { ...this.iface, flags });
  }
  destroy(flags = 0): Promise<void> {
    return this.connection.invoke('interfaceDestroy', { ...this.iface, flags });
  }
  undefine(): Promise<void> {
    return this.connection.invoke('interfaceUndefine', this.iface);
  }
}

/** A domain snapshot (virDomainSnapshotPtr). */
export class DomainSnapshot extends ObjectHandle<SnapshotRef> {
  get name(): string {
    return this.ref.name;
  }
  private get snap(): { snap: SnapshotRef } {
    return { snap: this.ref };
  }

  async getXMLDesc(flags = 0): Promise<string> {
    return (await this.connection.invoke('domainSnapshotGetXMLDesc', { ...this.snap, flags })).xml;
  }
  async getParent(flags = 0): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.connection, (await this.connection.invoke('domainSnapshotGetParent', { ...this.snap, flags })).snap);
  }
  async listAllChildren(flags = 0): Promise<DomainSnapshot[]> {
    const { snapshots } = await this.connection.invoke('domainSnapshotListAllChildren', { snapshot: this.ref, need_results: 1, flags });
    return snapshots.map((r) => new DomainSnapshot(this.connection, r));
  }
  async isCurrent(flags = 0): Promise<boolean> {
    return (await this.connection.invoke('domainSnapshotIsCurrent', { ...this.snap, flags })).current !== 0;
  }
  revert(flags = 0): Promise<void> {
    return this.connection.invoke('domainRevertToSnapshot', { ...this.snap, flags });
  }
  delete(flags = 0): Promise<void> {
    return this.connection.invoke('domainSnapshotDelete', { ...this.snap, flags });
  }
}
