// What a file in a pool is: its kind and sizes from stat, and its image format,
// virtual size and backing file from its header (virStorageBackendVolOpen,
// virStorageSourceUpdateBackingSizes, virStorageFileProbeGetMetadata).
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { StoragePermissions } from '../../conf/storage-perms.js';
import type { StorageTimestamps } from '../../conf/storage-vol.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { systemError as systemErrorIn } from '../../util/errno-text.js';

/** virStorageBackendVolOpen reads at most this much header (VIR_STORAGE_MAX_HEADER). */
const MAX_HEADER = 0x8200;

export interface TargetStat {
  readonly kind: 'file' | 'dir' | 'block';
  readonly allocation: bigint;
  readonly capacity: bigint;
  readonly physical: bigint;
  readonly perms: StoragePermissions;
  readonly timestamps: StorageTimestamps;
}

/** What a header says; capacity undefined means "the file's size". */
export interface ImageHeader {
  readonly format: string;
  readonly capacity?: bigint;
  /** the backing file as written in the header, and its format when the header names it */
  readonly backing?: { readonly path: string; readonly format?: string };
  readonly compat?: string;
  readonly clusterSize?: bigint;
  /** qcow2 v3 feature names (lazy_refcounts, extended_l2); undefined before v3 */
  readonly features?: readonly string[];
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

export function systemError(message: string, e: unknown) {
  return systemErrorIn(message, e, ErrorDomain.STORAGE);
}

/** struct timespec as virStorageVolTimestampFormat prints it. */
function timestamp(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const nsec = ns % 1_000_000_000n;
  return nsec === 0n ? `${sec}` : `${sec}.${nsec.toString().padStart(9, '0')}`;
}

export function targetStat(st: BigIntStats): TargetStat {
  const kind = st.isDirectory() ? 'dir' : st.isBlockDevice() ? 'block' : 'file';
  const size = kind === 'dir' ? 0n : st.size;
  return {
    kind,
    allocation: kind === 'dir' ? 0n : st.blocks * 512n,
    capacity: size,
    physical: size,
    perms: { mode: Number(st.mode) & 0o777, owner: Number(st.uid), group: Number(st.gid) },
    // Linux has no birth time in struct stat: libvirt prints 0
    timestamps: { atime: timestamp(st.atimeNs), mtime: timestamp(st.mtimeNs), ctime: timestamp(st.ctimeNs), btime: '0' },
  };
}

/**
 * virStorageBackendVolOpen for a pool scan: undefined for what a pool skips
 * silently (missing files, dangling links, FIFOs, sockets, unreadable files).
 */
export async function openForScan(file: string): Promise<{ st: TargetStat; header?: ImageHeader } | undefined> {
  let l: BigIntStats;
  try {
    l = await lstat(file, { bigint: true });
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw systemError(`cannot stat file '${file}'`, e);
  }
  if (l.isFIFO() || l.isSocket()) return undefined;
  let st: BigIntStats;
  try {
    st = await stat(file, { bigint: true });
  } catch (e) {
    if (['ENOENT', 'ELOOP', 'EACCES', 'EPERM'].includes(errnoOf(e) ?? '')) return undefined;
    throw systemError(`cannot open volume '${file}'`, e);
  }
  if (st.isFIFO() || st.isSocket() || st.isCharacterDevice()) return undefined;
  const info = targetStat(st);
  if (info.kind === 'dir') return { st: info };
  return { st: info, header: probeImage(await readHeader(file), st.size) };
}

/** virStorageBackendVolOpen for one known volume: a missing file is an error. */
export async function statVolume(file: string): Promise<TargetStat> {
  try {
    return targetStat(await stat(file, { bigint: true }));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw virError(ErrorCode.NO_STORAGE_VOL, `no storage vol with matching path '${file}'`, ErrorDomain.STORAGE);
    throw systemError(`cannot stat file '${file}'`, e);
  }
}

export async function readHeader(file: string): Promise<Buffer> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const buf = Buffer.alloc(MAX_HEADER);
    const { bytesRead } = await fh.read(buf, 0, MAX_HEADER, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

const QCOW_MAGIC = Buffer.from('QFI\xfb', 'latin1');
/** qcow2 header extension naming the backing file's format */
const QCOW2_EXT_BACKING_FORMAT = 0xe2792aca;

/** Formats recognised by a magic number at an offset (virStorageFileProbeFormatFromBuf's table, the common ones). */
const MAGICS: readonly { format: string; offset: number; magic: Buffer }[] = [
  { format: 'qed', offset: 0, magic: Buffer.from('QED\0', 'latin1') },
  { format: 'vmdk', offset: 0, magic: Buffer.from('KDMV', 'latin1') },
  { format: 'vpc', offset: 0, magic: Buffer.from('conectix', 'latin1') },
  { format: 'vdi', offset: 0x40, magic: Buffer.from([0x7f, 0x10, 0xda, 0xbe]) },
  { format: 'iso', offset: 0x8001, magic: Buffer.from('CD001', 'latin1') },
];

/** The format and metadata a header shows; raw when nothing matches. */
export function probeImage(buf: Buffer, fileSize: bigint): ImageHeader {
  if (buf.length >= 32 && buf.subarray(0, 4).equals(QCOW_MAGIC)) {
    const version = buf.readUInt32BE(4);
    if (version === 1) return { format: 'qcow', capacity: buf.readBigUInt64BE(24) };
    if (version === 2 || version === 3) return probeQcow2(buf, version);
  }
  for (const m of MAGICS) {
    if (buf.length >= m.offset + m.magic.length && buf.subarray(m.offset, m.offset + m.magic.length).equals(m.magic)) {
      return { format: m.format, capacity: fileSize };
    }
  }
  return { format: 'raw' };
}

function probeQcow2(buf: Buffer, version: number): ImageHeader {
  const backingOffset = Number(buf.readBigUInt64BE(8));
  const backingSize = buf.readUInt32BE(16);
  const clusterSize = 1n << BigInt(buf.readUInt32BE(20));
  const capacity = buf.readBigUInt64BE(24);
  let backingFormat: string | undefined;
  const headerLength = version === 3 && buf.length >= 104 ? buf.readUInt32BE(100) : 72;
  for (let at = headerLength; at + 8 <= buf.length && (backingOffset === 0 || at < backingOffset); ) {
    const type = buf.readUInt32BE(at);
    const len = buf.readUInt32BE(at + 4);
    if (type === 0) break;
    if (type === QCOW2_EXT_BACKING_FORMAT) backingFormat = buf.toString('latin1', at + 8, at + 8 + len);
    at += 8 + Math.ceil(len / 8) * 8;
  }
  const backing =
    backingOffset > 0 && backingSize > 0 && backingOffset + backingSize <= buf.length
      ? { path: buf.toString('utf8', backingOffset, backingOffset + backingSize), ...(backingFormat ? { format: backingFormat } : {}) }
      : undefined;
  if (version === 2) return { format: 'qcow2', capacity, clusterSize, ...(backing ? { backing } : {}) };
  const incompatible = buf.readBigUInt64BE(72);
  const compatible = buf.readBigUInt64BE(80);
  const features = [...((compatible & 1n) !== 0n ? ['lazy_refcounts'] : []), ...((incompatible & 16n) !== 0n ? ['extended_l2'] : [])];
  return { format: 'qcow2', capacity, clusterSize, compat: '1.1', features, ...(backing ? { backing } : {}) };
}

/** A backing file named in a header, as a path: relative names are relative to the image's folder. */
export function resolveBacking(imagePath: string, backing: string): string {
  return path.isAbsolute(backing) ? backing : path.join(path.dirname(imagePath), backing);
}
