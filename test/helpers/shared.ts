// Locates ../shared (the recorded libvirt corpora) beside the project root.
// Absent: tests skip with a loud message, except in CI where that is a failure.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (dist/test/helpers/ → three levels up). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const sharedDir = path.resolve(projectRoot, '..', 'shared');
export const tsvirsh = path.join(projectRoot, 'bin', 'tsvirsh');

/**
 * Returns the path of a folder under ../shared, or a skip reason. In CI a
 * missing corpus throws, so the run fails instead of passing vacuously.
 */
export function sharedPath(relative: string): { path: string } | { skip: string } {
  const p = path.join(sharedDir, relative);
  if (existsSync(p)) return { path: p };
  const message = `*** ${p} is absent: conformance corpus not available, test SKIPPED ***`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true requires it)`);
  process.stderr.write(`${message}\n`);
  return { skip: message };
}
