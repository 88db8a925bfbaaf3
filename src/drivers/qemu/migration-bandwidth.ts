// The migration bandwidth limit libvirt keeps per domain object (MiB/s): set
// by migrate-setspeed whether the domain runs or not, used by its next
// migration. libvirtd holds it in memory; every tsvirsh process of an embedded
// driver is a fresh one, so tsvirt keeps it in a small file per domain UUID
// (STATE_DIR/migration-bandwidth/UUID), absent while it is the default.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ATOMIC_TEMP_PREFIX, unlinkDurable, writeFileAtomic } from '../../util/atomic-file.js';

/** QEMU_DOMAIN_MIG_BANDWIDTH_MAX on a 64-bit host: INT64_MAX bytes/s in MiB/s, libvirt's "unlimited". */
export const MIGRATION_BANDWIDTH_MAX = (2n ** 63n - 1n) / (1024n * 1024n);

const folderOf = (stateDir: string) => path.join(stateDir, 'migration-bandwidth');

/** The domain's limit in MiB/s (MIGRATION_BANDWIDTH_MAX when never set). */
export async function migrationBandwidth(stateDir: string, uuid: string): Promise<bigint> {
  const text = await readFile(path.join(folderOf(stateDir), uuid), 'utf8').catch(() => '');
  return /^\d+\n?$/.test(text) ? BigInt(text.trim()) : MIGRATION_BANDWIDTH_MAX;
}

/**
 * Records the domain's limit (called under its lock). Files of domains the
 * driver no longer knows (`known` UUIDs) go at the same time: libvirt's value
 * dies with its domain object.
 */
export async function setMigrationBandwidth(stateDir: string, uuid: string, bandwidth: bigint, known: ReadonlySet<string>): Promise<void> {
  const folder = folderOf(stateDir);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  for (const file of await readdir(folder)) {
    if (!file.startsWith(ATOMIC_TEMP_PREFIX) && file !== uuid && !known.has(file)) await unlinkDurable(path.join(folder, file));
  }
  const file = path.join(folder, uuid);
  if (bandwidth === MIGRATION_BANDWIDTH_MAX) await unlinkDurable(file);
  else await writeFileAtomic(file, `${bandwidth}\n`);
}
