// The file-based pool backends (storage_backend_fs.c): a dir pool is a folder;
// an fs pool is a filesystem (a block device or image) mounted on its target.
// Both list the files in the target as volumes and take their sizes from statvfs.
// A logical pool (an LVM volume group) has its own backend: logical-backend.ts.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, rmdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StoragePoolDef } from '../../conf/storage-pool.js';
import type { StorageVolDef } from '../../conf/storage-vol.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';
import { buildLogicalPool, deleteLogicalPool, logicalPoolStillActive, refreshLogicalPool, startLogicalPool, stopLogicalPool } from './logical-backend.js';
import { openForScan, probeImage, readHeader, resolveBacking, statVolume, systemError, targetStat, type ImageHeader } from './probe.js';

const exec = promisify(execFile);

/** VIR_STORAGE_DEFAULT_POOL_PERM_MODE */
const DEFAULT_POOL_MODE = 0o711;

/** virStoragePoolBuildFlags */
export const BUILD_NO_OVERWRITE = 4;
export const BUILD_OVERWRITE = 8;

const storageError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.STORAGE);

/** virStorageBackendBuildLocal: the target folder, its parents, and the configured owner and mode. */
export async function buildPool(def: StoragePoolDef, flags: number): Promise<void> {
  if ((flags & BUILD_OVERWRITE) && (flags & BUILD_NO_OVERWRITE)) {
    // VIR_EXCLUSIVE_FLAGS_RET: virReportInvalidArg, without the "invalid argument" prefix
    throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.STORAGE, "Flags 'VIR_STORAGE_POOL_BUILD_OVERWRITE' and 'VIR_STORAGE_POOL_BUILD_NO_OVERWRITE' are mutually exclusive");
  }
  if (def.type === 'logical') return buildLogicalPool(def, flags);
  const target = def.targetPath!;
  const parent = path.dirname(target);
  if (!path.isAbsolute(target)) throw storageError(ErrorCode.INVALID_ARG, `path '${target}' is not absolute`);
  await mkdir(parent, { recursive: true }).catch((e: unknown) => {
    throw systemError(`cannot create path '${parent}'`, e);
  });
  const exists = await stat(target).then(
    () => true,
    () => false,
  );
  const mode = def.targetPerms?.mode ?? (exists ? undefined : DEFAULT_POOL_MODE);
  try {
    if (!exists) await mkdir(target);
    if (mode !== undefined) await chmod(target, mode);
    const { owner, group } = def.targetPerms ?? {};
    if ((owner !== undefined && owner !== -1) || (group !== undefined && group !== -1)) await chown(target, owner ?? -1, group ?? -1);
  } catch (e) {
    throw systemError(`cannot create directory '${target}'`, e);
  }
  if (def.type === 'fs' && flags !== 0) await makeFileSystem(def, flags);
}

function sourceDevice(def: StoragePoolDef): string | undefined {
  return def.source.find((c) => c.name === 'device')?.attrs.path;
}
function sourceFormat(def: StoragePoolDef): string {
  return def.source.find((c) => c.name === 'format')?.attrs.type ?? 'auto';
}

/** virStorageBackendMakeFileSystem: mkfs on the source device (NO_OVERWRITE refuses a device holding a filesystem). */
async function makeFileSystem(def: StoragePoolDef, flags: number): Promise<void> {
  const device = sourceDevice(def)!;
  const format = sourceFormat(def) === 'auto' ? 'ext4' : sourceFormat(def);
  if (flags & BUILD_NO_OVERWRITE) {
    const { stdout } = await exec('blkid', ['-o', 'value', '-s', 'TYPE', device]).catch(() => ({ stdout: '' }));
    if (stdout.trim()) throw storageError(ErrorCode.STORAGE_POOL_BUILT, `Device '${device}' already formatted using '${stdout.trim()}'`);
  }
  await exec('mkfs', ['-t', format, ...(format.startsWith('ext') ? ['-F'] : []), device]).catch((e: { stderr?: string }) => {
    throw storageError(ErrorCode.INTERNAL_ERROR, `Child process (mkfs -t ${format} ${device}) unexpected exit status 1: ${(e.stderr ?? '').trim()}`);
  });
}

/** virStorageBackendFileSystemIsMounted: is the target in /proc/mounts? */
async function isMounted(target: string): Promise<boolean> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') === target);
}

/** virStorageBackendFileSystemStart: an fs pool mounts its source; a dir pool has nothing to do. */
export async function startPool(def: StoragePoolDef): Promise<void> {
  if (def.type === 'logical') return startLogicalPool(def);
  if (def.type !== 'fs') return;
  const device = sourceDevice(def);
  if (!device) throw storageError(ErrorCode.INTERNAL_ERROR, 'missing source device');
  const target = def.targetPath!;
  if (await isMounted(target)) return;
  const format = sourceFormat(def);
  const argv = [...(format === 'auto' ? [] : ['-t', format]), device, target];
  await exec('mount', argv).catch((e: { stderr?: string; code?: number }) => {
    throw storageError(ErrorCode.INTERNAL_ERROR, `Child process (mount ${argv.join(' ')}) unexpected exit status ${e.code ?? 1}: ${(e.stderr ?? '').trim()}`);
  });
}

