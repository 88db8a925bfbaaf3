// What virNodeGetSecurityModel and virDomainGetSecurityLabel(List) report:
// the driver's security models in capability order (SECURITY_MODELS: the
// primary "none", then "dac", as libvirt stacks them on a host without SELinux
// or AppArmor), and per model the label of a running QEMU.
import { lstatSync } from 'node:fs';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import { dacLabel } from './identity.js';

/**
 * The security drivers tsvirt stacks, primary first: no MAC driver (SELinux,
 * AppArmor), plus DAC ownership. The primary one is the default model of a
 * <seclabel> that names none.
 */
export const SECURITY_MODELS = ['none', 'dac'] as const;

/** A C string as the protocol's char arrays carry it: its bytes and the terminating NUL. */
const cChars = (text: string): number[] => [...Buffer.from(text, 'utf8'), 0];

/** qemuNodeGetSecurityModel: the primary model of the capabilities, with its DOI. */
export function primarySecurityModel(): { model: number[]; doi: number[] } {
  return { model: cChars(SECURITY_MODELS[0]), doi: cChars('0') };
}

/** virSecurityDACGetProcessLabelInternal: the owner of /proc/PID, "+UID:+GID". */
function dacProcessLabel(pid: number): string {
  try {
    return dacLabel(lstatSync(`/proc/${pid}`));
  } catch (e) {
    throw virError(ErrorCode.SYSTEM_ERROR, `unable to get uid and gid for PID ${pid} via procfs: ${(e as Error).message}`, ErrorDomain.SECURITY);
  }
}

/**
 * The label of a running QEMU under each model (qemuDomainGetSecurityLabelList);
 * "none" has none, and neither the DAC nor the no-op driver sets `enforcing`.
 */
export function processLabels(pid: number): { label: number[]; enforcing: number }[] {
  return SECURITY_MODELS.map((model) => ({ label: cChars(model === 'dac' ? dacProcessLabel(pid) : ''), enforcing: 0 }));
}
