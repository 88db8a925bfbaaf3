// Autostart for an embedded driver. libvirt starts autostart domains when its
// daemon starts; tsvirt has no daemon, so the first driver open after the host
// booted does it: the run folder keeps the boot id (/proc/sys/kernel/random/boot_id)
// of the last boot whose autostart ran, and an open that finds another id (or
// none) takes the autostart lock, starts every persistent autostart domain that
// is not running, and records the current id. A domain that fails to start is
// reported and skipped, as libvirt does; it is not retried until the next boot.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { withFileLock } from '../../util/file-lock.js';

export const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';
/** The boot id whose autostart ran, in the driver's run (state) folder. */
export const AUTOSTART_MARKER = 'tsvirt-autostarted-boot-id';

export interface AutostartHost {
  stateDir: string;
  lockDir: string;
  /** The names of persistent autostart domains that are not running. */
  pendingDomains(): Promise<string[]>;
  start(name: string): Promise<void>;
  warn(message: string): void;
  /** where the boot id is read (tests point it elsewhere) */
  bootIdFile?: string;
}

/** Runs autostart unless it already ran since the host booted; returns the domains started. */
export async function autostartOncePerBoot(host: AutostartHost): Promise<string[]> {
  // every driver open asks: two small synchronous reads cost less than their thread-pool round trips
  const bootId = readFileSync(host.bootIdFile ?? BOOT_ID_FILE, 'utf8').trim();
  const marker = path.join(host.stateDir, AUTOSTART_MARKER);
  const ranThisBoot = () => {
    try {
      return readFileSync(marker, 'utf8').trim() === bootId;
    } catch {
      return false;
    }
  };
  if (ranThisBoot()) return []; // the common case costs one read and no lock
  return withFileLock(path.join(host.lockDir, 'autostart.lock'), async () => {
    if (ranThisBoot()) return []; // another process did it while this one waited
    const started: string[] = [];
    for (const name of await host.pendingDomains()) {
      try {
        await host.start(name);
        started.push(name);
      } catch (e) {
        host.warn(`Failed to autostart VM '${name}': ${(e as Error).message}`);
      }
    }
    await writeFileAtomic(marker, `${bootId}\n`);
    return started;
  }, { what: 'autostart lock' });
}
