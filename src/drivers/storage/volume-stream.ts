// virStorageVolUpload / virStorageVolDownload on file volumes (virFDStreamOpenFile):
// the bytes between offset and offset+length (0: to the end) flow through the
// stream. With the SPARSE flag, holes travel as holes (StreamHole chunks): a
// download sends one for every block of zeros, an upload cuts the file at the
// hole's end as libvirt's fdstream does (UploadWriter).
import { open, type FileHandle } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { StorageVolDef } from '../../conf/storage-vol.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { receiveChunks } from '../../util/chunk-receiver.js';
import { releaseReceived } from '../../util/slab-pool.js';
import { isStreamHole, StreamHole } from '../../util/stream-hole.js';
import { systemError } from './probe.js';
import { UploadWriter } from './upload-writer.js';

/** How much a download reads at a time, and the unit of zero detection. */
const CHUNK = 256 * 1024;

async function openVolume(vol: StorageVolDef, flags: 'r' | 'r+'): Promise<FileHandle> {
  try {
    return await open(vol.targetPath!, flags);
  } catch (e) {
    throw systemError(`Unable to open '${vol.targetPath}'`, e);
  }
}

/**
 * Starts the upload: what the stream brings is written from `offset` on, in the
 * background. Each chunk goes from the connection to the writer in one call
 * (receiveChunks), where an async iterator costs a promise per chunk and, in a
 * fresh daemon, much JIT compiling of its machinery.
 */
export async function uploadVolume(vol: StorageVolDef, offset: bigint, length: bigint, sparse: boolean, stream: Duplex): Promise<void> {
  const fh = await openVolume(vol, 'r+');
  const limit = length > 0n ? Number(offset + length) : Infinity;
  const writer = new UploadWriter(fh, Number(offset));
  let pos = Number(offset);
  const fail = (e: unknown) => {
    stream.off('data', receive);
    stream.destroy(e as Error);
  };
  const receive = (chunk: Buffer | StreamHole) => {
    if (isStreamHole(chunk)) {
      if (!sparse) return fail(virError(ErrorCode.INTERNAL_ERROR, 'Unexpected stream hole', ErrorDomain.STORAGE));
      writer.hole(Number(chunk.length));
      pos += Number(chunk.length);
      return;
    }
    const room = Math.max(0, Math.min(chunk.length, limit - pos));
    // bytes past the length are dropped: their receive buffer is free
    if (room < chunk.length) releaseReceived(chunk.subarray(room));
    if (room === 0) return;
    writer.write(room === chunk.length ? chunk : chunk.subarray(0, room));
    pos += room;
    if (writer.full) {
      stream.pause();
      writer.drained().then(() => stream.resume(), fail);
    }
  };
  receiveChunks(stream, receive);
  // no sync, as libvirt's fdstream: the page cache holds the data like any write;
  // once it is written the caller's finish gets its answer (STREAM/OK): the stream
  // stays open after its input ends for that answer
  stream.once('end', () => writer.finish().then(() => stream.end(), fail));
  // ended, aborted or failed: the file is closed once no write is in flight
  const close = () => void writer.finish().catch(() => undefined).then(() => fh.close());
  if (stream.destroyed) close();
  else stream.once('close', close);
}

/** Starts the download: the volume's bytes go into the stream, blocks of zeros as holes when sparse. */
export async function downloadVolume(vol: StorageVolDef, offset: bigint, length: bigint, sparse: boolean, stream: Duplex): Promise<void> {
  const fh = await openVolume(vol, 'r');
  const { size } = await fh.stat({ bigint: true });
  const end = length > 0n && offset + length < size ? offset + length : size;
  const zero = Buffer.alloc(CHUNK);
  const send = (chunk: Buffer | StreamHole) => (stream.write(chunk) ? Promise.resolve() : new Promise<void>((resolve) => stream.once('drain', resolve)));
  const pump = async () => {
    let pos = offset;
    try {
      while (pos < end) {
        const want = Number(end - pos < BigInt(CHUNK) ? end - pos : BigInt(CHUNK));
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, Number(pos));
        if (bytesRead === 0) break;
        const data = buf.subarray(0, bytesRead);
        await send(sparse && data.equals(zero.subarray(0, bytesRead)) ? new StreamHole(BigInt(bytesRead)) : data);
        pos += BigInt(bytesRead);
      }
      stream.end();
    } catch (e) {
      stream.destroy(e as Error);
    } finally {
      await fh.close();
    }
  };
  void pump();
}
