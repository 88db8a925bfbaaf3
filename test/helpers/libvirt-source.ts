// libvirt 9.0.0's source tree: LIBVIRT_SRC, else ../src-libvirt/libvirt-9.0.0 beside the
// project, where scripts/setup.sh fetches it in CI. The tests reading it skip loudly
// without it, except under CI=true, where a missing source fails them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultLibvirtSrc } from '../../scripts/gen-protocol.js';

export const libvirtSrc = defaultLibvirtSrc();

/** false when every path (relative to the source tree) exists, else the skip reason. */
export function libvirtSourceMissing(what: string, ...relative: string[]): string | false {
  const absent = relative.filter((r) => !existsSync(path.join(libvirtSrc, r)));
  if (absent.length === 0) return false;
  const reason = `no libvirt source at ${libvirtSrc} (no ${absent.join(', ')}; set LIBVIRT_SRC)`;
  if (process.env.CI === 'true') throw new Error(`${what}: ${reason}; CI=true requires it (scripts/setup.sh fetches it)`);
  process.stderr.write(`*** ${what} SKIPPED: ${reason} ***\n`);
  return reason;
}
