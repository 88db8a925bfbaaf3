// One end of a libvirt RPC connection, what the daemon's clients and the client
// library have in common: every received message first counts as a sign of life
// for keepalive, a keepalive PING is answered at once (whatever else is running),
// stream packets go to the stream their serial opened, and everything else is
// handed on by message type.
import type { Duplex } from 'node:stream';
import { MessageConnection } from './connection.js';
import { isKeepalive, Keepalive, keepaliveAnswer } from './keepalive.js';
import { MessageType, type DecodedMessage, type MessageHeader } from './message.js';
import { WireStream, type StreamRole } from './stream.js';

export interface PeerHandlers {
  /** CALL and CALL_WITH_FDS (what a daemon receives) */
  readonly call?: (m: DecodedMessage) => void;
  /** REPLY and REPLY_WITH_FDS (what a client receives) */
  readonly reply?: (m: DecodedMessage) => void;
  /** MESSAGE other than keepalive (events) */
  readonly message?: (m: DecodedMessage) => void;
  /** a type this end has no handler for */
  readonly unexpected: (m: DecodedMessage) => void;
  /** the connection is gone; called once, after every stream was destroyed */
  readonly closed: (reason: Error | null) => void;
}

export class RpcPeer {
  private readonly conn: MessageConnection;
  private readonly streams = new Map<number, WireStream>();
  private keepalive: Keepalive | null = null;

  constructor(
    socket: Duplex,
    private readonly handlers: PeerHandlers,
  ) {
    this.conn = new MessageConnection(socket, {
      message: (m) => this.receive(m),
      closed: (reason) => this.finish(reason),
    });
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  send(frame: Buffer): void {
    this.conn.send(frame);
  }

  pause(): void {
    this.conn.pause();
  }

  resume(): void {
    this.conn.resume();
  }

  close(reason: Error | null = null): void {
    this.conn.close(reason);
  }

  /** Pings after `interval` idle seconds; a peer silent through `count` pings is declared dead (onDead). */
  startKeepalive(interval: number, count: number, onDead: () => void): void {
    this.keepalive ??= new Keepalive(interval, count, (f) => this.conn.send(f), onDead);
    this.keepalive.start();
  }

  /** A stream whose packets carry `header`'s serial; it leaves the routing table when it closes. */
  openStream(header: MessageHeader, role: StreamRole, sparse: boolean): WireStream {
    const stream = new WireStream(header, (f) => this.conn.send(f), role, sparse, (held) => this.conn.holdForStream(stream, held), (resume) => this.conn.drained(resume));
    this.streams.set(header.serial, stream);
    stream.on('close', () => {
      this.streams.delete(header.serial);
      this.conn.holdForStream(stream, false);
    });
    return stream;
  }

  /** Ends every open stream (the connection they belong to was closed). */
  destroyStreams(): void {
    for (const stream of this.streams.values()) stream.destroy();
    this.streams.clear();
  }

  private receive(m: DecodedMessage): void {
    this.keepalive?.received();
    const { header } = m;
    if (isKeepalive(header)) {
      const answer = keepaliveAnswer(header);
      if (answer) this.conn.send(answer);
      return;
    }
    const h = this.handlers;
    switch (header.type) {
      case MessageType.VIR_NET_CALL:
      case MessageType.VIR_NET_CALL_WITH_FDS:
        return h.call ? h.call(m) : h.unexpected(m);
      case MessageType.VIR_NET_REPLY:
      case MessageType.VIR_NET_REPLY_WITH_FDS:
        return h.reply ? h.reply(m) : h.unexpected(m);
      case MessageType.VIR_NET_MESSAGE:
        return h.message ? h.message(m) : h.unexpected(m);
      case MessageType.VIR_NET_STREAM:
      case MessageType.VIR_NET_STREAM_HOLE:
        // packets of a stream no longer known are dropped, as libvirt does
        this.streams.get(header.serial)?.receive(m);
        return;
      default:
        h.unexpected(m);
    }
  }

  private finish(reason: Error | null): void {
    this.keepalive?.stop();
    this.destroyStreams();
    this.handlers.closed(reason);
  }
}
