// Replays chosen inputs of a fuzz run (the indexes a long run reported), writes
// each as a file to try with tsvirsh or virsh, and prints what the pipeline did:
// node dist/test/fuzz/replay.js --seed S --index N[,N...] [--out DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { qemuCorpus } from '../helpers/corpus.js';
import { FuzzPipeline, fuzz, loadSeeds, summarize } from './harness.js';

const { values } = parseArgs({ options: { seed: { type: 'string' }, index: { type: 'string' }, out: { type: 'string', default: 'fuzz-replay' } } });
const seed = Number(values.seed);
const indexes = (values.index ?? '').split(',').filter(Boolean).map(Number);
if (!Number.isInteger(seed) || indexes.length === 0 || !indexes.every((i) => Number.isInteger(i) && i >= 0)) {
  process.stderr.write('usage: node dist/test/fuzz/replay.js --seed S --index N[,N...] [--out DIR]\n');
  process.exit(2);
}
const corpus = qemuCorpus();
if ('skip' in corpus) process.exit(0);
mkdirSync(values.out!, { recursive: true });
const seeds = loadSeeds(corpus.path);
const pipeline = await FuzzPipeline.open();
try {
  for (const index of indexes) {
    const report = await fuzz(pipeline, seeds, { seed, from: index, count: index + 1 }, {
      onInput: (_, input, seedFile) => {
        const file = join(values.out!, `fuzz-${seed}-${index}.xml`);
        writeFileSync(file, input.kind === 'text' ? input.text : input.bytes);
        process.stdout.write(`#${index} ${file} from ${seedFile}: ${input.ops.join('; ')}\n`);
      },
    });
    process.stdout.write(`${summarize(report)}\n`);
  }
} finally {
  await pipeline.close();
}
