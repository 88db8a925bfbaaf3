// libvirt's QEMU save image (qemu_saveimage.h), so that a file saved by
// libvirt restores on tsvirt and the other way round:
//
//   header (92 bytes, host byte order): magic "LibvirtQemudSave" (16 bytes;
//     "LibvirtQemudPart" while the image is written), version (u32, 2),
//     data_len, was_running, compressed (0 raw, 1 gzip, 2 bzip2, 3 xz, 4 lzop),
//     cookieOffset (u32 each), 14 unused u32
//   data (data_len bytes): the domain XML with its NUL, the cookie XML with
//     its NUL (when cookieOffset is not 0), zeros (64 KiB when written, so the
//     XML can be edited in place)
//   QEMU's migration stream, compressed as the header says
import { open } from 'node:fs/promises';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';

export const SAVE_MAGIC = 'LibvirtQemudSave';
export const SAVE_PARTIAL = 'LibvirtQemudPart';
export const SAVE_VERSION = 2;
export const HEADER_BYTES = 16 + 5 * 4 + 14 * 4;
/** Room left after the XML for a longer one (virQEMUSaveDataWrite). */
const XML_PAD_BYTES = 64 * 1024;
/** The compression programs by header number; each decompresses with `-dc`. */
export const COMPRESSION_PROGRAMS = ['raw', 'gzip', 'bzip2', 'xz', 'lzop'] as const;

export interface SaveImageHeader {
  version: number;
  dataLen: number;
  wasRunning: boolean;
  compressed: number;
  cookieOffset: number;
}

export interface SaveImage {
  header: SaveImageHeader;
  xml: string;
  cookie?: string;
  /** Where QEMU's migration stream starts in the file. */
  streamOffset: number;
}

const failed = (message: string) => virError(ErrorCode.OPERATION_FAILED, message, ErrorDomain.QEMU);

function formatHeader(magic: string, h: SaveImageHeader): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES);
  buf.write(magic, 0, 'latin1');
  [h.version, h.dataLen, h.wasRunning ? 1 : 0, h.compressed, h.cookieOffset].forEach((v, i) => buf.writeUInt32LE(v, 16 + 4 * i));
  return buf;
}

/** The header and data of a new image, magic still "partial": the stream follows, then finishImage(). */
export function formatImageStart(xml: string, wasRunning: boolean, cookie?: string): Buffer {
  const xmlBytes = Buffer.from(`${xml}\0`, 'utf8');
  const cookieBytes = cookie === undefined ? Buffer.alloc(0) : Buffer.from(`${cookie}\0`, 'utf8');
  const dataLen = xmlBytes.length + cookieBytes.length + XML_PAD_BYTES;
  const header = formatHeader(SAVE_PARTIAL, { version: SAVE_VERSION, dataLen, wasRunning, compressed: 0, cookieOffset: cookie === undefined ? 0 : xmlBytes.length });
  return Buffer.concat([header, xmlBytes, cookieBytes, Buffer.alloc(XML_PAD_BYTES)]);
}

/** Marks a completely written image complete (virQEMUSaveDataFinish). */
export async function finishImage(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(Buffer.from(SAVE_MAGIC, 'latin1'), 0, 16, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Reads an image's header and data, with libvirt's errors for damaged ones (qemuSaveImageOpen). */
export async function readSaveImage(path: string): Promise<SaveImage> {
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
    const reason = e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'EACCES' ? 'Permission denied' : e.message;
    throw virError(ErrorCode.SYSTEM_ERROR, `Failed to open domain image file '${path}': ${reason}`, ErrorDomain.QEMU);
  });
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    if ((await fh.read(head, 0, HEADER_BYTES, 0)).bytesRead !== HEADER_BYTES) throw failed('failed to read qemu header');
    const magic = head.toString('latin1', 0, 16);
    if (magic !== SAVE_MAGIC) throw failed(magic === SAVE_PARTIAL ? 'save image is incomplete' : 'image magic is incorrect');
    let read = (i: number) => head.readUInt32LE(16 + 4 * i);
    // written on a host of the other byte order
    if (read(0) > SAVE_VERSION) read = (i: number) => head.readUInt32BE(16 + 4 * i);
    const header: SaveImageHeader = { version: read(0), dataLen: read(1), wasRunning: read(2) !== 0, compressed: read(3), cookieOffset: read(4) };
    if (header.version > SAVE_VERSION) throw failed(`image version is not supported (${header.version} > ${SAVE_VERSION})`);
    if (header.dataLen <= 0 || header.dataLen > 0x7fffffff) throw failed(`invalid header data length: ${header.dataLen | 0}`);
    const data = Buffer.alloc(header.dataLen);
    if ((await fh.read(data, 0, header.dataLen, HEADER_BYTES)).bytesRead !== header.dataLen) throw failed('failed to read domain XML');
    const xmlLen = header.cookieOffset || header.dataLen;
    const text = (b: Buffer) => b.toString('utf8', 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0));
    const cookie = xmlLen < header.dataLen ? text(data.subarray(xmlLen)) : undefined;
    return { header, xml: text(data.subarray(0, xmlLen)), cookie: cookie || undefined, streamOffset: HEADER_BYTES + header.dataLen };
  } finally {
    await fh.close();
  }
}

/**
 * Replaces an image's XML (and was_running, if given) in place; the new XML
 * must fit the room the image has (virQEMUSaveDataWrite with data_len set).
 */
export async function rewriteSaveImage(path: string, image: SaveImage, xml: string, wasRunning = image.header.wasRunning): Promise<void> {
  const xmlBytes = Buffer.from(`${xml}\0`, 'utf8');
  const cookieBytes = image.cookie === undefined ? Buffer.alloc(0) : Buffer.from(`${image.cookie}\0`, 'utf8');
  const used = xmlBytes.length + cookieBytes.length;
  if (used > image.header.dataLen) throw failed('new xml too large to fit in file');
  const header = formatHeader(SAVE_MAGIC, { ...image.header, wasRunning, cookieOffset: image.cookie === undefined ? 0 : xmlBytes.length });
  const fh = await open(path, 'r+');
  try {
    await fh.write(Buffer.concat([header, xmlBytes, cookieBytes, Buffer.alloc(image.header.dataLen - used)]), 0, HEADER_BYTES + image.header.dataLen, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
