// The storage driver (storage_driver.c) for qemu:/// connections: dir and fs
// pools whose volumes are files, kept in libvirt's layout (paths.ts). One
// StorageState per state folder; tsvirtd keeps it for its life, a connection
// without a daemon loads it from the files (pool-store.ts) when it opens.
import { lstat } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { StoragePoolEventType } from '../../driver/event-numbers.js';
import { EventHub, type DriverEvent, type EventSource } from '../../driver/events.js';
import type { SecretDriver, SecretValues, StorageDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import type { OpenOptions, SharedDriverAccess } from '../../driver/registry.js';
import type { StoragePoolRef, StorageVolRef } from '../../driver/refs.js';
import type { ParsedURI } from '../../driver/uri.js';
import { matchesStoragePoolListFilter } from '../../conf/objects/list-filter.js';
import { NamedObjectList, VolumeList } from '../../conf/objects/object-list.js';
import { FILE_POOL_TYPES, POOL_TYPES, formatStoragePoolXML, parseStoragePoolXML, type StoragePoolDef } from '../../conf/storage-pool.js';
import { formatStorageVolXML, parseStorageVolXML, type StorageVolDef } from '../../conf/storage-vol.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import { SUPPORTED_POOL_TYPES, storagePoolCapabilitiesXML } from './capabilities.js';
import { storagePathsForURI, type StoragePaths } from './paths.js';
import { BUILD_NO_OVERWRITE, BUILD_OVERWRITE, buildPool, deletePool, poolStillActive, refreshPool, refreshVolume, startPool, stopPool } from './pool-backend.js';
import { PoolJobs } from './pool-jobs.js';
import { PoolStore, type PoolObj } from './pool-store.js';
import { buildVolume, CREATE_PREALLOC_METADATA, CREATE_REFLINK, deleteVolumeFile, RESIZE_ALLOCATE, RESIZE_DELTA, RESIZE_SHRINK, resizeVolumeFile, wipeVolumeFile } from './volume-files.js';
import { downloadVolume, uploadVolume } from './volume-stream.js';
import { removeVolumeSecret, volumeEncryption, writeVolumeSecret, type QemuImgSecret, type SecretReader } from './volume-secret.js';
import { createLogicalVolume, deleteLogicalVolume, formatLogicalSources, logicalSources, refreshLogicalPool } from './logical-backend.js';


/** virStoragePoolCreateFlags */
const CREATE_WITH_BUILD = 1;
const CREATE_WITH_BUILD_OVERWRITE = 2;
const CREATE_WITH_BUILD_NO_OVERWRITE = 4;

const storageError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.STORAGE);

/** virCheckFlags, naming the storage driver's function. */
function checkFlags(flags: number, allowed: number, fn: string): void {
  const unsupported = flags & ~allowed;
  if (unsupported) throw storageError(ErrorCode.INVALID_ARG, `unsupported flags (0x${(unsupported >>> 0).toString(16)}) in function ${fn}`);
}

const flag = (b: boolean) => (b ? 1 : 0);
const wanted = <T,>(items: T[], needResults: number) => (needResults ? items : []);

/** The pools of one state folder, and what happens to them. */
export class StorageState {
  readonly pools = new NamedObjectList<PoolObj>((p) => p.def.name, (p) => p.def.uuid);
  readonly events = new EventHub();
  private readonly jobs = new WeakMap<PoolObj, PoolJobs>();

  /**
   * `longLived` (tsvirtd): the pools live in memory and a start rescans the
   * running ones, as libvirtd does; otherwise every connection is a new process
   * and the volume lists are kept in the state folder between them.
   */
  constructor(
    readonly store: PoolStore,
    private readonly longLived: boolean,
  ) {}

  static async load(paths: StoragePaths, longLived: boolean): Promise<StorageState> {
    const store = new PoolStore(paths);
    await store.prepare();
    const state = new StorageState(store, longLived);
    for (const obj of await store.load()) {
      // a pool whose target went away while nobody watched is inactive (storagePoolUpdateState)
      if (obj.active && !(await poolStillActive(obj.def).catch(() => false))) {
        obj.active = false;
        await store.removeState(obj.def.name);
        if (!obj.persistent) continue;
        if (obj.nextDef) obj.def = obj.nextDef;
        delete obj.nextDef;
      } else if (obj.active && longLived) {
        obj.volumes = listOf(await refreshPool(obj.def).catch(() => []));
      }
      state.pools.add(obj);
    }
    if (await store.shouldAutostart()) await state.autostart();
    return state;
  }

  /** storageDriverAutostart: every autostart pool that is not running is started; failures leave it inactive. */
  private async autostart(): Promise<void> {
    for (const obj of this.pools.all()) {
      if (!obj.autostart || obj.active) continue;
      try {
        await this.start(obj);
      } catch {
        // libvirt logs the failure and goes on with the next pool
      }
    }
  }

  /** Queued as virObjectEventStateQueue does: subscribers hear of a change after the call that made it, and their failures stay theirs. */
  emit(event: DriverEvent): void {
    setImmediate(() => {
      try {
        this.events.emit(event);
      } catch {
        // a subscriber's failure never fails the storage call
      }
    });
  }

