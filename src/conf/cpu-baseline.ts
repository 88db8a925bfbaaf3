// libvirt's baseline CPU (virCPUBaseline): the most capable guest CPU that
// every given CPU can run. On x86 (cpu_x86.c x86Baseline) the CPUs' feature
// bits are intersected, optionally with the features the hypervisor knows,
// and the result is decoded into the closest CPU map model, preferring the
// models the inputs name; ppc64 CPUs must all be of one model; the ARM
// driver keeps the first CPU's model.

import { bitKey, featureBits, type Ppc64CpuMap, type X86CpuMap } from './cpu-map.js';
import { decodeX86Cpu, takeFeatures, type HypervisorCpuModels } from './cpu-decode.js';
import type { CpuDef, CpuFeaturePolicy } from './cpu-def-list.js';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { element, formatXml } from '../util/xml.js';

/** A guest CPU as the baseline APIs return it (mode='custom' match='exact'). */
export interface BaselineCpu {
  model: string;
  fallback: 'allow' | 'forbid';
  vendor?: string;
  features: { name: string; policy: CpuFeaturePolicy }[];
}

export interface X86BaselineOptions {
  /** the CPU models the hypervisor offers, with their blockers (any map model when absent) */
  hvModels?: HypervisorCpuModels;
  /** the features the hypervisor knows: the baseline has no other (no limit when absent) */
  knownFeatures?: readonly string[];
  /** leave out features that block migration */
  migratable: boolean;
}

function failed(message: string): Error {
  return virError(ErrorCode.OPERATION_FAILED, message, ErrorDomain.CPU);
}

/** virCPUBaseline's checks of the input, whatever the architecture. */
function checkBaselineInput(cpus: readonly CpuDef[]): void {
  if (cpus.length === 0) throw virError(ErrorCode.INVALID_ARG, 'no CPUs given', ErrorDomain.CPU);
  cpus.forEach((cpu, i) => {
    if (!cpu.model) throw virError(ErrorCode.INVALID_ARG, `no CPU model specified at index ${i}`, ErrorDomain.CPU);
  });
}

/**
 * x86ModelFromCPU: the bits of a CPU's model with its features applied in
 * order (required and forced ones added, disabled and forbidden ones taken
 * away, optional ones ignored), and the model's vendor.
 */
function x86CpuBits(map: X86CpuMap, cpu: CpuDef): { data: Set<string>; modelVendor?: string } {
  let data = new Set<string>();
  let modelVendor: string | undefined;
  if (cpu.model) {
    const model = map.models.get(cpu.model);
    if (!model) throw virError(ErrorCode.INTERNAL_ERROR, `Unknown CPU model ${cpu.model}`, ErrorDomain.CPU);
    data = featureBits(map, model.features);
    modelVendor = model.vendor;
  }
  for (const { name, policy = 'require' } of cpu.features) {
    if (policy === 'optional') continue;
    const feature = map.featureByName.get(name);
    if (!feature) throw virError(ErrorCode.INTERNAL_ERROR, `Unknown CPU feature ${name}`, ErrorDomain.CPU);
    const keys = feature.bits.map(bitKey);
    if (policy === 'require' || policy === 'force') for (const k of keys) data.add(k);
    else for (const k of keys) data.delete(k);
  }
  return { data, ...(modelVendor !== undefined ? { modelVendor } : {}) };
}

function intersect(a: Set<string>, b: ReadonlySet<string>): void {
  for (const k of a) if (!b.has(k)) a.delete(k);
}

