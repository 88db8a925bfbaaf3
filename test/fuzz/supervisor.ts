// Runs a whole fuzz sequence in worker processes: an input still running after
// KILL_MS is a hang, one that exhausts the heap a memory finding; either way
// its worker is killed and a new one resumes after it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { emptyReport, mergeReport, type FuzzReport } from './harness.js';
import type { WorkerJob } from './worker.js';

/** An input that has not finished after this long is certainly a hang (the criterion is 1 s). */
const KILL_MS = 10_000;
/** Heap of a worker: an input that needs more is a memory exhaustion, not a reason to take the run down. */
const WORKER_HEAP_MB = 768;

export interface RunOptions {
  corpusDir: string;
  seed: number;
  count: number;
  onProgress?: (done: number) => void;
  /** the report being filled, so that an interrupted run can still print it */
  report?: FuzzReport;
}

export async function runFuzz(options: RunOptions): Promise<FuzzReport> {
  const total = options.report ?? emptyReport();
  const skip = new Set<number>();
  let from = 0;
  while (from < options.count) {
    const stuck = await runWorker({ corpusDir: options.corpusDir, seed: options.seed, from, count: options.count, skip }, total, options.onProgress);
    if (!stuck) break;
    // results after the last flush were lost with the worker: run them again, all but the stuck one
    skip.add(stuck.index);
    const detail = stuck.outOfMemory ? `needed over ${WORKER_HEAP_MB} MB of heap (worker stopped)` : `still running after ${KILL_MS} ms (worker killed)`;
    total.findings.push({ index: stuck.index, kind: stuck.outOfMemory ? 'memory' : 'hang', detail, ops: stuck.ops, seedFile: stuck.seedFile });
    total.inputs++;
    from = stuck.resumeFrom;
  }
  return total;
}

interface Stuck {
  index: number;
  ops: string[];
  seedFile: string;
  resumeFrom: number;
  outOfMemory?: boolean;
}

function runWorker(job: WorkerJob, total: FuzzReport, onProgress?: (done: number) => void): Promise<Stuck | undefined> {
  return new Promise((resolve, reject) => {
    const worker = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), [], {
      execArgv: [`--max-old-space-size=${WORKER_HEAP_MB}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    worker.send({ ...job, skip: new Set(job.skip) });
    let current: { index: number; ops: string[]; seedFile: string; since: number } | undefined;
    let resumeFrom = job.from;
    let finished = false;
    const watchdog = setInterval(() => {
      if (!current || Date.now() - current.since < KILL_MS) return;
      const stuck = { index: current.index, ops: current.ops, seedFile: current.seedFile, resumeFrom };
      finished = true;
      clearInterval(watchdog);
      worker.once('exit', () => resolve(stuck));
      worker.kill('SIGKILL');
    }, 250);
    worker.on('message', (m: { type: string; index: number; ops: string[]; seedFile: string; part: FuzzReport; lastIndex: number }) => {
      if (m.type === 'input') current = { index: m.index, ops: m.ops, seedFile: m.seedFile, since: Date.now() };
      else if (m.type === 'part') {
        mergeReport(total, m.part);
        resumeFrom = m.lastIndex + 1;
        onProgress?.(total.inputs);
      } else if (m.type === 'done') {
        finished = true;
        clearInterval(watchdog);
        resolve(undefined);
      }
    });
    worker.on('error', (e) => {
      clearInterval(watchdog);
      if (!finished) reject(e);
      finished = true;
    });
    worker.on('exit', (code, signal) => {
      clearInterval(watchdog);
      if (finished) return;
      finished = true;
      // V8 aborts the process when the heap limit is hit
      if (current && (signal === 'SIGABRT' || signal === 'SIGTRAP' || code === 134)) resolve({ index: current.index, ops: current.ops, seedFile: current.seedFile, resumeFrom, outOfMemory: true });
      else reject(new Error(`fuzz worker exited with code ${code} signal ${signal}`));
    });
  });
}
