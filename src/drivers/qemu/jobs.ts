// Job information and job abort of the qemu driver.
// Every tsvirt operation (save, restore, hotplug) runs to its end within the
// API call that started it, holding the domain lock; a caller that gets the
// lock therefore never finds a job in progress: job info reports none
// (VIR_DOMAIN_JOB_NONE) and an abort finds nothing to abort, as libvirt says
// when no async job runs.
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { ProcRet } from '../../driver/procedures.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';

/** virDomainJobType */
const JOB_NONE = 0;
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

export async function jobStats(driver: QemuDriver, dom: DomainRef, flags: number): Promise<ProcRet<'domainGetJobStats'>> {
  checkFlags(flags, JOB_STATS_FLAGS, 'qemuDomainGetJobStats');
  await driver.objectOf(dom);
  return { type: JOB_NONE, params: [] };
}

export async function abortJob(driver: QemuDriver, dom: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, ABORT_POSTCOPY, 'qemuDomainAbortJobFlags');
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