/** virCPUx86Baseline. */
export function baselineX86Cpu(map: X86CpuMap, cpus: readonly CpuDef[], options: X86BaselineOptions): BaselineCpu {
  checkBaselineInput(cpus);
  const [first, ...others] = cpus as [CpuDef, ...CpuDef[]];
  const base = x86CpuBits(map, first).data;
  // the vendor is printed only when every CPU names it
  let outputVendor = first.vendor !== undefined;
  let vendor = first.vendor;
  if (vendor !== undefined && !map.vendors.has(vendor)) throw failed(`Unknown CPU vendor ${vendor}`);
  const modelNames = [first.model!];
  for (const cpu of others) {
    if (!modelNames.includes(cpu.model!)) modelNames.push(cpu.model!);
    const { data, modelVendor } = x86CpuBits(map, cpu);
    if (cpu.vendor && modelVendor && cpu.vendor !== modelVendor) {
      throw failed(`CPU vendor ${modelVendor} of model ${cpu.model} differs from vendor ${cpu.vendor}`);
    }
    if (!cpu.vendor) outputVendor = false;
    const named = cpu.vendor ?? modelVendor;
    if (named !== undefined) {
      if (vendor === undefined) {
        if (!map.vendors.has(named)) throw failed(`Unknown CPU vendor ${named}`);
        vendor = named;
      } else if (vendor !== named) {
        throw failed('CPU vendors do not match');
      }
    }
    intersect(base, data);
  }
  if (options.knownFeatures) intersect(base, featureBits(map, options.knownFeatures));
  if (base.size === 0) throw failed('CPUs are incompatible');

  const decoded = decodeX86Cpu(map, { ...(vendor !== undefined ? { vendor } : {}), data: base }, 'guest', options.hvModels, modelNames);
  if (!decoded) throw virError(ErrorCode.INTERNAL_ERROR, 'Cannot find suitable CPU model for given data', ErrorDomain.CPU);
  // no model has a non-migratable feature of its own: dropping the listed ones is enough
  const features = options.migratable ? decoded.features.filter((f) => !map.featureByName.get(f.name)?.nonMigratable) : decoded.features;
  return {
    model: decoded.model,
    fallback: modelNames.length === 1 && decoded.model === modelNames[0] ? 'forbid' : 'allow',
    ...(outputVendor && vendor !== undefined ? { vendor } : {}),
    features: [...features],
  };
}

/**
 * virCPUppc64Baseline: every CPU must name the first one's model (ppc64 CPUs
 * are compared by name) and agree on the vendor, which is kept when a CPU
 * names one and the model has none.
 */
export function baselinePpc64Cpu(map: Ppc64CpuMap, cpus: readonly CpuDef[]): BaselineCpu {
  checkBaselineInput(cpus);
  const model = cpus[0]!.model!;
  if (!map.models.has(model)) throw virError(ErrorCode.INTERNAL_ERROR, `Unknown CPU model ${model}`, ErrorDomain.CPU);
  const modelVendor = map.models.get(model);
  let vendor: string | undefined;
  for (const cpu of cpus) {
    if (cpu.model !== model) throw failed('CPUs are incompatible');
    if (!cpu.vendor) continue;
    if (!map.vendors.has(cpu.vendor)) throw failed(`Unknown CPU vendor ${cpu.vendor}`);
    if (modelVendor) {
      if (modelVendor !== cpu.vendor) throw failed(`CPU vendor ${modelVendor} of model ${model} differs from vendor ${cpu.vendor}`);
    } else if (vendor && vendor !== cpu.vendor) {
      throw failed('CPU vendors do not match');
    } else {
      vendor = cpu.vendor;
    }
  }
  return { model, fallback: 'forbid', ...(vendor !== undefined ? { vendor } : {}), features: [] };
}

/** virCPUarmBaseline: the first CPU's model, nothing else. */
export function baselineArmCpu(cpus: readonly CpuDef[]): BaselineCpu {
  checkBaselineInput(cpus);
  return { model: cpus[0]!.model!, fallback: 'allow', features: [] };
}

/**
 * virCPUx86ExpandFeatures for a guest CPU: every feature of its model
 * spelled out as required, its own required and disabled features on top,
 * the features QEMU removed from the model disabled.
 */
export function expandX86Features(map: X86CpuMap, cpu: BaselineCpu): BaselineCpu {
  const model = map.models.get(cpu.model);
  if (!model) throw virError(ErrorCode.INTERNAL_ERROR, `unknown CPU model ${cpu.model}`, ErrorDomain.CPU);
  const features = takeFeatures(map, featureBits(map, model.features)).map((name) => ({ name, policy: 'require' as CpuFeaturePolicy }));
  const update = (name: string, policy: CpuFeaturePolicy) => {
    const listed = features.find((f) => f.name === name);
    if (listed) listed.policy = policy;
    else features.push({ name, policy });
  };
  for (const f of cpu.features) if (f.policy === 'require' || f.policy === 'disable') update(f.name, f.policy);
  for (const name of model.removedFeatures) if (!features.some((f) => f.name === name)) features.push({ name, policy: 'disable' });
  return { ...cpu, features };
}

/** virCPUExpandFeatures' last step, on every architecture: features sorted by name (strcmp). */
export function sortFeatures(cpu: BaselineCpu): BaselineCpu {
  return { ...cpu, features: [...cpu.features].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

/** virCPUDefFormat of a baseline CPU. */
export function formatBaselineCpu(cpu: BaselineCpu): string {
  return formatXml(element('cpu', { mode: 'custom', match: 'exact' }, [
    element('model', { fallback: cpu.fallback }, [], cpu.model),
    ...(cpu.vendor !== undefined ? [element('vendor', {}, [], cpu.vendor)] : []),
    ...cpu.features.map((f) => element('feature', { policy: f.policy, name: f.name })),
  ]));
}
