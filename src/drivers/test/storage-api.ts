// The test driver's storage pool and volume calls; volumes live at <pool target>/<name>.

import { FILE_POOL_TYPES, formatStoragePoolXML, parseStoragePoolXML } from '../../conf/storage-pool.js';
import { formatStorageVolXML, parseStorageVolXML, type StorageVolDef } from '../../conf/storage-vol.js';
import { type StoragePoolInfo, type StoragePoolRef, type StorageVolInfo, type StorageVolRef } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import { resetPoolSizes, type PoolObj } from './node.js';
import { TestObjects, checkFlags } from './objects.js';
import { matchesStoragePoolListFilter } from '../../conf/objects/list-filter.js';
import { VolumeList } from '../../conf/objects/object-list.js';

export class StorageAPI extends TestObjects {

  async connectListAllStoragePools(flags: number): Promise<StoragePoolRef[]> {
    checkFlags(flags, 0x3ffff, 'testConnectListAllStoragePools');
    return this.node.pools
      .all()
      .filter((p) => matchesStoragePoolListFilter({ active: p.active, persistent: p.persistent, autostart: p.autostart, type: p.def.type }, flags))
      .map((p) => this.poolRef(p));
  }

  async storagePoolLookupByName(name: string): Promise<StoragePoolRef> {
    return this.poolRef(this.poolObj(name));
  }
  async storagePoolLookupByUUID(uuid: string): Promise<StoragePoolRef> {
    const wanted = parseUUID(uuid);
    const obj = wanted === undefined ? undefined : this.node.pools.findByUUID(wanted);
    if (!obj) throw virError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching uuid '${uuid}'`, ErrorDomain.STORAGE);
    return this.poolRef(obj);
  }
  async storagePoolLookupByVolume(vol: StorageVolRef): Promise<StoragePoolRef> {
    return this.storagePoolLookupByName(vol.pool);
  }

  /** virStoragePoolObjListAdd's duplicate rules. */
  private addPool(def: PoolObj['def'], checkLive: boolean): PoolObj {
    const byUUID = this.node.pools.findByUUID(def.uuid);
    if (byUUID) {
      if (byUUID.def.name !== def.name) {
        throw virError(ErrorCode.OPERATION_FAILED, `pool '${byUUID.def.name}' is already defined with uuid ${def.uuid}`, ErrorDomain.STORAGE);
      }
      if (checkLive && byUUID.active) throw virError(ErrorCode.OPERATION_INVALID, `pool is already active as '${def.name}'`, ErrorDomain.STORAGE);
      byUUID.def = def;
      return byUUID;
    }
    const byName = this.node.pools.findByName(def.name);
    if (byName) throw virError(ErrorCode.OPERATION_FAILED, `pool '${def.name}' already exists with uuid ${byName.def.uuid}`, ErrorDomain.STORAGE);
    const obj: PoolObj = { def, active: false, persistent: true, autostart: false, volumes: new VolumeList() };
    this.node.pools.add(obj);
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
    if (!obj.persistent) this.node.pools.remove(obj);
  }
  async storagePoolDelete(pool: StoragePoolRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolDelete');
    this.inactivePool(pool.name);
  }
  async storagePoolUndefine(pool: StoragePoolRef): Promise<void> {
    const obj = this.inactivePool(pool.name);
    this.node.pools.remove(obj);
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
    return this.activePool(pool.name).volumes.size;
  }
  async storagePoolListAllVolumes(pool: StoragePoolRef, flags = 0): Promise<StorageVolRef[]> {
    checkFlags(flags, 0, 'testStoragePoolListAllVolumes');
    const obj = this.poolObj(pool.name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, 'storage pool is not active', ErrorDomain.STORAGE);
    return obj.volumes.all().map((v) => this.volRef(obj, v));
  }


  async storageVolLookupByName(pool: StoragePoolRef, name: string): Promise<StorageVolRef> {
    const obj = this.activePool(pool.name);
    return this.volRef(obj, this.volume(obj, name));
  }
  async storageVolLookupByKey(key: string): Promise<StorageVolRef> {
    for (const p of this.node.pools.all().filter((x) => x.active)) {
      const v = p.volumes.findByKey(key);
      if (v) return this.volRef(p, v);
    }
    throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching key '${key}'`, ErrorDomain.STORAGE);
  }
  async storageVolLookupByPath(path: string): Promise<StorageVolRef> {
    for (const p of this.node.pools.all().filter((x) => x.active)) {
      const v = p.volumes.findByPath(path);
      if (v) return this.volRef(p, v);
    }
    throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching path '${path}'`, ErrorDomain.STORAGE);
  }

  /** testStorageVolCreateXML(From): the volume lives at <pool target>/<name>. */
  private addVolume(obj: PoolObj, vol: StorageVolDef): StorageVolRef {
    if (obj.volumes.findByName(vol.name)) throw virError(ErrorCode.OPERATION_FAILED, 'storage vol already exists', ErrorDomain.STORAGE);
    // CVE-2015-5313: a name must never lead outside the pool's directory.
    if (vol.name.includes('/') && FILE_POOL_TYPES.has(obj.def.type)) {
      throw virError(ErrorCode.OPERATION_INVALID, `volume name '${vol.name}' cannot contain '/'`, ErrorDomain.STORAGE);
    }
    if (obj.def.allocation + vol.allocation > obj.def.capacity) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Not enough free space in pool for volume '${vol.name}'`, ErrorDomain.STORAGE);
    }
    vol.targetPath = `${obj.def.targetPath}/${vol.name}`;
    vol.key = vol.targetPath;
    obj.volumes.add(vol);
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
    if (obj.volumes.findByName(vol.name)) throw virError(ErrorCode.OPERATION_FAILED, 'storage vol already exists', ErrorDomain.STORAGE);
    this.volume(obj, clone.name);
    return this.addVolume(obj, vol);
  }
  async storageVolDelete(vol: StorageVolRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testStorageVolDelete');
    const obj = this.activePool(vol.pool);
    const def = this.volume(obj, vol.name);
    obj.def.allocation -= def.allocation;
    obj.def.available = obj.def.capacity - obj.def.allocation;
    obj.volumes.remove(def);
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
