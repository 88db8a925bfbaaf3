// Runs libvirt's recorded virsh corpus (../shared/conformance/run-virsh.mjs)
// against bin/tsvirsh from the project root and requires the bar:
// at least 95% of the scenarios byte-identical to virsh 9.0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, sharedPath } from '../helpers/shared.js';

const run = promisify(execFile);
const REQUIRED_PERCENT = 95;

test('virsh conformance corpus: at least 95% of scenarios identical to virsh 9.0', { timeout: 20 * 60_000 }, async (t) => {
  const runner = sharedPath('conformance/run-virsh.mjs');
  if ('skip' in runner) return t.skip(runner.skip);
  const floors = JSON.parse(readFileSync(path.join(projectRoot, 'test/conformance/thresholds.json'), 'utf8')) as { virsh?: number };
  const { stdout } = await run(process.execPath, [runner.path, '--virsh', 'bin/tsvirsh', '--jobs', '2'], {
    cwd: projectRoot,
    maxBuffer: 64 << 20,
  }).catch((e: { code?: number; stdout?: string }) => {
    if (e.code !== 1 || e.stdout === undefined) throw e; // exit 1 = some scenario failed
    return { stdout: e.stdout };
  });
  const summary = /^(\d+) passed, (\d+) failed$/m.exec(stdout);
  assert.ok(summary, `no summary line in the runner's output:\n${stdout}`);
  const passed = Number(summary[1]);
  const total = passed + Number(summary[2]);
  const rate = (100 * passed) / total;
  t.diagnostic(`virsh conformance: ${passed}/${total} (${rate.toFixed(1)}%)`);
  process.stderr.write(`virsh conformance: ${passed}/${total} (${rate.toFixed(1)}%)\n`);
  const floor = Math.max(REQUIRED_PERCENT, floors.virsh ?? 0);
  assert.ok(rate >= floor, `virsh pass rate ${rate.toFixed(1)}% is below ${floor}%; failures:\n${stdout}`);
});
