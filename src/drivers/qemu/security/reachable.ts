// QEMU, dropped to its own user, must be able to walk to the files it opens. A
// state root made by root with `mktemp -d` (0700) lets QEMU start and then fail
// on its first file with a bare "Permission denied"; this finds the folder in the
// way first, so the start can name it.
import { statSync } from 'node:fs';
import path from 'node:path';

/** The outermost folder above `target` that `who` may not search (no x bit for it), or undefined. */
export function unreachableFolder(target: string, who: { uid: number; gid: number }, groups: ReadonlySet<number>): string | undefined {
  const folders: string[] = [];
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    folders.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  return folders.find((dir) => {
    const st = statSync(dir);
    const bit = st.uid === who.uid ? 0o100 : st.gid === who.gid || groups.has(st.gid) ? 0o010 : 0o001;
    return (st.mode & bit) === 0;
  });
}
