// Volumes of file pools on disk (storage_util.c's local backend): raw files made
// and copied directly, every other format through qemu-img, resize, wipe and delete.
// A create that fails removes what it made: no partial file is left behind.
import { chmod, chown, mkdir, open, rm, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import type { StorageVolDef } from '../../conf/storage-vol.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { systemError } from './probe.js';
import { runCommand } from '../../util/run-command.js';
import { checkVolumeEncryption, type QemuImgSecret } from './volume-secret.js';

/** VIR_STORAGE_DEFAULT_VOL_PERM_MODE */
const DEFAULT_VOL_MODE = 0o600;
/** READ_BLOCK_SIZE_DEFAULT: the copy reads this much at a time */
const READ_BLOCK = 1024 * 1024;
/** WRITE_BLOCK_SIZE_DEFAULT: zero runs of this size become holes */
const WRITE_BLOCK = 4096;

/** virStorageVolCreateFlags */
export const CREATE_PREALLOC_METADATA = 1;
export const CREATE_REFLINK = 2;

const storageError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.STORAGE);

/** virCommandRun's report of a tool that failed. */
async function runTool(argv: readonly string[]): Promise<void> {
  await runCommand(argv, ErrorDomain.STORAGE);
}

/** The option names of the volume's <compat> and <features> (kept as given in targetExtras). */
function qcowOptions(vol: StorageVolDef): { compat?: string; features: string[]; clusterSize?: string; nocow: boolean } {
  const extra = (name: string) => vol.targetExtras.find((e) => e.name === name);
  const features = extra('features')?.children.map((c) => c.name) ?? [];
  const cluster = extra('clusterSize');
  return { compat: extra('compat')?.text, features, clusterSize: cluster?.text, nocow: extra('nocow') !== undefined };
}

/** qemu-img's name of a volume format (ISO images are written as raw). */
const qemuImgFormat = (format: string | undefined) => (format === 'iso' || format === undefined ? 'raw' : format);

/** storageBackendCreateQemuImgOpts: the -o list; an encrypted volume's key comes from the secret object. */
function qemuImgOptions(vol: StorageVolDef, format: string, flags: number, secret?: QemuImgSecret): string {
  const opts: string[] = [];
  const q = qcowOptions(vol);
  if (vol.backingStore) opts.push(`backing_fmt=${vol.backingStore.format ?? 'raw'}`);
  if (secret) opts.push(...(format === 'qcow2' ? ['encrypt.format=luks', `encrypt.key-secret=${secret.alias}`] : [`key-secret=${secret.alias}`]));
  if (flags & CREATE_PREALLOC_METADATA) {
    const sizeKiB = (vol.capacity + 1023n) / 1024n;
    const allocKiB = (vol.allocation + 1023n) / 1024n;
    opts.push(sizeKiB > allocKiB ? 'preallocation=metadata' : 'preallocation=falloc');
  }
  if (q.nocow) opts.push('nocow=on');
  if (q.compat !== undefined) opts.push(`compat=${q.compat}`);
  else if (format === 'qcow2') opts.push('compat=0.10');
  if (q.clusterSize !== undefined) opts.push(`cluster_size=${q.clusterSize}`);
  if (format === 'qcow2') {
    for (const [feature, option] of [['lazy_refcounts', 'lazy_refcounts'], ['extended_l2', 'extended_l2=on']] as const) {
      if (!q.features.includes(feature)) continue;
      if (q.compat === '0.10') {
        const shown = feature === 'lazy_refcounts' ? 'lazy_refcounts not supported with compat level 0.10' : "'extended_l2' not supported with compat level 0.10";
        throw storageError(ErrorCode.CONFIG_UNSUPPORTED, shown);
      }
      opts.push(option);
    }
  }
  return opts.join(',');
}

