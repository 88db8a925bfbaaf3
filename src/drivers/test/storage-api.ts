// The test driver's storage pool and volume calls; volumes live at <pool target>/<name>.

import { StoragePoolEventType } from '../../driver/event-numbers.js';
import { FILE_POOL_TYPES, formatStoragePoolXML, parseStoragePoolXML } from '../../conf/storage-pool.js';
import { formatStorageVolXML, parseStorageVolXML, type StorageVolDef } from '../../conf/storage-vol.js';
import type { StorageDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import { resetPoolSizes, type PoolObj } from './node.js';
import { TestObjects, checkFlags, flag, wanted, type StorageVolRef } from './objects.js';
import { matchesStoragePoolListFilter } from '../../conf/objects/list-filter.js';
import { VolumeList } from '../../conf/objects/object-list.js';

export class StorageAPI extends TestObjects implements StorageDriver {
  async connectListAllStoragePools({ need_results, flags }: ProcArgs<'connectListAllStoragePools'>): Promise<ProcRet<'connectListAllStoragePools'>> {
    checkFlags(flags, 0x3ffff, 'testConnectListAllStoragePools');
    const pools = this.node.pools
      .all()
      .filter((p) => matchesStoragePoolListFilter({ active: p.active, persistent: p.persistent, autostart: p.autostart, type: p.def.type }, flags))
      .map((p) => this.poolRef(p));
    return { pools: wanted(pools, need_results), ret: pools.length };
  }

  async storagePoolLookupByName({ name }: ProcArgs<'storagePoolLookupByName'>): Promise<ProcRet<'storagePoolLookupByName'>> {
    return { pool: this.poolRef(this.poolObj(name)) };
  }
  async storagePoolLookupByUUID({ uuid }: ProcArgs<'storagePoolLookupByUUID'>): Promise<ProcRet<'storagePoolLookupByUUID'>> {
    const wantedUUID = parseUUID(uuid);
    const obj = wantedUUID === undefined ? undefined : this.node.pools.findByUUID(wantedUUID);
    if (!obj) throw virError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching uuid '${uuid}'`, ErrorDomain.STORAGE);
    return { pool: this.poolRef(obj) };
  }
  async storagePoolLookupByVolume({ vol }: ProcArgs<'storagePoolLookupByVolume'>): Promise<ProcRet<'storagePoolLookupByVolume'>> {
    return { pool: this.poolRef(this.poolObj(vol.pool)) };
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

  async storagePoolDefineXML({ xml, flags }: ProcArgs<'storagePoolDefineXML'>): Promise<ProcRet<'storagePoolDefineXML'>> {
    checkFlags(flags, 1, 'testStoragePoolDefineXML');
    const def = parseStoragePoolXML(xml);
    resetPoolSizes(def);
    const obj = this.addPool(def, false);
    obj.persistent = true;
    return { pool: this.poolEvent(obj, StoragePoolEventType.DEFINED) };
  }
  async storagePoolCreateXML({ xml, flags }: ProcArgs<'storagePoolCreateXML'>): Promise<ProcRet<'storagePoolCreateXML'>> {
    checkFlags(flags, 0, 'testStoragePoolCreateXML');
    const def = parseStoragePoolXML(xml);
    resetPoolSizes(def);
    const obj = this.addPool(def, true);
    obj.persistent = false;
    obj.active = true;
    return { pool: this.poolEvent(obj, StoragePoolEventType.STARTED) };
  }
  async storagePoolBuild({ pool, flags }: ProcArgs<'storagePoolBuild'>): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolBuild');
    this.poolEvent(this.inactivePool(pool.name), StoragePoolEventType.CREATED);
  }
  async storagePoolCreate({ pool, flags }: ProcArgs<'storagePoolCreate'>): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolCreate');
    const obj = this.inactivePool(pool.name);
    obj.active = true;
    this.poolEvent(obj, StoragePoolEventType.STARTED);
  }
  async storagePoolDestroy({ pool }: ProcArgs<'storagePoolDestroy'>): Promise<void> {
    const obj = this.activePool(pool.name);
    obj.active = false;
    this.poolEvent(obj, StoragePoolEventType.STOPPED);
    if (!obj.persistent) this.node.pools.remove(obj);
  }
  async storagePoolDelete({ pool, flags }: ProcArgs<'storagePoolDelete'>): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolDelete');
    this.poolEvent(this.inactivePool(pool.name), StoragePoolEventType.DELETED);
  }
  async storagePoolUndefine({ pool }: ProcArgs<'storagePoolUndefine'>): Promise<void> {
    const obj = this.inactivePool(pool.name);
    this.poolEvent(obj, StoragePoolEventType.UNDEFINED);
    this.node.pools.remove(obj);
  }
  async storagePoolRefresh({ pool, flags }: ProcArgs<'storagePoolRefresh'>): Promise<void> {
    checkFlags(flags, 0, 'testStoragePoolRefresh');
    const obj = this.activePool(pool.name);
    this.queueEvent({ key: 'storagePoolEventRefresh', body: { pool: this.poolRef(obj) } });
  }
  async storagePoolGetInfo({ pool }: ProcArgs<'storagePoolGetInfo'>): Promise<ProcRet<'storagePoolGetInfo'>> {
    const obj = this.poolObj(pool.name);
    return { state: obj.active ? 2 : 0, capacity: obj.def.capacity, allocation: obj.def.allocation, available: obj.def.available };
  }
  async storagePoolGetXMLDesc({ pool, flags }: ProcArgs<'storagePoolGetXMLDesc'>): Promise<ProcRet<'storagePoolGetXMLDesc'>> {
    checkFlags(flags, 0, 'testStoragePoolGetXMLDesc');
    return { xml: formatStoragePoolXML(this.poolObj(pool.name).def) };
  }
  async storagePoolIsActive({ pool }: ProcArgs<'storagePoolIsActive'>): Promise<ProcRet<'storagePoolIsActive'>> {
    return { active: flag(this.poolObj(pool.name).active) };
  }
  async storagePoolIsPersistent({ pool }: ProcArgs<'storagePoolIsPersistent'>): Promise<ProcRet<'storagePoolIsPersistent'>> {
    return { persistent: flag(this.poolObj(pool.name).persistent) };
  }
  async storagePoolGetAutostart({ pool }: ProcArgs<'storagePoolGetAutostart'>): Promise<ProcRet<'storagePoolGetAutostart'>> {
    const obj = this.poolObj(pool.name);
    return { autostart: flag(obj.persistent && obj.autostart) };
  }
  async storagePoolSetAutostart({ pool, autostart }: ProcArgs<'storagePoolSetAutostart'>): Promise<void> {
    const obj = this.poolObj(pool.name);
    if (!obj.persistent) throw virError(ErrorCode.INVALID_ARG, 'pool has no config file', ErrorDomain.STORAGE);
    obj.autostart = autostart !== 0;
  }
  async storagePoolNumOfVolumes({ pool }: ProcArgs<'storagePoolNumOfVolumes'>): Promise<ProcRet<'storagePoolNumOfVolumes'>> {
    return { num: this.activePool(pool.name).volumes.size };
  }
  async storagePoolListAllVolumes({ pool, need_results, flags }: ProcArgs<'storagePoolListAllVolumes'>): Promise<ProcRet<'storagePoolListAllVolumes'>> {
    checkFlags(flags, 0, 'testStoragePoolListAllVolumes');
    const obj = this.poolObj(pool.name);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, 'storage pool is not active', ErrorDomain.STORAGE);
    const vols = obj.volumes.all().map((v) => this.volRef(obj, v));
    return { vols: wanted(vols, need_results), ret: vols.length };
  }

  async storageVolLookupByName({ pool, name }: ProcArgs<'storageVolLookupByName'>): Promise<ProcRet<'storageVolLookupByName'>> {
    const obj = this.activePool(pool.name);
    return { vol: this.volRef(obj, this.volume(obj, name)) };
  }
  async storageVolLookupByKey({ key }: ProcArgs<'storageVolLookupByKey'>): Promise<ProcRet<'storageVolLookupByKey'>> {
    for (const p of this.node.pools.all().filter((x) => x.active)) {
      const v = p.volumes.findByKey(key);
      if (v) return { vol: this.volRef(p, v) };
    }
    throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching key '${key}'`, ErrorDomain.STORAGE);
  }
  async storageVolLookupByPath({ path }: ProcArgs<'storageVolLookupByPath'>): Promise<ProcRet<'storageVolLookupByPath'>> {
    for (const p of this.node.pools.all().filter((x) => x.active)) {
      const v = p.volumes.findByPath(path);
      if (v) return { vol: this.volRef(p, v) };
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

  async storageVolCreateXML({ pool, xml, flags }: ProcArgs<'storageVolCreateXML'>): Promise<ProcRet<'storageVolCreateXML'>> {
    checkFlags(flags, 1 << 1, 'testStorageVolCreateXML');
    const obj = this.activePool(pool.name);
    return { vol: this.addVolume(obj, parseStorageVolXML(xml, obj.def.type)) };
  }
  async storageVolCreateXMLFrom({ pool, xml, clonevol, flags }: ProcArgs<'storageVolCreateXMLFrom'>): Promise<ProcRet<'storageVolCreateXMLFrom'>> {
    checkFlags(flags, 1 << 1, 'testStorageVolCreateXMLFrom');
    const obj = this.activePool(pool.name);
    const vol = parseStorageVolXML(xml, obj.def.type);
    if (obj.volumes.findByName(vol.name)) throw virError(ErrorCode.OPERATION_FAILED, 'storage vol already exists', ErrorDomain.STORAGE);
    this.volume(obj, clonevol.name);
    return { vol: this.addVolume(obj, vol) };
  }
  async storageVolDelete({ vol, flags }: ProcArgs<'storageVolDelete'>): Promise<void> {
    checkFlags(flags, 0, 'testStorageVolDelete');
    const obj = this.activePool(vol.pool);
    const def = this.volume(obj, vol.name);
    obj.def.allocation -= def.allocation;
    obj.def.available = obj.def.capacity - obj.def.allocation;
    obj.volumes.remove(def);
  }
  async storageVolGetInfo({ vol }: ProcArgs<'storageVolGetInfo'>): Promise<ProcRet<'storageVolGetInfo'>> {
    const obj = this.activePool(vol.pool);
    const def = this.volume(obj, vol.name);
    return { type: volumeTypeForPool(obj.def.type), capacity: def.capacity, allocation: def.allocation };
  }
  async storageVolGetXMLDesc({ vol, flags }: ProcArgs<'storageVolGetXMLDesc'>): Promise<ProcRet<'storageVolGetXMLDesc'>> {
    checkFlags(flags, 0, 'testStorageVolGetXMLDesc');
    const obj = this.activePool(vol.pool);
    return { xml: formatStorageVolXML(this.volume(obj, vol.name)) };
  }
  async storageVolGetPath({ vol }: ProcArgs<'storageVolGetPath'>): Promise<ProcRet<'storageVolGetPath'>> {
    const obj = this.activePool(vol.pool);
    return { name: this.volume(obj, vol.name).targetPath ?? '' };
  }
}

/** testStorageVolumeTypeForPool: virStorageVolType of a pool's volumes. */
function volumeTypeForPool(type: string): number {
  if (['dir', 'fs', 'netfs', 'vstorage'].includes(type)) return 0;
  if (['sheepdog', 'iscsi-direct', 'gluster', 'rbd'].includes(type)) return 3;
  return 1;
}
