// Long fuzz run: node dist/test/fuzz/run.js [--count N] [--seed S]
// Prints progress and a grouped summary; exits 1 when anything was found.
import { parseArgs } from 'node:util';
import { qemuCorpus } from '../helpers/corpus.js';
import { emptyReport, summarize } from './harness.js';
import { runFuzz } from './supervisor.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' } } });
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: node dist/test/fuzz/run.js [--count N] [--seed S]\n');
  process.exit(2);
}
const corpus = qemuCorpus();
if ('skip' in corpus) process.exit(0);
const started = Date.now();
let reported = 0;
const report = emptyReport();
const printSummary = () => process.stdout.write(`seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s, ${process.cpuUsage().user / 1e6} s CPU (main thread and workers)\n${summarize(report)}\n`);
// interrupted: what was run so far still counts
process.on('SIGTERM', () => {
  process.stdout.write('interrupted\n');
  printSummary();
  process.exit(report.findings.length ? 1 : 0);
});
await runFuzz({
  corpusDir: corpus.path, seed, count, report,
  onProgress: (done) => {
    if (done - reported < 1000 && done < count) return;
    reported = done;
    process.stderr.write(`${done}/${count} inputs, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  },
});
printSummary();
process.exit(report.findings.length ? 1 : 0);
