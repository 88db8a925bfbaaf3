// One client of tsvirtd: the handshake (auth none, feature probes, CONNECT_OPEN
// through the driver registry), then every call through the contract's
// dispatch(), with libvirtd's per-client rules: pipelined calls run
// concurrently up to max_client_requests (then the socket is not read until one
// finishes), keepalive PINGs are answered as they arrive whatever is running,
// events go out as MESSAGEs, and a hang-up releases everything.
import type { Duplex } from 'node:stream';
import { dispatch, type DispatchTarget } from '../driver/dispatch.js';
import type { EventKey } from '../driver/events.js';
import type { ConnectionDrivers } from '../driver/families.js';
import { procedureInfo, type ProcArgs, type ProcKey, type ProcRet } from '../driver/procedures.js';
import { procedureCodecs } from '../rpc/procedure-codecs.js';
import type { ProcedureInfo } from '../rpc/procedure.js';
import type { DriverRegistry } from '../driver/registry.js';
import { ErrorCode, ErrorDomain, VirError, isVirError, virError } from '../util/error.js';
import { readOnlyRefusal } from '../driver/read-only.js';
import { answerHeader, bodyReader, encodeError, encodeMessage, MessageStatus, MessageType, rpcError, type DecodedMessage } from '../rpc/message.js';
import { RpcPeer } from '../rpc/peer.js';
import type { WireStream } from '../rpc/stream.js';
import { XdrError } from '../rpc/xdr.js';
import { findProcedure } from './programs.js';
import type { DaemonConfig } from './config.js';
import { EVENT_DEREGISTRATIONS, EVENT_REGISTRATIONS, EventCallbacks, eventProcedure } from './event-callbacks.js';
import type { WorkerPool } from './workers.js';

/** virDrvFeature values the daemon answers itself (remoteDispatchConnectSupportsFeature). */
const FEATURE_FD_PASSING = 8;
const FEATURE_PROGRAM_KEEPALIVE = 10;
const FEATURE_REMOTE_EVENT_CALLBACK = 14;
const FEATURE_REMOTE_CLOSE_CALLBACK = 15;
/** VIR_CONNECT_RO */
const CONNECT_RO = 1;
/** LIBVIR_VERSION_NUMBER of the libvirt tsvirt follows (9.0.0), what virConnectGetLibVersion answers without a driver's. */
const LIB_VERSION = 9000000n;

export interface ClientContext {
  readonly registry: DriverRegistry;
  readonly config: DaemonConfig;
  readonly workers: WorkerPool;
  /** the client came in on the read-only socket */
  readonly readonlySocket: boolean;
  readonly stateRoot: string | undefined;
  log(message: string): void;
}

interface OpenConnection extends DispatchTarget {
  readonly name: string;
  readonly drivers: ConnectionDrivers;
  readonly readonly: boolean;
}

export class DaemonClient {
  private readonly conn: RpcPeer;
  private opened: OpenConnection | null = null;
  private opening: Promise<void> | null = null;
  private events: EventCallbacks | null = null;
  private inFlight = 0;
  private readonly queued: DecodedMessage[] = [];

  constructor(
    socket: Duplex,
    private readonly ctx: ClientContext,
    private readonly onGone: (client: DaemonClient) => void,
  ) {
    this.conn = new RpcPeer(socket, {
      call: (m) => this.enqueue(m),
      unexpected: (m) => this.reply(m, null, rpcError(`Unexpected message type ${m.header.type}`)),
      closed: (reason) => void this.cleanup(reason),
    });
  }

  /** Drops the client (daemon shutdown). */
  close(): void {
    this.conn.close();
  }

  private enqueue(m: DecodedMessage): void {
    if (this.inFlight >= this.ctx.config.maxClientRequests) {
      this.queued.push(m);
      this.conn.pause();
      return;
    }
    this.inFlight++;
    void this.handle(m).finally(() => {
      this.inFlight--;
      const next = this.queued.shift();
      if (next) this.enqueue(next);
      if (this.queued.length === 0 && !this.conn.closed) this.conn.resume();
    });
  }

