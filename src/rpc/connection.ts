// A message connection over any byte stream (unix socket, TCP, TLS): frames in,
// frames out, reading paused and resumed on demand (libvirt stops reading a
// client that has max_client_requests calls in flight). Shared by the daemon's
// clients and the remote driver.
import type { Duplex } from 'node:stream';
import { FrameSplitter } from './frame.js';
import { decodeMessage, type DecodedMessage } from './message.js';

export interface ConnectionHandlers {
  /** One decoded message; throwing closes the connection (a header that does not decode). */
  message(message: DecodedMessage): void;
  /** The connection is gone (peer hang-up, protocol error, close()); called once. */
  closed(reason: Error | null): void;
}

export class MessageConnection {
  private readonly splitter = new FrameSplitter();
  private done = false;

  constructor(
    readonly socket: Duplex,
    private readonly handlers: ConnectionHandlers,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (e) => this.finish(e));
    socket.on('close', () => this.finish(null));
    socket.on('end', () => this.finish(null));
  }

  get closed(): boolean {
    return this.done;
  }

  send(frame: Buffer): void {
    if (!this.done) this.socket.write(frame);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(reason: Error | null = null): void {
    this.finish(reason);
  }

  private receive(chunk: Buffer): void {
    if (this.done) return;
    try {
      for (const frame of this.splitter.push(chunk)) {
        this.handlers.message(decodeMessage(frame));
        if (this.done) return;
      }
    } catch (e) {
      this.finish(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private finish(reason: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.handlers.closed(reason);
  }
}
