// Exclusive locks inside one process, by name, with file-lock.ts's options and
// timeout message: a process that owns its state folders alone (tsvirtd) needs
// no lock files, whose creation and removal cost more than the calls they guard.

import { ErrorCode, ErrorDomain, virError } from './error.js';
import type { LockOptions } from './file-lock.js';

export class KeyedMutex {
  /** key -> the waiters' starts, in order; present while the key is held */
  private readonly held = new Map<string, Array<() => void>>();

  /** Runs `fn` holding `key`; waits in order, at most `timeoutMs` (default 30 s, 0: not at all). */
  async run<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    await this.acquire(key, options);
    try {
      return await fn();
    } finally {
      this.release(key);
    }
  }

  private acquire(key: string, options: LockOptions): Promise<void> {
    const waiters = this.held.get(key);
    if (!waiters) {
      this.held.set(key, []);
      return Promise.resolve();
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    const refusal = () => virError(ErrorCode.OPERATION_TIMEOUT, `cannot acquire ${options.what ?? 'lock'} (held by pid=${process.pid})`, ErrorDomain.NONE);
    if (timeoutMs <= 0) return Promise.reject(refusal());
    return new Promise((resolve, reject) => {
      const start = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(start), 1);
        reject(refusal());
      }, timeoutMs);
      waiters.push(start);
    });
  }

  /** Hands the key to the next waiter, or frees it. */
  private release(key: string): void {
    const next = this.held.get(key)?.shift();
    if (next) next();
    else this.held.delete(key);
  }
}