  private async handle(m: DecodedMessage): Promise<void> {
    const { header } = m;
    let stream: WireStream | undefined;
    try {
      const info = findProcedure(header.prog, header.vers, header.proc);
      if (header.type === MessageType.VIR_NET_CALL_WITH_FDS) {
        // Node cannot receive SCM_RIGHTS; feature 8 is answered 0 so clients never send them
        throw new VirError(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.RPC, 'Operation not supported: file descriptor passing is not supported by tsvirtd');
      }
      const args = info.decodeArgs(bodyReader(m.body));
      if (info.stream !== null) {
        stream = this.conn.openStream(header, 'daemon', info.sparse);
        // a client's abort ends the stream; the driver learns of it through 'close', the daemon must not crash
        stream.on('error', () => undefined);
      }
      const ret = await this.ctx.workers.run(info.priority === 'high', () => this.call(info, args, stream));
      this.reply(m, info, null, ret);
      stream?.start();
    } catch (e) {
      stream?.destroy();
      this.reply(m, null, e);
    }
  }

  private reply(m: DecodedMessage, info: ProcedureInfo<unknown, unknown> | null, error: unknown, ret?: unknown): void {
    if (this.conn.closed) return;
    if (info && error === null) {
      try {
        this.conn.send(encodeMessage(answerHeader(m.header, MessageType.VIR_NET_REPLY, MessageStatus.VIR_NET_OK), (w) => info.encodeRet(w, ret)));
        return;
      } catch (e) {
        // a driver returned what the .x cannot carry: the client gets the error instead
        error = e;
      }
    }
    // a VirError is the call's answer and an XdrError the client's bad bytes; anything else is a tsvirt bug worth a log line
    if (!isVirError(error) && !(error instanceof XdrError)) this.ctx.log(`call ${m.header.prog.toString(16)}/${m.header.proc} failed: ${error instanceof Error ? error.stack : String(error)}`);
    try {
      this.conn.send(encodeError(answerHeader(m.header, MessageType.VIR_NET_REPLY, MessageStatus.VIR_NET_ERROR), error));
    } catch (e) {
      this.conn.close(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** One call: what the daemon answers itself (remote_daemon_dispatch.c's hand-written procedures), or the driver's. */
  private async call(info: ProcedureInfo<unknown, unknown>, args: unknown, stream: WireStream | undefined): Promise<unknown> {
    const key = info.key as ProcKey;
    switch (key) {
      case 'authList':
        return { types: [0] } satisfies ProcRet<'authList'>;
      case 'connectOpen':
        return this.open(args as ProcArgs<'connectOpen'>);
      case 'connectSupportsFeature': {
        const daemonAnswer = this.daemonFeature((args as ProcArgs<'connectSupportsFeature'>).feature);
        if (daemonAnswer !== undefined) return { supported: daemonAnswer };
        break;
      }
    }
    const conn = await this.requireOpen();
    if (key === 'connectDomainQemuMonitorEventRegister' || key === 'connectDomainQemuMonitorEventDeregister') this.checkMonitorEvents(conn, key, info, args);
    if (key === 'connectDomainQemuMonitorEventRegister') {
      return { callbackID: this.eventCallbacks(conn).registerMonitorEvents(args as ProcArgs<typeof key>) } satisfies ProcRet<typeof key>;
    }
    const registration = EVENT_REGISTRATIONS[key];
    if (registration) return { callbackID: this.eventCallbacks(conn).register(registration, args as never) };
    const deregistration = EVENT_DEREGISTRATIONS.get(key);
    if (deregistration) {
      this.eventCallbacks(conn).deregister(deregistration, (args as { callbackID: number }).callbackID);
      return undefined;
    }
    switch (key) {
      case 'connectClose':
        await this.release();
        return undefined;
      case 'connectGetURI':
        // virConnectGetURI answers the URI the connection was opened with
        return { uri: conn.name } satisfies ProcRet<'connectGetURI'>;
      case 'connectRegisterCloseCallback':
      case 'connectUnregisterCloseCallback':
        // local drivers never close a connection by themselves, so nothing will be sent (virConnectRegisterCloseCallback)
        return undefined;
      case 'connectGetLibVersion':
      case 'connectSupportsFeature':
        return this.withPublicDefault(conn, key, args);
    }
    // event messages and auth methods other than none reach no driver
    if (info.family === null || procedureInfo(key)?.program !== info.program) throw rpcError(`unknown procedure: ${info.number}`);
    return dispatch(conn, key, args as never, stream);
  }

  /** Calls whose public API has an answer when the driver has none (virConnectGetLibVersion, virConnectSupportsFeature). */
  private async withPublicDefault(conn: OpenConnection, key: 'connectGetLibVersion' | 'connectSupportsFeature', args: unknown): Promise<unknown> {
    try {
      return await dispatch(conn, key, args as never);
    } catch (e) {
      if (!isVirError(e) || e.code !== ErrorCode.NO_SUPPORT) throw e;
      return key === 'connectGetLibVersion' ? { lib_ver: LIB_VERSION } : { supported: 0 };
    }
  }

  /**
   * libvirt-qemu's monitor event (de)registration as the public API checks it; the
   * daemon keeps the registrations, and a hypervisor driver that serves monitor
   * commands is the one that reports its QMP events.
   */
  private checkMonitorEvents(conn: OpenConnection, key: ProcKey, info: ProcedureInfo<unknown, unknown>, args: unknown): void {
    if (conn.readonly) {
      const refusal = readOnlyRefusal(key, info, args as never);
      if (refusal !== undefined) throw virError(ErrorCode.OPERATION_DENIED, refusal, info.apiErrorDomain);
    }
    if (typeof conn.drivers.hypervisor.domainQemuMonitorCommand !== 'function') throw virError(ErrorCode.NO_SUPPORT, info.api ?? key, ErrorDomain.NONE);
  }

  private daemonFeature(feature: number): number | undefined {
    switch (feature) {
      case FEATURE_FD_PASSING:
        return 0;
      case FEATURE_PROGRAM_KEEPALIVE:
        // answering it is what starts the daemon's own pings, as in libvirtd
        this.conn.startKeepalive(this.ctx.config.keepaliveInterval, this.ctx.config.keepaliveCount, () => {
          this.ctx.log('client stopped answering keepalive pings; closing it');
          this.conn.close();
        });
        return 1;
      case FEATURE_REMOTE_EVENT_CALLBACK:
      case FEATURE_REMOTE_CLOSE_CALLBACK:
        return 1;
      default:
        return undefined;
    }
  }

  private async open(args: ProcArgs<'connectOpen'>): Promise<void> {
    if (this.opened || this.opening) throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: connection already open');
    const readonly = this.ctx.readonlySocket || (args.flags & CONNECT_RO) !== 0;
    // libvirtd opens no connection without a name; an empty one is virConnectOpen(NULL), which the drivers' URI probe answers
    if (args.name === null) throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: connection not open');
    const opening = this.ctx.registry.open(args.name, { readonly, stateRoot: this.ctx.stateRoot, longLived: true }).then(({ name, drivers }) => {
      if (this.conn.closed) return void drivers.close();
      this.opened = { name, drivers, readonly };
    });
    this.opening = opening;
    try {
      await opening;
    } finally {
      this.opening = null;
    }
  }

  /** The open connection; a call pipelined behind CONNECT_OPEN waits for it. */
  private async requireOpen(): Promise<OpenConnection> {
    if (this.opening) await this.opening.catch(() => undefined);
    if (!this.opened) throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: hypervisor connection not open');
    return this.opened;
  }

  private eventCallbacks(conn: OpenConnection): EventCallbacks {
    // a driver without an EventSource has nothing to report: registrations succeed and stay silent
    this.events ??= new EventCallbacks(conn.drivers.events ?? conn.drivers, (key, body) => this.sendEvent(key, body));
    return this.events;
  }

  private sendEvent(key: EventKey, body: object): void {
    const info = procedureCodecs(key)!;
    // libvirtd sends every event with serial 1, in the program of its message (remote, or QEMU for monitor events)
    const header = { prog: info.program, vers: info.version, proc: eventProcedure(key), type: MessageType.VIR_NET_MESSAGE, serial: 1, status: MessageStatus.VIR_NET_OK };
    this.conn.send(encodeMessage(header, (w) => info.encodeArgs(w, body as never)));
  }

  /** What the client held: event registrations, streams, the driver connection. */
  private async release(): Promise<void> {
    this.events?.close();
    this.events = null;
    this.conn.destroyStreams();
    const opened = this.opened;
    this.opened = null;
    await opened?.drivers.close();
  }

  private async cleanup(reason: Error | null): Promise<void> {
    if (reason) this.ctx.log(`client connection closed: ${reason.message}`);
    try {
      await this.opening?.catch(() => undefined);
      await this.release();
    } catch (e) {
      this.ctx.log(`releasing a client's connection failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.onGone(this);
    }
  }
}
