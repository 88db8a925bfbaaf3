// Runs a stretch of a fuzz run in a child process, so that the supervisor can
// kill an input that never finishes (a synchronous endless loop) or that takes
// the process down (V8 aborts on some allocation failures even in worker
// threads), and go on.
import { fuzz, FuzzPipeline, loadSeeds, type FuzzRange } from './harness.js';

export interface WorkerJob extends FuzzRange {
  corpusDir: string;
}

const job = await new Promise<WorkerJob>((resolve) => process.once('message', (m) => resolve(m as WorkerJob)));
const port = { postMessage: (m: unknown) => process.send!(m) };
// the supervisor is gone (interrupted): stop instead of fuzzing for nobody
process.on('disconnect', () => process.exit(1));
const pipeline = await FuzzPipeline.open();
try {
  await fuzz(pipeline, loadSeeds(job.corpusDir), job, {
    onInput: (index, input, seedFile) => port.postMessage({ type: 'input', index, ops: input.ops, seedFile }),
    flush: { every: 200, to: (part, lastIndex) => port.postMessage({ type: 'part', part, lastIndex }) },
  });
} finally {
  await pipeline.close();
}
port.postMessage({ type: 'done' });
process.disconnect();
