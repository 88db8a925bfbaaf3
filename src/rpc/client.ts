// The client end of libvirt's RPC protocol: calls with increasing serials (from 0,
// as libvirt's client), any number in flight, replies matched by serial, server
// MESSAGEs (events) handed to a listener; keepalive and stream routing are the
// shared RpcPeer's. Used by the remote driver and tests.
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';
import { bodyReader, decodeError, encodeMessage, MessageStatus, MessageType, type MessageHeader } from './message.js';
import { RpcPeer } from './peer.js';
import type { ProcedureInfo } from './procedure.js';
import type { WireStream } from './stream.js';
import { CloseReason } from './close-reason.js';

export { CloseReason };

/** A procedure of any argument and return type (the pending calls of a connection mix them). */
type AnyProcedure = ProcedureInfo<any, any>;

interface PendingCall {
  readonly info: AnyProcedure;
  resolve(ret: unknown): void;
  reject(e: Error): void;
}

export interface RpcClientOptions {
  /** A MESSAGE that is not keepalive (events): header and body. */
  readonly onMessage?: (header: MessageHeader, body: Buffer) => void;
  /** The connection is gone; every pending call has failed. */
  readonly onClose?: (reason: CloseReason, error: Error | null) => void;
}

/** libvirt's client turns a server's "unknown procedure" into "not supported" (virNetClientProgramDispatchError). */
function clientError(e: VirError): VirError {
  if ((e.domain === ErrorDomain.RPC || e.domain === ErrorDomain.REMOTE) && e.code === ErrorCode.RPC && e.message.startsWith('unknown procedure')) {
    return new VirError(ErrorCode.NO_SUPPORT, e.domain, e.message);
  }
  return e;
}

export class RpcClient {
  private nextSerial = 0;
  private readonly pending = new Map<number, PendingCall>();
  private readonly conn: RpcPeer;
  /** set when this side decides to close (virNetClientMarkClose) */
  private closing: CloseReason | null = null;

  constructor(
    socket: Duplex,
    private readonly options: RpcClientOptions = {},
  ) {
    this.conn = new RpcPeer(socket, {
      reply: (m) => this.reply(m.header, m.body),
      message: (m) => this.options.onMessage?.(m.header, m.body),
      unexpected: (m) => this.conn.close(new VirError(ErrorCode.RPC, ErrorDomain.RPC, `got unexpected RPC call ${m.header.proc} from server`)),
      closed: (reason) => this.closed(reason),
    });
  }

  /** Connects to a daemon's unix socket. */
  static connectUnix(path: string, options?: RpcClientOptions): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(path);
      socket.once('error', (e: NodeJS.ErrnoException) =>
        reject(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Failed to connect socket to '${path}': ${e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message}`)),
      );
      socket.once('connect', () => resolve(new RpcClient(socket, options)));
    });
  }

  get isClosed(): boolean {
    return this.conn.closed;
  }

  /** Pings after `interval` idle seconds and drops a server silent through `count` pings (virConnectSetKeepAlive). */
  startKeepalive(interval: number, count: number): void {
    this.conn.startKeepalive(interval, count, () => {
      this.closing = CloseReason.KEEPALIVE;
      this.conn.close(new Error('connection closed due to keepalive timeout'));
    });
  }

  /** One call; resolves with the decoded return value. */
  call<A, R>(info: ProcedureInfo<A, R>, args: A): Promise<R> {
    return this.send(info, args) as Promise<R>;
  }

  /** A call that opens a stream: the stream carries data once the reply has arrived. */
  async callWithStream<A, R>(info: ProcedureInfo<A, R>, args: A): Promise<{ ret: R; stream: WireStream }> {
    const stream = this.conn.openStream(this.header(info, this.nextSerial), 'client', info.sparse);
    try {
      const ret = (await this.send(info, args)) as R;
      stream.start();
      return { ret, stream };
    } catch (e) {
      stream.destroy();
      throw e;
    }
  }

  close(): void {
    this.closing ??= CloseReason.CLIENT;
    this.conn.close();
  }

  private header(info: AnyProcedure, serial: number): MessageHeader {
    return { prog: info.program, vers: info.version, proc: info.number, type: MessageType.VIR_NET_CALL, serial, status: MessageStatus.VIR_NET_OK };
  }

  private send(info: AnyProcedure, args: unknown): Promise<unknown> {
    if (this.conn.closed) return Promise.reject(socketClosed());
    const serial = this.nextSerial;
    this.nextSerial = (this.nextSerial + 1) >>> 0;
    const frame = encodeMessage(this.header(info, serial), (w) => info.encodeArgs(w, args));
    return new Promise((resolve, reject) => {
      this.pending.set(serial, { info, resolve, reject });
      this.conn.send(frame);
    });
  }

  private reply(header: MessageHeader, body: Buffer): void {
    const call = this.pending.get(header.serial);
    if (!call || call.info.program !== header.prog || call.info.number !== header.proc) {
      this.conn.close(new VirError(ErrorCode.RPC, ErrorDomain.RPC, `no call waiting for reply with prog ${header.prog} vers ${header.vers} serial ${header.serial}`));
      return;
    }
    this.pending.delete(header.serial);
    try {
      if (header.status === MessageStatus.VIR_NET_OK) call.resolve(call.info.decodeRet(bodyReader(body)));
      else call.reject(clientError(decodeError(body)));
    } catch (e) {
      call.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private closed(error: Error | null): void {
    // calls in flight learn why; later calls get libvirt's plain "client socket is closed"
    const failure = error ? new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: client socket is closed: ${error.message}`) : socketClosed();
    for (const call of this.pending.values()) call.reject(failure);
    this.pending.clear();
    this.options.onClose?.(this.closing ?? (error ? CloseReason.ERROR : CloseReason.EOF), error);
  }
}

/** What libvirt's client says of a call on a closed connection (virNetClientSendInternal). */
function socketClosed(): VirError {
  return new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: client socket is closed');
}
