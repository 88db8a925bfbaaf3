// UploadWriter and the receive slabs: the bytes of an upload go back to their
// slab (which the socket then reads into again) only once they are in the file.
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { test } from 'node:test';
import { UploadWriter } from '../../src/drivers/storage/upload-writer.js';
import { releaseReceived, SlabPool } from '../../src/util/slab-pool.js';

const READ = 64 * 1024;

test('an upload holds its slab until the write of its bytes has completed', async () => {
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
  const writer = new UploadWriter(fh, 0);
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
