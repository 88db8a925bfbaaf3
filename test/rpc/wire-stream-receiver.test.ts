// A daemon-side WireStream hands the peer's chunks to a receiver (receiveChunks):
// directly while it flows, queued while it is paused, in order either way, and
// its end still comes after the last chunk; a plain Duplex delivers through 'data'.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { answerHeader, decodeFramePieces, encodeHole, encodeMessage, encodeStreamData, MessageStatus, MessageType, type MessageHeader } from '../../src/rpc/message.js';
import { WireStream } from '../../src/rpc/stream.js';
import { receiveChunks } from '../../src/util/chunk-receiver.js';
import { isStreamHole, type StreamHole } from '../../src/util/stream-hole.js';

// a volume upload's call (remote program, storageVolUpload = 208)
const CALL: MessageHeader = { prog: 0x20008086, vers: 1, proc: 208, type: MessageType.VIR_NET_CALL, serial: 7, status: MessageStatus.VIR_NET_OK };

const data = (text: string) => decodeFramePieces([encodeStreamData(CALL, Buffer.from(text))]);
const hole = (length: bigint) => decodeFramePieces([encodeHole(answerHeader(CALL, MessageType.VIR_NET_STREAM_HOLE, MessageStatus.VIR_NET_CONTINUE), { length, flags: 0 })]);
const finish = () => decodeFramePieces([encodeMessage(answerHeader(CALL, MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_OK))]);
const show = (chunk: Buffer | StreamHole) => (isStreamHole(chunk) ? `hole ${chunk.length}` : chunk.toString());

test("a flowing stream's chunks reach the receiver within receive(), a paused one's after resume(), in order, then its end", async () => {
  const stream = new WireStream(CALL, () => true, 'daemon', true);
  const got: string[] = [];
  receiveChunks(stream, (chunk) => got.push(show(chunk)));
  stream.receive(data('a'));
  stream.receive(hole(4096n));
  assert.deepEqual(got, ['a', 'hole 4096'], 'delivered at once, without waiting for the event loop');
  stream.pause();
  stream.receive(data('b'));
  stream.receive(data('c'));
  assert.deepEqual(got, ['a', 'hole 4096'], 'nothing is delivered while paused');
  stream.resume();
  // a chunk arriving before the queued ones are out must wait behind them
  stream.receive(data('d'));
  const ended = new Promise((resolve) => stream.once('end', resolve));
  stream.receive(finish());
  await ended;
  assert.deepEqual(got, ['a', 'hole 4096', 'b', 'c', 'd']);
  stream.destroy();
});

test('a paused receiver holds the connection back once its queue is full', () => {
  const holds: boolean[] = [];
  const stream = new WireStream(CALL, () => true, 'daemon', true, (held) => holds.push(held));
  receiveChunks(stream, () => undefined);
  stream.pause();
  for (let i = 0; i < 32; i++) stream.receive(data(String(i)));
  assert.deepEqual(holds, [true]);
  stream.destroy();
});

test('a stream without direct delivery gives the receiver its chunks from data events', async () => {
  const stream = new PassThrough({ objectMode: true });
  const got: string[] = [];
  receiveChunks(stream, (chunk) => got.push(show(chunk)));
  stream.end(Buffer.from('x'));
  await new Promise((resolve) => stream.once('end', resolve));
  assert.deepEqual(got, ['x']);
});
