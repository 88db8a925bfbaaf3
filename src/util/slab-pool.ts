// Reused receive buffers for a socket read through `onread`: reads land in 1 MiB
// slabs and come out as views, so a volume upload allocates (and makes V8
// collect) nothing per read. Every byte read into a slab counts as outstanding
// until whoever ends up holding it calls releaseReceived() on its view (the
// RPC layer once it has copied a message out, the upload writer once the bytes
// are in the file). A slab is read into again only when it is full and none of
// its bytes is outstanding; bytes never released (a console stream's reader
// keeps its chunks) simply leave their slab to the garbage collector.

/** One slab's size: four 256 KiB stream packets. */
const SLAB_SIZE = 1024 * 1024;
/** A slab with less room than this is retired: reads stay large. */
const MIN_READ = 64 * 1024;
/** Free slabs a pool keeps for reuse (a pool with more in flight allocates). */
const MAX_FREE = 4;

interface Slab {
  readonly bytes: Buffer;
  /** where the next read goes */
  used: number;
  /** bytes read into it that are not released yet */
  outstanding: number;
  /** no more reads go into it: it is reused once nothing is outstanding */
  retired: boolean;
  readonly pool: SlabPool;
}

/** Each slab by its memory, for releaseReceived (a view knows its ArrayBuffer). */
const slabs = new WeakMap<ArrayBufferLike, Slab>();

export class SlabPool {
  private current: Slab = this.newSlab();
  private readonly free: Slab[] = [];

  /** Where the next read may go: the current slab's free tail. */
  space(): Buffer {
    if (SLAB_SIZE - this.current.used < MIN_READ) {
      const full = this.current;
      full.retired = true;
      this.current = this.free.pop() ?? this.newSlab();
      recycleIfDone(full);
    }
    return this.current.bytes.subarray(this.current.used);
  }

  /** `n` bytes were read at the start of `read` (the last space()): their view, outstanding until released. */
  filled(read: Uint8Array, n: number): Buffer {
    const slab = this.current;
    if (read.buffer !== slab.bytes.buffer || read.byteOffset !== slab.bytes.byteOffset + slab.used) {
      // not the space handed out (a reader that asks ahead): a copy keeps the slab safe
      return Buffer.from(read.subarray(0, n));
    }
    const view = slab.bytes.subarray(slab.used, slab.used + n);
    slab.used += n;
    slab.outstanding += n;
    return view;
  }

  /** Takes back a retired slab whose bytes are all released. */
  recycle(slab: Slab): void {
    slab.used = 0;
    slab.retired = false;
    if (this.free.length < MAX_FREE) this.free.push(slab);
  }

  private newSlab(): Slab {
    const bytes = Buffer.allocUnsafeSlow(SLAB_SIZE);
    const slab: Slab = { bytes, used: 0, outstanding: 0, retired: false, pool: this };
    slabs.set(bytes.buffer, slab);
    return slab;
  }
}

function recycleIfDone(slab: Slab): void {
  if (slab.retired && slab.outstanding === 0) slab.pool.recycle(slab);
}

/** Whether `piece` lies in a pool's slab (it must be copied or released, not kept). */
export function isPooled(piece: Buffer): boolean {
  return slabs.has(piece.buffer);
}

/** The holder of these received bytes is done with them (each byte released once); other buffers are ignored. */
export function releaseReceived(piece: Buffer): void {
  const slab = slabs.get(piece.buffer);
  if (!slab) return;
  slab.outstanding -= piece.length;
  recycleIfDone(slab);
}
