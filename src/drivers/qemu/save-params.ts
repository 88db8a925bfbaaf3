// virDomainSaveParams / virDomainRestoreParams on the qemu driver (libvirt's
// qemuDomainSaveParams, qemuDomainRestoreParams): save and restore with the
// file and the replacement XML as typed parameters; a save without a file is a
// managed save.
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import { QemuSaveRestore, SaveFlags } from './save-restore.js';

/** VIR_DOMAIN_SAVE_PARAM_FILE, VIR_DOMAIN_SAVE_PARAM_DXML */
const SAVE_PARAMS = { file: TypedParamType.STRING, dxml: TypedParamType.STRING } as const;

function stringParam(params: readonly TypedParam[], field: keyof typeof SAVE_PARAMS): string | null {
  const p = params.find((q) => q.field === field);
  return p?.value.type === TypedParamType.STRING ? p.value.s : null;
}

export async function saveParams(driver: QemuDriver, dom: DomainRef, params: readonly TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, SaveFlags.BYPASS_CACHE | SaveFlags.RUNNING | SaveFlags.PAUSED, 'qemuDomainSaveParams');
  validateTypedParams(params, SAVE_PARAMS);
  const to = stringParam(params, 'file');
  const dxml = stringParam(params, 'dxml');
  const sr = new QemuSaveRestore(driver);
  if (to === null) await sr.managedSave(dom, flags, dxml);
  else await sr.save(dom, to, dxml, flags);
}

export async function restoreParams(driver: QemuDriver, params: readonly TypedParam[], flags: number): Promise<void> {
  validateTypedParams(params, SAVE_PARAMS);
  const from = stringParam(params, 'file');
  if (from === null) throw virError(ErrorCode.INVALID_ARG, 'missing path to restore from', ErrorDomain.QEMU);
  await new QemuSaveRestore(driver).restore(from, stringParam(params, 'dxml'), flags);
}