/** virStorageBackendCreateQemuImgCmdFromVol's checks and command line. */
async function qemuImgCommand(vol: StorageVolDef, input: StorageVolDef | undefined, flags: number, poolPath: string, secret?: QemuImgSecret): Promise<string[]> {
  // an encrypted raw volume is a LUKS image
  const format = secret && qemuImgFormat(vol.format) === 'raw' ? 'luks' : qemuImgFormat(vol.format);
  const q = qcowOptions(vol);
  if (flags & ~CREATE_PREALLOC_METADATA) throw storageError(ErrorCode.INVALID_ARG, `unsupported flags (0x${(flags & ~CREATE_PREALLOC_METADATA).toString(16)}) in function virStorageBackendCreateQemuImgCmdFromVol`);
  if (flags & CREATE_PREALLOC_METADATA && format !== 'qcow2') throw storageError(ErrorCode.CONFIG_UNSUPPORTED, 'metadata preallocation only available with qcow2');
  if (q.compat !== undefined && format !== 'qcow2') throw storageError(ErrorCode.CONFIG_UNSUPPORTED, 'compatibility option only available with qcow2');
  if (vol.targetExtras.some((e) => e.name === 'features') && format !== 'qcow2') throw storageError(ErrorCode.CONFIG_UNSUPPORTED, 'format features only available with qcow2');
  if (secret) checkVolumeEncryption(vol);
  const backing = input ? undefined : vol.backingStore;
  if (vol.backingStore && !input) {
    if (format === 'raw') throw storageError(ErrorCode.CONFIG_UNSUPPORTED, 'cannot set backing store for raw volume');
    if (flags & CREATE_PREALLOC_METADATA) throw storageError(ErrorCode.CONFIG_UNSUPPORTED, 'metadata preallocation conflicts with backing store');
    const absolute = vol.backingStore.path.startsWith('/') ? vol.backingStore.path : `${poolPath}/${vol.backingStore.path}`;
    try {
      await stat(absolute);
      const fh = await open(absolute, 'r');
      await fh.close();
    } catch (e) {
      throw systemError(`inaccessible backing store volume ${vol.backingStore.path}`, e);
    }
  }
  const argv = ['qemu-img'];
  if (input) argv.push('convert', '-f', qemuImgFormat(input.format), '-O', format);
  else argv.push('create', '-f', format);
  if (backing) argv.push('-b', backing.path);
  // storageBackendCreateQemuImgSecretObject: the file's commas doubled, as QEMU's option syntax wants
  if (secret) argv.push('--object', `secret,id=${secret.alias},file=${secret.path.replaceAll(',', ',,')}`);
  const opts = qemuImgOptions({ ...vol, backingStore: backing }, format, flags, secret);
  if (opts) argv.push('-o', opts);
  if (input) argv.push(input.targetPath!);
  argv.push(vol.targetPath!);
  const sizeKiB = (vol.capacity + 1023n) / 1024n;
  if (!input && (sizeKiB > 0n || !backing)) argv.push(`${sizeKiB}K`);
  return argv;
}

/** virStorageBackendCreateExecCommand: run qemu-img, then give the file the volume's owner and mode. */
async function createWithQemuImg(vol: StorageVolDef, input: StorageVolDef | undefined, flags: number, poolPath: string, secret?: QemuImgSecret): Promise<void> {
  const argv = await qemuImgCommand(vol, input, flags, poolPath, secret);
  await runTool(argv);
  const path = vol.targetPath!;
  const st = await stat(path).catch((e: unknown) => {
    throw systemError(`failed to create ${path}`, e);
  });
  const uid = vol.perms?.owner !== undefined && vol.perms.owner !== st.uid ? vol.perms.owner : -1;
  const gid = vol.perms?.group !== undefined && vol.perms.group !== st.gid ? vol.perms.group : -1;
  if (uid !== -1 || gid !== -1) await chown(path, uid, gid).catch((e: unknown) => {
    throw systemError(`cannot chown ${path} to (${uid >>> 0}, ${gid >>> 0})`, e);
  });
  const mode = vol.perms?.mode ?? DEFAULT_VOL_MODE;
  if ((st.mode & 0o777) !== mode) await chmod(path, mode).catch((e: unknown) => {
    throw systemError(`cannot set mode of '${path}' to ${mode.toString(8).padStart(4, '0')}`, e);
  });
}

/** fallocate(2) mode 0, through util-linux (Node has no binding). */
async function fallocate(path: string, offset: bigint, length: bigint): Promise<void> {
  await runTool(['fallocate', '-o', offset.toString(), '-l', length.toString(), path]);
}

/**
 * virStorageBackendCopyToFD: the input's first `length` bytes into `fh`; with
 * `sparse`, blocks of zeros are skipped and stay holes.
 */
