// CI-sized crash safety and race runs (the long run: node dist/test/hardening/crash-safety.js --kills 200).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { crashLoop, races, StateFolder, type CrashReport } from './crash-safety.js';

const skip = existsSync('/usr/bin/qemu-system-x86_64') ? false : 'qemu-system-x86_64 is not installed';

test('30 SIGKILLs of tsvirsh during define/undefine/start/destroy/attach/detach, then 5 race rounds: nothing lost, no stray QEMU', { skip, timeout: 900_000 }, async () => {
  const report: CrashReport = { kills: 0, operations: 0, raceRounds: 0, problems: [] };
  const state = new StateFolder();
  try {
    await crashLoop(state, 30, 20261125, report);
    await races(state, 5, 20261125, report);
  } finally {
    await state.cleanup();
  }
  assert.equal(report.kills, 30);
  assert.deepEqual(report.problems, []);
});
