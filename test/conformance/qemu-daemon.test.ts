// The recorded QEMU-driver corpus (../shared/conformance/run.mjs) with real virsh
// against tsvirtd (`tsvirtd --root DIR`, qemu+unix:///system?socket=DIR/run/libvirt-sock,
// the recorded host in the daemon's environment): the same answers as embed mode
// (qemu.test.ts), now through libvirt's own client and wire protocol.
// The whole corpus takes minutes on a loaded 2-core machine, so this runs every
// case that libvirt rejects at define (the errors level in full) and a fixed
// sample of every SAMPLE_STEP-th other case in id order for addresses, xml and argv.
// The full run is the README's command (section "tsvirtd").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { sharedPath } from '../helpers/shared.js';
import { expectedDifferences, qemuCorpus, recordedHostEnv, unexpectedOutcomes, runnerOutcomes, type RunnerCaseResult } from '../helpers/corpus.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';

const run = promisify(execFile);
const VIRSH = '/usr/bin/virsh';
const LEVELS = ['addresses', 'xml', 'argv', 'errors'] as const;
const SAMPLE_STEP = 10;


const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every define-error case, and every SAMPLE_STEP-th of the others. */
function sampleIds(corpus: string): string[] {
  const ids = readdirSync(corpus).filter((id) => existsSync(path.join(corpus, id, 'meta.json'))).sort();
  const rejected = (id: string) => (JSON.parse(readFileSync(path.join(corpus, id, 'meta.json'), 'utf8')) as { outcome: string }).outcome === 'define-error';
  const others = ids.filter((id) => !rejected(id));
  return [...ids.filter(rejected), ...others.filter((_, i) => i % SAMPLE_STEP === 0)];
}

test('qemu conformance corpus through tsvirtd with real virsh: define errors in full, a fixed sample at every level', { timeout: 20 * 60_000 }, async (t) => {
  const runner = sharedPath('conformance/run.mjs');
  if ('skip' in runner) return t.skip(runner.skip);
  const corpus = qemuCorpus();
  if ('skip' in corpus) return t.skip(corpus.skip);
  if (!existsSync(VIRSH)) {
    if (process.env.CI === 'true') throw new Error('virsh is not installed (CI=true requires it)');
    return t.skip('*** virsh is not installed ***');
  }
  const daemon = await spawnDaemon('', { env: recordedHostEnv(corpus.path) });
  t.after(() => daemon.stop());
  const ids = sampleIds(corpus.path);
  const report = path.join(daemon.root, 'report.json');
  await run(process.execPath, [runner.path, '--virsh', VIRSH, '--uri', daemon.uri('qemu', '/system'), '--state-root', daemon.root,
    '--filter', `^(${ids.map(escapeRegex).join('|')})$`, '--jobs', '2', '--quiet', '--json', report], { maxBuffer: 64 << 20 })
    .catch((e: { code?: number }) => { if (e.code !== 1) throw e; }); // exit 1 = some case failed
  const results = (JSON.parse(readFileSync(report, 'utf8')) as { results: RunnerCaseResult[] }).results;
  assert.equal(results.length, ids.length, 'every sampled case ran');
  const expected = expectedDifferences();
  const problems: string[] = [];
  const lines: string[] = [];
  for (const level of LEVELS) {
    const outcomes = runnerOutcomes(results, level);
    problems.push(...unexpectedOutcomes(level, outcomes, expected));
    lines.push(`${level}: ${[...outcomes.values()].filter((o) => o.pass).length}/${outcomes.size}`);
  }
  const messages = new Map(results.filter((r) => r.levels.errors!.messageExact !== undefined).map((r) => [r.id, { pass: r.levels.errors!.messageExact === true }]));
  problems.push(...unexpectedOutcomes('message', messages, expected));
  lines.push(`errors, exact message: ${[...messages.values()].filter((m) => m.pass).length}/${messages.size}`);
  for (const line of lines) t.diagnostic(line);
  process.stderr.write(`qemu conformance through tsvirtd (${results.length} of the corpus's cases):\n  ${lines.join('\n  ')}\n`);
  assert.deepEqual(problems, []);
});
