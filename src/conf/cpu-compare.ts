// libvirt's x86 guest/host CPU comparison (cpu_x86.c x86Compute): can a host
// whose CPU provides `host.data` run a guest <cpu> definition? Features are
// compared bit by bit using the CPU map, so aliases and models mix freely.

import { child, childrenNamed } from '../util/xml.js';
import type { XmlElement } from '../util/xml.js';
import { virError, ErrorCode, ErrorDomain } from '../util/error.js';
import { featureBits, featureNamesIn } from './cpu-map.js';
import type { X86CpuMap } from './cpu-map.js';

/** A host CPU as the comparison sees it: its vendor and the bits of every feature it provides. */
export interface X86CpuData {
  /** libvirt's vendor name (AMD, Intel, Hygon) */
  vendor?: string;
  /** bitKey()s of the provided features */
  data: ReadonlySet<string>;
  /** the features the host CPU definition names (rather than implies by its model), when known */
  listed?: ReadonlySet<string>;
}

type Policy = 'force' | 'require' | 'optional' | 'disable' | 'forbid';

/** a minus every set in `others` (a is changed and returned). */
function subtract(a: Set<string>, ...others: ReadonlySet<string>[]): Set<string> {
  for (const b of others) for (const k of b) a.delete(k);
  return a;
}

/** virCPUCompareResult without the error: how a host CPU relates to a CPU definition. */
export type CpuCompareResult =
  | { result: 'identical' | 'superset' }
  | { result: 'incompatible'; message: string };

function incompatible(map: X86CpuMap, what: string, data: ReadonlySet<string>): CpuCompareResult {
  return { result: 'incompatible', message: `${what}: ${featureNamesIn(map, data).join(', ')}` };
}

/**
 * libvirt's virCPUCheckForbiddenFeatures: a forbidden feature the host CPU
 * definition names is refused by name (one implied by the host's model is
 * left to the bitwise comparison).
 */
export function checkForbiddenFeatures(host: X86CpuData, cpu: XmlElement): void {
  const forbidden = childrenNamed(cpu, 'feature').find((f) => f.attrs.policy === 'forbid' && host.listed?.has(f.attrs.name ?? ''));
  if (forbidden) {
    throw virError(ErrorCode.CPU_INCOMPATIBLE, `Host CPU provides forbidden feature '${forbidden.attrs.name}'`, ErrorDomain.CPU);
  }
}

/** libvirt's x86 archs (a <cpu> naming another one cannot match) */
const X86_ARCHS = new Set(['i686', 'x86_64']);

/**
 * libvirt's virCPUx86Compare (x86Compute): incompatible when the CPU is for
 * another architecture or vendor, needs a feature the host lacks, the host has
 * a forbidden one, or (a guest CPU with match='strict') the host has features
 * the CPU does not mention; otherwise identical, or a superset when the host
 * has more. A host CPU definition (one with <arch>) lists required features.
 * Unknown models and features are errors.
 */
export function compareX86Cpu(map: X86CpuMap, host: X86CpuData, cpu: XmlElement): CpuCompareResult {
  const arch = trimmedText(cpu, 'arch');
  if (arch && !X86_ARCHS.has(arch)) return { result: 'incompatible', message: `CPU arch ${arch} does not match host arch` };
  const vendor = trimmedText(cpu, 'vendor');
  if (vendor && vendor !== host.vendor) return { result: 'incompatible', message: `host CPU vendor does not match required CPU vendor ${vendor}` };
  const modelName = trimmedText(cpu, 'model');
  const model = modelName ? map.models.get(modelName) : undefined;
  if (modelName && !model) throw virError(ErrorCode.INTERNAL_ERROR, `Unknown CPU model ${modelName}`, ErrorDomain.CPU);

  const named: Record<Policy, string[]> = { force: [], require: [...(model?.features ?? [])], optional: [], disable: [], forbid: [] };
  for (const f of childrenNamed(cpu, 'feature')) {
    const name = f.attrs.name ?? '';
    if (!map.featureByName.has(name)) throw virError(ErrorCode.INTERNAL_ERROR, `Unknown CPU feature ${name}`, ErrorDomain.CPU);
    const policy = (f.attrs.policy ?? 'require') as Policy;
    named[policy]?.push(name);
  }
  const force = featureBits(map, named.force);
  const require = featureBits(map, named.require);
  const optional = featureBits(map, named.optional);
  const disable = featureBits(map, named.disable);
  const forbid = featureBits(map, named.forbid);

  const forbiddenPresent = new Set([...forbid].filter((k) => host.data.has(k)));
  if (forbiddenPresent.size > 0) return incompatible(map, 'Host CPU provides forbidden features', forbiddenPresent);

  // model features that were explicitly forced, made optional or disabled are not required
  subtract(require, force, optional, disable);
  const missing = subtract(new Set(require), host.data);
  if (missing.size > 0) return incompatible(map, 'Host CPU does not provide required features', missing);

  const extra = subtract(new Set(host.data), optional, require, disable, force);
  if (extra.size === 0) return { result: 'identical' };
  const guest = child(cpu, 'arch') === undefined;
  if (guest && cpu.attrs.match === 'strict') return incompatible(map, 'Host CPU does not strictly match guest CPU: Extra features', extra);
  return { result: 'superset' };
}

/**
 * Throws libvirt's "the CPU is incompatible with host CPU" error when the
 * guest CPU needs a feature the host lacks, the host has a forbidden one, or
 * (match='strict') the host has features the guest does not mention.
 */
export function checkX86CpuCompatible(map: X86CpuMap, host: X86CpuData, cpu: XmlElement): void {
  const compared = compareX86Cpu(map, host, cpu);
  if (compared.result === 'incompatible') throw virError(ErrorCode.CPU_INCOMPATIBLE, compared.message, ErrorDomain.CPU);
}

function trimmedText(el: XmlElement, name: string): string {
  return child(el, name)?.text.trim() ?? '';
}
