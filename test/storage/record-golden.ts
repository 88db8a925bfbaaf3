// Records the golden storage transcripts with real virsh on libvirtd's
// qemu:///system (run as root, libvirtd running):
//   npm run build && node dist/test/storage/record-golden.js [scenario-name...]
// Writes test/storage/golden/NAME.txt. Every scenario works in a fresh scratch
// folder and its pool is destroyed and undefined afterwards.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../helpers/shared.js';
import { realVirsh, runScenario } from './golden/runner.js';
import { STORAGE_SCENARIOS } from './golden/scenarios.js';

const URI = 'qemu:///system';

const virsh = realVirsh(URI);

const only = process.argv.slice(2);
for (const scenario of STORAGE_SCENARIOS) {
  if (only.length > 0 && !only.includes(scenario.name)) continue;
  const T = await mkdtemp('/var/tmp/tsvirt-golden-');
  try {
    const transcript = await runScenario(scenario, virsh, T);
    await writeFile(path.join(projectRoot, 'test', 'storage', 'golden', `${scenario.name}.txt`), transcript);
    process.stdout.write(`recorded ${scenario.name}\n`);
  } finally {
    await virsh('pool-destroy tsvirt-golden-p');
    await virsh('pool-undefine tsvirt-golden-p');
    await rm(T, { recursive: true, force: true });
  }
}
