// The floor under tsvirtd's vol-upload: what Node itself spends to receive 64 MiB
// over a unix socket and write it to a file, with nothing of tsvirt in between.
// A child process sends the bytes in 256 KiB writes (virsh's packet size); this
// process receives them either as socket 'data' events (a new buffer per read,
// what a net.Server's connections give) or through onread into reused 1 MiB
// buffers (net.connect only), and writes them with one writev in flight through
// libuv's thread pool, or (onread-sync, as tsvirtd's UploadWriter while writes
// are fast) with a synchronous pwrite per read on the event loop.
// Prints the receiver's wall and CPU time per 64 MiB (medians of --runs, default 5)
// and its full garbage collections (all runs); compare with the daemon CPU column of
// bench/storage.js. This process's heap is small (~4 MiB, below the size at which
// V8 starts marking for the old generation's limit), so only the buffers' external
// memory starts its full collections; in tsvirtd's ~10 MiB heap the buffers also
// count against that limit (src/daemon/gc-tuning.ts).
//
//   node dist/bench/upload-floor.js [--runs N] [--dir DIR]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { constants, PerformanceObserver, type NodeGCPerformanceDetail } from 'node:perf_hooks';
import path from 'node:path';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 5);
const dir = mkdtempSync(path.join(arg('--dir') ?? '/var/tmp', 'tsvirt-upload-floor-'));
const TOTAL = 64 * 1024 * 1024;
const SLAB = 1024 * 1024;

const SENDER = `
const net = require('node:net');
const server = net.createServer((c) => {
  const packet = require('node:crypto').randomBytes(256 * 1024);
  let sent = 0;
  const more = () => { while (sent < ${TOTAL}) { sent += packet.length; if (!c.write(packet)) return c.once('drain', more); } c.end(); server.close(); };
  more();
});
server.listen(process.argv[1], () => process.stdout.write('ready\\n'));
`;

type Mode = 'data' | 'onread' | 'onread-sync';
const MODES: readonly Mode[] = ['data', 'onread', 'onread-sync'];

async function receive(mode: Mode, socketPath: string): Promise<{ wall: number; cpu: number }> {
  const fh = await open(path.join(dir, 'out.img'), 'w');
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let queue: Buffer[] = [];
  let at = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const writeNow = (piece: Buffer) => {
    for (let done = 0; done < piece.length; ) done += writeSync(fh.fd, piece, done, piece.length - done, at + done);
    at += piece.length;
  };
  const queueWrite = (piece: Buffer) => {
    queue.push(piece);
    const pieces = queue;
    const pos = at;
    at += piece.length;
    // one writev in flight, taking whatever arrived meanwhile
    if (queue.length === 1) writing = writing.then(() => ((queue = []), fh.writev(pieces, pos)));
  };
  const take = mode === 'onread-sync' ? writeNow : queueWrite;
  const free: Buffer[] = [];
  let slab: Buffer = Buffer.allocUnsafe(SLAB);
  let used = 0;
  const socket =
    mode === 'data'
      ? connect(socketPath).on('data', take)
      : connect({
          path: socketPath,
          onread: {
            buffer: () => {
              if (SLAB - used < 64 * 1024) {
                // a ring of 17 slabs: this measures the cost only; a real reader would take a
                // slab back once the writes of its bytes are done
                free.push(slab);
                slab = free.length > 16 ? free.shift()! : Buffer.allocUnsafe(SLAB);
                used = 0;
              }
              return slab.subarray(used);
            },
            callback: (n: number, buf: Uint8Array) => {
              take(Buffer.from(buf.buffer, buf.byteOffset, n));
              used += n;
              return true;
            },
          },
        });
  // (an onread socket still has to flow for its 'end' to come)
  await new Promise((resolve) => socket.once('end', resolve).resume());
  // every piece joined a queue whose write is chained before this one settles
  await writing;
  await fh.close();
  const spent = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: (spent.user + spent.system) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = Object.fromEntries(MODES.map((mode) => [mode, { wall: [] as number[], cpu: [] as number[], fullGcs: 0 }]));
let receiving: Mode | null = null;
const gcs = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (receiving && (entry as unknown as { detail: NodeGCPerformanceDetail }).detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) results[receiving]!.fullGcs++;
  }
});
gcs.observe({ entryTypes: ['gc'] });
try {
  for (let i = 0; i < runs; i++) {
    for (const mode of MODES) {
      const socketPath = path.join(dir, `send-${i}-${mode}.sock`);
      const sender = spawn(process.execPath, ['-e', SENDER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((resolve) => sender.once('exit', resolve));
      await new Promise((resolve) => sender.stdout.once('data', resolve));
      receiving = mode;
      const { wall, cpu } = await receive(mode, socketPath);
      // gc entries are queued: let them come in before the next mode counts
      await new Promise((resolve) => setImmediate(resolve));
      receiving = null;
      results[mode]!.wall.push(wall);
      results[mode]!.cpu.push(cpu);
      await exited;
    }
  }
  process.stdout.write(`upload floor, 64 MiB over a unix socket into a file, median of ${runs}:\n`);
  for (const [mode, r] of Object.entries(results)) {
    process.stdout.write(`  ${mode.padEnd(11)} wall ${median(r.wall).toFixed(0).padStart(4)} ms  receiver CPU ${median(r.cpu).toFixed(0).padStart(4)} ms  full GCs ${r.fullGcs} in ${runs} runs\n`);
  }
} finally {
  gcs.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
