// The destination's end of a tunnelled migration (migration-tunnel.ts) against a
// stand-in for QEMU's incoming socket, no guest: QEMU closes its connection as
// soon as it has loaded the whole stream, which may come before the source's
// finish reaches this daemon (a loaded host); that is a migration that went
// through. QEMU closing while the source still sends is one that did not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { duplexPair } from 'node:stream';
import { finished } from 'node:stream/promises';
import { tunnelIn } from '../../src/drivers/qemu/migration-tunnel.js';

const STREAM = Buffer.from('QEVM, then every section, then QEMU_VM_EOF');

/** A QEMU listening on the tunnel's URI that reads `bytes` bytes, then closes its end; resolves with what it read. */
async function incomingQemu(uri: string, bytes: number): Promise<{ received: Promise<Buffer>; close: () => void }> {
  const server = net.createServer();
  const received = new Promise<Buffer>((resolve) => {
    server.once('connection', (conn) => {
      const chunks: Buffer[] = [];
      let length = 0;
      conn.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= bytes) {
          conn.end();
          resolve(Buffer.concat(chunks));
        }
      });
    });
  });
  server.listen(uri.slice('unix:'.length));
  await once(server, 'listening');
  return { received, close: () => server.close() };
}

test('QEMU closing its stream once it has every byte, before the source finished, ends the tunnel cleanly', async (t) => {
  // `stream` is PrepareTunnel's stream as the relay sees it, `source` the other end
  const [stream, source] = duplexPair();
  const relay = await tunnelIn(stream, undefined);
  const qemu = await incomingQemu(relay.uri, STREAM.length);
  t.after(qemu.close);
  relay.connect();
  source.write(STREAM);
  assert.deepEqual(await qemu.received, STREAM);
  // the source's finish comes late: by then the relay has seen QEMU's socket close
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(stream.destroyed, false, 'the tunnel was aborted though QEMU had the whole stream');
  source.end();
  // the relay answers the finish by ending its side
  await finished(source.resume());
  assert.equal(stream.errored, null);
});

test('QEMU closing its stream while the source still sends aborts the tunnel', async (t) => {
  const [stream, source] = duplexPair();
  const relay = await tunnelIn(stream, undefined);
  const qemu = await incomingQemu(relay.uri, 4);
  t.after(qemu.close);
  relay.connect();
  source.write(STREAM.subarray(0, 4));
  await qemu.received;
  await new Promise((resolve) => setTimeout(resolve, 100));
  source.write(STREAM.subarray(4));
  await assert.rejects(finished(stream), { message: 'the destination QEMU closed its migration stream' });
});
