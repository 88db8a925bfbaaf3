// Hostile wire input: an oversized length word is refused without allocating
// it, a client stalled in the middle of a frame does not hold up anyone else,
// and a CI-sized fuzz run of mutated captured frames never crashes or hangs the daemon.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { sharedPath } from '../helpers/shared.js';
import { capturedFrames, fuzzDaemon, stillAlive } from './fuzz.js';
import { handshake, P, startFakeDaemon, type FakeDaemon } from './fake-daemon.js';

let daemon: FakeDaemon;
before(async () => {
  daemon = await startFakeDaemon();
});
after(() => daemon.stop());

function rawSocket(): Promise<import('node:net').Socket> {
  const socket = connect(daemon.socket);
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('connect', () => resolve(socket)));
}

test('a 4 GiB length word closes that connection at once, with no allocation', async () => {
  const socket = await rawSocket();
  const rssBefore = process.memoryUsage().arrayBuffers;
  socket.write(Buffer.from('ffffffff20008086', 'hex'));
  await new Promise((resolve) => socket.once('close', resolve));
  assert.ok(process.memoryUsage().arrayBuffers - rssBefore < 1 << 20, 'no buffer of the announced size was made');
  // one byte over libvirt's limit is refused as well
  const over = await rawSocket();
  const word = Buffer.alloc(4);
  word.writeUInt32BE(33554432 + 4 + 1);
  over.write(word);
  await new Promise((resolve) => over.once('close', resolve));
  await stillAlive(daemon.socket);
});

test('a client stalled half way through a 32 MiB frame does not block another client', async () => {
  const staller = await rawSocket();
  const head = Buffer.alloc(28);
  head.writeUInt32BE(33554432 + 4, 0);
  staller.write(head);
  const c = await daemon.client();
  await handshake(c);
  assert.deepEqual(await c.call(P.connectGetType, undefined), { type: 'FAKE' });
  c.close();
  staller.destroy();
});

test('10,000 mutated captured frames never crash or hang the daemon', async (t) => {
  const rpc = sharedPath('conformance/rpc');
  if ('skip' in rpc) return t.skip(rpc.skip);
  await fuzzDaemon(daemon.socket, capturedFrames(rpc.path), 10_000, 12);
  await stillAlive(daemon.socket);
});