  /** A pool's volumes or sizes changed: only a driver that does not outlive the call writes them down. */
  async volumesChanged(obj: PoolObj): Promise<void> {
    if (!this.longLived) await this.store.saveState(obj);
  }

  /** A query refreshed a volume: as volumesChanged, without the pool's state. */
  async volumeRefreshed(obj: PoolObj): Promise<void> {
    if (!this.longLived) await this.store.saveVolumes(obj);
  }

  /** What the pool's long operations hold (pool-jobs.ts). */
  jobsOf(obj: PoolObj): PoolJobs {
    let jobs = this.jobs.get(obj);
    if (!jobs) this.jobs.set(obj, (jobs = new PoolJobs()));
    return jobs;
  }

  /**
   * The scan a refresh makes of an active pool's volumes, or null when an
   * asynchronous job began meanwhile (its volume stays listed; the scan is stale)
   * or the pool stopped.
   * Calls that added or removed a volume during the scan make it scan again.
   */
  async rescan(obj: PoolObj): Promise<VolumeList<StorageVolDef> | null> {
    const jobs = this.jobsOf(obj);
    for (;;) {
      const version = jobs.listVersion;
      const volumes = await refreshPool(obj.def);
      if (jobs.busy || !obj.active) return null;
      if (version === jobs.listVersion) return listOf(volumes);
    }
  }

  /** Makes a pool run: its backend's start, then a scan of its volumes (virStoragePoolObjStart). */
  async start(obj: PoolObj): Promise<void> {
    await startPool(obj.def);
    try {
      obj.volumes = listOf(await refreshPool(obj.def));
    } catch (e) {
      await stopPool(obj.def).catch(() => undefined);
      throw e;
    }
    obj.active = true;
    await this.store.saveState(obj);
  }
}

function listOf(vols: StorageVolDef[]): VolumeList<StorageVolDef> {
  const list = new VolumeList<StorageVolDef>();
  for (const v of vols) list.add(v);
  return list;
}

/** The storage calls of one connection. */
export class StorageConnection implements StorageDriver {
  constructor(
    private readonly state: StorageState,
    /** reads the passphrases of encrypted volumes */
    private readonly readSecret: SecretReader,
  ) {}

  /** The pool events of the state this connection works on. */
  get events(): EventSource {
    return this.state.events;
  }

  private get pools() {
    return this.state.pools;
  }
  private get store() {
    return this.state.store;
  }

  private poolRef(obj: PoolObj): StoragePoolRef {
    return { name: obj.def.name, uuid: obj.def.uuid };
  }
  private volRef(obj: PoolObj, vol: StorageVolDef): StorageVolRef {
    return { pool: obj.def.name, name: vol.name, key: vol.key ?? '' };
  }
  private lifecycle(obj: PoolObj, event: StoragePoolEventType): StoragePoolRef {
    const pool = this.poolRef(obj);
    this.state.emit({ key: 'storagePoolEventLifecycle', body: { pool, event, detail: 0 } });
    return pool;
  }

