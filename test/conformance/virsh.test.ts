// Runs libvirt's recorded virsh corpus (../shared/conformance/run-virsh.mjs)
// against bin/tsvirsh from the project root: every scenario byte-identical to
// virsh 9.0, but the expected differences (level 'virsh' in expected-differences.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, sharedPath } from '../helpers/shared.js';
import { expectedDifferences, unexpectedOutcomes } from '../helpers/corpus.js';

const run = promisify(execFile);

test('virsh conformance corpus: every scenario identical to virsh 9.0, but the expected differences', { timeout: 20 * 60_000 }, async (t) => {
  const runner = sharedPath('conformance/run-virsh.mjs');
  if ('skip' in runner) return t.skip(runner.skip);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-virsh-conf-'));
  const report = path.join(dir, 'report.json');
  try {
    await run(process.execPath, [runner.path, '--virsh', 'bin/tsvirsh', '--jobs', '2', '--json', report], {
      cwd: projectRoot,
      maxBuffer: 64 << 20,
    }).catch((e: { code?: number }) => {
      if (e.code !== 1) throw e; // exit 1 = some scenario failed
    });
    const results = (JSON.parse(readFileSync(report, 'utf8')) as { results: Array<{ id: string; pass: boolean; message?: string }> }).results;
    const outcomes = new Map(results.map((r) => [r.id, { pass: r.pass, ...(r.message ? { detail: r.message } : {}) }]));
    const line = `virsh conformance: ${results.filter((r) => r.pass).length}/${results.length}`;
    t.diagnostic(line);
    process.stderr.write(`${line}\n`);
    assert.ok(results.length > 0, 'no scenarios ran');
    assert.deepEqual(unexpectedOutcomes('virsh', outcomes, expectedDifferences()), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
