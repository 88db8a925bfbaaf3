// Runs libvirt's recorded QEMU-driver corpus (../shared/conformance/run.mjs)
// against tsvirsh on a fresh embedded root, on the host the corpus was
// recorded on (TSVIRT_RECORDED_HOST=<corpus>/_host), so the outcome does not
// depend on this machine's CPU, KVM or swtpm. Every case must match libvirt
// at every level that applies to it, except the expected differences
// (expected-differences.json), which must still differ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sharedPath, tsvirsh } from '../helpers/shared.js';
import { expectedDifferences, qemuCorpus, recordedHostEnv, unexpectedOutcomes, runnerOutcomes, type RunnerCaseResult } from '../helpers/corpus.js';

const run = promisify(execFile);
const LEVELS = ['addresses', 'xml', 'argv', 'errors'] as const;


test('qemu conformance corpus: every case matches libvirt 9.0 on the recorded host, but the expected differences', { timeout: 40 * 60_000 }, async (t) => {
  const runner = sharedPath('conformance/run.mjs');
  if ('skip' in runner) return t.skip(runner.skip);
  const corpus = qemuCorpus();
  if ('skip' in corpus) return t.skip(corpus.skip);
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-conf-'));
  const report = path.join(root, 'report.json');
  try {
    await run(process.execPath, [runner.path, '--virsh', tsvirsh, '--uri', `qemu:///embed?root=${root}/state`,
      '--jobs', String(Math.max(2, os.availableParallelism())), '--quiet', '--json', report], { maxBuffer: 64 << 20, env: recordedHostEnv(corpus.path) })
      .catch((e: { code?: number }) => { if (e.code !== 1) throw e; }); // exit 1 = some case failed
    const results = (JSON.parse(readFileSync(report, 'utf8')) as { results: RunnerCaseResult[] }).results;
    const expected = expectedDifferences();
    const problems: string[] = [];
    const lines: string[] = [];
    for (const level of LEVELS) {
      const outcomes = runnerOutcomes(results, level);
      problems.push(...unexpectedOutcomes(level, outcomes, expected));
      for (const family of ['gen', 'suite']) {
        const ids = [...outcomes.keys()].filter((id) => id.startsWith(`${family}-`));
        lines.push(`${family} ${level}: ${ids.filter((id) => outcomes.get(id)!.pass).length}/${ids.length}`);
      }
    }
    // libvirt's exact message, for the rejected inputs whose message was compared
    const messages = new Map(results.filter((r) => r.levels.errors!.messageExact !== undefined).map((r) => [r.id, { pass: r.levels.errors!.messageExact === true }]));
    problems.push(...unexpectedOutcomes('message', messages, expected));
    lines.push(`errors, exact message: ${[...messages.values()].filter((m) => m.pass).length}/${messages.size}`);
    for (const line of lines) t.diagnostic(line);
    process.stderr.write(`qemu conformance (recorded host):\n  ${lines.join('\n  ')}\n`);
    assert.deepEqual(problems, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
