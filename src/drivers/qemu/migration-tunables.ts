// The migration tunables of a domain (migrate-setmaxdowntime, migrate-setspeed,
// migrate-compcache, migrate-postcopy and their getters): QEMU's migration
// parameters, read with query-migrate-parameters and changed with
// migrate-set-parameters, which refuses values out of its range with its own
// words; and the bandwidth limit libvirt keeps for the domain's next migration
// (migration-bandwidth.ts).
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { QemuJson } from '../../util/json.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import type { QmpClient } from './qmp.js';
import { MIGRATION_BANDWIDTH_MAX, migrationBandwidth, setMigrationBandwidth } from './migration-bandwidth.js';

/** VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY */
const MAX_SPEED_POSTCOPY = 1 << 0;
const MiB = 1024n * 1024n;
/** ULLONG_MAX bytes/s in MiB/s: the post-copy limit is not capped by libvirt's own bandwidth type */
const POSTCOPY_BANDWIDTH_MAX = (2n ** 64n - 1n) / MiB;

type MigrationParameters = Record<string, QemuJson>;

/** A 64-bit parameter as QEMU printed it (JSON numbers above 2^53 arrive as doubles; libvirt's values are multiples of 1 MiB, which stay exact). */
const unsigned64 = (value: QemuJson): bigint | undefined => (typeof value === 'number' ? BigInt(Math.trunc(value)) : undefined);

async function fetchParameters(qmp: QmpClient): Promise<MigrationParameters> {
  return qmp.execute<MigrationParameters>('query-migrate-parameters');
}

async function applyParameters(qmp: QmpClient, params: MigrationParameters): Promise<void> {
  await qmp.execute('migrate-set-parameters', params);
}

/** qemuMigrationCapsGet(XBZRLE): whether this QEMU can compress repeated pages. */
async function requireXbzrle(qmp: QmpClient): Promise<void> {
  const caps = await qmp.execute<Array<{ capability: string }>>('query-migrate-capabilities');
  if (!caps.some((c) => c.capability === 'xbzrle')) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'Compressed migration is not supported by QEMU binary', ErrorDomain.QEMU);
  }
}

/** Runs `fn` on the running domain's monitor, under the domain's lock ("domain is not running" otherwise). */
function withMonitor<T>(driver: QemuDriver, dom: DomainRef, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  return driver.runtime.withRunning(dom, async (_obj, running) => fn(await driver.runtime.runtime.ensureMonitor(running)));
}

export async function setMaxDowntime(driver: QemuDriver, dom: DomainRef, downtime: bigint, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainMigrateSetMaxDowntime');
  await withMonitor(driver, dom, (qmp) => applyParameters(qmp, { 'downtime-limit': downtime }));
}

export async function maxDowntime(driver: QemuDriver, dom: DomainRef, flags: number): Promise<bigint> {
  checkFlags(flags, 0, 'qemuDomainMigrateGetMaxDowntime');
  const downtime = unsigned64((await withMonitor(driver, dom, fetchParameters))['downtime-limit']);
  if (downtime === undefined) throw virError(ErrorCode.OPERATION_INVALID, 'Querying migration downtime is not supported by QEMU binary', ErrorDomain.QEMU);
  return downtime;
}

export async function compressionCache(driver: QemuDriver, dom: DomainRef, flags: number): Promise<bigint> {
  checkFlags(flags, 0, 'qemuDomainMigrateGetCompressionCache');
  return withMonitor(driver, dom, async (qmp) => {
    await requireXbzrle(qmp);
    return unsigned64((await fetchParameters(qmp))['xbzrle-cache-size']) ?? 0n;
  });
}

export async function setCompressionCache(driver: QemuDriver, dom: DomainRef, cacheSize: bigint, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainMigrateSetCompressionCache');
  await withMonitor(driver, dom, async (qmp) => {
    await requireXbzrle(qmp);
    await applyParameters(qmp, { 'xbzrle-cache-size': cacheSize });
  });
}

/**
 * qemuDomainMigrateSetMaxSpeed: the pre-copy limit of an inactive domain is
 * only remembered; a running one's QEMU gets it at once. The post-copy limit
 * lives in QEMU alone.
 */
export async function setMaxSpeed(driver: QemuDriver, dom: DomainRef, bandwidth: bigint, flags: number): Promise<void> {
  checkFlags(flags, MAX_SPEED_POSTCOPY, 'qemuDomainMigrateSetMaxSpeed');
  const postcopy = (flags & MAX_SPEED_POSTCOPY) !== 0;
  const max = postcopy ? POSTCOPY_BANDWIDTH_MAX : MIGRATION_BANDWIDTH_MAX;
  if (bandwidth > max) throw virError(ErrorCode.OVERFLOW, `bandwidth must be less than ${max + 1n}`, ErrorDomain.QEMU);
  const remember = (uuid: string) => setMigrationBandwidth(driver.paths.stateDir, uuid, bandwidth, new Set(driver.store.list().map((o) => o.uuid)));
  if (postcopy) {
    await withMonitor(driver, dom, (qmp) => applyParameters(qmp, { 'max-postcopy-bandwidth': bandwidth * MiB }));
    return;
  }
  await driver.runtime.withDomain(dom, async (obj, running) => {
    if (running) await applyParameters(await driver.runtime.runtime.ensureMonitor(running), { 'max-bandwidth': bandwidth * MiB });
    await remember(obj.uuid);
  });
}

export async function maxSpeed(driver: QemuDriver, dom: DomainRef, flags: number): Promise<bigint> {
  checkFlags(flags, MAX_SPEED_POSTCOPY, 'qemuDomainMigrateGetMaxSpeed');
  if ((flags & MAX_SPEED_POSTCOPY) === 0) return migrationBandwidth(driver.paths.stateDir, (await driver.objectOf(dom)).uuid);
  const bytes = unsigned64((await withMonitor(driver, dom, fetchParameters))['max-postcopy-bandwidth']);
  if (bytes === undefined) {
    throw virError(ErrorCode.OPERATION_INVALID, 'querying maximum post-copy migration speed is not supported by QEMU binary', ErrorDomain.QEMU);
  }
  return bytes / MiB;
}

/**
 * qemuDomainMigrateStartPostCopy switches an outgoing migration started with
 * VIR_MIGRATE_POSTCOPY; tsvirt runs no outgoing migration, so a running domain
 * gets libvirt's answer for one without it.
 */
export async function startPostCopy(driver: QemuDriver, dom: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainMigrateStartPostCopy');
  await driver.runtime.withRunning(dom, async () => {
    throw virError(ErrorCode.OPERATION_INVALID, 'post-copy can only be started while outgoing migration is in progress', ErrorDomain.QEMU);
  }, { monitor: false });
}