async function copyInto(fh: FileHandle, inputPath: string, length: bigint, sparse: boolean, outputPath: string): Promise<bigint> {
  let input: FileHandle;
  try {
    input = await open(inputPath, 'r');
  } catch (e) {
    throw systemError(`could not open input path '${inputPath}'`, e);
  }
  const buf = Buffer.alloc(READ_BLOCK);
  const zero = Buffer.alloc(WRITE_BLOCK);
  let pos = 0;
  try {
    while (BigInt(pos) < length) {
      const want = Number(BigInt(READ_BLOCK) < length - BigInt(pos) ? BigInt(READ_BLOCK) : length - BigInt(pos));
      const { bytesRead } = await input.read(buf, 0, want, pos).catch((e: unknown) => {
        throw systemError(`failed reading from file '${inputPath}'`, e);
      });
      if (bytesRead === 0) break;
      // write runs of non-zero blocks at once; zero blocks are left as holes
      let runStart = -1;
      const flush = async (end: number) => {
        if (runStart < 0) return;
        await fh.write(buf, runStart, end - runStart, pos + runStart).catch((e: unknown) => {
          throw systemError(`failed writing to file '${outputPath}'`, e);
        });
        runStart = -1;
      };
      for (let off = 0; off < bytesRead; off += WRITE_BLOCK) {
        const end = Math.min(off + WRITE_BLOCK, bytesRead);
        const isZero = sparse && buf.subarray(off, end).equals(end - off === WRITE_BLOCK ? zero : zero.subarray(0, end - off));
        if (isZero) await flush(off);
        else if (runStart < 0) runStart = off;
      }
      await flush(bytesRead);
      pos += bytesRead;
    }
    await fh.datasync().catch((e: unknown) => {
      throw systemError(`cannot sync data to file '${outputPath}'`, e);
    });
  } finally {
    await input.close();
  }
  return BigInt(pos);
}

/** storageBackendCreateRaw with createRawFile. */
async function createRaw(vol: StorageVolDef, input: StorageVolDef | undefined, flags: number): Promise<void> {
  if (flags & CREATE_PREALLOC_METADATA) throw storageError(ErrorCode.CONFIG_UNSUPPORTED, 'metadata preallocation is not supported for raw volumes');
  if (vol.backingStore) throw storageError(ErrorCode.NO_SUPPORT, 'backing storage not supported for raw volumes');
  if (vol.targetExtras.some((e) => e.name === 'encryption')) throw storageError(ErrorCode.CONFIG_UNSUPPORTED, 'storage pool does not support encrypted volumes');
  const path = vol.targetPath!;
  const mode = vol.perms?.mode ?? DEFAULT_VOL_MODE;
  let fh: FileHandle;
  try {
    fh = await open(path, 'wx+', mode);
  } catch (e) {
    throw systemError(`Failed to create file '${path}'`, e);
  }
  try {
    await fh.chmod(mode);
    if (vol.perms?.owner !== undefined || vol.perms?.group !== undefined) await fh.chown(vol.perms.owner ?? -1, vol.perms.group ?? -1);
    let needAlloc = !(input && vol.allocation < input.capacity);
    await fh.truncate(Number(vol.capacity)).catch((e: unknown) => {
      throw systemError(`cannot extend file '${path}'`, e);
    });
    if (vol.allocation > 0n && needAlloc) {
      await fallocate(path, 0n, vol.allocation);
      needAlloc = false;
    }
    const copied = input ? await copyInto(fh, input.targetPath!, input.capacity, !needAlloc, path) : 0n;
    if (needAlloc && vol.allocation > copied) await fallocate(path, copied, vol.allocation - copied);
    await fh.sync().catch((e: unknown) => {
      throw systemError(`cannot sync data to file '${path}'`, e);
    });
  } finally {
    await fh.close();
  }
}

/** createFileDir */
async function createDir(vol: StorageVolDef, input: StorageVolDef | undefined): Promise<void> {
  if (input) throw storageError(ErrorCode.INTERNAL_ERROR, 'cannot copy from volume to a directory volume');
  if (vol.backingStore) throw storageError(ErrorCode.NO_SUPPORT, 'backing storage not supported for directories volumes');
  const path = vol.targetPath!;
  const mode = vol.perms?.mode ?? DEFAULT_VOL_MODE;
  try {
    await mkdir(path, mode);
    await chmod(path, mode);
  } catch (e) {
    throw systemError(`cannot create directory '${path}'`, e);
  }
}

/** storageBackendVolBuildLocal: makes the volume's file, from `input` when cloning. */
export async function buildVolume(vol: StorageVolDef, input: StorageVolDef | undefined, flags: number, poolPath: string, secret?: QemuImgSecret): Promise<void> {
  const rawToRaw = (vol.format ?? 'raw') === 'raw' && (!input || (input.format ?? 'raw') === 'raw');
  const hasEncryption = vol.targetExtras.some((e) => e.name === 'encryption');
  try {
    if (vol.format === 'dir') await createDir(vol, input);
    else if (rawToRaw && !hasEncryption) await createRaw(vol, input, flags);
    else await createWithQemuImg(vol, input, flags, poolPath, secret);
  } catch (e) {
    // what a failed create made goes away (the path did not exist before)
    await rm(vol.targetPath!, { recursive: vol.format === 'dir', force: true }).catch(() => undefined);
    throw e;
  }
}

