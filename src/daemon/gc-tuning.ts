// V8 counts the external memory allocated since its last full collection
// against the old generation's allocation limit, and the daemon allocates a lot
// of it: Node reads a TCP or TLS client's socket into a new 64 KiB buffer each
// time (unix socket clients read into reused slabs: src/rpc/slab-socket.ts),
// which dies young but counts until a collection frees it. With V8's usual
// growth (a limit about twice the ~10 MiB that stays live) a 64 MiB volume
// upload set off three full collections where its external memory alone asks
// for one (--trace-gc). A larger growth factor leaves room for those buffers:
// one collection per upload, 10-30% less daemon CPU for it (bench/storage.js).
// The limit stays proportional to what is live (V8 caps it half way to the
// heap's maximum). The cost: ~30-40 MiB more RSS after uploads, buffers the
// allocator keeps once they are freed together.
import { setFlagsFromString } from 'node:v8';

/** How far (percent) the old generation may grow past what a full collection left live before the next one. */
const HEAP_GROWING_PERCENT = 500;

/** V8 reads this flag each time it sets a new limit, so setting it at start-up, after the heap exists, takes effect. */
export function tuneGarbageCollection(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
