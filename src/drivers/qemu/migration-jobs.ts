// The outgoing migrations a driver runs right now: to another host, or into a
// file for a save or a core dump. A migration holds its domain's lock from
// start to end, as libvirt's async job does; job info and job abort come
// meanwhile from other calls, so they find it here, without that lock, and ask
// or cancel through the migration's own monitor connection.
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { QmpClient } from './qmp.js';
import { perDriverMap } from './per-driver-map.js';

/** What an outgoing migration is for: libvirt's job operation and how its abort fails the job. */
export interface MigrationPurpose {
  /** virDomainJobOperation */
  readonly operation: number;
  /** the message of the failure after domjobabort (libvirt's words) */
  readonly canceled: string;
}

export const MIGRATION_OUT: MigrationPurpose = { operation: 5, canceled: 'migration out: canceled by client' };
export const DOMAIN_SAVE: MigrationPurpose = { operation: 2, canceled: "job 'domain save' canceled by client" };
export const DOMAIN_CORE_DUMP: MigrationPurpose = { operation: 8, canceled: "job 'domain core dump' canceled by client" };

export interface OutgoingMigration {
  readonly qmp: QmpClient;
  readonly purpose: MigrationPurpose;
  /** Date.now() when QEMU's migrate was issued */
  readonly startedMs: number;
  /** domjobabort cancelled it */
  aborted: boolean;
}

const migrationsOf = perDriverMap<OutgoingMigration>();

/** The running outgoing migration of the domain with `uuid`, if any. */
export function outgoingMigration(driver: object, uuid: string): OutgoingMigration | undefined {
  return migrationsOf(driver).get(uuid);
}

/**
 * Runs `fn` as the domain's outgoing migration; a failure after domjobabort is
 * libvirt's "operation aborted: ..." for the migration's purpose.
 */
export async function asOutgoingMigration<T>(driver: object, uuid: string, qmp: QmpClient, fn: () => Promise<T>, purpose = MIGRATION_OUT): Promise<T> {
  const job: OutgoingMigration = { qmp, purpose, startedMs: Date.now(), aborted: false };
  const migrations = migrationsOf(driver);
  migrations.set(uuid, job);
  try {
    return await fn();
  } catch (e) {
    if (job.aborted) throw virError(ErrorCode.OPERATION_ABORTED, purpose.canceled, ErrorDomain.QEMU);
    throw e;
  } finally {
    migrations.delete(uuid);
  }
}

/** What query-migrate reports of the RAM transfer (bytes, pages, bytes/s as mbps). */
export interface MigrationProgress {
  status?: string;
  'expected-downtime'?: number;
  'setup-time'?: number;
  ram?: {
    total?: number;
    transferred?: number;
    remaining?: number;
    duplicate?: number;
    normal?: number;
    'normal-bytes'?: number;
    'dirty-pages-rate'?: number;
    'page-size'?: number;
    'dirty-sync-count'?: number;
    'postcopy-requests'?: number;
    mbps?: number;
  };
}

export function queryProgress(job: OutgoingMigration): Promise<MigrationProgress> {
  return job.qmp.execute<MigrationProgress>('query-migrate');
}
