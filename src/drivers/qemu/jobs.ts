// Job information and job abort of the qemu driver.
// Every tsvirt operation (save, restore, hotplug) runs to its end within the
// API call that started it, holding the domain lock; a caller that gets the
// lock therefore never finds a job in progress: job info reports none
// (VIR_DOMAIN_JOB_NONE) and an abort finds nothing to abort, as libvirt says
// when no async job runs. The exceptions are an outgoing migration, to a host or
// into a save image or core dump (migration-jobs.ts): its progress is QEMU's,
// and an abort cancels it; and a memory-only dump (memory-dump-jobs.ts), whose
// progress is QEMU's and which, as in libvirt, cannot be aborted.
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { ProcRet } from '../../driver/procedures.js';
import { typedParam } from '../../driver/typed-params.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import { memoryDump, queryDumpProgress, type MemoryDump } from './memory-dump-jobs.js';
import { DOMAIN_CORE_DUMP, outgoingMigration, queryProgress, type MigrationProgress, type OutgoingMigration } from './migration-jobs.js';

/** virDomainJobType */
const JOB_NONE = 0;
const JOB_UNBOUNDED = 2;
/** VIR_DOMAIN_ABORT_JOB_POSTCOPY */
const ABORT_POSTCOPY = 1 << 0;
/** VIR_DOMAIN_JOB_STATS_COMPLETED, VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED */
const JOB_STATS_FLAGS = (1 << 0) | (1 << 1);

export function noJobInfo(): ProcRet<'domainGetJobInfo'> {
  const zero = 0n;
  return {
    type: JOB_NONE, timeElapsed: zero, timeRemaining: zero, dataTotal: zero, dataProcessed: zero, dataRemaining: zero,
    memTotal: zero, memProcessed: zero, memRemaining: zero, fileTotal: zero, fileProcessed: zero, fileRemaining: zero,
  };
}

/** The domain's outgoing migration and its progress now, unless none runs (or it ended meanwhile). */
async function migrationProgress(driver: QemuDriver, dom: DomainRef): Promise<{ job: OutgoingMigration; progress: MigrationProgress } | undefined> {
  const job = outgoingMigration(driver, (await driver.objectOf(dom, { definition: false, autostart: false })).uuid);
  const progress = job && (await queryProgress(job).catch(() => undefined));
  return job && progress ? { job, progress } : undefined;
}

/** The domain's memory-only dump and its progress now (bytes written of the total), unless none runs. */
async function dumpProgress(driver: QemuDriver, dom: DomainRef): Promise<{ job: MemoryDump; total: bigint; processed: bigint } | undefined> {
  const job = memoryDump(driver, (await driver.objectOf(dom, { definition: false, autostart: false })).uuid);
  const progress = job && (await queryDumpProgress(job).catch(() => undefined));
  return job && progress ? { job, total: bytes(progress.total), processed: bytes(progress.completed) } : undefined;
}

const bytes = (n: number | undefined) => BigInt(Math.trunc(n ?? 0));
const optional = (field: string, n: number | undefined) => (n === undefined ? [] : [typedParam.ullong(field, bytes(n))]);

/** qemuDomainGetJobInfo: the data of an outgoing migration (all of it RAM: tsvirt copies no disks). */
export async function jobInfo(driver: QemuDriver, dom: DomainRef): Promise<ProcRet<'domainGetJobInfo'>> {
  const dump = await dumpProgress(driver, dom);
  if (dump) return memoryJobInfo(dump.job.startedMs, dump.total, dump.processed, dump.total - dump.processed);
  const running = await migrationProgress(driver, dom);
  if (!running) return noJobInfo();
  const ram = running.progress.ram ?? {};
  return memoryJobInfo(running.job.startedMs, bytes(ram.total), bytes(ram.transferred), bytes(ram.remaining));
}

/** A running job that moves guest memory: its data and memory figures are the same bytes. */
function memoryJobInfo(startedMs: number, total: bigint, processed: bigint, remaining: bigint): ProcRet<'domainGetJobInfo'> {
  return {
    ...noJobInfo(),
    type: JOB_UNBOUNDED,
    timeElapsed: BigInt(Date.now() - startedMs),
    dataTotal: total, dataProcessed: processed, dataRemaining: remaining,
    memTotal: total, memProcessed: processed, memRemaining: remaining,
  };
}

