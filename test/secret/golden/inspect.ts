// What the secret scenarios look at besides virsh's output: the secret driver's
// files, and the secrets a scenario left (removed so the next one starts clean).
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Inspectors, Virsh } from '../../storage/golden/runner.js';

/** The UUIDs `secret-list` prints. */
export async function listedSecrets(virsh: Virsh): Promise<string[]> {
  const { out } = await virsh('secret-list');
  return out
    .split('\n')
    .map((line) => /^\s*([0-9a-f-]{36})\s/.exec(line)?.[1])
    .filter((u): u is string => u !== undefined);
}

/** Undefines every secret that was not there before. */
export async function removeNewSecrets(virsh: Virsh, before: ReadonlySet<string>): Promise<void> {
  for (const uuid of await listedSecrets(virsh)) if (!before.has(uuid)) await virsh(`secret-undefine ${uuid}`);
}

/**
 * '@secret-files': the folder's mode, then each file made since `before` with its
 * mode, size and content (a secret's value file is its base64 text).
 */
export function secretFileInspector(dir: string, before: ReadonlySet<string>): Inspectors {
  return {
    'secret-files': async () => {
      const mode = (m: number) => (m & 0o7777).toString(8).padStart(4, '0');
      let text = `secrets/ ${mode((await lstat(dir)).mode)}\n`;
      for (const name of (await readdir(dir)).filter((n) => !before.has(n)).sort()) {
        const file = path.join(dir, name);
        const st = await lstat(file);
        const content = await readFile(file, 'utf8');
        text += `${name} ${mode(st.mode)} size=${st.size}\n${content.replace(/^/gm, '  ')}\n`;
      }
      return text;
    },
  };
}
