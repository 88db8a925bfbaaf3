// Runs libvirt's recorded QEMU-driver corpus (../shared/conformance/run.mjs)
// against tsvirsh on a fresh embedded root and enforces the pass-rate floors
// in thresholds.json, per level, for generated and libvirt-suite cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, sharedPath, tsvirsh } from '../helpers/shared.js';

const run = promisify(execFile);
const LEVELS = ['addresses', 'xml', 'argv', 'errors'] as const;

interface CaseResult {
  id: string;
  levels: Record<string, { status: string; messageExact?: boolean }>;
}

test('qemu conformance corpus meets the recorded pass-rate floors', { timeout: 40 * 60_000 }, async (t) => {
  const corpus = sharedPath('conformance/run.mjs');
  if ('skip' in corpus) return t.skip(corpus.skip);
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-conf-'));
  const report = path.join(root, 'report.json');
  try {
    await run(process.execPath, [corpus.path, '--virsh', tsvirsh, '--uri', `qemu:///embed?root=${root}/state`,
      '--jobs', String(Math.max(2, os.availableParallelism())), '--quiet', '--json', report], { maxBuffer: 64 << 20 })
      .catch((e: { code?: number }) => { if (e.code !== 1) throw e; }); // exit 1 = some case failed
    const results = (JSON.parse(readFileSync(report, 'utf8')) as { results: CaseResult[] }).results;
    const floors = JSON.parse(readFileSync(path.join(projectRoot, 'test/conformance/thresholds.json'), 'utf8')).qemu;
    const lines: string[] = [];
    for (const family of ['gen', 'suite'] as const) {
      for (const level of LEVELS) {
        const applicable = results.filter((r) => r.id.startsWith(`${family}-`) && ['pass', 'fail'].includes(r.levels[level]!.status));
        const passed = applicable.filter((r) => r.levels[level]!.status === 'pass').length;
        const rate = applicable.length ? (100 * passed) / applicable.length : 100;
        lines.push(`${family} ${level}: ${passed}/${applicable.length} (${rate.toFixed(1)}%), floor ${floors[family][level]}%`);
        assert.ok(rate >= floors[family][level], `${family} ${level} pass rate ${rate.toFixed(1)}% fell below ${floors[family][level]}%`);
      }
      // libvirt's exact message, over the rejected inputs whose message was compared
      const checked = results.filter((r) => r.id.startsWith(`${family}-`) && r.levels.errors!.messageExact !== undefined);
      const exact = checked.filter((r) => r.levels.errors!.messageExact === true).length;
      const exactRate = checked.length ? (100 * exact) / checked.length : 100;
      lines.push(`${family} errors, exact message: ${exact}/${checked.length} (${exactRate.toFixed(1)}%), floor ${floors[family].errorsExact}%`);
      assert.ok(exactRate >= floors[family].errorsExact, `${family} exact error messages ${exactRate.toFixed(1)}% fell below ${floors[family].errorsExact}%`);
    }
    for (const line of lines) t.diagnostic(line);
    process.stderr.write(`qemu conformance:\n  ${lines.join('\n  ')}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