/** virStorageBackendFileSystemStop: an fs pool unmounts. */
export async function stopPool(def: StoragePoolDef): Promise<void> {
  if (def.type === 'logical') return stopLogicalPool(def);
  if (def.type !== 'fs' || !(await isMounted(def.targetPath!))) return;
  await exec('umount', [def.targetPath!]).catch((e: { stderr?: string; code?: number }) => {
    throw storageError(ErrorCode.INTERNAL_ERROR, `Child process (umount ${def.targetPath}) unexpected exit status ${e.code ?? 1}: ${(e.stderr ?? '').trim()}`);
  });
}

/** virStorageBackendFileSystemCheck: is a pool that was running still there? */
export async function poolStillActive(def: StoragePoolDef): Promise<boolean> {
  if (def.type === 'logical') return logicalPoolStillActive(def);
  if (def.type === 'fs') return isMounted(def.targetPath!);
  return stat(def.targetPath!).then(
    () => true,
    () => false,
  );
}

/** virStorageBackendDeleteLocal */
export async function deletePool(def: StoragePoolDef): Promise<void> {
  if (def.type === 'logical') return deleteLogicalPool(def);
  await rmdir(def.targetPath!).catch((e: unknown) => {
    throw systemError(`failed to remove pool '${def.targetPath}'`, e);
  });
}

/** The probed extras of a qcow2 header as libvirt prints them after a scan. */
function probedExtras(header: ImageHeader): XmlElement[] {
  const extras: XmlElement[] = [];
  if (header.compat !== undefined) extras.push(element('compat', {}, [], header.compat));
  if (header.clusterSize !== undefined) extras.push(element('clusterSize', { unit: 'B' }, [], header.clusterSize.toString()));
  if (header.features !== undefined) extras.push(element('features', {}, header.features.map((f) => element(f))));
  return extras;
}

/** virStorageBackendRefreshLocal: the target's entries as volumes, then the pool's sizes and permissions. */
export async function refreshPool(def: StoragePoolDef): Promise<StorageVolDef[]> {
  if (def.type === 'logical') return refreshLogicalPool(def);
  const target = def.targetPath!;
  let names: string[];
  try {
    names = (await readdir(target)).sort();
  } catch (e) {
    throw systemError(`cannot open directory '${target}'`, e);
  }
  const volumes: StorageVolDef[] = [];
  for (const name of names) {
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(name)) continue;
    const file = `${target}/${name}`;
    const found = await openForScan(file);
    if (!found) continue;
    const { st, header } = found;
    const vol: StorageVolDef = {
      name,
      key: file,
      type: st.kind === 'dir' ? 'dir' : 'file',
      targetPath: file,
      format: header?.format ?? 'dir',
      capacity: header?.capacity ?? st.capacity,
      allocation: st.allocation,
      physical: st.physical,
      perms: st.perms,
      timestamps: st.timestamps,
      targetExtras: header ? probedExtras(header) : [],
    };
    if (header?.backing) vol.backingStore = await probeBacking(file, header.backing);
    volumes.push(vol);
  }
  let dirStat;
  try {
    dirStat = targetStat(await stat(target, { bigint: true }));
  } catch (e) {
    throw systemError(`cannot stat path '${target}'`, e);
  }
  await updatePoolSizes(def);
  def.targetPerms = dirStat.perms;
  return volumes;
}

/** The pool's capacity, allocation and available space from statvfs. */
export async function updatePoolSizes(def: StoragePoolDef): Promise<void> {
  let fs;
  try {
    fs = await statfs(def.targetPath!, { bigint: true });
  } catch (e) {
    throw systemError(`cannot statvfs path '${def.targetPath}'`, e);
  }
  def.capacity = fs.bsize * fs.blocks;
  def.available = fs.bfree * fs.bsize;
  def.allocation = def.capacity - def.available;
}

/** A backing file named by a header: its path, its format (probed when the header does not say), its permissions and times. */
async function probeBacking(image: string, backing: { path: string; format?: string }): Promise<StorageVolDef['backingStore']> {
  const file = resolveBacking(image, backing.path);
  let format = backing.format;
  if (format === undefined) {
    try {
      const st = await stat(file, { bigint: true });
      format = probeImage(await readHeader(file), st.size).format;
    } catch {
      // libvirt fakes raw for a backing file it cannot probe
      format = 'raw';
    }
  }
  const found = await statVolume(file).catch(() => undefined);
  return { path: file, format, ...(found ? { perms: found.perms, timestamps: found.timestamps } : {}) };
}

/**
 * virStorageBackendVolRefreshLocal: a known volume's sizes, permissions and times
 * from the file; its capacity from the header of formats that have one.
 */
export async function refreshVolume(vol: StorageVolDef): Promise<void> {
  const st = await statVolume(vol.targetPath!);
  vol.allocation = st.allocation;
  vol.physical = st.physical;
  vol.capacity = st.capacity;
  vol.perms = st.perms;
  vol.timestamps = st.timestamps;
  if (st.kind === 'file' && vol.format !== 'raw' && vol.format !== 'dir') {
    const header = probeImage(await readHeader(vol.targetPath!), st.physical);
    if (header.format === vol.format && header.capacity !== undefined) vol.capacity = header.capacity;
  }
  if (vol.backingStore) {
    const backing = await statVolume(resolveBacking(vol.targetPath!, vol.backingStore.path)).catch(() => undefined);
    if (backing) {
      vol.backingStore.perms = backing.perms;
      vol.backingStore.timestamps = backing.timestamps;
    }
  }
}
