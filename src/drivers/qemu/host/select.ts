// Which host the qemu driver works with: the live one, unless
// TSVIRT_RECORDED_HOST names a recorded host (a test facility: the
// conformance corpus replayed on a machine other than the one it was recorded on).
import type { HostFacts } from './facts.js';
import { LiveHostFacts } from './live.js';
import { RecordedHostFacts } from './recorded.js';

export const RECORDED_HOST_ENV = 'TSVIRT_RECORDED_HOST';

export function hostFactsFromEnvironment(env: NodeJS.ProcessEnv = process.env): HostFacts {
  const live = new LiveHostFacts();
  const dir = env[RECORDED_HOST_ENV];
  return dir ? new RecordedHostFacts(dir, live) : live;
}
