// Tunnelled migration (VIR_MIGRATE_TUNNELLED): QEMU's migration stream travels
// inside the libvirt connection between the two daemons, as the data of the
// destination's PrepareTunnel stream, instead of over a connection of its own.
// libvirt hands each QEMU a pipe; Node cannot pass descriptors to QEMU, so each
// daemon relays through a unix socket of its own (migration-stream.ts), which
// carries the same bytes. Back-pressure runs end to end (socket writes wait for
// the stream to drain and the other way round); either end failing aborts the
// stream, so the other end's QEMU fails its migration instead of hanging.
import { once } from 'node:events';
import net from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { typedParam, type TypedParam } from '../../driver/typed-params.js';
import { relaySocket, type QemuOwner } from './migration-stream.js';

/**
 * The parameters the older PrepareTunnel calls (version 3 without parameters,
 * version 2) pass as arguments; their bandwidth is the source's business, as
 * libvirt's destination ignores it.
 */
export function tunnelParams(domXML: string, dname: string | null): TypedParam[] {
  return [typedParam.string('destination_xml', domXML), ...(dname === null ? [] : [typedParam.string('destination_name', dname)])];
}

export interface TunnelIn {
  /** the URI the destination's QEMU listens on (migrate-incoming) */
  readonly uri: string;
  /** call once QEMU listens: feeds it the stream's bytes, then answers the source's finish */
  connect(): void;
  /** a failed start: the stream is aborted and the socket's folder removed */
  abort(error: Error): Promise<void>;
}

/** The destination's end of the tunnel: `stream` is PrepareTunnel's, the source writes QEMU's bytes into it. */
export async function tunnelIn(stream: Duplex, owner: QemuOwner): Promise<TunnelIn> {
  const { socket, remove } = await relaySocket(owner);
  return {
    uri: `unix:${socket}`,
    connect: () => void feed(stream, net.createConnection(socket)).finally(remove),
    abort: async (error) => {
      stream.destroy(error);
      await remove();
    },
  };
}

async function feed(stream: Duplex, qemu: net.Socket): Promise<void> {
  // QEMU closes its end as soon as it has loaded the whole stream, which may be before the
  // source's finish gets here (a loaded host): that alone is no failure (Finish asks QEMU how
  // its migration ended). Bytes left for a QEMU that closed (it failed, or was killed) abort
  // the stream, so the source's migration fails instead of running on into nothing.
  qemu.on('error', () => undefined);
  const gone = () => qemu.errored ?? new Error('the destination QEMU closed its migration stream');
  try {
    await once(qemu, 'connect');
    // the stream stays open after its input ends: the answer to the source's finish goes out on it
    for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      if (!qemu.writable) throw gone();
      // the socket closing before it took the chunk: QEMU never got it
      if (!qemu.write(chunk) && !(await drained(qemu))) throw gone();
    }
    if (qemu.errored) throw qemu.errored;
    if (qemu.writable) await new Promise<void>((resolve) => qemu.end(resolve));
    stream.end();
  } catch (e) {
    qemu.destroy();
    stream.destroy(e as Error);
  }
}

/** Resolves true once the socket takes more, false if it closed first. */
function drained(socket: net.Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (took: boolean) => () => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(took);
    };
    const [onDrain, onClose] = [done(true), done(false)];
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

export interface TunnelOut {
  /** for the destination's PrepareTunnel call: the peer connection sends what is written to `local` */
  readonly peer: Duplex;
  /** what QEMU migrates goes in here */
  readonly local: Duplex;
  /** resolves when the destination answered the stream's finish: it has every byte */
  readonly answered: Promise<void>;
  /** aborts the stream (a failed or cancelled migration) */
  abort(error: Error): void;
}

/** The source's end of the tunnel; closing either side closes the other with its error (duplexPair leaves it open). */
export function tunnelOut(): TunnelOut {
  const [peer, local] = duplexPair();
  for (const [from, to] of [[peer, local], [local, peer]] as const) {
    // a side's error is read through `answered` or the relay's pipeline; unheard, it must not end the daemon
    from.on('error', () => undefined);
    from.once('close', () => {
      if (!to.destroyed) to.destroy(from.errored ?? undefined);
    });
  }
  const answered = new Promise<void>((resolve, reject) => {
    local.once('end', resolve);
    local.once('close', () => reject(local.errored ?? new Error('the migration tunnel closed before the destination had every byte')));
  });
  answered.catch(() => undefined); // awaited only after a successful migration
  // nothing comes back on the stream but its end
  local.resume();
  return {
    peer,
    local,
    answered,
    abort: (error) => {
      local.destroy(error);
      peer.destroy(error);
    },
  };
}
