// Cheap change detection for files other processes may rewrite: a file's
// identity and version as stat sees it, and a folder watch that says whether a
// folder may have changed since the last look.

import { statSync } from 'node:fs';

export interface FileStamp {
  dev: number;
  ino: number;
  size: number;
  mtimeNs: bigint;
  isFile: boolean;
}

/** The stamp of `path` (symlinks followed), or undefined when it does not exist or cannot be read. */
export function stampOf(path: string): FileStamp | undefined {
  try {
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st) return undefined;
    return { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs, isFile: st.isFile() };
  } catch {
    return undefined;
  }
}

/** Same file, same version: a rewrite by rename changes the inode, one in place the size or mtime. */
export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/**
 * File systems stamp changes with a coarse clock (a scheduler tick, a few ms),
 * so a folder changed right after we looked can keep the mtime we saw. Like
 * git's "racily clean" index entries, an mtime this close to our look proves
 * nothing.
 */
const RACY_WINDOW_NS = 50_000_000n;

const wallClockNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** Tells whether a folder's entries may have changed since the previous call. */
export class DirectoryWatch {
  private last?: FileStamp;
  private lookedAtNs = 0n;

  constructor(readonly dir: string) {}

  /**
   * True on the first call, when the folder's stamp moved, or when the stamp
   * cannot be trusted yet; the caller then re-reads the folder.
   */
  changed(): boolean {
    const now = wallClockNs();
    const stamp = stampOf(this.dir);
    if (stamp && sameStamp(this.last, stamp) && stamp.mtimeNs + RACY_WINDOW_NS < this.lookedAtNs) return false;
    this.last = stamp;
    this.lookedAtNs = now;
    return true;
  }

  /** The folder's stamp at the last look (undefined before it, or when it could not be read). */
  get stamp(): FileStamp | undefined {
    return this.last;
  }

  /**
   * The folder's stamp from the last look, if that look proved it (the mtime was
   * older than the clock granularity then): a record of what the folder held at
   * that look may be trusted for as long as the folder keeps this stamp.
   */
  provenStamp(): FileStamp | undefined {
    return this.last && this.last.mtimeNs + RACY_WINDOW_NS < this.lookedAtNs ? this.last : undefined;
  }

  /** Makes the next changed() true (something in the folder changed in place). */
  forget(): void {
    this.last = undefined;
  }
}
