// virDomainSendKey in the qemu driver (qemuDomainSendKey): the keys are
// translated to QNUM codes (XT scan codes with 0xe0 folded into bit 7) and QEMU
// presses them together with send-key, holding them hold-time ms when given.
import type { ProcArgs } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { KEYCODE_SET_NAMES, KEYCODE_SET_QNUM, translateKeycode } from '../../util/keycodes.js';
import { checkFlags, type QemuDriver } from './driver.js';

export async function sendKey(driver: QemuDriver, { dom, codeset, holdtime, keycodes, flags }: ProcArgs<'domainSendKey'>): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainSendKey');
  const qnum = codeset === KEYCODE_SET_QNUM ? keycodes : keycodes.map((code) => {
    const translated = translateKeycode(codeset, KEYCODE_SET_QNUM, code);
    if (translated < 0) {
      throw virError(ErrorCode.INTERNAL_ERROR, `cannot translate keycode ${code} of ${KEYCODE_SET_NAMES[codeset]} codeset to qnum keycode`, ErrorDomain.QEMU);
    }
    return translated;
  });
  await driver.runtime.withRunning(dom, async (_obj, running) => {
    const keys = qnum.map((code, i) => {
      if (code > 0xffff) throw virError(ErrorCode.OPERATION_FAILED, `keycode ${i} is invalid: 0x${code.toString(16).toUpperCase()}`, ErrorDomain.QEMU);
      return { type: 'number', data: code };
    });
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    // hold-time only when positive, as libvirt sends it
    await qmp.execute('send-key', { keys, ...(holdtime > 0 ? { 'hold-time': holdtime } : {}) });
  });
}
