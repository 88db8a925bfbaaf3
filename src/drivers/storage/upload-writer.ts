// Puts what a volume upload brings into the volume's file, in order: data at
// advancing offsets, a hole as libvirt's fdstream makes one (the file is cut at
// the hole's end, dropping whatever lay beyond it; later data extends it again).
// Writes go synchronously, on the event loop, while the page cache takes them
// quickly: a 256 KiB packet is a copy of ~100 us, less than a round trip through
// libuv's thread pool (a futex wake, an eventfd, a promise), and the writer's
// code stays small for a fresh daemon to compile. A write that takes long (the
// kernel throttles a writer once too much is dirty, or the device is slow) would
// stall every other client with it, so after one such write the rest of the
// upload goes through the thread pool: one write in flight at a time, whatever
// arrived meanwhile goes out with the next writev.
import { ftruncateSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { releaseReceived } from '../../util/slab-pool.js';

/** Queued but unwritten bytes beyond which the sender is asked to wait (drained()). */
const QUEUE_LIMIT = 1024 * 1024;
/** A synchronous write or truncate taking longer (ms) moves the upload to the thread pool. */
const SLOW_WRITE_MS = 10;

type Step = { at: number; pieces: Buffer[]; bytes: number } | { truncateTo: number };

export class UploadWriter {
  private steps: Step[] = [];
  private queued = 0;
  private running: Promise<void> | null = null;
  private failure: unknown = null;
  /** where the next data goes */
  private pos: number;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    /** the slowest synchronous write tolerated (ms); null: the thread pool from the start */
    private slowWriteMs: number | null = SLOW_WRITE_MS,
  ) {
    this.pos = start;
  }

  /** Writes data at the current position, or queues it. */
  write(piece: Buffer): void {
    if (this.writingNow()) {
      this.now(() => writeAllNow(this.fh.fd, piece, this.pos));
      releaseReceived(piece);
      this.pos += piece.length;
      return;
    }
    const last = this.steps.at(-1);
    if (last && 'pieces' in last && last.at + last.bytes === this.pos) {
      last.pieces.push(piece);
      last.bytes += piece.length;
    } else {
      this.steps.push({ at: this.pos, pieces: [piece], bytes: piece.length });
    }
    this.pos += piece.length;
    this.queued += piece.length;
    this.run();
  }

  /** Makes a hole of `length` bytes, or queues it: virFDStreamThreadDoWrite's lseek and ftruncate. */
  hole(length: number): void {
    this.pos += length;
    if (this.writingNow()) {
      const size = this.pos;
      this.now(() => ftruncateSync(this.fh.fd, size));
      return;
    }
    this.steps.push({ truncateTo: this.pos });
    this.run();
  }

  /** Too much is queued, or a write failed: the caller should wait for drained() (which then rejects) before queuing more. */
  get full(): boolean {
    return this.queued >= QUEUE_LIMIT || this.failure !== null;
  }

  /** Synchronous writing is on and nothing queued waits for the thread pool. */
  private writingNow(): boolean {
    return this.slowWriteMs !== null && this.running === null && this.failure === null;
  }

  /** Runs a synchronous write, keeping its failure for drained() and finish(); a slow one ends synchronous writing. */
  private now(write: () => void): void {
    const started = performance.now();
    try {
      write();
    } catch (e) {
      this.failure = e;
    }
    if (performance.now() - started > this.slowWriteMs!) this.slowWriteMs = null;
  }

  /** Resolves once the queue is below its limit; rejects with the error of a failed write. */
  async drained(): Promise<void> {
    while (this.running && this.queued >= QUEUE_LIMIT) await this.running;
    if (this.failure) throw this.failure;
  }

  /** Resolves once everything queued is in the file. */
  async finish(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure;
  }

  private run(): void {
    if (this.running || this.failure) return;
    this.running = this.drain().then(
      () => {
        this.running = null;
      },
      (e: unknown) => {
        this.failure = e;
        this.steps = [];
        this.running = null;
      },
    );
  }

  private async drain(): Promise<void> {
    while (this.steps.length > 0) {
      for (const step of this.steps.splice(0)) {
        if ('truncateTo' in step) {
          await this.fh.truncate(step.truncateTo);
          continue;
        }
        await writeAll(this.fh, step.pieces, step.at);
        // the socket may read into these bytes' buffer again
        for (const piece of step.pieces) releaseReceived(piece);
        this.queued -= step.bytes;
      }
    }
  }
}

/** Synchronous pwrite until every byte is written (a write may take fewer). */
function writeAllNow(fd: number, piece: Buffer, at: number): void {
  for (let done = 0; done < piece.length; ) {
    const n = writeSync(fd, piece, done, piece.length - done, at + done);
    if (n === 0) throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC' });
    done += n;
  }
}

/** writev until every byte is written (a write may take fewer). */
async function writeAll(fh: FileHandle, pieces: Buffer[], at: number): Promise<void> {
  let rest = pieces;
  let pos = at;
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest, pos);
    if (bytesWritten === 0) throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC' });
    pos += bytesWritten;
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
