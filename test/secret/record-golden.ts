// Records the golden secret transcripts with real virsh on libvirtd's
// qemu:///system (run as root, libvirtd running):
//   npm run build && node dist/test/secret/record-golden.js [scenario-name...]
// Writes test/secret/golden/NAME.txt. Each scenario runs in a fresh scratch
// folder; the secrets it leaves in libvirtd are undefined afterwards, and
// the files libvirtd left of them removed.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../helpers/shared.js';
import { realVirsh, runScenario } from '../storage/golden/runner.js';
import { listedSecrets, removeNewSecrets, secretFileInspector } from './golden/inspect.js';
import { SECRET_SCENARIOS } from './golden/scenarios.js';

const virsh = realVirsh('qemu:///system');
const SECRETS_DIR = '/etc/libvirt/secrets';

const only = process.argv.slice(2);
for (const scenario of SECRET_SCENARIOS) {
  if (only.length > 0 && !only.includes(scenario.name)) continue;
  const T = await mkdtemp('/var/tmp/tsvirt-golden-');
  const before = new Set(await listedSecrets(virsh));
  const filesBefore = new Set(await readdir(SECRETS_DIR).catch(() => []));
  try {
    const transcript = await runScenario(scenario, virsh, T, secretFileInspector(SECRETS_DIR, filesBefore));
    await writeFile(path.join(projectRoot, 'test', 'secret', 'golden', `${scenario.name}.txt`), transcript);
    process.stdout.write(`recorded ${scenario.name}\n`);
  } finally {
    await removeNewSecrets(virsh, before);
    // libvirtd leaves the definition of a secret made ephemeral again behind (scenarios.ts)
    for (const f of await readdir(SECRETS_DIR)) if (!filesBefore.has(f)) await rm(path.join(SECRETS_DIR, f));
    await rm(T, { recursive: true, force: true });
  }
}
