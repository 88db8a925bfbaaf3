// virStorageVolUpload / virStorageVolDownload on file volumes (virFDStreamOpenFile):
// bytes between offset and offset+length (0: to the end) flow through the stream.
// With the SPARSE flag, holes travel as holes: a download sends a hole for every
// block of zeros, an upload skips over a hole and leaves it unwritten.
import { open, type FileHandle } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { StorageVolDef } from '../../conf/storage-vol.js';
import { systemError } from './probe.js';

/** How much a download reads at a time, and the unit of zero detection. */
const CHUNK = 256 * 1024;

/** What a stream that carries holes offers (WireStream and the API's in-process streams). */
interface HoleStream {
  sendHole(length: bigint): void;
}
const canSendHoles = (s: Duplex): s is Duplex & HoleStream => typeof (s as Partial<HoleStream>).sendHole === 'function';

async function openVolume(vol: StorageVolDef, flags: 'r' | 'r+'): Promise<FileHandle> {
  try {
    return await open(vol.targetPath!, flags);
  } catch (e) {
    throw systemError(`Unable to open '${vol.targetPath}'`, e);
  }
}

/** Starts the upload: the stream's data (and holes) are written from `offset` on, in the background. */
export async function uploadVolume(vol: StorageVolDef, offset: bigint, length: bigint, sparse: boolean, stream: Duplex): Promise<void> {
  const fh = await openVolume(vol, 'r+');
  let pos = offset;
  const limit = length > 0n ? offset + length : undefined;
  // holes arrive as events between data chunks: both are applied in arrival order
  let chain: Promise<void> = Promise.resolve();
  const queue = (step: () => Promise<void>) => {
    chain = chain.then(step);
    chain.catch((e: unknown) => stream.destroy(e as Error));
  };
  stream.on('hole', (holeLength: bigint) => {
    queue(async () => {
      pos += holeLength;
      if (sparse) {
        const { size } = await fh.stat({ bigint: true });
        if (pos > size) await fh.truncate(Number(pos));
      }
    });
  });
  stream.on('data', (chunk: Buffer) => {
    queue(async () => {
      const room = limit === undefined ? chunk.length : Number(limit - pos < BigInt(chunk.length) ? limit - pos : BigInt(chunk.length));
      if (room <= 0) return;
      await fh.write(chunk, 0, room, Number(pos));
      pos += BigInt(room);
    });
  });
  const finish = () => queue(async () => {
    await fh.close();
  });
  stream.once('end', finish);
  stream.once('error', finish);
  stream.once('close', () => finish());
}

/** Starts the download: the volume's bytes go into the stream, zero blocks as holes when sparse and the stream carries them. */
export async function downloadVolume(vol: StorageVolDef, offset: bigint, length: bigint, sparse: boolean, stream: Duplex): Promise<void> {
  const fh = await openVolume(vol, 'r');
  const { size } = await fh.stat({ bigint: true });
  const end = length > 0n && offset + length < size ? offset + length : size;
  const holes = sparse && canSendHoles(stream);
  const zero = Buffer.alloc(CHUNK);
  const pump = async () => {
    let pos = offset;
    try {
      while (pos < end) {
        const want = Number(end - pos < BigInt(CHUNK) ? end - pos : BigInt(CHUNK));
        const buf = Buffer.alloc(want);
        const { bytesRead } = await fh.read(buf, 0, want, Number(pos));
        if (bytesRead === 0) break;
        const data = buf.subarray(0, bytesRead);
        if (holes && data.equals(zero.subarray(0, bytesRead))) (stream as Duplex & HoleStream).sendHole(BigInt(bytesRead));
        else if (!stream.write(data)) await new Promise<void>((resolve) => stream.once('drain', resolve));
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
