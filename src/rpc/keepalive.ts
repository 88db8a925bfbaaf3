// libvirt's keepalive (virkeepalive.c's behaviour): after `interval` seconds
// without receiving anything, send a PING; a peer that stays silent through
// `count` pings is declared dead one interval later. Any received message
// counts as a sign of life; a received PING is answered with a PONG at once.
import { KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, KeepaliveProcedure } from './generated/keepalive-protocol.js';
import { encodeMessage, MessageStatus, MessageType, type MessageHeader } from './message.js';

function keepaliveMessage(proc: KeepaliveProcedure): Buffer {
  return encodeMessage({
    prog: KEEPALIVE_PROGRAM,
    vers: KEEPALIVE_PROTOCOL_VERSION,
    proc,
    type: MessageType.VIR_NET_MESSAGE,
    serial: 0,
    status: MessageStatus.VIR_NET_OK,
  });
}

export const PING = keepaliveMessage(KeepaliveProcedure.KEEPALIVE_PROC_PING);
export const PONG = keepaliveMessage(KeepaliveProcedure.KEEPALIVE_PROC_PONG);

export function isKeepalive(header: MessageHeader): boolean {
  return header.prog === KEEPALIVE_PROGRAM;
}

/** What a keepalive message asks for: a PONG to send back, or nothing. */
export function keepaliveAnswer(header: MessageHeader): Buffer | null {
  return header.type === MessageType.VIR_NET_MESSAGE && header.proc === KeepaliveProcedure.KEEPALIVE_PROC_PING ? PONG : null;
}

export class Keepalive {
  private timer: NodeJS.Timeout | null = null;
  private lastReceived = Date.now();
  private unanswered = 0;

  constructor(
    private readonly intervalSeconds: number,
    private readonly count: number,
    private readonly send: (frame: Buffer) => void,
    private readonly onDead: () => void,
  ) {}

  /** Starts pinging (an interval of 0 or less disables keepalive, as in libvirt). */
  start(): void {
    if (this.timer || this.intervalSeconds <= 0) return;
    this.lastReceived = Date.now();
    this.timer = setInterval(() => this.tick(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Any message from the peer. */
  received(): void {
    this.lastReceived = Date.now();
    this.unanswered = 0;
  }

  private tick(): void {
    // a tick may fire a little early; allow for timer jitter
    if (Date.now() - this.lastReceived < this.intervalSeconds * 1000 - 50) return;
    if (this.unanswered >= this.count) {
      this.stop();
      this.onDead();
      return;
    }
    this.unanswered++;
    this.send(PING);
  }
}
