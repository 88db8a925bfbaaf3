// Handing a stream's incoming chunks (data Buffers, and StreamHoles on sparse
// streams) to one consumer. A stream that offers it (the RPC layer's WireStream)
// calls the consumer directly with each chunk while it flows with nothing queued,
// skipping its readable side's buffer and 'data' event: a volume upload of 64 MiB
// is ~540 chunks (packets as the socket reads cut them) that do not go through
// Node's stream machinery, run cold and compiled by a fresh daemon. Other streams
// deliver through 'data'. Either way the chunks come in order, pause()/resume()
// hold them back, and 'end' follows the last one.
import type { Duplex } from 'node:stream';
import type { StreamHole } from './stream-hole.js';

export type ChunkReceiver = (chunk: Buffer | StreamHole) => void;

/** A stream that can call a receiver with its incoming chunks itself. */
interface DirectChunkSource {
  receiveChunks(receiver: ChunkReceiver): void;
}

function isDirectChunkSource(stream: object): stream is DirectChunkSource {
  return typeof (stream as Partial<DirectChunkSource>).receiveChunks === 'function';
}

/** Sends every chunk `stream` brings to `receiver`, and lets the stream flow. */
export function receiveChunks(stream: Duplex, receiver: ChunkReceiver): void {
  if (isDirectChunkSource(stream)) stream.receiveChunks(receiver);
  else stream.on('data', receiver);
}
