// Runs a whole fuzz sequence in worker threads: an input still running after
// KILL_MS is a hang; its worker is terminated and a new one resumes after it.
import { Worker } from 'node:worker_threads';
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
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: job, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    let current: { index: number; ops: string[]; seedFile: string; since: number } | undefined;
    let resumeFrom = job.from;
    let finished = false;
    const watchdog = setInterval(() => {
      if (!current || Date.now() - current.since < KILL_MS) return;
      const stuck = { index: current.index, ops: current.ops, seedFile: current.seedFile, resumeFrom };
      finished = true;
      clearInterval(watchdog);
      void worker.terminate().then(() => resolve(stuck));
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
    worker.on('error', (e: Error & { code?: string }) => {
      clearInterval(watchdog);
      if (finished) return;
      finished = true;
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY' && current) resolve({ index: current.index, ops: current.ops, seedFile: current.seedFile, resumeFrom, outOfMemory: true });
      else reject(e);
    });
    worker.on('exit', (code) => {
      clearInterval(watchdog);
      if (!finished) reject(new Error(`fuzz worker exited with code ${code}`));
    });
  });
}
