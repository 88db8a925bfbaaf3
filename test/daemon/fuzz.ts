// Mutated-frame fuzzing of a daemon: frames of the captured client streams
// (../shared/conformance/rpc/*/conn*/c2s.bin) with bytes flipped, words
// replaced, bodies cut or extended and length words changed, sent in bursts on
// fresh connections. After every burst a clean client must still get its answer
// within a second: the daemon neither crashed nor hung.
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { RpcClient } from '../../src/rpc/client.js';
import { FrameSplitter } from '../../src/rpc/frame.js';
import { REMOTE_PROCEDURES } from '../../src/rpc/generated/remote-protocol.js';

/** Every client->server frame of the captures. */
export function capturedFrames(rpcDir: string): Buffer[] {
  const frames: Buffer[] = [];
  for (const scenario of readdirSync(rpcDir, { withFileTypes: true })) {
    if (!scenario.isDirectory()) continue;
    for (const conn of readdirSync(join(rpcDir, scenario.name))) {
      if (!conn.startsWith('conn')) continue;
      const bytes = readFileSync(join(rpcDir, scenario.name, conn, 'c2s.bin'));
      frames.push(...new FrameSplitter().push(bytes));
    }
  }
  return frames;
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A mutation; `fatal` ones (a lying length word) end the connection, so a burst sends them last. */
export function mutate(frame: Buffer, random: () => number): { frame: Buffer; fatal: boolean } {
  const pick = (n: number) => Math.floor(random() * n);
  const kind = pick(6);
  return { frame: applyMutation(kind, Buffer.from(frame), pick), fatal: kind === 5 };
}

function applyMutation(kind: number, out: Buffer, pick: (n: number) => number): Buffer {
  switch (kind) {
    case 0: // flip bytes anywhere after the length word
      for (let i = 0, n = 1 + pick(4); i < n; i++) out[4 + pick(out.length - 4)] ^= 1 << pick(8);
      return out;
    case 1: {
      // replace a 4-byte word with an extreme value (counts, lengths, discriminants)
      const at = 4 + 4 * pick((out.length - 4) >> 2);
      out.writeUInt32BE([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000][pick(6)]!, at);
      return out;
    }
    case 2: {
      // cut the body short, keeping the length word consistent
      const cut = out.subarray(0, 28 + pick(Math.max(1, out.length - 28)));
      cut.writeUInt32BE(cut.length, 0);
      return cut;
    }
    case 3: {
      // junk after the body
      const longer = Buffer.concat([out, Buffer.from(Array.from({ length: 1 + pick(64) }, () => pick(256)))]);
      longer.writeUInt32BE(longer.length, 0);
      return longer;
    }
    case 4: // procedure and type from anywhere
      out.writeInt32BE(pick(500) - 10, 12);
      out.writeInt32BE(pick(8), 16);
      return out;
    default: // a length word that lies
      out.writeUInt32BE([0, 3, 27, out.length + 100, 0x02000005, 0xffffffff][pick(6)]!, 0);
      return out;
  }
}

async function sendBurst(socketPath: string, frames: Buffer[]): Promise<void> {
  const socket = connect(socketPath);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    // hang up once the daemon has been quiet for 20 ms (it must clean up after us)
    let quiet: NodeJS.Timeout | undefined;
    const idle = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => socket.destroy(), 20);
    };
    socket.on('data', idle);
    socket.once('connect', () => {
      for (const f of frames) socket.write(f);
      idle();
    });
    socket.once('close', () => {
      clearTimeout(quiet);
      resolve();
    });
  });
}

/** The daemon answers a clean AUTH_LIST within a second. */
export async function stillAlive(socketPath: string): Promise<void> {
  const client = await RpcClient.connectUnix(socketPath);
  try {
    const answer = client.call(REMOTE_PROCEDURES.authList, undefined);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('daemon did not answer within 1 s')), 1000).unref());
    await Promise.race([answer, timeout]);
  } finally {
    client.close();
  }
}

/** Sends `count` mutated frames in bursts of `burst`, checking the daemon after each burst. */
export async function fuzzDaemon(socketPath: string, corpus: Buffer[], count: number, seed: number, burst = 200): Promise<void> {
  const random = prng(seed);
  // every burst starts with a clean open so mutated calls reach the driver too
  const opening = corpus.filter((f) => f.readInt32BE(12) === 1 && f.readUInt32BE(4) === 0x20008086);
  for (let sent = 0; sent < count; sent += burst) {
    const mutated = [];
    for (let i = 0; i < burst && sent + i < count; i++) mutated.push(mutate(corpus[Math.floor(random() * corpus.length)]!, random));
    const frames = [opening[Math.floor(random() * opening.length)]!, ...mutated.filter((m) => !m.fatal).map((m) => m.frame)];
    // one lying length word ends the burst (the daemon must drop the connection); the others get their own connections
    for (const m of mutated.filter((m) => m.fatal)) {
      if (frames.length > 1) {
        await sendBurst(socketPath, [...frames.splice(1), m.frame]);
      } else {
        await sendBurst(socketPath, [m.frame]);
      }
    }
    if (frames.length > 1) await sendBurst(socketPath, frames);
    await stillAlive(socketPath);
  }
}
