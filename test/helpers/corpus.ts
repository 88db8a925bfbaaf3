// The one way tests find libvirt's recorded QEMU-driver corpus
// (../shared/conformance/qemu) and the host it was recorded on (_host/),
// and the one list of cases allowed to differ from it (expected-differences.json).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HostFacts } from '../../src/drivers/qemu/host/facts.js';
import { LiveHostFacts } from '../../src/drivers/qemu/host/live.js';
import { RecordedHostFacts } from '../../src/drivers/qemu/host/recorded.js';
import { RECORDED_HOST_ENV } from '../../src/drivers/qemu/host/select.js';
import { projectRoot, sharedPath } from './shared.js';

/** The corpus folder, or why the test skips (under CI=true a missing corpus throws). */
export function qemuCorpus(): { path: string } | { skip: string } {
  return sharedPath('conformance/qemu');
}

/** The corpus folder or undefined, for scripts and harnesses that report absence themselves. */
export function qemuCorpusDir(): string | undefined {
  const found = qemuCorpus();
  return 'path' in found ? found.path : undefined;
}

/** The record of the host the corpus was recorded on. */
export function recordedHostDir(corpus: string): string {
  return path.join(corpus, '_host');
}

/** The host facts of the recording host, for in-process drivers and probes. */
export function recordedHost(corpus: string): HostFacts {
  return new RecordedHostFacts(recordedHostDir(corpus), new LiveHostFacts());
}

/** The environment that makes a tsvirsh process (or an in-process connect()) use the recording host. */
export function recordedHostEnv(corpus: string): NodeJS.ProcessEnv {
  return { ...process.env, [RECORDED_HOST_ENV]: recordedHostDir(corpus) };
}

/** Per corpus case id: the levels at which it may differ from libvirt, and why. */
export type ExpectedDifferences = ReadonlyMap<string, { levels: readonly string[]; why: string }>;

/** test/conformance/expected-differences.json. */
export function expectedDifferences(): ExpectedDifferences {
  const file = path.join(projectRoot, 'test/conformance/expected-differences.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { cases: Record<string, { levels: string[]; why: string }> };
  return new Map(Object.entries(raw.cases));
}

/** One case of run.mjs's --json report. */
export interface RunnerCaseResult {
  id: string;
  levels: Record<string, { status: string; messageExact?: boolean; diff?: string }>;
}

/** The decided outcomes (pass or fail, not skipped) of a run.mjs report at one level. */
export function runnerOutcomes(results: readonly RunnerCaseResult[], level: string): Map<string, { pass: boolean; detail: string | undefined }> {
  return new Map(results
    .filter((r) => ['pass', 'fail'].includes(r.levels[level]!.status))
    .map((r) => [r.id, { pass: r.levels[level]!.status === 'pass', detail: r.levels[level]!.diff?.split('\n')[0] }]));
}

/**
 * Compares per-case outcomes with the expected differences at one level:
 * a case failing without being listed is a regression, a listed case that
 * passes must leave the list. Returns the problems, one line each.
 */
export function unexpectedOutcomes(level: string, outcomes: ReadonlyMap<string, { pass: boolean; detail?: string | undefined }>, expected: ExpectedDifferences): string[] {
  const problems: string[] = [];
  for (const [id, outcome] of outcomes) {
    const listed = expected.get(id)?.levels.includes(level) ?? false;
    if (!outcome.pass && !listed) problems.push(`${id} (${level}): differs from libvirt and is not an expected difference${outcome.detail ? `: ${outcome.detail}` : ''}`);
    if (outcome.pass && listed) problems.push(`${id} (${level}): now matches libvirt; remove it from expected-differences.json`);
  }
  return problems;
}
