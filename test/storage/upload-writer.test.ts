// UploadWriter and the receive slabs: the bytes of an upload go back to their
// slab (which the socket then reads into again) only once they are in the file;
// writes go synchronously until one is slow, then through the thread pool.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UploadWriter } from '../../src/drivers/storage/upload-writer.js';
import { releaseReceived, SlabPool } from '../../src/util/slab-pool.js';

const READ = 64 * 1024;

test('an upload through the thread pool holds its slab until the write of its bytes has completed', async () => {
  const pending: Array<() => void> = [];
  const written: Buffer[] = [];
  const fh = {
    writev: (pieces: Buffer[]) =>
      new Promise<{ bytesWritten: number }>((resolve) =>
        pending.push(() => {
          written.push(Buffer.concat(pieces));
          resolve({ bytesWritten: pieces.reduce((n, p) => n + p.length, 0) });
        }),
      ),
    truncate: async () => undefined,
  } as unknown as FileHandle;
  const pool = new SlabPool();
  const writer = new UploadWriter(fh, 0, null);
  const memory = pool.space().buffer;
  // one slab's worth of reads, each queued for the file
  while (pool.space().buffer === memory) {
    writer.write(pool.filled(pool.space(), READ));
  }
  // more reads, released at once: while the writes are pending the full slab is not read into
  for (let i = 0; i < 64; i++) {
    const space = pool.space();
    assert.notEqual(space.buffer, memory, 'a slab whose bytes wait for the file is not read into again');
    releaseReceived(pool.filled(space, READ));
  }
  while (pending.length > 0) {
    pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.finish();
  assert.equal(Buffer.concat(written).length, 16 * READ);
  // written: the slab comes back
  const seen = new Set<ArrayBufferLike>();
  for (let i = 0; i < 64; i++) {
    const space = pool.space();
    seen.add(space.buffer);
    releaseReceived(pool.filled(space, READ));
  }
  assert.ok(seen.has(memory));
});

/** A temporary file open for writing, removed after `body`. */
async function withFile(body: (fh: FileHandle, file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsvirt-upload-writer-'));
  const file = path.join(dir, 'vol.img');
  const fh = await open(file, 'w+');
  try {
    await body(fh, file);
  } finally {
    await fh.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('fast writes land in the file at once, holes cut it, and their slab is free again', () =>
  withFile(async (fh, file) => {
    const pool = new SlabPool();
    const writer = new UploadWriter(fh, 0);
    const memory = pool.space().buffer;
    const data = pool.filled(pool.space(), READ);
    data.fill(7);
    writer.write(data);
    writer.hole(READ);
    writer.write(Buffer.from('end'));
    // nothing awaited: the bytes are in the file already
    assert.equal((await stat(file)).size, 2 * READ + 3);
    assert.equal(writer.full, false);
    // the slab is free: once its tail is too short it is read into again from its start
    while (pool.space().buffer === memory) releaseReceived(pool.filled(pool.space(), READ));
    const reused = new Set<ArrayBufferLike>();
    for (let i = 0; i < 32; i++) {
      reused.add(pool.space().buffer);
      releaseReceived(pool.filled(pool.space(), READ));
    }
    assert.ok(reused.has(memory), 'the slab of written bytes is read into again');
    await writer.finish();
    const content = await readFile(file);
    assert.ok(content.subarray(0, READ).every((b) => b === 7));
    assert.ok(content.subarray(READ, 2 * READ).every((b) => b === 0));
    assert.equal(content.subarray(2 * READ).toString(), 'end');
  }));

test('after a slow write the rest of the upload goes through the thread pool, in order', () =>
  withFile(async (fh, file) => {
    let pooled = 0;
    const counted = {
      fd: fh.fd,
      writev: (...args: Parameters<FileHandle['writev']>) => (pooled++, fh.writev(...args)),
      truncate: (size: number) => (pooled++, fh.truncate(size)),
    } as unknown as FileHandle;
    // every write is slower than 0 ms: the first goes synchronously, the rest to the thread pool
    const writer = new UploadWriter(counted, 0, 0);
    writer.write(Buffer.from('one,'));
    assert.equal(pooled, 0, 'the first write is done synchronously');
    assert.equal((await stat(file)).size, 4);
    writer.write(Buffer.from('two,'));
    writer.hole(4);
    writer.write(Buffer.from('three'));
    await writer.finish();
    assert.equal(pooled, 3, 'the later writes and the hole went through the thread pool');
    assert.equal((await readFile(file)).toString('latin1'), 'one,two,\0\0\0\0three');
  }));

test('a failed synchronous write makes the writer full; drained() and finish() reject with its error', () =>
  withFile(async (_fh, file) => {
    const readOnly = await open(file, 'r');
    try {
      const writer = new UploadWriter(readOnly, 0);
      writer.write(Buffer.from('data'));
      assert.equal(writer.full, true, 'the caller is told to wait, and learns of the failure');
      await assert.rejects(writer.drained(), { code: 'EBADF' });
      await assert.rejects(writer.finish(), { code: 'EBADF' });
    } finally {
      await readOnly.close();
    }
  }));
