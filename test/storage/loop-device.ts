// A loop device over an image file for the pool tests that need a block device;
// where the host gives none, the test is skipped loudly.
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** The loop device now backing `image`, or undefined after skipping `t` with the reason. */
export function attachLoopOrSkip(t: TestContext, image: string): string | undefined {
  try {
    return execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    t.skip(`SKIPPED LOUDLY: no loop device here (${(e as Error).message.split('\n')[0]})`);
    return undefined;
  }
}
