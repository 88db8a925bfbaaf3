// A root tsvirt acts on what its state folders hold: it runs the <emulator> a
// domain config names and signals the pids status files name. A folder another
// user owns or can write (an embed root under /var/tmp made by someone else)
// would let that user plant both, so root refuses it before reading anything.
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import type { QemuPaths } from '../paths.js';
import { requiredDirs } from '../paths.js';
import { privileged } from './identity.js';

const STICKY = 0o1000;

/** Every folder from `/` down to `dir` (inclusive). */
function ancestry(dir: string): string[] {
  const out: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    out.unshift(p);
    if (p === path.dirname(p)) return out;
  }
}

function refuse(dir: string, folder: string, why: string): never {
  const where = folder === dir ? `'${dir}'` : `'${dir}' (its folder '${folder}')`;
  throw virError(ErrorCode.OPERATION_DENIED, `refusing to use state folder ${where} as root: ${why}`, ErrorDomain.QEMU);
}

/**
 * Checks one state folder and the folders above it, as far as they exist: each
 * must belong to root and be writable by nobody else. Above the folder a
 * sticky folder writable by all (/tmp, /var/tmp) is fine: nobody can replace
 * root's entries in it. Links are checked, then followed.
 */
function checkFolder(dir: string, lstat: (folder: string) => Stats | undefined): void {
  const chain = ancestry(dir);
  for (const folder of chain) {
    const st = lstat(folder);
    if (!st) return; // created by root from here on
    if (st.uid !== 0) refuse(dir, folder, `it is owned by uid ${st.uid}, not root`);
    if (st.isSymbolicLink()) {
      checkFolder(realpathSync(folder), lstat);
      continue;
    }
    const othersWrite = (st.mode & 0o022) !== 0;
    const last = folder === chain[chain.length - 1];
    if (othersWrite && (last || (st.mode & STICKY) === 0)) {
      refuse(dir, folder, `it is writable by other users (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`);
    }
  }
}

/** Refuses state folders root cannot trust; a caller that is not root uses its own folders as it likes. */
export async function checkStateFolders(paths: QemuPaths): Promise<void> {
  if (!privileged()) return;
  const dirs = new Set([...(paths.root !== undefined ? [paths.root] : []), paths.configBaseDir, ...requiredDirs(paths)]);
  // the folders share their ancestors (/, /var, /var/lib...): each is lstat'ed once, synchronously
  // (a thread-pool round trip per lstat cost more than the calls)
  const seen = new Map<string, Stats | undefined>();
  const lstat = (folder: string): Stats | undefined => {
    if (!seen.has(folder)) {
      let st: Stats | undefined;
      try {
        st = lstatSync(folder);
      } catch {
        // absent (or not a folder): root creates it, or fails to
      }
      seen.set(folder, st);
    }
    return seen.get(folder);
  };
  for (const dir of dirs) checkFolder(dir, lstat);
}
