// Temporary folders for tests, gone when the test file's process ends, whether its
// tests passed or failed (node --test runs each file in its own process):
// scripts/test.sh fails a CI run that leaves tsvirt-* entries in the temporary folder.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeOnExit } from '../../src/util/remove-on-exit.js';

/** A fresh folder os.tmpdir()/tsvirt-<tag>-XXXXXX (mode 0700), removed at the end of the process. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `tsvirt-${tag}-`));
  removeOnExit(dir);
  return dir;
}
