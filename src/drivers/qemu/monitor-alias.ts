// A unix socket path holds at most 107 bytes (sun_path), and a deep
// qemu:///embed?root= puts the monitor socket (ROOT/lib/qemu/domain-N-NAME/
// monitor.sock) beyond that. libvirt hands QEMU a socket it opened itself;
// tsvirt must also let later processes connect, so it gives the domain folder
// a short alias instead: a private temporary folder (mode 0711, so nobody else
// can swap the link) holding a symlink to the domain folder. QEMU binds and
// clients connect through the alias; the socket itself lives in the domain
// folder. The alias path is the monitor path in the status file.
import { chmod, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** unix(7): sun_path holds 108 bytes including the terminating NUL. */
export const UNIX_PATH_MAX = 107;
const ALIAS_PREFIX = 'tsvirt-mon-';
const LINK_NAME = 'd';

export function fitsUnixSocket(socketPath: string): boolean {
  return Buffer.byteLength(socketPath) <= UNIX_PATH_MAX;
}

/** Creates the short alias of the folder holding `socketPath`; returns the socket's path through it. */
export async function createMonitorAlias(socketPath: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), ALIAS_PREFIX));
  // a QEMU that is not root must pass through (nobody but the owner lists or changes it)
  await chmod(dir, 0o711);
  await symlink(path.dirname(socketPath), path.join(dir, LINK_NAME));
  return path.join(dir, LINK_NAME, path.basename(socketPath));
}

/** Removes the alias a monitor path goes through, if it is one (monitor paths in the domain folder are left alone). */
export async function removeMonitorAlias(monitorPath: string): Promise<void> {
  const linkDir = path.dirname(monitorPath);
  const aliasDir = path.dirname(linkDir);
  if (path.basename(linkDir) !== LINK_NAME || !path.basename(aliasDir).startsWith(ALIAS_PREFIX) || path.dirname(aliasDir) !== os.tmpdir()) return;
  await rm(aliasDir, { recursive: true, force: true });
}
