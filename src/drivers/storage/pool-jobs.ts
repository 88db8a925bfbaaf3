// What a pool's long operations hold while they run. libvirt drops a pool's lock
// while a volume is built, cloned or wiped and counts the operation instead: a pool
// with such asynchronous jobs may not be refreshed, stopped, deleted or undefined; a
// volume being built (building) may not be deleted, resized, wiped, cloned, uploaded
// or downloaded, and one in use (a clone's source, a volume being wiped) may not be
// deleted, resized, wiped or uploaded. A refresh replaces the volume list with a
// scan that takes a while here (libvirt holds the lock for it), so the calls that
// add or remove a volume mark the list changed and a refresh whose scan saw an
// older list scans again.
import type { StorageVolDef } from '../../conf/storage-vol.js';
import { ErrorCode, ErrorDomain, virError, type VirError } from '../../util/error.js';

const storageError = (code: ErrorCode, message: string): VirError => virError(code, message, ErrorDomain.STORAGE);

export class PoolJobs {
  private asyncJobs = 0;
  private readonly building = new WeakSet<StorageVolDef>();
  private readonly inUse = new WeakMap<StorageVolDef, number>();
  /** counts the changes of the volume list made by calls (not by refreshes) */
  private generation = 0;

  /** Whether an asynchronous job runs (virStoragePoolObjGetAsyncjobs > 0). */
  get busy(): boolean {
    return this.asyncJobs > 0;
  }

  /** The pool refresh, stop, delete and undefine check. */
  checkIdle(poolName: string): void {
    if (this.busy) throw storageError(ErrorCode.INTERNAL_ERROR, `pool '${poolName}' has asynchronous jobs running.`);
  }

  /** The volume checks of delete, resize, wipe and upload (`inUseToo`), and of clone and download (being built only). */
  checkVolume(vol: StorageVolDef, inUseToo: boolean): void {
    if (inUseToo && (this.inUse.get(vol) ?? 0) > 0) throw storageError(ErrorCode.OPERATION_INVALID, `volume '${vol.name}' is still in use.`);
    if (this.building.has(vol)) throw storageError(ErrorCode.OPERATION_INVALID, `volume '${vol.name}' is still being allocated.`);
  }

  /** A call added or removed a volume. */
  listChanged(): void {
    this.generation++;
  }

  /** The list's version, for a refresh to tell whether it changed under its scan. */
  get listVersion(): number {
    return this.generation;
  }

  /** Runs `job` as an asynchronous job of the pool, `built` being built and the `used` volumes in use meanwhile. */
  async run<T>(job: () => Promise<T>, holds: { built?: StorageVolDef; used?: StorageVolDef } = {}): Promise<T> {
    const { built, used } = holds;
    this.asyncJobs++;
    if (built) this.building.add(built);
    if (used) this.inUse.set(used, (this.inUse.get(used) ?? 0) + 1);
    try {
      return await job();
    } finally {
      this.asyncJobs--;
      if (built) this.building.delete(built);
      if (used) this.inUse.set(used, this.inUse.get(used)! - 1);
    }
  }
}
