// Splits a byte stream into libvirt RPC frames: a 4-byte big-endian length word
// that counts itself, then header and body. The length is checked before any
// byte of the frame is kept together, so a hostile length costs nothing, and a
// half frame simply waits for more bytes (Node's event loop keeps every other
// connection running meanwhile).
import { releaseReceived } from '../util/slab-pool.js';
import { VIR_NET_MESSAGE_HEADER_MAX, VIR_NET_MESSAGE_LEN_MAX, VIR_NET_MESSAGE_MAX } from './generated/virnet-protocol.js';

/** The smallest frame: the length word and a header with an empty body. */
export const FRAME_MIN = VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX;
/** The largest frame: libvirt's 32 MiB message plus its length word. */
export const FRAME_MAX = VIR_NET_MESSAGE_MAX + VIR_NET_MESSAGE_LEN_MAX;

/** A length word libvirt refuses; the connection cannot be resynchronised after it. */
export class FrameLengthError extends Error {
  override readonly name = 'FrameLengthError';
}

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The frame length once its length word has arrived, else -1. */
  private expected = -1;

  /** Bytes received that do not make a whole frame yet. */
  get pending(): number {
    return this.buffered;
  }

  /** Feeds received bytes; returns every frame they complete (length word included), each in one buffer. */
  push(chunk: Buffer): Buffer[] {
    return this.pushPieces(chunk).map((pieces) => (pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)));
  }

  /**
   * Feeds received bytes; returns every frame they complete as the received
   * buffers' views, uncopied (a 256 KiB stream packet spans several socket
   * reads). The first piece holds at least the length word and header (FRAME_MIN).
   */
  pushPieces(chunk: Buffer): Buffer[][] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[][] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < VIR_NET_MESSAGE_LEN_MAX) break;
        const length = this.peekLength();
        if (length < FRAME_MIN || length > FRAME_MAX) {
          throw new FrameLengthError(length < FRAME_MIN ? `packet of ${length} bytes received is too small` : `packet of ${length} bytes received is too large, want at most ${FRAME_MAX}`);
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  private peekLength(): number {
    const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks);
    return head.readUInt32BE(0);
  }

  /** The first n buffered bytes as views; only a length word and header split across reads are copied (FRAME_MIN bytes). */
  private take(n: number): Buffer[] {
    if (this.chunks[0]!.length < FRAME_MIN) this.joinHead();
    const pieces: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[0]!;
      if (chunk.length > left) {
        pieces.push(chunk.subarray(0, left));
        this.chunks[0] = chunk.subarray(left);
        break;
      }
      pieces.push(chunk);
      this.chunks.shift();
      left -= chunk.length;
    }
    this.buffered -= n;
    return pieces;
  }

  /** Copies the first FRAME_MIN buffered bytes (any frame has that many) into one buffer at the front. */
  private joinHead(): void {
    const head = Buffer.allocUnsafe(FRAME_MIN);
    let filled = 0;
    while (filled < FRAME_MIN) {
      const chunk = this.chunks[0]!;
      const used = chunk.copy(head, filled, 0, FRAME_MIN - filled);
      // copied bytes no longer hold a reused receive buffer
      releaseReceived(chunk.subarray(0, used));
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.chunks.unshift(head);
  }
}
