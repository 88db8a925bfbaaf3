// A data stream carried by STREAM packets after the reply to the call that opened
// it (console, screenshot, volume upload/download). Both ends use it: bytes
// written become STREAM/CONTINUE packets of at most 262,120 bytes, end() sends
// STREAM/OK, an error sends STREAM/ERROR; packets from the peer are fed in
// with receive(). A STREAM_HOLE from the peer is reported as a 'hole' event.
import { Duplex } from 'node:stream';
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

export class WireStream extends Duplex {
  private open = false;
  private readonly held: Buffer[] = [];

  /** `call` is the header of the call that opened the stream; its procedure and serial tag every packet. */
  constructor(
    private readonly call: MessageHeader,
    private readonly send: (frame: Buffer) => void,
  ) {
    super();
  }

  /** Lets packets flow: called once the reply that opened the stream is on the wire. */
  start(): void {
    this.open = true;
    for (const frame of this.held.splice(0)) this.send(frame);
  }

  private emitFrame(frame: Buffer): void {
    if (this.open) this.send(frame);
    else this.held.push(frame);
  }

  /** Sends a hole of `length` bytes (sparse volume transfers). */
  sendHole(length: bigint): void {
    this.emitFrame(encodeHole(answerHeader(this.call, MessageType.VIR_NET_STREAM_HOLE, MessageStatus.VIR_NET_CONTINUE), { length, flags: 0 }));
  }

  /** A STREAM or STREAM_HOLE packet from the peer. */
  receive(message: DecodedMessage): void {
    const { header, body } = message;
    if (header.type === MessageType.VIR_NET_STREAM_HOLE) {
      this.emit('hole', decodeHole(body).length);
    } else if (header.status === MessageStatus.VIR_NET_CONTINUE) {
      this.push(Buffer.from(body));
    } else if (header.status === MessageStatus.VIR_NET_OK) {
      this.push(null);
    } else {
      // an abort from a client carries no error body
      this.destroy(body.length > 0 ? decodeError(body) : new Error('stream aborted by the peer'));
    }
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    for (let at = 0; at < chunk.length; at += VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX) {
      this.emitFrame(encodeStreamData(this.call, chunk.subarray(at, at + VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX)));
    }
    done();
  }

  override _final(done: (e?: Error | null) => void): void {
    this.emitFrame(encodeMessage(answerHeader(this.call, MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_OK)));
    done();
  }

  /** Aborts the stream towards the peer with an error (STREAM/ERROR). */
  abort(e: unknown): void {
    this.emitFrame(encodeError(answerHeader(this.call, MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_ERROR), e));
    this.destroy();
  }
}
