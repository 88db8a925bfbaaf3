// The storage scenarios recorded with real virsh on libvirtd (record-golden.ts)
// replayed on tsvirt, twice: tsvirsh on qemu:///embed (each command in its own
// connection, as virsh runs them), and real virsh talking to tsvirtd. Outputs,
// errors and what is left on disk (as qemu-img sees it) must be the same. The
// scratch folders have the recorder's prefix so that table widths, which
// depend on path lengths, match.
import { test, type TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../helpers/shared.js';
import { runScenario, throughDaemon, tsvirsh, type Virsh } from './golden/runner.js';
import { STORAGE_SCENARIOS, type StorageScenario } from './golden/scenarios.js';

async function replay(scenario: StorageScenario, virsh: Virsh): Promise<void> {
  const expected = await readFile(path.join(projectRoot, 'test', 'storage', 'golden', `${scenario.name}.txt`), 'utf8');
  const T = await mkdtemp('/var/tmp/tsvirt-golden-');
  try {
    assert.equal(await runScenario(scenario, virsh, T), expected);
  } finally {
    await rm(T, { recursive: true, force: true });
  }
}

const root = await mkdtemp(path.join(tmpdir(), 'tsvirt-storage-golden-'));
test.after(() => rm(root, { recursive: true, force: true }));

/** Why the host cannot run a scenario (no loop device, no LVM, or a device-mapper the recording had not), or undefined. */
function missing(scenario: StorageScenario): string | undefined {
  if (!scenario.needs) return undefined;
  if (!existsSync('/sbin/pvcreate')) return 'the LVM tools are not installed (scripts/setup.sh installs lvm2)';
  try {
    execFileSync('losetup', ['-f'], { stdio: 'ignore' });
  } catch {
    return 'no free loop device';
  }
  if (scenario.needs === 'lvm-without-dm' && existsSync('/sys/class/misc/device-mapper')) return 'device-mapper works here, so lvcreate does not fail as recorded';
  return undefined;
}

/** Runs the scenario, or skips it loudly when the host lacks what it needs (as the fs pool test does: a container may have no loop device). */
async function replayIfPossible(t: TestContext, scenario: StorageScenario, virsh: Virsh): Promise<void> {
  const lacking = missing(scenario);
  if (lacking === undefined) return replay(scenario, virsh);
  t.skip(`SKIPPED LOUDLY: ${scenario.name} needs LVM on a loop device: ${lacking}`);
}

for (const scenario of STORAGE_SCENARIOS) {
  test(`golden storage scenario ${scenario.name} (tsvirsh, qemu:///embed)`, (t) => replayIfPossible(t, scenario, tsvirsh(`qemu:///embed?root=${path.join(root, scenario.name)}`)));
}

test('golden storage scenarios through tsvirtd (real virsh)', (t) =>
  throughDaemon(t, async (virsh) => {
    for (const scenario of STORAGE_SCENARIOS) {
      await t.test(scenario.name, async (st) => {
        try {
          await replayIfPossible(st, scenario, virsh);
        } finally {
          // the daemon's pools outlive a scenario: the next one starts without any
          await virsh('pool-destroy tsvirt-golden-p');
          await virsh('pool-undefine tsvirt-golden-p');
        }
      });
    }
  }));
