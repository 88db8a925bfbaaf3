// CI smoke run of the fuzz harness: 10,000 mutated conformance inputs through
// parse, post-parse, addresses, reload and argv. The long run is run.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qemuCorpus } from '../helpers/corpus.js';
import { summarize } from './harness.js';
import { runFuzz } from './supervisor.js';

const corpus = qemuCorpus();

test('10,000 mutated domain XML inputs: only libvirt-style rejections, none over 1 s', { skip: 'skip' in corpus ? corpus.skip : false, timeout: 600_000 }, async () => {
  if ('skip' in corpus) return;
  const report = await runFuzz({ corpusDir: corpus.path, seed: 20261125, count: 10_000 });
  assert.equal(report.inputs, 10_000);
  // the mutations must reach past the parser: many inputs are accepted and their argv built
  assert.ok(report.accepted > 1000, summarize(report));
  assert.deepEqual(report.findings, [], summarize(report));
});
