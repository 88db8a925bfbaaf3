// Temporary folders the process removes on its way out when they are still there:
// a daemon stopped mid-operation exits from its signal handler, past the finally
// blocks that would have removed them.
import { rmSync } from 'node:fs';

const pending = new Set<string>();
let hooked = false;

/** Removes `dir` (recursively) when the process exits, unless the returned release ran first. */
export function removeOnExit(dir: string): () => void {
  if (!hooked) {
    process.on('exit', () => {
      for (const left of pending) rmSync(left, { recursive: true, force: true });
    });
    hooked = true;
  }
  pending.add(dir);
  return () => pending.delete(dir);
}