  /** virStoragePoolObjFromStoragePool */
  private poolObj(ref: { uuid: string; name: string }): PoolObj {
    const obj = this.pools.findByUUID(ref.uuid) ?? this.pools.findByName(ref.name);
    if (!obj) throw storageError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching uuid '${ref.uuid}' (${ref.name})`);
    return obj;
  }
  private poolByName(name: string): PoolObj {
    const obj = this.pools.findByName(name);
    if (!obj) throw storageError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${name}'`);
    return obj;
  }
  private activePool(obj: PoolObj): PoolObj {
    if (!obj.active) throw storageError(ErrorCode.OPERATION_INVALID, `storage pool '${obj.def.name}' is not active`);
    return obj;
  }
  private inactivePool(obj: PoolObj, still = true): PoolObj {
    if (obj.active) throw storageError(ErrorCode.OPERATION_INVALID, `storage pool '${obj.def.name}' is ${still ? 'still' : 'already'} active`);
    return obj;
  }
  /** virStorageVolDefFromVol: an active pool and one of its volumes. */
  private volume(ref: StorageVolRef): { obj: PoolObj; vol: StorageVolDef } {
    const obj = this.pools.findByName(ref.pool);
    if (!obj) throw storageError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${ref.pool}'`);
    this.activePool(obj);
    const vol = obj.volumes.findByName(ref.name);
    if (!vol) throw storageError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${ref.name}'`);
    return { obj, vol };
  }

  private checkBackend(def: { type: StoragePoolDef['type'] }): void {
    if (!SUPPORTED_POOL_TYPES.has(def.type)) throw storageError(ErrorCode.INTERNAL_ERROR, `missing backend for pool type ${POOL_TYPES.indexOf(def.type)} (${def.type})`);
  }

  /** virStoragePoolObjListAdd's duplicate rules, and the target-path conflict of file pools. */
  private addPool(def: StoragePoolDef, checkLive: boolean): { obj: PoolObj; isNew: boolean } {
    const byUUID = this.pools.findByUUID(def.uuid);
    if (byUUID) {
      if (byUUID.def.name !== def.name) throw storageError(ErrorCode.OPERATION_FAILED, `pool '${byUUID.def.name}' is already defined with uuid ${def.uuid}`);
      if (checkLive && byUUID.active) throw storageError(ErrorCode.OPERATION_INVALID, `pool is already active as '${def.name}'`);
      return { obj: byUUID, isNew: false };
    }
    const byName = this.pools.findByName(def.name);
    if (byName) throw storageError(ErrorCode.OPERATION_FAILED, `pool '${def.name}' already exists with uuid ${byName.def.uuid}`);
    const conflict = this.pools.all().find((p) => p.def.type === def.type && FILE_POOL_TYPES.has(def.type) && p.def.targetPath === def.targetPath);
    if (conflict) throw storageError(ErrorCode.OPERATION_FAILED, `Storage source conflict with pool: '${conflict.def.name}'`);
    const obj: PoolObj = { def, active: false, persistent: false, autostart: false, volumes: new VolumeList() };
    this.pools.add(obj);
    return { obj, isNew: true };
  }

  async connectNumOfStoragePools(): Promise<ProcRet<'connectNumOfStoragePools'>> {
    return { num: this.pools.all().filter((p) => p.active).length };
  }
  async connectListStoragePools({ maxnames }: ProcArgs<'connectListStoragePools'>): Promise<ProcRet<'connectListStoragePools'>> {
    return { names: this.pools.all().filter((p) => p.active).map((p) => p.def.name).slice(0, maxnames) };
  }
  async connectNumOfDefinedStoragePools(): Promise<ProcRet<'connectNumOfDefinedStoragePools'>> {
    return { num: this.pools.all().filter((p) => !p.active).length };
  }
  async connectListDefinedStoragePools({ maxnames }: ProcArgs<'connectListDefinedStoragePools'>): Promise<ProcRet<'connectListDefinedStoragePools'>> {
    return { names: this.pools.all().filter((p) => !p.active).map((p) => p.def.name).slice(0, maxnames) };
  }
  async connectListAllStoragePools({ need_results, flags }: ProcArgs<'connectListAllStoragePools'>): Promise<ProcRet<'connectListAllStoragePools'>> {
    checkFlags(flags, 0x3ffff, 'storageConnectListAllStoragePools');
    const pools = this.pools
      .all()
      .filter((p) => matchesStoragePoolListFilter({ active: p.active, persistent: p.persistent, autostart: p.autostart, type: p.def.type }, flags))
      .map((p) => this.poolRef(p));
    return { pools: wanted(pools, need_results), ret: pools.length };
  }

  async storagePoolLookupByName({ name }: ProcArgs<'storagePoolLookupByName'>): Promise<ProcRet<'storagePoolLookupByName'>> {
    return { pool: this.poolRef(this.poolByName(name)) };
  }
  async storagePoolLookupByUUID({ uuid }: ProcArgs<'storagePoolLookupByUUID'>): Promise<ProcRet<'storagePoolLookupByUUID'>> {
    const canonical = parseUUID(uuid);
    const obj = canonical === undefined ? undefined : this.pools.findByUUID(canonical);
    if (!obj) throw storageError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching uuid '${uuid}'`);
    return { pool: this.poolRef(obj) };
  }
  async storagePoolLookupByVolume({ vol }: ProcArgs<'storagePoolLookupByVolume'>): Promise<ProcRet<'storagePoolLookupByVolume'>> {
    return { pool: this.poolRef(this.poolByName(vol.pool)) };
  }
  async storagePoolLookupByTargetPath({ path }: ProcArgs<'storagePoolLookupByTargetPath'>): Promise<ProcRet<'storagePoolLookupByTargetPath'>> {
    const obj = this.pools.all().find((p) => p.active && p.def.targetPath === path);
    if (!obj) throw storageError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching target path '${path}'`);
    return { pool: this.poolRef(obj) };
  }

  async storagePoolDefineXML({ xml, flags }: ProcArgs<'storagePoolDefineXML'>): Promise<ProcRet<'storagePoolDefineXML'>> {
    checkFlags(flags, 1, 'storagePoolDefineXML');
    const def = parseStoragePoolXML(xml);
    this.checkBackend(def);
    const { obj, isNew } = this.addPool(def, false);
    try {
      await this.store.saveConfig(def);
    } catch (e) {
      if (isNew) this.pools.remove(obj);
      throw e;
    }
    if (obj.active && !isNew) obj.nextDef = def;
    else obj.def = def;
    obj.persistent = true;
    return { pool: this.lifecycle(obj, StoragePoolEventType.DEFINED) };
  }

  async storagePoolCreateXML({ xml, flags }: ProcArgs<'storagePoolCreateXML'>): Promise<ProcRet<'storagePoolCreateXML'>> {
    checkFlags(flags, CREATE_WITH_BUILD | CREATE_WITH_BUILD_OVERWRITE | CREATE_WITH_BUILD_NO_OVERWRITE, 'storagePoolCreateXML');
    const def = parseStoragePoolXML(xml);
    this.checkBackend(def);
    const { obj, isNew } = this.addPool(def, true);
    if (isNew) obj.def = def;
    try {
      await this.buildForCreate(obj, flags);
      await this.state.start(obj);
    } catch (e) {
      if (isNew) this.pools.remove(obj);
      throw e;
    }
    return { pool: this.lifecycle(obj, StoragePoolEventType.STARTED) };
  }

  /** The build a create asks for (virStoragePoolCreateFlags -> virStoragePoolBuildFlags). */
  private async buildForCreate(obj: PoolObj, flags: number): Promise<void> {
    if ((flags & CREATE_WITH_BUILD_OVERWRITE) && (flags & CREATE_WITH_BUILD_NO_OVERWRITE)) {
      // VIR_EXCLUSIVE_FLAGS_RET: virReportInvalidArg, without the "invalid argument" prefix
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.STORAGE, "Flags 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE' and 'VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE' are mutually exclusive");
    }
    if (!flags) return;
    const buildFlags = flags & CREATE_WITH_BUILD_OVERWRITE ? BUILD_OVERWRITE : flags & CREATE_WITH_BUILD_NO_OVERWRITE ? BUILD_NO_OVERWRITE : 0;
    await buildPool(obj.def, buildFlags);
    this.lifecycle(obj, StoragePoolEventType.CREATED);
  }

  async storagePoolCreate({ pool, flags }: ProcArgs<'storagePoolCreate'>): Promise<void> {
    checkFlags(flags, CREATE_WITH_BUILD | CREATE_WITH_BUILD_OVERWRITE | CREATE_WITH_BUILD_NO_OVERWRITE, 'storagePoolCreate');
    const obj = this.inactivePool(this.poolObj(pool), false);
    await this.buildForCreate(obj, flags);
    await this.state.start(obj);
    this.lifecycle(obj, StoragePoolEventType.STARTED);
  }

  async storagePoolBuild({ pool, flags }: ProcArgs<'storagePoolBuild'>): Promise<void> {
    checkFlags(flags, BUILD_OVERWRITE | BUILD_NO_OVERWRITE, this.poolObj(pool).def.type === 'logical' ? 'virStorageBackendLogicalBuildPool' : 'virStorageBackendFileSystemBuild');
    const obj = this.inactivePool(this.poolObj(pool), false);
    await buildPool(obj.def, flags);
    this.lifecycle(obj, StoragePoolEventType.CREATED);
  }

  /** The pool stops running: its state goes, a transient pool goes altogether, a pending definition takes over. */
  private async deactivate(obj: PoolObj): Promise<void> {
    obj.active = false;
    obj.volumes = new VolumeList();
    await this.store.removeState(obj.def.name);
    if (!obj.persistent) this.pools.remove(obj);
    else if (obj.nextDef) {
      obj.def = obj.nextDef;
      delete obj.nextDef;
    }
  }

  async storagePoolDestroy({ pool }: ProcArgs<'storagePoolDestroy'>): Promise<void> {
    const obj = this.activePool(this.poolObj(pool));
    this.state.jobsOf(obj).checkIdle(obj.def.name);
    await stopPool(obj.def);
    this.lifecycle(obj, StoragePoolEventType.STOPPED);
    await this.deactivate(obj);
  }

  async storagePoolDelete({ pool, flags }: ProcArgs<'storagePoolDelete'>): Promise<void> {
    checkFlags(flags, 0, this.poolObj(pool).def.type === 'logical' ? 'virStorageBackendLogicalDeletePool' : 'virStorageBackendDeleteLocal');
    const obj = this.inactivePool(this.poolObj(pool));
    this.state.jobsOf(obj).checkIdle(obj.def.name);
    await deletePool(obj.def);
    this.lifecycle(obj, StoragePoolEventType.DELETED);
  }

  async storagePoolUndefine({ pool }: ProcArgs<'storagePoolUndefine'>): Promise<void> {
    const obj = this.inactivePool(this.poolObj(pool));
    if (!obj.persistent) throw storageError(ErrorCode.OPERATION_INVALID, 'cannot undefine transient storage pool');
    this.state.jobsOf(obj).checkIdle(obj.def.name);
    await this.store.removeConfig(obj.def.name);
    this.lifecycle(obj, StoragePoolEventType.UNDEFINED);
    this.pools.remove(obj);
  }

  async storagePoolRefresh({ pool, flags }: ProcArgs<'storagePoolRefresh'>): Promise<void> {
    checkFlags(flags, 0, 'storagePoolRefresh');
    const obj = this.activePool(this.poolObj(pool));
    this.state.jobsOf(obj).checkIdle(obj.def.name);
    try {
      obj.volumes = (await this.state.rescan(obj)) ?? obj.volumes;
    } catch (e) {
      // a pool that cannot be scanned stops (storagePoolRefresh)
      await stopPool(obj.def).catch(() => undefined);
      this.lifecycle(obj, StoragePoolEventType.STOPPED);
      await this.deactivate(obj);
      throw e;
    }
    await this.store.saveState(obj);
    this.state.emit({ key: 'storagePoolEventRefresh', body: { pool: this.poolRef(obj) } });
  }

  async storagePoolGetInfo({ pool }: ProcArgs<'storagePoolGetInfo'>): Promise<ProcRet<'storagePoolGetInfo'>> {
    const obj = this.poolObj(pool);
    // virStoragePoolState: INACTIVE 0, RUNNING 2
    return { state: obj.active ? 2 : 0, capacity: obj.def.capacity, allocation: obj.def.allocation, available: obj.def.available };
  }
  async storagePoolGetXMLDesc({ pool, flags }: ProcArgs<'storagePoolGetXMLDesc'>): Promise<ProcRet<'storagePoolGetXMLDesc'>> {
    checkFlags(flags, 1, 'storagePoolGetXMLDesc');
    const obj = this.poolObj(pool);
    return { xml: formatStoragePoolXML(flags & 1 && obj.nextDef ? obj.nextDef : obj.def) };
  }
  async storagePoolIsActive({ pool }: ProcArgs<'storagePoolIsActive'>): Promise<ProcRet<'storagePoolIsActive'>> {
    return { active: flag(this.poolObj(pool).active) };
  }
  async storagePoolIsPersistent({ pool }: ProcArgs<'storagePoolIsPersistent'>): Promise<ProcRet<'storagePoolIsPersistent'>> {
    return { persistent: flag(this.poolObj(pool).persistent) };
  }
  async storagePoolGetAutostart({ pool }: ProcArgs<'storagePoolGetAutostart'>): Promise<ProcRet<'storagePoolGetAutostart'>> {
    const obj = this.poolObj(pool);
    return { autostart: flag(obj.persistent && obj.autostart) };
  }
  async storagePoolSetAutostart({ pool, autostart }: ProcArgs<'storagePoolSetAutostart'>): Promise<void> {
    const obj = this.poolObj(pool);
    if (!obj.persistent) throw storageError(ErrorCode.INTERNAL_ERROR, 'pool has no config file');
    await this.store.setAutostart(obj.def.name, autostart !== 0);
    obj.autostart = autostart !== 0;
  }

  async storagePoolNumOfVolumes({ pool }: ProcArgs<'storagePoolNumOfVolumes'>): Promise<ProcRet<'storagePoolNumOfVolumes'>> {
    return { num: this.activePool(this.poolObj(pool)).volumes.size };
  }
  async storagePoolListVolumes({ pool, maxnames }: ProcArgs<'storagePoolListVolumes'>): Promise<ProcRet<'storagePoolListVolumes'>> {
    return { names: this.activePool(this.poolObj(pool)).volumes.all().map((v) => v.name).slice(0, maxnames) };
  }
  async storagePoolListAllVolumes({ pool, need_results, flags }: ProcArgs<'storagePoolListAllVolumes'>): Promise<ProcRet<'storagePoolListAllVolumes'>> {
    checkFlags(flags, 0, 'storagePoolListAllVolumes');
    const obj = this.activePool(this.poolObj(pool));
    const vols = obj.volumes.all().map((v) => this.volRef(obj, v));
    return { vols: wanted(vols, need_results), ret: vols.length };
  }

  async storageVolLookupByName({ pool, name }: ProcArgs<'storageVolLookupByName'>): Promise<ProcRet<'storageVolLookupByName'>> {
    const obj = this.activePool(this.poolObj(pool));
    const vol = obj.volumes.findByName(name);
    if (!vol) throw storageError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${name}'`);
    return { vol: this.volRef(obj, vol) };
  }
  async storageVolLookupByKey({ key }: ProcArgs<'storageVolLookupByKey'>): Promise<ProcRet<'storageVolLookupByKey'>> {
    for (const obj of this.pools.all().filter((p) => p.active)) {
      const vol = obj.volumes.findByKey(key);
      if (vol) return { vol: this.volRef(obj, vol) };
    }
    throw storageError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching key ${key}`);
  }
  async storageVolLookupByPath({ path }: ProcArgs<'storageVolLookupByPath'>): Promise<ProcRet<'storageVolLookupByPath'>> {
    for (const obj of this.pools.all().filter((p) => p.active)) {
      const vol = obj.volumes.findByPath(path);
      if (vol) return { vol: this.volRef(obj, vol) };
    }
    throw storageError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching path '${path}'`);
  }

  /** virStorageBackendVolCreateLocal: where the volume goes, refusing names that lead elsewhere (CVE-2015-5313). */
  private async placeVolume(obj: PoolObj, vol: StorageVolDef): Promise<void> {
    vol.type = vol.format === 'dir' ? 'dir' : 'file';
    if (vol.name.includes('/')) throw storageError(ErrorCode.OPERATION_INVALID, `volume name '${vol.name}' cannot contain '/'`);
    vol.targetPath = `${obj.def.targetPath}/${vol.name}`;
    if (await lstat(vol.targetPath).then(() => true, () => false)) {
      throw storageError(ErrorCode.OPERATION_INVALID, `volume target path '${vol.targetPath}' already exists`);
    }
    vol.key = vol.targetPath;
  }

  /**
   * storageVolCreateXML(From)'s build: the new volume is listed while it is built
   * (another create of its name fails, a delete is refused) as an asynchronous job
   * of its pool, and of the source's pool for a clone; once built and refreshed it
   * joins the pool's sizes. A failed build leaves neither file nor volume.
   */
  private async buildListed(obj: PoolObj, vol: StorageVolDef, build: () => Promise<void>, source?: { obj: PoolObj; vol: StorageVolDef }): Promise<StorageVolRef> {
    const jobs = this.state.jobsOf(obj);
    obj.volumes.add(vol);
    jobs.listChanged();
    try {
      const building = () => jobs.run(build, { built: vol });
      await (source ? this.state.jobsOf(source.obj).run(building, { used: source.vol }) : building());
      try {
        await refreshVolume(vol);
      } catch (e) {
        await deleteVolumeFile(vol).catch(() => undefined);
        throw e;
      }
    } catch (e) {
      obj.volumes.remove(vol);
      jobs.listChanged();
      throw e;
    }
    obj.def.allocation += vol.allocation;
    obj.def.available -= vol.allocation;
    await this.state.volumesChanged(obj);
    return this.volRef(obj, vol);
  }

  /** virStorageBackendLogicalCreateVol: lvcreate, then the new LV as lvs reports it; removed again when it cannot be found. */
  private async createLogical(obj: PoolObj, vol: StorageVolDef): Promise<StorageVolRef> {
    await createLogicalVolume(obj.def, vol);
    const created = (await refreshLogicalPool(obj.def).catch(() => [])).find((v) => v.name === vol.name);
    if (!created) {
      await deleteLogicalVolume(vol).catch(() => undefined);
      throw storageError(ErrorCode.SYSTEM_ERROR, `cannot find newly created volume '${vol.targetPath}'`);
    }
    obj.volumes.add(created);
    this.state.jobsOf(obj).listChanged();
    await this.state.volumesChanged(obj);
    return this.volRef(obj, created);
  }

  async storageVolCreateXML({ pool, xml, flags }: ProcArgs<'storageVolCreateXML'>): Promise<ProcRet<'storageVolCreateXML'>> {
    checkFlags(flags, CREATE_PREALLOC_METADATA | 2, 'storageVolCreateXML');
    const obj = this.activePool(this.poolObj(pool));
    const vol = parseStorageVolXML(xml, obj.def.type);
    if (obj.volumes.findByName(vol.name)) throw storageError(ErrorCode.STORAGE_VOL_EXIST, `storage volume '${vol.name}' exists already`);
    delete vol.key;
    if (obj.def.type === 'logical') return { vol: await this.createLogical(obj, vol) };
    await this.placeVolume(obj, vol);
    return { vol: await this.buildListed(obj, vol, () => this.withVolumeSecret(obj, vol, (secret) => buildVolume(vol, undefined, flags & CREATE_PREALLOC_METADATA, obj.def.targetPath!, secret))) };
  }

  async storageVolCreateXMLFrom({ pool, xml, clonevol, flags }: ProcArgs<'storageVolCreateXMLFrom'>): Promise<ProcRet<'storageVolCreateXMLFrom'>> {
    checkFlags(flags, CREATE_PREALLOC_METADATA | CREATE_REFLINK, 'storageVolCreateXMLFrom');
    const obj = this.activePool(this.poolObj(pool));
    const sourcePool = this.pools.findByName(clonevol.pool);
    if (!sourcePool) throw storageError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${clonevol.pool}'`);
    this.activePool(sourcePool);
    const source = sourcePool.volumes.findByName(clonevol.name);
    if (!source) throw storageError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching name '${clonevol.name}'`);
    const vol = parseStorageVolXML(xml, obj.def.type);
    if (obj.volumes.findByName(vol.name)) throw storageError(ErrorCode.INTERNAL_ERROR, `storage volume name '${vol.name}' already in use.`);
    // the copy is at least as large as its source; a missing allocation means fully allocated
    if (vol.capacity < source.capacity) vol.capacity = source.capacity;
    if (!vol.allocationGiven) vol.allocation = vol.capacity;
    this.state.jobsOf(sourcePool).checkVolume(source, false);
    await refreshVolume(source);
    delete vol.key;
    await this.placeVolume(obj, vol);
    const build = () => this.withVolumeSecret(obj, vol, (secret) => buildVolume(vol, source, flags, obj.def.targetPath!, secret));
    return { vol: await this.buildListed(obj, vol, build, { obj: sourcePool, vol: source }) };
  }

  /** An encrypted volume is made with its passphrase in a private file that lives as long as qemu-img runs. */
  private async withVolumeSecret(obj: PoolObj, vol: StorageVolDef, build: (secret?: QemuImgSecret) => Promise<void>): Promise<void> {
    if (!volumeEncryption(vol)) return build();
    const secret = await writeVolumeSecret(vol, obj.def.name, this.store.paths.stateDir, this.readSecret);
    try {
      await build(secret);
    } finally {
      await removeVolumeSecret(secret);
    }
  }

  async storageVolDelete({ vol: ref, flags }: ProcArgs<'storageVolDelete'>): Promise<void> {
    checkFlags(flags, 0, 'virStorageBackendVolDeleteLocal');
    const { obj, vol } = this.volume(ref);
    const jobs = this.state.jobsOf(obj);
    jobs.checkVolume(vol, true);
    await (obj.def.type === 'logical' ? deleteLogicalVolume(vol) : deleteVolumeFile(vol));
    obj.def.allocation -= vol.allocation;
    obj.def.available += vol.allocation;
    obj.volumes.remove(vol);
    jobs.listChanged();
    await this.state.volumesChanged(obj);
  }

  /** refreshVol before a volume is shown, as libvirt does on every info and XML query. */
  private async refreshed(ref: StorageVolRef): Promise<{ obj: PoolObj; vol: StorageVolDef }> {
    const found = this.volume(ref);
    await refreshVolume(found.vol);
    await this.state.volumeRefreshed(found.obj);
    return found;
  }

  async storageVolGetInfo({ vol: ref }: ProcArgs<'storageVolGetInfo'>): Promise<ProcRet<'storageVolGetInfo'>> {
    const { vol } = await this.refreshed(ref);
    // virStorageVolType: FILE 0, DIR 2
    return { type: vol.type === 'dir' ? 2 : 0, capacity: vol.capacity, allocation: vol.allocation };
  }
  async storageVolGetInfoFlags({ vol: ref, flags }: ProcArgs<'storageVolGetInfoFlags'>): Promise<ProcRet<'storageVolGetInfoFlags'>> {
    checkFlags(flags, 1, 'storageVolGetInfoFlags');
    const { vol } = await this.refreshed(ref);
    // VIR_STORAGE_VOL_GET_PHYSICAL reports the file's size as its allocation
    return { type: vol.type === 'dir' ? 2 : 0, capacity: vol.capacity, allocation: flags & 1 ? (vol.physical ?? vol.allocation) : vol.allocation };
  }
  async storageVolGetXMLDesc({ vol: ref, flags }: ProcArgs<'storageVolGetXMLDesc'>): Promise<ProcRet<'storageVolGetXMLDesc'>> {
    checkFlags(flags, 0, 'storageVolGetXMLDesc');
    const { vol } = await this.refreshed(ref);
    return { xml: formatStorageVolXML(vol) };
  }
  async storageVolGetPath({ vol: ref }: ProcArgs<'storageVolGetPath'>): Promise<ProcRet<'storageVolGetPath'>> {
    return { name: this.volume(ref).vol.targetPath ?? '' };
  }

  async storageVolResize({ vol: ref, capacity, flags }: ProcArgs<'storageVolResize'>): Promise<void> {
    checkFlags(flags, RESIZE_ALLOCATE | RESIZE_DELTA | RESIZE_SHRINK, 'storageVolResize');
    const { obj, vol } = this.volume(ref);
    this.state.jobsOf(obj).checkVolume(vol, true);
    let newCapacity = capacity;
    if (flags & RESIZE_DELTA) newCapacity = flags & RESIZE_SHRINK ? vol.capacity - (capacity < vol.capacity ? capacity : vol.capacity) : vol.capacity + capacity;
    if (newCapacity < vol.allocation) throw storageError(ErrorCode.INVALID_ARG, "can't shrink capacity below existing allocation");
    if (newCapacity < vol.capacity && !(flags & RESIZE_SHRINK)) {
      throw storageError(ErrorCode.INVALID_ARG, "Can't shrink capacity below current capacity unless shrink flag explicitly specified");
    }
    const delta = flags & RESIZE_ALLOCATE ? newCapacity - vol.allocation : 0n;
    if (delta > obj.def.available) throw storageError(ErrorCode.OPERATION_FAILED, 'Not enough space left in storage pool');
    await resizeVolumeFile(vol, newCapacity, flags);
    vol.capacity = newCapacity;
    if (flags & RESIZE_ALLOCATE) {
      vol.allocation = newCapacity;
      obj.def.allocation += delta;
      obj.def.available -= delta;
    }
    await this.state.volumesChanged(obj);
  }

  async storageVolWipe({ vol, flags }: ProcArgs<'storageVolWipe'>): Promise<void> {
    await this.storageVolWipePattern({ vol, algorithm: 0, flags });
  }
  async storageVolWipePattern({ vol: ref, algorithm, flags }: ProcArgs<'storageVolWipePattern'>): Promise<void> {
    checkFlags(flags, 0, 'storageVolWipePattern');
    // VIR_STORAGE_VOL_WIPE_ALG_LAST is 10
    if (algorithm >= 10) throw storageError(ErrorCode.INVALID_ARG, `wiping algorithm ${algorithm} not supported`);
    const { obj, vol } = this.volume(ref);
    const jobs = this.state.jobsOf(obj);
    jobs.checkVolume(vol, true);
    await jobs.run(() => wipeVolumeFile(vol, algorithm), { used: vol });
    // the wipe may have changed the file's allocation (sparse files are punched out)
    await refreshVolume(vol).catch((e: unknown) => {
      if (!(e instanceof VirError)) throw e;
    });
    await this.state.volumeRefreshed(obj);
  }

  async storageVolUpload({ vol: ref, offset, length, flags }: ProcArgs<'storageVolUpload'>, stream: Duplex): Promise<void> {
    checkFlags(flags, 1, 'storageVolUpload');
    const { obj, vol } = this.volume(ref);
    this.state.jobsOf(obj).checkVolume(vol, true);
    await uploadVolume(vol, offset, length, (flags & 1) !== 0, stream);
    stream.once('close', () => void this.refreshAfterUpload(obj));
  }

  /**
   * virStorageVolPoolRefreshThread: once an upload's stream closes (finished or
   * aborted) the pool is scanned again, its sizes and the volume's allocation
   * follow, and its watchers hear a refresh; not while an asynchronous job runs.
   * A failed scan keeps the list (libvirt's thread also only logs it).
   */
  private async refreshAfterUpload(obj: PoolObj): Promise<void> {
    if (this.pools.findByName(obj.def.name) !== obj || !obj.active || this.state.jobsOf(obj).busy) return;
    try {
      const volumes = await this.state.rescan(obj);
      if (!volumes) return;
      obj.volumes = volumes;
      await this.store.saveState(obj);
    } catch {
      // as libvirt: the refresh event is sent all the same
    }
    this.state.emit({ key: 'storagePoolEventRefresh', body: { pool: this.poolRef(obj) } });
  }
  async storageVolDownload({ vol: ref, offset, length, flags }: ProcArgs<'storageVolDownload'>, stream: Duplex): Promise<void> {
    checkFlags(flags, 1, 'storageVolDownload');
    const { obj, vol } = this.volume(ref);
    this.state.jobsOf(obj).checkVolume(vol, false);
    await downloadVolume(vol, offset, length, (flags & 1) !== 0, stream);
  }

  /** storageConnectFindStoragePoolSources: of the backends here, only the logical one discovers sources. */
  async connectFindStoragePoolSources({ type, flags }: ProcArgs<'connectFindStoragePoolSources'>): Promise<ProcRet<'connectFindStoragePoolSources'>> {
    const poolType = POOL_TYPES.find((t) => t === type);
    if (!poolType) throw storageError(ErrorCode.INTERNAL_ERROR, `unknown storage pool type ${type}`);
    this.checkBackend({ type: poolType });
    if (poolType !== 'logical') throw storageError(ErrorCode.NO_SUPPORT, `pool type '${type}' does not support source discovery`);
    checkFlags(flags, 0, 'virStorageBackendLogicalFindPoolSources');
    return { xml: formatLogicalSources(await logicalSources()) };
  }

  async connectGetStoragePoolCapabilities({ flags }: ProcArgs<'connectGetStoragePoolCapabilities'>): Promise<ProcRet<'connectGetStoragePoolCapabilities'>> {
    checkFlags(flags, 0, 'storageConnectGetStoragePoolCapabilities');
    return { capabilities: storagePoolCapabilitiesXML() };
  }
}

/** tsvirtd's storage state per state folder, loaded by the first connection and kept. */
const longLived = new Map<string, Promise<StorageState>>();

/** The shared storage driver's open (SharedDriver<'storage'>.open). */
export async function openStorageDriver(uri: ParsedURI, options: OpenOptions, shared: SharedDriverAccess): Promise<StorageDriver> {
  const paths = storagePathsForURI(uri, options.stateRoot);
  const readSecret = secretReader(shared);
  if (!options.longLived) return new StorageConnection(await StorageState.load(paths, false), readSecret);
  let loading = longLived.get(paths.stateDir);
  if (!loading) {
    loading = StorageState.load(paths, true);
    longLived.set(paths.stateDir, loading);
    loading.catch(() => longLived.delete(paths.stateDir));
  }
  return new StorageConnection(await loading, readSecret);
}

/** virSecretGetSecretString through the shared secret driver, opened when a volume first needs it. */
function secretReader(shared: SharedDriverAccess): SecretReader {
  return async (lookup) => {
    const secrets = (await shared.family('secret')) as (SecretDriver & Partial<SecretValues>) | undefined;
    if (!secrets?.secretValueFor || !secrets.secretLookupByUsage) throw storageError(ErrorCode.NO_SUPPORT, 'no secret driver to read the volume passphrase from');
    // VIR_SECRET_USAGE_TYPE_VOLUME is 1
    const uuid = 'uuid' in lookup ? lookup.uuid : (await secrets.secretLookupByUsage({ usageType: 1, usageID: lookup.usage })).secret.uuid;
    return secrets.secretValueFor(uuid);
  };
}

