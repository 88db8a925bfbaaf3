// The host's kernel same-page merging (KSM) knobs and counters, as libvirt's
// node memory parameters (virHostMemGetParameters/SetParameters) expose them:
// each shm_<name> is /sys/kernel/mm/ksm/<name>.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { typedParam, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { systemError } from '../../util/errno-text.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';

const KSM_DIR = '/sys/kernel/mm/ksm';

/** libvirt's parameters in its order; the tunables are uints, the counters ullongs. */
const PARAMETERS: ReadonlyArray<readonly [string, TypedParamType.UINT | TypedParamType.ULLONG]> = [
  ['pages_to_scan', TypedParamType.UINT],
  ['sleep_millisecs', TypedParamType.UINT],
  ['pages_shared', TypedParamType.ULLONG],
  ['pages_sharing', TypedParamType.ULLONG],
  ['pages_unshared', TypedParamType.ULLONG],
  ['pages_volatile', TypedParamType.ULLONG],
  ['full_scans', TypedParamType.ULLONG],
  ['merge_across_nodes', TypedParamType.UINT],
];

const SETTABLE: Readonly<Record<string, TypedParamType>> = {
  shm_pages_to_scan: TypedParamType.UINT,
  shm_sleep_millisecs: TypedParamType.UINT,
  shm_merge_across_nodes: TypedParamType.UINT,
};

/** The kernel file behind a shm_* parameter. */
const ksmFile = (field: string) => `${KSM_DIR}/${field.slice(field.indexOf('_') + 1)}`;

/**
 * The first nparams of libvirt's eight parameters (nparams 0: how many there
 * are). A knob this kernel lacks is left out, where libvirt leaves an empty slot.
 */
export function nodeMemoryParameters(nparams: number): { params: TypedParam[]; nparams: number } {
  if (nparams === 0) return { params: [], nparams: PARAMETERS.length };
  const params: TypedParam[] = [];
  for (const [name, type] of PARAMETERS.slice(0, nparams)) {
    const path = `${KSM_DIR}/${name}`;
    if (!existsSync(path)) continue;
    let text: string;
    try {
      text = readFileSync(path, 'utf8').split('\n')[0]!;
    } catch (e) {
      throw systemError(`Failed to open file '${path}'`, e, ErrorDomain.NONE);
    }
    if (!/^\d+$/.test(text)) throw virError(ErrorCode.INTERNAL_ERROR, `failed to parse ${name}`, ErrorDomain.NONE);
    params.push(type === TypedParamType.UINT ? typedParam.uint(`shm_${name}`, Number(text)) : typedParam.ullong(`shm_${name}`, BigInt(text)));
  }
  return { params, nparams: 0 };
}

/** Writes the settable knobs, after checking every one is known, a uint and offered by this kernel. */
export function setNodeMemoryParameters(params: readonly TypedParam[]): void {
  validateTypedParams(params, SETTABLE);
  for (const p of params) {
    if (!existsSync(ksmFile(p.field))) throw virError(ErrorCode.OPERATION_INVALID, `Parameter '${p.field}' is not supported by this kernel`, ErrorDomain.NONE);
  }
  for (const p of params) {
    const value = p.value.type === TypedParamType.UINT ? p.value.ui : 0;
    try {
      // a kernel knob, not a file: written in place
      writeFileSync(ksmFile(p.field), String(value));
    } catch (e) {
      throw systemError(`failed to set ${p.field}`, e, ErrorDomain.NONE);
    }
  }
}
