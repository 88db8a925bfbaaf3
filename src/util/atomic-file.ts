// Crash-safe file replacement: readers see either the old or the new content,
// never a half-written file, even if the writer is killed or the host loses power.

import { closeSync, fsync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { basename, dirname, join } from 'node:path';

/**
 * Temporary files are named PREFIX + NAME + '.PID.RANDOM': they never end like the
 * file they replace (NAME.xml), so a loader listing *.xml never reads one left by a crash.
 */
export const ATOMIC_TEMP_PREFIX = '.tsvirt-tmp-';

const fsyncFd = promisify(fsync);

/** fsync a directory so that a rename or unlink inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory is
 * written and fsynced, renamed over `path`, and the directory is fsynced (unless
 * `syncDir` is false: the rename is still atomic, but a power loss right after
 * it may bring the old content back, as with libvirt's virFileRewrite).
 * On failure the temporary file is removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, syncDir = true): Promise<void> {
  const dir = dirname(path);
  // crypto is loaded by the first write, not by every process that imports this module
  const { randomBytes } = await import('node:crypto');
  const temp = join(dir, `${ATOMIC_TEMP_PREFIX}${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  // only the fsyncs wait on the disk; the other steps are quick system calls,
  // made directly rather than as a thread-pool round trip each
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      writeFileSync(fd, data);
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  if (syncDir) await fsyncDir(dir);
}

/** Removes `path` (absent is fine) and makes the removal durable. */
export async function unlinkDurable(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await fsyncDir(dirname(path));
}
