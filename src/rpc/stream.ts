// A data stream carried by STREAM packets after the reply to the call that opened
// it (console, screenshot, volume upload/download). Both ends use it: bytes
// written become STREAM/CONTINUE packets of at most 262,120 bytes, an error sends
// STREAM/ERROR; packets from the peer are fed in with receive(). The end follows
// libvirt's handshake: the daemon marks the end of its data with an empty
// STREAM/CONTINUE, the client finishes with STREAM/OK, and the daemon confirms
// that finish with STREAM/OK once its side is done. A sparse stream (volume upload/download) runs in object mode:
// a StreamHole written becomes a STREAM_HOLE packet, and one received is pushed
// in order with the data.
import { Duplex } from 'node:stream';
import type { ChunkReceiver } from '../util/chunk-receiver.js';
import { isStreamHole, StreamHole } from '../util/stream-hole.js';
import { VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX } from './generated/virnet-protocol.js';
import {
  answerHeader,
  decodeError,
  decodeHole,
  encodeError,
  encodeHole,
  encodeMessage,
  encodeStreamData,
  MessageStatus,
  MessageType,
  type DecodedMessage,
  type MessageHeader,
} from './message.js';

/** Which end of the connection a stream is on: the ends close it differently. */
export type StreamRole = 'client' | 'daemon';

export class WireStream extends Duplex {
  private open = false;
  private readonly held: Buffer[] = [];
  /** the client asked to finish (daemon) or was answered (client) */
  private finishReceived = false;
  private finishSent = false;
  /** the daemon's data has ended and its EOF went out */
  private eofSent = false;
  /** the peer's packets wait until the reader catches up */
  private holding = false;
  /** the peer aborted: nothing more goes to it */
  private peerAborted = false;
  /** takes the peer's chunks directly while the stream flows with nothing queued (receiveChunks) */
  private receiver: ChunkReceiver | null = null;

  /** `call` is the header of the call that opened the stream; its procedure and serial tag every packet. */
  constructor(
    private readonly call: MessageHeader,
    /** false when the connection's buffer is full: writes wait for `drained` */
    private readonly send: (frame: Buffer) => boolean,
    private readonly role: StreamRole,
    /** the procedure may carry holes (remote_protocol.x's "sparseflag") */
    private readonly sparse = false,
    /** told when the peer's packets should wait (the reader lags: true) and when they may flow again */
    private readonly hold: (held: boolean) => void = () => undefined,
    /** calls back once the connection takes more (its socket drained) */
    private readonly drained: (resume: () => void) => void = (resume) => resume(),
  ) {
    super({ objectMode: sparse });
  }

  /** Lets packets flow: called once the reply that opened the stream is on the wire. */
  start(): void {
    this.open = true;
    for (const frame of this.held.splice(0)) this.send(frame);
  }

  /** false when the connection wants no more for now */
  private emitFrame(frame: Buffer): boolean {
    if (this.open) return this.send(frame);
    this.held.push(frame);
    return true;
  }

  /** Sends a hole of `length` bytes (sparse volume transfers). */
  sendHole(length: bigint): void {
    this.emitFrame(encodeHole(answerHeader(this.call, MessageType.VIR_NET_STREAM_HOLE, MessageStatus.VIR_NET_CONTINUE), { length, flags: 0 }));
  }

  /** A STREAM or STREAM_HOLE packet from the peer. */
  receive(message: DecodedMessage): void {
    const { header } = message;
    if (header.type === MessageType.VIR_NET_STREAM_HOLE) {
      // libvirt refuses a hole on a stream that is not sparse
      if (this.sparse) this.pushData(new StreamHole(decodeHole(message.body).length));
      else this.destroy(new Error('Unexpected stream hole'));
    } else if (header.status === MessageStatus.VIR_NET_CONTINUE && message.bodyPieces.length > 0) {
      // the received bytes are this stream's alone (FrameSplitter never reuses them): no copy, the
      // pieces go on as they came off the socket (a byte stream; packet boundaries carry no meaning)
      for (const piece of message.bodyPieces) this.pushData(piece);
    } else if (header.status === MessageStatus.VIR_NET_CONTINUE) {
      // the daemon's end of data: the client finishes
      this.push(null);
      this.sendFinish();
    } else if (header.status === MessageStatus.VIR_NET_OK) {
      this.finishReceived = true;
      this.push(null);
      // a daemon whose data already ended confirms the finish at once; otherwise when its side ends (_final)
      if (this.role === 'daemon' && this.eofSent) this.sendFinish();
    } else {
      // an abort from a client carries no error body
      this.peerAborted = true;
      this.destroy(message.bodyPieces.length > 0 ? decodeError(message.body) : new Error('stream aborted by the peer'));
    }
  }

  /**
   * The peer's chunks go to `receiver`: called directly while the stream flows
   * and nothing is queued, else queued and emitted as 'data' (to the receiver
   * too) once it flows again, so the order holds (src/util/chunk-receiver.ts).
   */
  receiveChunks(receiver: ChunkReceiver): void {
    this.receiver = receiver;
    this.on('data', receiver);
  }

  private pushData(chunk: Buffer | StreamHole): void {
    if (this.receiver && this.readableFlowing && this.readableLength === 0 && !this.destroyed) {
      this.receiver(chunk);
      return;
    }
    if (!this.push(chunk) && !this.holding) {
      this.holding = true;
      this.hold(true);
    }
  }

  override _read(): void {
    if (!this.holding) return;
    this.holding = false;
    this.hold(false);
  }

  override _write(chunk: Buffer | StreamHole, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    if (isStreamHole(chunk)) {
      this.sendHole(chunk.length);
      done();
      return;
    }
    let more = true;
    for (let at = 0; at < chunk.length; at += VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX) {
      more = this.emitFrame(encodeStreamData(this.call, chunk.subarray(at, at + VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX)));
    }
    // back-pressure: a writer faster than the peer reads waits instead of filling memory
    if (more) done();
    else this.drained(() => done());
  }

  override _final(done: (e?: Error | null) => void): void {
    if (this.role === 'daemon' && !this.finishReceived) {
      // end of data (an empty STREAM/CONTINUE); the client's finish is confirmed when it comes
      this.eofSent = true;
      this.emitFrame(encodeMessage(answerHeader(this.call, MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_CONTINUE)));
    } else {
      this.sendFinish();
    }
    done();
  }

  /** STREAM/OK: the client's finish, or the daemon's confirmation of it; sent once. */
  private sendFinish(): void {
    if (this.finishSent) return;
    this.finishSent = true;
    this.emitFrame(encodeMessage(answerHeader(this.call, MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_OK)));
  }

  /**
   * A stream torn down with an error before its finish (a console whose guest
   * went away) tells the peer, which would otherwise wait for more or for the
   * confirmation of its finish: as libvirtd after a hangup, the error follows
   * the end of data if that went out already.
   */
  override _destroy(error: Error | null, done: (e?: Error | null) => void): void {
    if (error && this.open && !this.peerAborted && !this.finishSent && (this.role === 'daemon' || !this.eofSent)) {
      this.emitFrame(encodeError(answerHeader(this.call, MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_ERROR), error));
    }
    done(error);
  }

  /** Aborts the stream towards the peer with an error (STREAM/ERROR). */
  abort(e: unknown): void {
    this.emitFrame(encodeError(answerHeader(this.call, MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_ERROR), e));
    this.destroy();
  }
}