/** virStorageBackendVolDeleteLocal: a file or folder that is already gone is fine. */
export async function deleteVolumeFile(vol: StorageVolDef): Promise<void> {
  const path = vol.targetPath!;
  try {
    if (vol.type === 'dir') await rmdir(path);
    else await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw systemError(vol.type === 'dir' ? `cannot remove directory '${path}'` : `cannot unlink file '${path}'`, e);
  }
}

/** virStorageVolResizeFlags */
export const RESIZE_ALLOCATE = 1;
export const RESIZE_DELTA = 2;
export const RESIZE_SHRINK = 4;

/** virStorageBackendVolResizeLocal: raw files directly, the rest through qemu-img. */
export async function resizeVolumeFile(vol: StorageVolDef, capacity: bigint, flags: number): Promise<void> {
  const path = vol.targetPath!;
  const preallocate = (flags & RESIZE_ALLOCATE) !== 0;
  if (vol.format === 'raw' && !vol.targetExtras.some((e) => e.name === 'encryption')) {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch (e) {
      throw systemError(`Unable to open '${path}'`, e);
    }
    try {
      if (preallocate) await fallocate(path, 0n, capacity);
      // beyond what a JavaScript number holds no filesystem accepts a size anyway
      if (capacity > BigInt(Number.MAX_SAFE_INTEGER)) throw Object.assign(new Error('File too large'), { code: 'EFBIG' });
      await fh.truncate(Number(capacity));
    } catch (e) {
      if (e instanceof VirError) throw e;
      throw systemError(`Failed to truncate file '${path}'`, e);
    } finally {
      await fh.close();
    }
    return;
  }
  if (preallocate) throw storageError(ErrorCode.OPERATION_UNSUPPORTED, 'preallocate is only supported for raw type volume');
  // qemu-img refuses sizes that are not a multiple of 512
  const rounded = ((capacity + 511n) / 512n) * 512n;
  await runTool(['qemu-img', 'resize', ...(rounded < vol.capacity ? ['--shrink'] : []), path, rounded.toString()]);
}

/** virStorageVolWipeAlgorithm, by number. */
const WIPE_ALGORITHMS = ['zero', 'nnsa', 'dod', 'bsi', 'gutmann', 'schneier', 'pfitzner7', 'pfitzner33', 'random', 'trim'] as const;

/** storageBackendVolWipeLocalFile */
export async function wipeVolumeFile(vol: StorageVolDef, algorithm: number): Promise<void> {
  const path = vol.targetPath!;
  let fh: FileHandle;
  try {
    fh = await open(path, 'r+');
  } catch (e) {
    throw systemError(`Failed to open storage volume with path '${path}'`, e);
  }
  try {
    const st = await fh.stat();
    const name = WIPE_ALGORITHMS[algorithm];
    if (name === undefined) throw storageError(ErrorCode.INVALID_ARG, `unsupported algorithm ${algorithm}`);
    if (name === 'trim') throw storageError(ErrorCode.ARGUMENT_UNSUPPORTED, "'trim' algorithm not supported");
    if (name !== 'zero') {
      await runTool(['scrub', '-f', '-p', name, path]);
      return;
    }
    // a sparse file is zeroed by punching it out whole
    if (st.isFile() && st.blocks < Math.floor(st.size / 512)) {
      await fh.truncate(0).catch((e: unknown) => {
        throw systemError(`Failed to truncate volume with path '${path}' to 0 bytes`, e);
      });
      await fh.truncate(st.size).catch((e: unknown) => {
        throw systemError(`Failed to truncate volume with path '${path}' to ${st.size} bytes`, e);
      });
      return;
    }
    const block = Buffer.alloc(Math.max(st.blksize, 4096));
    let remaining = vol.allocation;
    let pos = 0;
    while (remaining > 0n) {
      const size = Number(remaining < BigInt(block.length) ? remaining : BigInt(block.length));
      const { bytesWritten } = await fh.write(block, 0, size, pos).catch((e: unknown) => {
        throw systemError(`Failed to write ${size} bytes to storage volume with path '${path}'`, e);
      });
      pos += bytesWritten;
      remaining -= BigInt(bytesWritten);
    }
    await fh.datasync().catch((e: unknown) => {
      throw systemError(`cannot sync data to volume with path '${path}'`, e);
    });
  } finally {
    await fh.close();
  }
}

