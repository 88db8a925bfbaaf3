// Disk image backing chains, as libvirt records them in the live XML of a
// running domain (qemuDomainDetermineDiskChain): every image below a disk's
// top image becomes a <backingStore type=... ><format/><source/></backingStore>
// nested in the one above, and the last image known to have no backing file
// gets an empty <backingStore/>. The storage ids handed out later
// (command-line/disks.ts) then name every image's QEMU nodes, so block jobs and
// snapshots can address each layer.
//
// What an image names is read from its header: raw images have no backing
// file; qcow2 images name one at backing_file_offset, its format in the
// backing-format header extension (else the backing image's own magic says).
// Images that cannot be read (missing, a network protocol) end the chain
// without a marker, and QEMU opens what they name itself.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { child, element, type XmlElement } from '../../util/xml.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { DETECTED_BACKING } from '../../conf/domain-inactive-form.js';

const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);

/** qcow2 header magic "QFI\xfb" */
const QCOW2_MAGIC = 0x514649fb;
/** the backing-format header extension */
const EXT_BACKING_FORMAT = 0xe2792aca;
/** version 2 headers are 72 bytes; version 3 ones say their length at offset 100 */
const QCOW2_V2_HEADER_BYTES = 72;
/** libvirt's backing chain depth limit (VIR_STORAGE_MAX_CHAIN_DEPTH) */
export const MAX_CHAIN_DEPTH = 200;

/** An image below another in a chain. */
export interface BackingImage {
  path: string;
  format: string;
  /** 'block' for a host block device, else 'file' */
  type: 'file' | 'block';
}

function readAt(fd: number, length: number, position: number): Buffer | undefined {
  const buf = Buffer.alloc(length);
  return readSync(fd, buf, 0, length, position) === length ? buf : undefined;
}

/** The format an image's own header says (qcow2), else raw. */
function probeFormat(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return 'raw';
  }
  try {
    return readAt(fd, 4, 0)?.readUInt32BE(0) === QCOW2_MAGIC ? 'qcow2' : 'raw';
  } finally {
    closeSync(fd);
  }
}

/** The backing-format extension's value, when the header has one. */
function backingFormatExtension(fd: number, header: Buffer): string | undefined {
  const version = header.readUInt32BE(4);
  let at = version >= 3 ? (readAt(fd, 4, 100)?.readUInt32BE(0) ?? QCOW2_V2_HEADER_BYTES) : QCOW2_V2_HEADER_BYTES;
  for (let guard = 0; guard < 64; guard++) {
    const ext = readAt(fd, 8, at);
    if (!ext) return undefined;
    const type = ext.readUInt32BE(0);
    const length = ext.readUInt32BE(4);
    if (type === 0 || length > 4096) return undefined;
    if (type === EXT_BACKING_FORMAT) return readAt(fd, length, at + 8)?.toString('utf8');
    at += 8 + Math.ceil(length / 8) * 8;
  }
  return undefined;
}

/**
 * What a local image names below it: `null` when it has no backing file,
 * `undefined` when that is unknown (unreadable, not a format with backing
 * files tsvirt reads, a network backing).
 */
export function backingOf(file: string, format: string): BackingImage | null | undefined {
  if (format === 'raw') return null;
  if (format !== 'qcow2') return undefined;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const header = readAt(fd, 20, 0);
    if (!header || header.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
    const offset = Number(header.readBigUInt64BE(8));
    const size = header.readUInt32BE(16);
    if (offset === 0 || size === 0) return null;
    if (size > 4096) return undefined;
    const name = readAt(fd, size, offset)?.toString('utf8');
    // a protocol backing (nbd:, http:) is no local file
    if (name === undefined || (/^[a-z0-9+]+:/i.test(name) && !name.startsWith('/'))) return undefined;
    const resolved = path.resolve(path.dirname(file), name);
    const type = (() => {
      try {
        return statSync(resolved).isBlockDevice() ? 'block' : 'file';
      } catch {
        return 'file';
      }
    })();
    return { path: resolved, format: backingFormatExtension(fd, header) ?? probeFormat(resolved), type };
  } finally {
    closeSync(fd);
  }
}

/** The local path of a disk or <backingStore> image, if it is one. */
export function localImagePath(holder: XmlElement): string | undefined {
  const source = child(holder, 'source');
  const type = holder.attrs.type ?? 'file';
  if (type === 'file') return source?.attrs.file;
  if (type === 'block') return source?.attrs.dev;
  return undefined;
}

