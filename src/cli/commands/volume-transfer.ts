// vol-upload and vol-download: a file's bytes to and from a volume over the
// volume's data stream. With --sparse the holes of the file (blocks of zeros)
// travel as holes and come out as holes. On a terminal a progress bar shows how
// far the transfer got (virsh has none; piped output stays as virsh's).
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync, constants } from 'node:fs';
import type { Duplex } from 'node:stream';
import { isStreamHole, StreamHole } from '../../util/stream-hole.js';
import { CommandError, attempt } from '../errors.js';
import { optVolume } from '../lookup.js';
import type { Handler } from '../shell.js';
import { transferProgressBar } from '../progress.js';

/** VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM == VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM */
const SPARSE_STREAM = 1;
const CHUNK = 256 * 1024;

/** Resolves once the other end answered the finish (the stream closed), rejects with the error that ended it. */
function finished(stream: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.closed) return stream.errored ? reject(stream.errored) : resolve();
    stream.once('error', reject);
    stream.once('close', () => (stream.errored ? reject(stream.errored) : resolve()));
    stream.resume();
  });
}

/** Writes one chunk and waits until the other end took it, so that a hole sent next comes after it. */
function send(stream: Duplex, chunk: Buffer | StreamHole): Promise<void> {
  return new Promise((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve())));
}

const volUpload: Handler = async (ctl, cmd) => {
  const offset = BigInt(cmd.number('offset') ?? 0);
  const length = BigInt(cmd.number('length') ?? 0);
  const { vol, name } = await optVolume(ctl, cmd);
  const file = cmd.required('file');
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch {
    throw new CommandError([`cannot read ${file}`]);
  }
  try {
    const size = BigInt(fstatSync(fd).size);
    const sparse = cmd.bool('sparse');
    const { stream } = await attempt(`cannot upload to volume ${name}`, ctl.c.invokeStream('storageVolUpload', { vol, offset, length, flags: sparse ? SPARSE_STREAM : 0 }));
    const done = finished(stream);
    const bar = transferProgressBar(size);
    const buf = Buffer.alloc(CHUNK);
    const zero = Buffer.alloc(CHUNK);
    try {
      for (let pos = 0n; ; ) {
        const n = readSync(fd, buf, 0, CHUNK, Number(pos));
        if (n === 0) break;
        const data = buf.subarray(0, n);
        await send(stream, sparse && data.equals(zero.subarray(0, n)) ? new StreamHole(BigInt(n)) : Buffer.from(data));
        pos += BigInt(n);
        bar.update(pos);
      }
      stream.end();
      await done;
    } catch (e) {
      stream.destroy();
      throw new CommandError([`cannot send data to volume ${name}`], e);
    } finally {
      bar.finish();
    }
  } finally {
    closeSync(fd);
  }
};

const volDownload: Handler = async (ctl, cmd) => {
  const offset = BigInt(cmd.number('offset') ?? 0);
  const length = BigInt(cmd.number('length') ?? 0);
  const { vol, name } = await optVolume(ctl, cmd);
  const file = cmd.required('file');
  let fd: number;
  let created = false;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new CommandError([`cannot create ${file}`]);
    try {
      fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC, 0o666);
    } catch {
      throw new CommandError([`cannot create ${file}`]);
    }
  }
  let ok = false;
  try {
    const sparse = cmd.bool('sparse');
    const info = await ctl.c.invoke('storageVolGetInfo', { vol }).catch(() => undefined);
    const { stream } = await attempt(`cannot download from volume ${name}`, ctl.c.invokeStream('storageVolDownload', { vol, offset, length, flags: sparse ? SPARSE_STREAM : 0 }));
    const bar = transferProgressBar(length > 0n ? length : info ? info.capacity - offset : 0n);
    let pos = 0n;
    try {
      // a finished download leaves the stream to close by itself, not aborted (the daemon sees no error)
      for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer | StreamHole>) {
        if (isStreamHole(chunk)) {
          // virshStreamSkip: the hole is skipped and the file made that long
          pos += chunk.length;
          ftruncateSync(fd, Number(pos));
        } else {
          writeSync(fd, chunk, 0, chunk.length, Number(pos));
          pos += BigInt(chunk.length);
        }
        bar.update(pos);
      }
    } catch (e) {
      throw new CommandError([`cannot receive data from volume ${name}`], e);
    } finally {
      bar.finish();
    }
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok && created) unlinkSync(file);
  }
};

export const handlers: Record<string, Handler> = {
  'vol-upload': volUpload,
  'vol-download': volDownload,
};
