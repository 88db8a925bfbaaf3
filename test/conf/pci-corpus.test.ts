// The address engine on every defined case of the conformance corpus (see
// address-harness.ts for how the engine's input is rebuilt from libvirt's output).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseIds, corpusAvailable, movedWithSpares, runCase } from './address-harness.js';

function runAll(filter: RegExp): string[] {
  const failures: string[] = [];
  for (const id of caseIds(filter)) {
    const r = runCase(id);
    if (r !== undefined && !r.ok) failures.push(`${id}: ${r.detail}`);
  }
  return failures;
}

const skip = corpusAvailable() ? false : 'conformance corpus ../shared/conformance/qemu not found';
if (skip !== false) {
  if (process.env.CI === 'true') throw new Error(skip);
  console.warn(`SKIPPING pci-corpus tests: ${skip}`);
}

test('every generated case gets libvirt\'s addresses', { skip }, () => {
  assert.deepEqual(runAll(/^gen-/), []);
});

test('every libvirt test-suite case gets libvirt\'s addresses', { skip }, () => {
  assert.deepEqual(runAll(/^suite-/), []);
});

test('with 0 or 8 spare root ports no device of any generated case moves', { skip }, () => {
  const moved = caseIds(/^gen-/).flatMap((id) => [0, 8].flatMap((n) => movedWithSpares(id, n) ?? []));
  assert.deepEqual(moved, []);
});
