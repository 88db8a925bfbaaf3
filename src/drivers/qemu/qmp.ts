// A QMP (QEMU Machine Protocol) client over a unix socket.
//
// QMP is line-delimited JSON: QEMU greets with {"QMP": ...}, the client must send
// qmp_capabilities before anything else, replies carry the "id" of their command,
// and asynchronous {"event": ...} messages can arrive at any time. Nothing QEMU
// sends may hurt the caller: a single message is capped at 10 MiB (libvirt's fix
// for CVE-2018-5748), every command has a timeout, and a malformed or oversized
// message closes the connection and fails every pending command.
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { formatQemuJson, type QemuJson } from '../../util/json.js';

/** libvirt's QEMU_MONITOR_MAX_RESPONSE. */
export const QMP_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
export const QMP_DEFAULT_TIMEOUT_MS = 30_000;

export interface QmpEvent {
  event: string;
  /** the event's "data" ({} when QEMU sent none: hasData tells) */
  data: Record<string, unknown>;
  hasData: boolean;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  version?: { qemu?: { major: number; minor: number; micro: number }; package?: string };
  capabilities?: string[];
}

export interface QmpOptions {
  /** Default timeout of each command, and of connecting + negotiating. */
  timeoutMs?: number;
  /** Largest accepted message (bytes, newline excluded). */
  maxMessageBytes?: number;
  /** Used in error messages, like libvirt's vm='NAME'. */
  domainName?: string;
}

