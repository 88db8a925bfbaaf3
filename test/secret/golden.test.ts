// The secret scenarios recorded with real virsh on libvirtd (record-golden.ts)
// replayed on tsvirt, twice: tsvirsh on qemu:///embed (each command in its own
// connection, as virsh runs them), and real virsh talking to tsvirtd. Outputs,
// errors and the files in etc/secrets must be the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../helpers/shared.js';
import type { StorageScenario } from '../storage/golden/scenarios.js';
import { runScenario, throughDaemon, tsvirsh, type Virsh } from '../storage/golden/runner.js';
import { listedSecrets, removeNewSecrets, secretFileInspector } from './golden/inspect.js';
import { SECRET_SCENARIOS } from './golden/scenarios.js';

/** One scenario on `virsh`, whose driver keeps its secrets in `secretsDir`; what it leaves is undefined. */
async function replay(scenario: StorageScenario, virsh: Virsh, secretsDir: string): Promise<void> {
  const expected = await readFile(path.join(projectRoot, 'test', 'secret', 'golden', `${scenario.name}.txt`), 'utf8');
  const T = await mkdtemp('/var/tmp/tsvirt-golden-');
  const before = new Set(await listedSecrets(virsh));
  const filesBefore = new Set(await readdir(secretsDir).catch(() => []));
  try {
    assert.equal(await runScenario(scenario, virsh, T, secretFileInspector(secretsDir, filesBefore)), expected);
  } finally {
    await removeNewSecrets(virsh, before);
    await rm(T, { recursive: true, force: true });
  }
}

const root = await mkdtemp(path.join(tmpdir(), 'tsvirt-secret-golden-'));
test.after(() => rm(root, { recursive: true, force: true }));

for (const scenario of SECRET_SCENARIOS) {
  test(`golden secret scenario ${scenario.name} (tsvirsh, qemu:///embed)`, () => {
    const embed = path.join(root, scenario.name);
    return replay(scenario, tsvirsh(`qemu:///embed?root=${embed}`), path.join(embed, 'etc', 'secrets'));
  });
}

test('golden secret scenarios through tsvirtd (real virsh)', (t) =>
  throughDaemon(t, async (virsh, daemon) => {
    const secretsDir = path.join(daemon.root, 'etc', 'secrets');
    for (const scenario of SECRET_SCENARIOS) await t.test(scenario.name, () => replay(scenario, virsh, secretsDir));
  }));
