// The storage scenarios recorded with real virsh on libvirtd (record-golden.ts)
// replayed on tsvirt, twice: tsvirsh on qemu:///embed (each command in its own
// connection, as virsh runs them), and real virsh talking to tsvirtd. Outputs,
// errors and what is left on disk (as qemu-img sees it) must be the same. The
// scratch folders have the recorder's prefix so that table widths, which
// depend on path lengths, match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { virshInstalled } from '../helpers/libvirt.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/spawn-daemon.js';
import { projectRoot } from '../helpers/shared.js';
import { realVirsh, runScenario, tsvirsh, type Virsh } from './golden/runner.js';
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

for (const scenario of STORAGE_SCENARIOS) {
  test(`golden storage scenario ${scenario.name} (tsvirsh, qemu:///embed)`, () => replay(scenario, tsvirsh(`qemu:///embed?root=${path.join(root, scenario.name)}`)));
}

test('golden storage scenarios through tsvirtd (real virsh)', async (t) => {
  if (!virshInstalled()) {
    if (process.env.CI === 'true') throw new Error('virsh is missing (CI=true requires it: scripts/setup.sh installs libvirt-clients)');
    t.skip('SKIPPED LOUDLY: virsh is not installed, the scenarios cannot be replayed through tsvirtd');
    return;
  }
  let daemon: SpawnedDaemon | undefined;
  try {
    daemon = await spawnDaemon();
    const virsh = realVirsh(daemon.uri('qemu', '/system'));
    for (const scenario of STORAGE_SCENARIOS) {
      await t.test(scenario.name, async () => {
        try {
          await replay(scenario, virsh);
        } finally {
          // the daemon's pools outlive a scenario: the next one starts without any
          await virsh('pool-destroy tsvirt-golden-p');
          await virsh('pool-undefine tsvirt-golden-p');
        }
      });
    }
  } finally {
    await daemon?.stop();
  }
});
