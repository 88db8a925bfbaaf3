// Puts what a volume upload brings into the volume's file, in order: data at
// advancing offsets, a hole as libvirt's fdstream makes one (the file is cut at
// the hole's end, dropping whatever lay beyond it; later data extends it again).
// One write is in flight at a time and whatever arrived meanwhile goes out with
// the next writev: the received buffers live only briefly (they die in V8's young
// generation rather than pile up for its costly full collections), and the
// thread pool is visited once per batch, not once per packet.
import type { FileHandle } from 'node:fs/promises';
import { releaseReceived } from '../../util/slab-pool.js';

/** Queued but unwritten bytes beyond which the sender is asked to wait (drained()). */
const QUEUE_LIMIT = 1024 * 1024;

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
  ) {
    this.pos = start;
  }

  /** Queues data at the current position. */
  write(piece: Buffer): void {
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

  /** Queues a hole of `length` bytes: virFDStreamThreadDoWrite's lseek and ftruncate. */
  hole(length: number): void {
    this.pos += length;
    this.steps.push({ truncateTo: this.pos });
    this.run();
  }

  /** Too much is queued: the caller should wait for drained() before queuing more. */
  get full(): boolean {
    return this.queued >= QUEUE_LIMIT;
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
