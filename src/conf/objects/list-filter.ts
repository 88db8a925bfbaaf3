// The virConnectListAll* filters of networks, storage pools and interfaces
// (virNetworkObjListFilter, virStoragePoolObjListFilter, virInterfaceObjListFilter),
// and the opposite-flag pairs every list filter, the domains' included, is made of.

import type { PoolType } from '../storage-pool.js';

/**
 * A pair of opposite filter flags (ACTIVE/INACTIVE, PERSISTENT/TRANSIENT, ...):
 * neither or both set keeps everything, one alone keeps the objects on its side.
 * `value` is asked only when one flag is set (it may touch the disk).
 */
export function filterPairAllows(flags: number, yes: number, no: number, value: () => boolean): boolean {
  const side = filterPairSide(flags, yes, no);
  return side === undefined || value() === side;
}

/** Which side of the pair `flags` keep: true for `yes`, false for `no`, undefined when the pair keeps everything. */
export function filterPairSide(flags: number, yes: number, no: number): boolean | undefined {
  const set = flags & (yes | no);
  if (set === 0 || set === (yes | no)) return undefined;
  return set === yes;
}

/** VIR_CONNECT_LIST_NETWORKS_* and the first six VIR_CONNECT_LIST_STORAGE_POOLS_* (same bits). */
export enum ListObjectsFlags {
  INACTIVE = 1 << 0,
  ACTIVE = 1 << 1,
  PERSISTENT = 1 << 2,
  TRANSIENT = 1 << 3,
  AUTOSTART = 1 << 4,
  NO_AUTOSTART = 1 << 5,
}

/** What the network and storage pool filters look at. */
export interface ListedObject {
  readonly active: boolean;
  readonly persistent: boolean;
  readonly autostart: boolean;
}

/** virNetworkObjListFilter (and the state part of the storage pool filter). */
export function matchesNetworkListFilter(obj: ListedObject, flags: number): boolean {
  const F = ListObjectsFlags;
  return (
    filterPairAllows(flags, F.ACTIVE, F.INACTIVE, () => obj.active) &&
    filterPairAllows(flags, F.PERSISTENT, F.TRANSIENT, () => obj.persistent) &&
    filterPairAllows(flags, F.AUTOSTART, F.NO_AUTOSTART, () => obj.autostart)
  );
}

/**
 * The pool types of VIR_CONNECT_LIST_STORAGE_POOLS_DIR (1 << 6) onwards, one
 * bit each: the order types were added to the API, not virStoragePoolType's.
 */
const POOL_TYPE_FLAG_ORDER: readonly PoolType[] = ['dir', 'fs', 'netfs', 'logical', 'disk', 'iscsi', 'scsi', 'mpath', 'rbd', 'sheepdog', 'gluster', 'zfs', 'vstorage', 'iscsi-direct'];
const POOL_TYPE_SHIFT = 6;

/** virStoragePoolObjListFilter: state flags as networks, then one flag per pool type. */
export function matchesStoragePoolListFilter(obj: ListedObject & { readonly type: PoolType }, flags: number): boolean {
  if (!matchesNetworkListFilter(obj, flags)) return false;
  const typeBits = flags >> POOL_TYPE_SHIFT;
  return typeBits === 0 || (typeBits & (1 << POOL_TYPE_FLAG_ORDER.indexOf(obj.type))) !== 0;
}

/** virInterfaceObjListFilter: VIR_CONNECT_LIST_INTERFACES_INACTIVE / _ACTIVE. */
export function matchesInterfaceListFilter(obj: { readonly active: boolean }, flags: number): boolean {
  return filterPairAllows(flags, ListObjectsFlags.ACTIVE, ListObjectsFlags.INACTIVE, () => obj.active);
}
