// The long fuzz run (README, "tsvirtd"): N mutated captured frames (default 100,000)
// against a real bin/tsvirtd on a temporary root; exits 1 if the daemon died or hung.
//   node dist/test/daemon/fuzz-long.js [FRAMES] [SEED]
import { join } from 'node:path';
import { sharedDir } from '../helpers/shared.js';
import { capturedFrames, fuzzDaemon, stillAlive } from './fuzz.js';
import { spawnDaemon } from './spawn-daemon.js';

const frames = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Date.now() % 100_000);
const daemon = await spawnDaemon();
const started = Date.now();
try {
  await fuzzDaemon(daemon.socket, capturedFrames(join(sharedDir, 'conformance', 'rpc')), frames, seed);
  await stillAlive(daemon.socket);
  process.kill(daemon.pid, 0);
  console.log(`${frames} mutated frames (seed ${seed}) in ${((Date.now() - started) / 1000).toFixed(1)} s: tsvirtd (pid ${daemon.pid}) still answers`);
} catch (e) {
  console.error(`seed ${seed}: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await daemon.stop();
}
