// The storage scenarios recorded with real virsh on libvirtd (record-golden.ts)
// replayed on tsvirt: tsvirsh on qemu:///embed, each command in its own
// connection as virsh runs it. Outputs, errors and what is left on disk (as
// qemu-img sees it) must be the same. The scratch folders have the recorder's
// prefix so table widths, which depend on path lengths, match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/main.js';
import { projectRoot } from '../helpers/shared.js';
import { runScenario, type Virsh } from './golden/runner.js';
import { STORAGE_SCENARIOS } from './golden/scenarios.js';

function tsvirsh(uri: string): Virsh {
  return async (command) => {
    let out = '';
    let err = '';
    const rc = await run(['-c', uri, command], { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
    return { out, err, rc };
  };
}

const root = await mkdtemp(path.join(tmpdir(), 'tsvirt-storage-golden-'));
test.after(() => rm(root, { recursive: true, force: true }));

for (const scenario of STORAGE_SCENARIOS) {
  test(`golden storage scenario ${scenario.name}`, async () => {
    const expected = await readFile(path.join(projectRoot, 'test', 'storage', 'golden', `${scenario.name}.txt`), 'utf8');
    const T = await mkdtemp('/var/tmp/tsvirt-golden-');
    const embed = path.join(root, scenario.name);
    try {
      const got = await runScenario(scenario, tsvirsh(`qemu:///embed?root=${embed}`), T);
      assert.equal(got, expected);
    } finally {
      await rm(T, { recursive: true, force: true });
    }
  });
}
