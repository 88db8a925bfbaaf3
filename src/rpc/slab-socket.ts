// A server's accepted socket that reads into reused slabs (SlabPool) instead of
// a new buffer per read. Node offers `onread` only to sockets it creates, so the
// accepted socket (the server must be created with pauseOnConnect, so it has not
// read yet) gives its handle to a new net.Socket built with onread. That moves
// Node's semi-private fields `_handle` and `_server` (which counts the server's
// connections for close()); test/rpc/slab-socket.test.ts fails if a Node update
// breaks it, and where the fields are missing the plain socket is used.
// Each read is emitted as a 'data' event, as a plain socket does: its readers
// must copy out or release (releaseReceived) what they keep.
import { Socket } from 'node:net';
import { SlabPool } from '../util/slab-pool.js';

interface AcceptedInternals {
  _handle: unknown;
  _server: unknown;
}

/** `accepted` (paused on connect) reading into slabs, or `accepted` itself, resumed, where its internals are not as expected. */
export function readIntoSlabs(accepted: Socket): Socket {
  const internals = accepted as unknown as AcceptedInternals;
  const handle = internals._handle;
  if (handle === null || typeof handle !== 'object' || !('readStart' in handle) || !('_server' in accepted)) {
    accepted.resume();
    return accepted;
  }
  const pool = new SlabPool();
  // emits reach the socket's 'data' listeners; until then there are none (the socket is only being built)
  let socket: Socket | null = null;
  const adopted = new Socket({
    handle: handle as never,
    onread: {
      buffer: () => pool.space(),
      callback: (n: number, read: Uint8Array) => {
        socket?.emit('data', pool.filled(read, n));
        return true;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  socket = adopted;
  (adopted as unknown as AcceptedInternals)._server = internals._server;
  internals._server = null;
  internals._handle = null;
  return adopted;
}
