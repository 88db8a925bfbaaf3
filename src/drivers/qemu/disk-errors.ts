// virDomainGetDiskErrors on the qemu driver: the I/O status QEMU keeps for each
// disk front end (query-block's io-status, present where the disk stops the
// guest on errors), in the definition's disk order.
import type { ProcRet } from '../../driver/procedures.js';
import { child } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virDomainDiskErrorCode by QEMU's BlockDeviceIoStatus; 'ok' and no status are no error. */
const IO_STATUS_ERRORS: Record<string, number> = { failed: 1, nospace: 2 };

export async function diskErrors(driver: QemuDriver, dom: DomainRef, maxerrors: number, flags: number): Promise<ProcRet<'domainGetDiskErrors'>> {
  checkFlags(flags, 0, 'qemuDomainGetDiskErrors');
  return driver.runtime.withRunning(dom, async (_obj, running) => {
    const disks = (child(running.live, 'devices')?.children ?? []).filter((d) => d.name === 'disk');
    // asked for no errors, the caller learns how many it may get
    if (maxerrors === 0) return { errors: [], nerrors: disks.length };
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    const blocks = await qmp.execute<Array<{ device?: string; qdev?: string; 'io-status'?: string }>>('query-block');
    const errors: ProcRet<'domainGetDiskErrors'>['errors'] = [];
    for (const disk of disks) {
      const alias = child(disk, 'alias')?.attrs.name ?? '';
      const entry = blocks.find((b) => b.device === alias || b.qdev === alias || b.qdev?.startsWith(`/machine/peripheral/${alias}/`));
      const error = IO_STATUS_ERRORS[entry?.['io-status'] ?? ''];
      if (error === undefined) continue;
      if (errors.length === maxerrors) break;
      errors.push({ disk: child(disk, 'target')?.attrs.dev ?? '', error });
    }
    return { errors, nerrors: errors.length };
  });
}
