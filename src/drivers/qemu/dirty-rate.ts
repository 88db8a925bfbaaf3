// virDomainStartDirtyRateCalc on the qemu driver (libvirt's
// qemuDomainStartDirtyRateCalc): QEMU measures how fast the guest dirties its
// memory over 1 to 60 seconds (calc-dirty-rate); domstats --dirtyrate reads
// the result (domain-stats.ts).
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virDomainDirtyRateCalcFlags (page sampling is 0, the default) */
const MODE_DIRTY_BITMAP = 1 << 0;
const MODE_DIRTY_RING = 1 << 1;
const MIN_CALC_SECONDS = 1;
const MAX_CALC_SECONDS = 60;

/** Whether the definition turns KVM's dirty ring on (<features><kvm><dirty-ring state='on'/>). */
function dirtyRingEnabled(def: Parameters<typeof child>[0]): boolean {
  const kvm = child(child(def, 'features') ?? def, 'kvm');
  return kvm !== undefined && child(kvm, 'dirty-ring')?.attrs.state === 'on';
}

export async function startDirtyRateCalc(driver: QemuDriver, dom: DomainRef, seconds: number, flags: number): Promise<void> {
  checkFlags(flags, MODE_DIRTY_BITMAP | MODE_DIRTY_RING, 'qemuDomainStartDirtyRateCalc');
  if (seconds < MIN_CALC_SECONDS || seconds > MAX_CALC_SECONDS) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `seconds=${seconds} is invalid, please choose value within [${MIN_CALC_SECONDS}, ${MAX_CALC_SECONDS}].`, ErrorDomain.QEMU);
  }
  await driver.runtime.withRunning(dom, async (_obj, running) => {
    let mode: string | undefined;
    if (flags & MODE_DIRTY_BITMAP) {
      mode = 'dirty-bitmap';
    } else if (flags & MODE_DIRTY_RING) {
      if (!dirtyRingEnabled(running.live)) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'dirty-ring calculation mode requires dirty-ring feature enabled.', ErrorDomain.QEMU);
      mode = 'dirty-ring';
    }
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    await qmp.execute('calc-dirty-rate', { 'calc-time': seconds, ...(mode === undefined ? {} : { mode }) });
  });
}