interface PendingCommand {
  id: string;
  command: string;
  /** resolve with the reply's text ({"return": ...} or {"error": ...}, with the id) instead of its return value */
  wholeReply: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Events: 'event' (QmpEvent) for every asynchronous QMP event, and also the
 * event's own name (e.g. 'SHUTDOWN', with the QmpEvent); 'close' (Error | undefined)
 * once when the connection ends, with the error that ended it, if any.
 */
export class QmpClient extends EventEmitter {
  private readonly pending = new Map<string, PendingCommand>();
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private nextId = 0;
  private closedWith: Error | null | undefined = undefined;
  private greetingWaiter: { resolve(g: QmpGreeting): void; reject(e: Error): void } | undefined;
  greeting: QmpGreeting | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly timeoutMs: number,
    private readonly maxMessageBytes: number,
    private readonly domainName: string,
  ) {
    super();
    // The connection alone must not keep a finished tsvirsh alive; pending
    // commands and event waits keep the event loop running through their timers.
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(virError(ErrorCode.SYSTEM_ERROR, `Unable to read from monitor: ${err.message}`, ErrorDomain.QEMU)));
    socket.on('close', () => this.fail(virError(ErrorCode.OPERATION_FAILED, 'QEMU monitor was closed', ErrorDomain.QEMU)));
  }

  /** Connects to a QMP socket, reads the greeting and negotiates capabilities. */
  static async connect(socketPath: string, options: QmpOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? QMP_DEFAULT_TIMEOUT_MS;
    const socket = await connectSocket(socketPath);
    const client = new QmpClient(socket, timeoutMs, options.maxMessageBytes ?? QMP_MAX_MESSAGE_BYTES, options.domainName ?? '');
    try {
      client.greeting = await client.waitGreeting(timeoutMs);
      await client.execute('qmp_capabilities');
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Runs one QMP command; resolves with its "return" value. */
  execute<T = unknown>(command: string, args?: { [key: string]: QemuJson }, timeoutMs = this.timeoutMs): Promise<T> {
    if (this.closedWith !== undefined) {
      return Promise.reject(this.closedWith ?? this.eofError());
    }
    const text = (id: string) => formatQemuJson(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id });
    return this.send(command, text, false, timeoutMs) as Promise<T>;
  }

  /**
   * Sends a client's own QMP message (virDomainQemuMonitorCommand), written by
   * `text` around this connection's command id, and resolves with the text of
   * QEMU's whole reply, errors included: 64-bit numbers stay exact both ways.
   */
  executeArbitrary(command: string, text: (id: string) => string): Promise<string> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith ?? this.eofError());
    return this.send(command, text, true, this.timeoutMs) as Promise<string>;
  }

  private send(command: string, text: (id: string) => string, wholeReply: boolean, timeoutMs: number): Promise<unknown> {
    const id = `tsvirt-${++this.nextId}`;
    const message = text(id);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(virError(ErrorCode.OPERATION_TIMEOUT, `QEMU monitor command '${command}' got no reply within ${timeoutMs} ms (vm='${this.domainName}')`, ErrorDomain.QEMU));
      }, timeoutMs);
      this.pending.set(id, { id, command, wholeReply, resolve, reject, timer });
      this.socket.write(message + '\r\n');
    });
  }

  /** Resolves with the first event named `name` for which `match` holds. */
  waitEvent(name: string, timeoutMs: number, match: (event: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off(name, onEvent);
        this.off('close', onClose);
      };
      const onEvent = (event: QmpEvent) => {
        if (!match(event)) return;
        cleanup();
        resolve(event);
      };
      const onClose = (error: Error | undefined) => {
        cleanup();
        reject(error ?? this.eofError());
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(virError(ErrorCode.OPERATION_TIMEOUT, `no QEMU event '${name}' within ${timeoutMs} ms (vm='${this.domainName}')`, ErrorDomain.QEMU));
      }, timeoutMs);
      this.on(name, onEvent);
      this.on('close', onClose);
    });
  }

  /** Closes the connection; pending commands fail with "QEMU monitor was closed". */
  close(): void {
    this.fail(undefined);
  }

  private eofError(): VirError {
    return virError(ErrorCode.INTERNAL_ERROR, `End of file from qemu monitor (vm='${this.domainName}')`, ErrorDomain.QEMU);
  }

  private waitGreeting(timeoutMs: number): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(virError(ErrorCode.OPERATION_TIMEOUT, `QEMU monitor sent no greeting within ${timeoutMs} ms (vm='${this.domainName}')`, ErrorDomain.QEMU));
      }, timeoutMs);
      this.greetingWaiter = {
        resolve: (g) => { clearTimeout(timer); resolve(g); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    while (this.closedWith === undefined) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline < 0) {
        this.bufferedBytes += chunk.length - start;
        if (this.bufferedBytes > this.maxMessageBytes) return this.oversized();
        if (start < chunk.length) this.chunks.push(chunk.subarray(start));
        return;
      }
      const length = this.bufferedBytes + newline - start;
      if (length > this.maxMessageBytes) return this.oversized();
      this.chunks.push(chunk.subarray(start, newline));
      const line = Buffer.concat(this.chunks).toString('utf8').trim();
      this.chunks = [];
      this.bufferedBytes = 0;
      start = newline + 1;
      if (line !== '') this.onMessage(line);
    }
  }

  private oversized(): void {
    this.fail(virError(ErrorCode.INTERNAL_ERROR, `QEMU monitor reply exceeds buffer size (${this.maxMessageBytes} bytes)`, ErrorDomain.QEMU));
  }

  private onMessage(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (e) {
      return this.fail(virError(ErrorCode.INTERNAL_ERROR, `cannot parse json ${abbreviate(line)}: ${(e as Error).message}`, ErrorDomain.QEMU));
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return this.fail(virError(ErrorCode.INTERNAL_ERROR, `Parsed JSON reply '${abbreviate(line)}' isn't an object`, ErrorDomain.QEMU));
    }
    const obj = message as Record<string, unknown>;
    if ('QMP' in obj) {
      const waiter = this.greetingWaiter;
      this.greetingWaiter = undefined;
      waiter?.resolve(obj.QMP as QmpGreeting);
      return;
    }
    if (typeof obj.event === 'string') {
      const event: QmpEvent = {
        event: obj.event,
        data: (obj.data as Record<string, unknown>) ?? {},
        hasData: obj.data !== undefined,
        timestamp: obj.timestamp as QmpEvent['timestamp'],
      };
      this.emit('event', event);
      this.emit(event.event, event);
      return;
    }
    if (!('return' in obj) && !('error' in obj)) {
      return this.fail(virError(ErrorCode.INTERNAL_ERROR, `Unknown JSON reply '${abbreviate(line)}'`, ErrorDomain.QEMU));
    }
    // QEMU echoes the id; a reply without one (e.g. to unparsable input) belongs to the oldest command.
    const cmd = typeof obj.id === 'string' ? this.pending.get(obj.id) : this.pending.values().next().value;
    if (cmd === undefined) return; // reply to a command that already timed out
    this.pending.delete(cmd.id);
    clearTimeout(cmd.timer);
    if (cmd.wholeReply) {
      cmd.resolve(line);
    } else if ('error' in obj) {
      const err = (obj.error ?? {}) as { class?: string; desc?: string };
      cmd.reject(qmpCommandError(cmd.command, err.class, err.desc));
    } else {
      cmd.resolve(obj.return);
    }
  }

  /** Ends the connection once; `error` undefined means a deliberate close. */
  private fail(error: Error | undefined): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error ?? null;
    this.chunks = [];
    this.socket.destroy();
    const reason = error ?? virError(ErrorCode.OPERATION_FAILED, 'QEMU monitor was closed', ErrorDomain.QEMU);
    this.greetingWaiter?.reject(reason);
    this.greetingWaiter = undefined;
    for (const cmd of this.pending.values()) {
      clearTimeout(cmd.timer);
      cmd.reject(reason);
    }
    this.pending.clear();
    this.emit('close', error);
  }
}

/** A QMP error reply as libvirt reports it; `qmpClass` keeps QEMU's error class. */
export class QmpCommandError extends VirError {
  constructor(message: string, readonly qmpClass: string | undefined, readonly command: string) {
    super(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, message);
  }
}

function qmpCommandError(command: string, qmpClass: string | undefined, desc: string | undefined): QmpCommandError {
  const base = virError(ErrorCode.INTERNAL_ERROR, desc ? `unable to execute QEMU command '${command}': ${desc}` : `unable to execute QEMU command '${command}'`);
  return new QmpCommandError(base.message, qmpClass, command);
}

function abbreviate(line: string): string {
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

async function connectSocket(socketPath: string): Promise<net.Socket> {
  // node:net is loaded by the first connection, not by every process that imports the driver
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
