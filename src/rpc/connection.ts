// A message connection over any byte stream (unix socket, TCP, TLS): frames in,
// frames out, reading paused and resumed on demand (libvirt stops reading a
// client that has max_client_requests calls in flight). Shared by the daemon's
// clients and the remote driver.
import type { Duplex } from 'node:stream';
import { FrameSplitter } from './frame.js';
import { isPooled, releaseReceived } from '../util/slab-pool.js';
import { decodeFramePieces, decodeMessage, MessageStatus, MessageType, type DecodedMessage } from './message.js';

export interface ConnectionHandlers {
  /** One decoded message; throwing closes the connection (a header that does not decode). */
  message(message: DecodedMessage): void;
  /** The connection is gone (peer hang-up, protocol error, close()); called once. */
  closed(reason: Error | null): void;
}

export class MessageConnection {
  private readonly splitter = new FrameSplitter();
  private done = false;
  /** reading stops while calls are queued (pause) or while any of these streams has a full buffer */
  private requestsPaused = false;
  private readonly fullStreams = new Set<object>();

  constructor(
    readonly socket: Duplex,
    private readonly handlers: ConnectionHandlers,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e) => this.finish(e));
    socket.on('close', () => this.finish(null));
    socket.on('end', () => this.finish(null));
  }

  get closed(): boolean {
    return this.done;
  }

  /** false when the socket's buffer is full (see drained) */
  send(frame: Buffer): boolean {
    return this.done || this.socket.write(frame);
  }

  /** Calls `resume` once the socket's buffer has drained, or the connection is gone. */
  drained(resume: () => void): void {
    if (this.done) return resume();
    const once = () => {
      this.socket.off('drain', once);
      this.socket.off('close', once);
      resume();
    };
    this.socket.on('drain', once);
    this.socket.on('close', once);
  }

  pause(): void {
    this.requestsPaused = true;
    this.applyPause();
  }

  resume(): void {
    this.requestsPaused = false;
    this.applyPause();
  }

  /** A stream whose reader lags holds reading back (as libvirt leaves a client's packets unread), so its data does not pile up in memory. */
  holdForStream(stream: object, held: boolean): void {
    if (held) this.fullStreams.add(stream);
    else this.fullStreams.delete(stream);
    this.applyPause();
  }

  private applyPause(): void {
    if (this.requestsPaused || this.fullStreams.size > 0) this.socket.pause();
    else this.socket.resume();
  }

  close(reason: Error | null = null): void {
    this.finish(reason);
  }

  private receive(chunk: Buffer): void {
    if (this.done) return;
    try {
      for (const frame of this.splitter.pushPieces(chunk)) {
        this.handlers.message(frame.some(isPooled) ? detachFromSlabs(frame) : decodeFramePieces(frame));
        if (this.done) return;
      }
    } catch (e) {
      this.finish(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private finish(reason: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.handlers.closed(reason);
  }
}

/**
 * A message read into reused slabs (src/rpc/slab-socket.ts): stream data stays
 * there, its reader releases it (only its header is released here); anything
 * else is copied out at once (it may wait in a queue, or be a reply kept as is).
 */
function detachFromSlabs(frame: Buffer[]): DecodedMessage {
  const message = decodeFramePieces(frame);
  const { header, bodyPieces } = message;
  if (header.type === MessageType.VIR_NET_STREAM && header.status === MessageStatus.VIR_NET_CONTINUE && bodyPieces.length > 0) {
    const bodyBytes = bodyPieces.reduce((n, p) => n + p.length, 0);
    const frameBytes = frame.reduce((n, p) => n + p.length, 0);
    // the header lies in the first piece, before the body
    releaseReceived(frame[0]!.subarray(0, frameBytes - bodyBytes));
    return message;
  }
  const copy = Buffer.concat(frame);
  for (const piece of frame) releaseReceived(piece);
  return decodeMessage(copy);
}
