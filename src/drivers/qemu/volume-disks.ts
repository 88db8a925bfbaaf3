// <disk type='volume'> (virDomainStorageSourceTranslateSourcePool): the disk
// names a pool and a volume; the storage driver of the same URI says where the
// volume lives. QEMU gets the translated source (a file, a folder or a block
// device) while the domain's XML keeps naming the pool and the volume.
import type { StorageDriver } from '../../driver/families.js';
import { procedureInfo, type ProcArgs, type ProcKey, type ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, type XmlElement } from '../../util/xml.js';

/** virStorageVolType -> the disk type QEMU is given (file and ploop: file, block, dir). */
const ACTUAL_TYPE: Record<number, { type: string; attr: string } | undefined> = {
  0: { type: 'file', attr: 'file' },
  1: { type: 'block', attr: 'dev' },
  2: { type: 'dir', attr: 'dir' },
  5: { type: 'file', attr: 'file' },
};
const VOL_TYPE_NAMES = ['file', 'block', 'dir', 'network', 'netdir', 'ploop'];
/** Pool types whose volumes are local files, folders or devices. */
const LOCAL_POOL_TYPES = new Set(['dir', 'fs', 'netfs', 'logical', 'disk', 'scsi', 'zfs', 'vstorage']);

/** A storage call, as virStorage* makes it (the driver's method on the driver). */
async function call<K extends keyof StorageDriver & ProcKey>(storage: StorageDriver | undefined, key: K, args: ProcArgs<K>): Promise<ProcRet<K>> {
  const method = storage?.[key] as ((a: ProcArgs<K>) => Promise<ProcRet<K>>) | undefined;
  if (!method) throw virError(ErrorCode.NO_SUPPORT, `this function is not supported by the connection driver: ${procedureInfo(key)?.api ?? key}`, ErrorDomain.NONE);
  return method.call(storage, args);
}

/**
 * A copy of `def` whose volume disks are translated to what they stand for (`def`
 * itself when it has none), and why the disks that could not be were not: those
 * stay volume disks, and the launch checks report their failure in libvirt's order
 * (last disk first, with each disk's secrets: HostResources.volumeDiskFailure).
 */
export async function translateVolumeDisks(def: XmlElement, storage: StorageDriver | undefined): Promise<{ def: XmlElement; failures: Map<XmlElement, Error> }> {
  const failures = new Map<XmlElement, Error>();
  const devices = child(def, 'devices');
  if (!devices || !childrenNamed(devices, 'disk').some((d) => d.attrs.type === 'volume')) return { def, failures };
  const copy = cloneElement(def);
  for (const disk of childrenNamed(child(copy, 'devices')!, 'disk')) {
    if (disk.attrs.type !== 'volume') continue;
    try {
      await translateDisk(disk, storage);
    } catch (e) {
      failures.set(disk, e as Error);
    }
  }
  return { def: copy, failures };
}

async function translateDisk(disk: XmlElement, storage: StorageDriver | undefined): Promise<void> {
  {
    const source = child(disk, 'source');
    const poolName = source?.attrs.pool;
    const volName = source?.attrs.volume;
    if (!source || poolName === undefined || volName === undefined) return;
    const { pool } = await call(storage, 'storagePoolLookupByName', { name: poolName });
    const { active } = await call(storage, 'storagePoolIsActive', { pool });
    if (active !== 1) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `storage pool '${poolName}' containing volume '${volName}' is not active`, ErrorDomain.DOMAIN);
    const { vol } = await call(storage, 'storageVolLookupByName', { pool, name: volName });
    const info = await call(storage, 'storageVolGetInfo', { vol });
    const { xml } = await call(storage, 'storagePoolGetXMLDesc', { pool, flags: 0 });
    const poolType = /<pool type='([^']+)'/.exec(xml)?.[1] ?? '';
    if (source.attrs.mode !== undefined && poolType !== 'iscsi') {
      throw virError(ErrorCode.XML_ERROR, 'disk source mode is only valid when storage pool is of iscsi type', ErrorDomain.DOMAIN);
    }
    const actual = ACTUAL_TYPE[info.type];
    if (!LOCAL_POOL_TYPES.has(poolType) || !actual) {
      throw virError(ErrorCode.INTERNAL_ERROR, `unexpected storage volume type '${VOL_TYPE_NAMES[info.type] ?? info.type}' for storage pool type '${poolType}'`, ErrorDomain.DOMAIN);
    }
    const { name: path } = await call(storage, 'storageVolGetPath', { vol });
    disk.attrs = { ...disk.attrs, type: actual.type };
    const { pool: _pool, volume: _volume, mode: _mode, ...rest } = source.attrs;
    source.attrs = { [actual.attr]: path, ...rest };
  }
}
