// Temporary folders for tests that are gone when the test file's process ends,
// whether its tests passed or failed: scripts/test.sh fails a CI run that leaves
// tsvirt-* entries in the temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();

// 'exit' handlers run synchronously on every normal end of the process, also after
// failed assertions or an uncaught error (node --test runs each file in its own process).
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder os.tmpdir()/tsvirt-<tag>-XXXXXX (mode 0700), removed at the end of the process. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `tsvirt-${tag}-`));
  made.add(dir);
  return dir;
}
