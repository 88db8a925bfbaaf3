// tsvirtd's qemu driver is the only writer of the state folders it serves, as
// libvirtd is of its own: it keeps the domain list and its locks in memory and
// reads nothing back per call. An embedded driver (qemu:///embed?root=DIR) on
// the same folders would change them behind the daemon's back, so the daemon
// claims them for as long as it runs (a lock file naming it; a daemon that died
// leaves a stale one, taken over by the next), and an embedded driver refuses
// to open claimed folders, or to change them if it opened them before the claim.

import { join } from 'node:path';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { acquireFileLock, liveHolder } from '../../util/file-lock.js';
import type { QemuPaths } from './paths.js';

const ownerLock = (paths: QemuPaths) => join(paths.lockDir, 'daemon.lock');

function servedError(paths: QemuPaths, pid: number) {
  return virError(ErrorCode.OPERATION_INVALID, `the state folders under '${paths.stateDir}' are served by tsvirtd (pid ${pid}); connect through its socket`, ErrorDomain.QEMU);
}

/** Refuses when a live daemon owns the folders (an embedded driver, at open and under its locks). */
export function refuseServedFolders(paths: QemuPaths): void {
  const pid = liveHolder(ownerLock(paths));
  if (pid !== undefined && pid !== process.pid) throw servedError(paths, pid);
}

/**
 * Claims the folders for this process until it exits. Run it holding the
 * driver's file lock, so that no embedded process is changing them meanwhile.
 */
export async function claimStateFolders(paths: QemuPaths): Promise<void> {
  refuseServedFolders(paths);
  try {
    // never released: the claim ends with the process
    await acquireFileLock(ownerLock(paths), { timeoutMs: 0 });
  } catch (e) {
    // another daemon claimed them in between
    const pid = liveHolder(ownerLock(paths));
    throw pid === undefined ? e : servedError(paths, pid);
  }
}
