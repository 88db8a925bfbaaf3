// Cross-process exclusive locks that die with their holder.
//
// Node has no flock(), so a lock is a file created atomically with link(2)
// (fails with EEXIST when held) that names its holder as "PID STARTTIME".
// STARTTIME is field 22 of /proc/PID/stat, so a recycled pid is not mistaken
// for the holder. A lock whose holder is gone is stale and is taken over; the
// takeover itself is guarded by a short-lived "PATH.break" file so that two
// waiters can never both remove the stale lock and one remove the other's
// fresh lock. Locks are not reentrant: a holder that acquires the same path
// again waits for itself until the timeout.
//
// A waiter watches the held lock file (inotify) and tries again as soon as it
// changes, polling only as a slow fallback: fifty waiters polling every few
// milliseconds (each try creates, links and removes a file) spent more CPU
// than the holders' work, and a poll interval leaves the lock idle.

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { link, open, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { ErrorCode, ErrorDomain, virError } from './error.js';

export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** how long to wait for a busy lock (default 30 s, libvirt's job wait) */
  timeoutMs?: number;
  /** what the lock protects, for the timeout message */
  what?: string;
}

/** A .break file older than this belongs to a process that died mid-takeover. */
const BREAK_STALE_MS = 5_000;
/**
 * How often a waiter looks without a watch event: a holder that dies leaves its
 * file behind, and file systems without inotify send none.
 */
const FALLBACK_POLL_MS = 1_000;

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: fields resume after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

const ownIdentity = `${process.pid} ${processStartTime(process.pid) ?? '0'}\n`;

/** Whether the process named by a lock file's content still runs. */
function holderAlive(content: string): boolean {
  const m = /^(\d+) (\d+)\n$/.exec(content);
  if (!m) return false;
  const pid = Number(m[1]);
  const start = processStartTime(pid);
  if (start !== undefined) return start === m[2] || m[2] === '0';
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Creates `path` holding our identity; false when it already exists. */
async function tryCreate(path: string): Promise<boolean> {
  // crypto is loaded on the first lock, not by every process that imports this module
  const { randomBytes } = await import('node:crypto');
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temp, ownIdentity, { mode: 0o600 });
  try {
    await link(temp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Removes `path` if it still holds `staleContent`, under the .break guard. */
async function breakStale(path: string, staleContent: string): Promise<void> {
  const guard = `${path}.break`;
  let handle;
  try {
    handle = await open(guard, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > BREAK_STALE_MS) await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    if ((await readHolder(path)) === staleContent) await unlink(path).catch(() => undefined);
  } finally {
    await handle.close();
    await unlink(guard).catch(() => undefined);
  }
}

/** Resolves once the lock file at `path` changed or went (released), or after `ms` at the latest. */
function releasedOrTimeout(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(path, { persistent: false }, done);
      watcher.on('error', done);
    } catch {
      done(); // released before we could watch it
    }
  });
}

/** Waits until the lock at `path` is ours (the directory must exist). */
export async function acquireFileLock(path: string, options: LockOptions = {}): Promise<FileLock> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    // reading the holder first spares a try (a file created, linked, removed) while the lock is held
    const holder = await readHolder(path);
    if (holder === undefined) {
      if (await tryCreate(path)) return { path, release: () => releaseFileLock(path) };
      continue;
    }
    if (!holderAlive(holder)) {
      await breakStale(path, holder);
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw virError(ErrorCode.OPERATION_TIMEOUT, `cannot acquire ${options.what ?? 'lock'} (held by pid=${holder.split(' ')[0]})`, ErrorDomain.NONE);
    }
    await releasedOrTimeout(path, Math.min(left, FALLBACK_POLL_MS));
  }
}

/** The pid holding the lock at `path`, if a live process holds it (a stale lock counts as free). */
export function liveHolder(path: string): number | undefined {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return holderAlive(content) ? Number(content.split(' ')[0]) : undefined;
}

async function releaseFileLock(path: string): Promise<void> {
  if ((await readHolder(path)) === ownIdentity) await unlink(path).catch(() => undefined);
}

/** Runs `fn` while holding the lock at `path`. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
