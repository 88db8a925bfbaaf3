// Runs a stretch of a fuzz run in a worker thread, so that the supervisor can
// kill an input that never finishes (a synchronous endless loop) and go on.
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz, FuzzPipeline, loadSeeds, type FuzzRange } from './harness.js';

export interface WorkerJob extends FuzzRange {
  corpusDir: string;
}

const job = workerData as WorkerJob;
const port = parentPort!;
const pipeline = await FuzzPipeline.open();
try {
  await fuzz(pipeline, loadSeeds(job.corpusDir), job, {
    onInput: (index, ops, seedFile) => port.postMessage({ type: 'input', index, ops, seedFile }),
    flush: { every: 200, to: (part, lastIndex) => port.postMessage({ type: 'part', part, lastIndex }) },
  });
} finally {
  await pipeline.close();
}
port.postMessage({ type: 'done' });