export async function jobStats(driver: QemuDriver, dom: DomainRef, flags: number): Promise<ProcRet<'domainGetJobStats'>> {
  checkFlags(flags, JOB_STATS_FLAGS, 'qemuDomainGetJobStats');
  // tsvirt keeps no statistics of completed jobs (VIR_DOMAIN_JOB_STATS_COMPLETED)
  if (flags !== 0) return { type: JOB_NONE, params: [] };
  const dump = await dumpProgress(driver, dom);
  if (dump) {
    const u = typedParam.ullong;
    return {
      type: JOB_UNBOUNDED,
      params: [
        typedParam.int('operation', DOMAIN_CORE_DUMP.operation),
        u('time_elapsed', Date.now() - dump.job.startedMs),
        u('memory_total', dump.total),
        u('memory_processed', dump.processed),
        u('memory_remaining', dump.total - dump.processed),
      ],
    };
  }
  const running = await migrationProgress(driver, dom);
  if (!running) return { type: JOB_NONE, params: [] };
  const ram = running.progress.ram ?? {};
  const u = typedParam.ullong;
  return {
    type: JOB_UNBOUNDED,
    params: [
      typedParam.int('operation', running.job.purpose.operation),
      u('time_elapsed', Date.now() - running.job.startedMs),
      u('data_total', bytes(ram.total)),
      u('data_processed', bytes(ram.transferred)),
      u('data_remaining', bytes(ram.remaining)),
      u('memory_total', bytes(ram.total)),
      u('memory_processed', bytes(ram.transferred)),
      u('memory_remaining', bytes(ram.remaining)),
      u('memory_constant', bytes(ram.duplicate)),
      u('memory_normal', bytes(ram.normal)),
      u('memory_normal_bytes', bytes(ram['normal-bytes'])),
      // QEMU's mbps is megabits per second
      u('memory_bps', bytes(((ram.mbps ?? 0) * 1_000_000) / 8)),
      u('memory_dirty_rate', bytes(ram['dirty-pages-rate'])),
      u('memory_page_size', bytes(ram['page-size'])),
      u('memory_iteration', bytes(ram['dirty-sync-count'])),
      // the figures QEMU reports only once it has them, as libvirt passes them on
      ...optional('memory_postcopy_requests', ram['postcopy-requests']),
      ...optional('downtime', running.progress['expected-downtime']),
      ...optional('setup_time', running.progress['setup-time']),
    ],
  };
}

export async function abortJob(driver: QemuDriver, dom: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, ABORT_POSTCOPY, 'qemuDomainAbortJobFlags');
  const { uuid } = await driver.objectOf(dom, { definition: false, autostart: false });
  if (memoryDump(driver, uuid)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot abort memory-only dump', ErrorDomain.QEMU);
  const migration = outgoingMigration(driver, uuid);
  if (migration) {
    migration.aborted = true;
    await migration.qmp.execute('migrate_cancel');
    return;
  }
  await driver.runtime.withRunning(dom, async () => {
    throw virError(ErrorCode.OPERATION_INVALID, 'no job is active on the domain', ErrorDomain.QEMU);
  }, { monitor: false });
}

/** virDomainControlState */
const CONTROL_OK = 0;

/**
 * qemuDomainGetControlInfo, answered without waiting for the domain lock as in
 * libvirt. tsvirt records no job or monitor-entry times readable without that
 * lock, so an active domain always reports 'ok' (never 'job' or 'occupied').
 */
export async function controlInfo(driver: QemuDriver, dom: DomainRef, flags: number): Promise<ProcRet<'domainGetControlInfo'>> {
  checkFlags(flags, 0, 'qemuDomainGetControlInfo');
  const obj = await driver.objectOf(dom, { definition: false, autostart: false });
  if (obj.id === -1) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);
  return { state: CONTROL_OK, details: 0, stateTime: 0n };
}
