// The client end of libvirt's RPC protocol: calls with increasing serials (from 0,
// as libvirt's client), any number in flight, replies matched by serial, server
// MESSAGEs (events) handed to a listener, keepalive PINGs answered, stream
// packets routed to the stream a call opened. Used by the remote driver and tests.
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';
import { MessageConnection } from './connection.js';
import { isKeepalive, Keepalive, keepaliveAnswer } from './keepalive.js';
import { bodyReader, decodeError, encodeMessage, MessageStatus, MessageType, type DecodedMessage, type MessageHeader } from './message.js';
import type { ProcedureInfo } from './procedure.js';
import { WireStream } from './stream.js';

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
  readonly onClose?: (reason: Error | null) => void;
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
  private readonly streams = new Map<number, WireStream>();
  private readonly conn: MessageConnection;
  private keepalive: Keepalive | null = null;
  private closeReason: Error | null = null;

  constructor(
    socket: Duplex,
    private readonly options: RpcClientOptions = {},
  ) {
    this.conn = new MessageConnection(socket, {
      message: (m) => this.receive(m),
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
    this.keepalive ??= new Keepalive(interval, count, (f) => this.conn.send(f), () => this.conn.close(new Error('connection closed due to keepalive timeout')));
    this.keepalive.start();
  }

  /** One call; resolves with the decoded return value. */
  call<A, R>(info: ProcedureInfo<A, R>, args: A): Promise<R> {
    return this.send(info, args) as Promise<R>;
  }

  /** A call that opens a stream: the stream carries data once the reply has arrived. */
  async callWithStream<A, R>(info: ProcedureInfo<A, R>, args: A): Promise<{ ret: R; stream: WireStream }> {
    const serial = this.nextSerial;
    const stream = new WireStream(this.header(info, serial), (f) => this.conn.send(f), 'client', info.sparse);
    this.streams.set(serial, stream);
    stream.on('close', () => this.streams.delete(serial));
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
    this.conn.close();
  }

  private header(info: AnyProcedure, serial: number): MessageHeader {
    return { prog: info.program, vers: info.version, proc: info.number, type: MessageType.VIR_NET_CALL, serial, status: MessageStatus.VIR_NET_OK };
  }

  private send(info: AnyProcedure, args: unknown): Promise<unknown> {
    if (this.conn.closed) return Promise.reject(this.connectionGone());
    const serial = this.nextSerial;
    this.nextSerial = (this.nextSerial + 1) >>> 0;
    const frame = encodeMessage(this.header(info, serial), (w) => info.encodeArgs(w, args));
    return new Promise((resolve, reject) => {
      this.pending.set(serial, { info, resolve, reject });
      this.conn.send(frame);
    });
  }

  private receive(m: DecodedMessage): void {
    this.keepalive?.received();
    const { header, body } = m;
    if (isKeepalive(header)) {
      const answer = keepaliveAnswer(header);
      if (answer) this.conn.send(answer);
      return;
    }
    switch (header.type) {
      case MessageType.VIR_NET_REPLY:
      case MessageType.VIR_NET_REPLY_WITH_FDS:
        return this.reply(header, body);
      case MessageType.VIR_NET_MESSAGE:
        this.options.onMessage?.(header, body);
        return;
      case MessageType.VIR_NET_STREAM:
      case MessageType.VIR_NET_STREAM_HOLE:
        this.streams.get(header.serial)?.receive(m);
        return;
      default:
        this.conn.close(new VirError(ErrorCode.RPC, ErrorDomain.RPC, `got unexpected RPC call ${header.proc} from server`));
    }
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

  private connectionGone(): VirError {
    const why = this.closeReason ? `: ${this.closeReason.message}` : '';
    return new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: client socket is closed${why}`);
  }

  private closed(reason: Error | null): void {
    this.closeReason = reason;
    this.keepalive?.stop();
    for (const call of this.pending.values()) call.reject(this.connectionGone());
    this.pending.clear();
    for (const stream of this.streams.values()) stream.destroy();
    this.options.onClose?.(reason);
  }
}