/** The <backingStore> element libvirt writes for an image below another; `detected` when found by probing. */
export function backingStoreElement(image: BackingImage, below: XmlElement[] = [], detected = false): XmlElement {
  const source = image.type === 'block' ? { dev: image.path } : { file: image.path };
  return element('backingStore', { type: image.type, ...(detected ? { [DETECTED_BACKING]: 'yes' } : {}) }, [element('format', { type: image.format }), element('source', source), ...below]);
}

/**
 * Completes the backing chain of every local disk image of `disks` that has
 * none written: each image below it, then <backingStore/> when the last one
 * is known to have no backing file.
 */
export function detectBackingChains(disks: XmlElement[]): void {
  for (const disk of disks) {
    if (child(disk, 'backingStore')) continue;
    const top = localImagePath(disk);
    if (!child(disk, 'source') || top === undefined) continue;
    let format = child(disk, 'driver')?.attrs.type ?? 'raw';
    let holder = disk;
    const seen = new Set([top]);
    for (let file = top; seen.size <= MAX_CHAIN_DEPTH; ) {
      const below = backingOf(file, format);
      if (below === undefined) break;
      const source = child(holder, 'source')!;
      const next = below === null || seen.has(below.path) ? element('backingStore', {}) : backingStoreElement(below, [], true);
      holder.children.splice(holder.children.indexOf(source) + 1, 0, next);
      if (below === null || seen.has(below.path)) break;
      seen.add(below.path);
      [file, format, holder] = [below.path, below.format, next];
    }
  }
}

/** One image of a disk's chain as the live XML records it, top first. */
export interface ChainLayer {
  /** the <disk> (top) or <backingStore> element */
  holder: XmlElement;
  path: string | undefined;
  format: string;
  /** the storage id its QEMU nodes are named by (libvirt-N-format) */
  index: number | undefined;
}

/** A disk's images as recorded, top down; the empty <backingStore/> ending a chain is no image. */
export function diskChain(disk: XmlElement): ChainLayer[] {
  const out: ChainLayer[] = [];
  for (let holder: XmlElement | undefined = disk; holder && out.length <= MAX_CHAIN_DEPTH; holder = child(holder, 'backingStore')) {
    if (holder !== disk && holder.attrs.type === undefined) break;
    const format = holder === disk ? child(disk, 'driver')?.attrs.type : child(holder, 'format')?.attrs.type;
    // the top image's storage id is on its <source>, the others' on their <backingStore>
    const index = Number((holder === disk ? child(holder, 'source') : holder)?.attrs.index);
    out.push({ holder, path: localImagePath(holder), format: format ?? 'raw', index: Number.isInteger(index) && index > 0 ? index : undefined });
  }
  return out;
}

/** Puts `below` (a <backingStore>, or nothing) under `holder` in place of what was there. */
export function setBackingStore(holder: XmlElement, below: XmlElement | undefined): void {
  const existing = child(holder, 'backingStore');
  const at = existing ? holder.children.indexOf(existing) : holder.children.indexOf(child(holder, 'source')!) + 1;
  holder.children.splice(at, existing ? 1 : 0, ...(below ? [below] : []));
}

/**
 * The layer of a disk's chain that `name` names (virStorageSourceChainLookup):
 * "vda[N]" by storage id, else by path (relative paths against the folder of
 * the image above), looking only below `startBelow` when given. The errors are
 * libvirt's.
 */
export function lookupChainLayer(disk: XmlElement, name: string, startBelow?: ChainLayer): ChainLayer {
  const dst = child(disk, 'target')?.attrs.dev ?? '';
  const chain = diskChain(disk);
  const from = startBelow ? chain.findIndex((l) => l.holder === startBelow.holder) + 1 : 0;
  const indexed = /^(.+)\[(\d+)\]$/.exec(name);
  if (indexed) {
    if (indexed[1] !== dst) throw invalidArg(`requested target '${indexed[1]}' does not match target '${dst}'`);
    const found = chain.slice(from).find((l) => l.index === Number(indexed[2]));
    if (found) return found;
    throw invalidArg(`could not find backing store index '${indexed[2]}' in chain for '${dst}'`);
  }
  for (let i = from; i < chain.length; i++) {
    const parentDir = i > 0 && chain[i - 1]!.path ? path.dirname(chain[i - 1]!.path!) : '.';
    if (chain[i]!.path === name || chain[i]!.path === path.resolve(parentDir, name)) return chain[i]!;
  }
  if (startBelow) throw invalidArg(`could not find image '${name}' beneath '${startBelow.path ?? ''}' in chain for '${dst}'`);
  throw invalidArg(`could not find image '${name}' in chain for '${dst}'`);
}
