// Reading a daemon's clients into reused slabs: the accepted socket's handle
// moves to a socket built with onread (Node internals: this fails loudly if a
// Node update changes them), slabs are read into again only once every byte of
// theirs is released, and what the RPC layer keeps outlives the slab's reuse.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MessageConnection } from '../../src/rpc/connection.js';
import { encodeMessage, encodeStreamData, MessageStatus, MessageType, type DecodedMessage, type MessageHeader } from '../../src/rpc/message.js';
import { readIntoSlabs } from '../../src/rpc/slab-socket.js';
import { isPooled, releaseReceived, SlabPool } from '../../src/util/slab-pool.js';

const MiB = 1024 * 1024;

/** A unix socket server whose accepted sockets go through readIntoSlabs; `send` writes to it from a client. */
async function withSlabServer(onSocket: (socket: Socket) => void, send: (client: Socket) => void): Promise<{ adopted: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-slab-'));
  let adopted = false;
  const server: Server = createServer({ pauseOnConnect: true }, (accepted) => {
    const socket = readIntoSlabs(accepted);
    adopted = socket !== accepted;
    onSocket(socket);
  });
  try {
    const path = join(dir, 'sock');
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const client = connect(path, () => send(client));
    client.resume();
    await new Promise<void>((resolve) => client.on('close', () => resolve()));
  } finally {
    // the server closes only once it counts no connection: the adopted socket must have taken over the count
    const closed = new Promise<boolean>((resolve) => server.close(() => resolve(true)));
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000)));
    rmSync(dir, { recursive: true, force: true });
    const closedInTime = await Promise.race([closed, stuck]);
    clearTimeout(timer);
    assert.ok(closedInTime, 'the server still counts the accepted socket whose handle moved: close() never completes');
  }
  return { adopted };
}

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

test('an accepted socket reads into reused slabs (Node internals still allow the handle to move)', async () => {
  const sent = pattern(8 * MiB, 3);
  const received: Buffer[] = [];
  const memories = new Set<ArrayBufferLike>();
  let allPooled = true;
  const { adopted } = await withSlabServer(
    (socket) => {
      socket.on('data', (chunk: Buffer) => {
        allPooled &&= isPooled(chunk);
        memories.add(chunk.buffer);
        received.push(Buffer.from(chunk));
        releaseReceived(chunk);
      });
      socket.on('end', () => socket.end());
    },
    (client) => {
      let at = 0;
      const more = () => {
        while (at < sent.length) {
          const piece = sent.subarray(at, (at += 256 * 1024));
          if (!client.write(piece)) return void client.once('drain', more);
        }
        client.end();
      };
      more();
    },
  );
  assert.ok(adopted, "Node's net.Socket no longer takes an accepted socket's _handle and _server (src/rpc/slab-socket.ts): the daemon falls back to a new buffer per read");
  assert.ok(allPooled, 'every read lands in a slab');
  assert.ok(Buffer.concat(received).equals(sent), 'the bytes arrive intact and in order');
  assert.ok(memories.size <= 3, `8 MiB read into ${memories.size} slabs: released slabs are read into again`);
});

test('a slab is not read into again while any of its bytes is held', () => {
  const pool = new SlabPool();
  const read = (n: number) => pool.filled(pool.space(), n);
  const held = read(100);
  const heldCopy = Buffer.from(held);
  // fill that slab and several more, releasing everything but `held`
  let retired = false;
  for (let i = 0; i < 64; i++) {
    const space = pool.space();
    retired ||= space.buffer !== held.buffer;
    if (retired) assert.notEqual(space.buffer, held.buffer, 'the full slab holding unreleased bytes is not read into again');
    space.fill(0xee, 0, 64 * 1024);
    releaseReceived(pool.filled(space, 64 * 1024));
  }
  assert.ok(retired && held.equals(heldCopy));
  releaseReceived(held);
  // once released, the full slab comes back
  const seen = new Set<ArrayBufferLike>();
  for (let i = 0; i < 64; i++) {
    const space = pool.space();
    seen.add(space.buffer);
    releaseReceived(pool.filled(space, 64 * 1024));
  }
  assert.ok(seen.has(held.buffer));
});

test('a space not handed out by the pool is copied, not counted', () => {
  const pool = new SlabPool();
  const other = Buffer.alloc(16, 1);
  const view = pool.filled(other, 8);
  assert.equal(isPooled(view), false);
  assert.ok(view.equals(Buffer.alloc(8, 1)));
});

test('through slabs, a call message survives the slab being read into again; stream data arrives as views', async () => {
  const call: MessageHeader = { prog: 0x20008086, vers: 1, proc: 208, type: MessageType.VIR_NET_CALL, serial: 9, status: MessageStatus.VIR_NET_OK };
  const args = pattern(4000, 11);
  const data = pattern(256 * 1024 - 24, 5);
  const messages: DecodedMessage[] = [];
  let streamBytes = 0;
  let viewsPooled = true;
  await withSlabServer(
    (socket) => {
      new MessageConnection(socket, {
        message: (m) => {
          if (m.header.type !== MessageType.VIR_NET_STREAM) return void messages.push(m);
          for (const piece of m.bodyPieces) {
            viewsPooled &&= isPooled(piece);
            assert.ok(piece.equals(data.subarray(streamBytes % data.length, (streamBytes % data.length) + piece.length)));
            streamBytes += piece.length;
            releaseReceived(piece);
          }
        },
        closed: () => undefined,
      });
    },
    (client) => {
      client.write(encodeMessage(call, (w) => w.writeFixedOpaque(args, args.length)));
      const packet = encodeStreamData(call, data);
      let sent = 0;
      const more = () => {
        while (sent++ < 40) if (!client.write(packet)) return void client.once('drain', more);
        client.end();
      };
      more();
    },
  );
  assert.equal(streamBytes, 40 * data.length);
  assert.ok(viewsPooled, 'stream data is not copied');
  assert.equal(messages.length, 1);
  assert.ok(messages[0]!.body.equals(args), 'the call kept its bytes after 10 MiB more were read');
});

test('a socket without the expected internals is used as it is, resumed', () => {
  const plain = new Socket();
  assert.equal(readIntoSlabs(plain), plain);
  plain.destroy();
});
