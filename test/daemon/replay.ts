// Replays a captured virsh <-> libvirtd exchange (../shared/conformance/rpc/<scenario>)
// against a daemon: every client frame is sent in the capture's global time order,
// each once the daemon's answers that preceded it on its connection have arrived,
// and the answers are compared, decoded by the corpus' own decoder, with libvirtd's
// modulo domain ids, times and serials. Keepalive traffic is left out both ways.
import { readFileSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RpcClient } from '../../src/rpc/client.js';
import { FrameSplitter } from '../../src/rpc/frame.js';
import { REMOTE_PROCEDURES } from '../../src/rpc/generated/remote-protocol.js';

const KEEPALIVE = 0x6b656570;

interface Frame {
  readonly conn: string;
  readonly dir: 'c2s' | 's2c';
  readonly t: number;
  /** the position, in the connection's timeline, of the chunk that completed the frame */
  readonly seq: number;
  readonly bytes: Buffer;
}

function isKeepalive(frame: Buffer): boolean {
  return frame.readUInt32BE(4) === KEEPALIVE;
}

/** A connection's frames of one direction, each with the time its last byte went through the proxy. */
function timedFrames(dir: string, conn: string, direction: 'c2s' | 's2c'): Frame[] {
  const bytes = readFileSync(join(dir, conn, `${direction}.bin`));
  const timeline = readFileSync(join(dir, conn, 'timeline.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l, seq) => ({ ...(JSON.parse(l) as { t: number; dir: string; off: number; len: number }), seq }))
    .filter((c) => c.dir === direction);
  const frames: Frame[] = [];
  let offset = 0;
  for (const f of new FrameSplitter().push(bytes)) {
    const end = offset + f.length;
    const chunk = timeline.find((c) => c.off < end && c.off + c.len >= end);
    offset = end;
    if (!isKeepalive(f)) frames.push({ conn, dir: direction, t: chunk?.t ?? 0, seq: chunk?.seq ?? 0, bytes: f });
  }
  return frames;
}

type Decoded = Record<string, unknown>;

/** What may differ between two runs (README "What varies"): domain ids, times, serials, the host name. */
function normalise(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v, k)]));
  }
  if (['id', 'cpuTime', 'hostname', 'serial'].includes(key)) return '*';
  return value;
}

export interface ReplayResult {
  readonly compared: number;
  readonly mismatches: string[];
}

class LiveConnection {
  readonly received: Buffer[] = [];
  private readonly splitter = new FrameSplitter();
  private waiter: (() => void) | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      for (const f of this.splitter.push(chunk)) if (!isKeepalive(f)) this.received.push(f);
      this.waiter?.();
    });
    socket.on('close', () => this.waiter?.());
  }

  /** Waits until n answers have arrived (or the daemon went quiet for `ms`). */
  async waitFor(n: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.received.length < n && !this.socket.destroyed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, Math.max(1, deadline - Date.now())).unref();
      });
      this.waiter = null;
    }
  }
}

/**
 * `hold` names a URI kept open by a separate connection during the replay, as the
 * capture did so that test:///default kept its state between virsh processes.
 */
export async function replayScenario(dir: string, socketPath: string, decoderPath: string, hold: string | null = 'test:///default'): Promise<ReplayResult> {
  const holder = hold === null ? null : await RpcClient.connectUnix(socketPath);
  if (holder) {
    await holder.call(REMOTE_PROCEDURES.authList, undefined);
    await holder.call(REMOTE_PROCEDURES.connectOpen, { name: hold, flags: 0 });
  }
  try {
    return await replay(dir, socketPath, decoderPath);
  } finally {
    holder?.close();
  }
}

async function replay(dir: string, socketPath: string, decoderPath: string): Promise<ReplayResult> {
  const { decodeFrame } = (await import(pathToFileURL(decoderPath).href)) as { decodeFrame: (f: Buffer) => Decoded };
  const conns = readdirSync(dir).filter((d) => /^conn\d+$/.test(d)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const expected = new Map(conns.map((c) => [c, timedFrames(dir, c, 's2c')]));
  const calls = conns.flatMap((c) => timedFrames(dir, c, 'c2s')).sort((a, b) => a.t - b.t || a.seq - b.seq);
  const live = new Map<string, LiveConnection>();
  for (const call of calls) {
    let conn = live.get(call.conn);
    if (!conn) {
      const socket = connect(socketPath);
      await new Promise((r) => socket.once('connect', r));
      live.set(call.conn, (conn = new LiveConnection(socket)));
    }
    // the daemon's answers that came before this call in the capture must be in first
    const before = expected.get(call.conn)!.filter((f) => f.seq < call.seq).length;
    await conn.waitFor(before, 5000);
    conn.socket.write(call.bytes);
  }
  const mismatches: string[] = [];
  let compared = 0;
  for (const name of conns) {
    const conn = live.get(name)!;
    const want = expected.get(name)!;
    await conn.waitFor(want.length, 5000);
    // give a daemon that sends too much a moment to show it
    await new Promise((r) => setTimeout(r, 20));
    conn.socket.destroy();
    const got = conn.received;
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      compared++;
      const w = want[i] ? JSON.stringify(normalise(decodeFrame(want[i]!.bytes))) : 'nothing';
      const g = got[i] ? JSON.stringify(normalise(decodeFrame(got[i]!))) : 'nothing';
      if (w !== g) mismatches.push(`${name} answer ${i}:\n  libvirtd: ${w.slice(0, 600)}\n  tsvirtd:  ${g.slice(0, 600)}`);
    }
  }
  return { compared, mismatches };
}
