// virConnectBaselineCPU and virConnectBaselineHypervisorCPU on the qemu
// driver: the guest CPU a set of CPUs has in common, either computed from the
// CPU map alone (host CPU definitions, the architecture of the first one) or
// tailored to what one QEMU binary offers a virt type: its usable CPU models
// with their blockers and the features its host model knows (x86 only).

import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseCpuDefList, type CpuDef } from '../../conf/cpu-def-list.js';
import {
  baselineArmCpu, baselinePpc64Cpu, baselineX86Cpu, expandX86Features, formatBaselineCpu, sortFeatures,
  type BaselineCpu, type X86BaselineOptions,
} from '../../conf/cpu-baseline.js';
import { loadPpc64CpuMap, loadX86CpuMap, type X86CpuMap } from '../../conf/cpu-map.js';
import { isX86Arch } from '../../conf/machine-family.js';
import { checkFlags, type QemuDriver } from './driver.js';
import { cpuDriverOf } from './cpu-model-names.js';
import { NEVER_PASSED, qemuCpuModels } from './host-cpu-model.js';
import { lookupDefaultCaps } from './host-capabilities.js';
import { x86FeatureFromQemu } from './cpu-feature-names.js';
import type { HypervisorQuery } from './cpu-comparison.js';
import type { QemuCaps } from './capabilities.js';

/** VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES, VIR_CONNECT_BASELINE_CPU_MIGRATABLE */
const EXPAND_FEATURES = 1 << 0;
const MIGRATABLE = 1 << 1;

function cpuMap<T>(map: T | undefined, arch: string): T {
  if (!map) throw virError(ErrorCode.INTERNAL_ERROR, `cannot read libvirt's ${arch} CPU map (cpu_map)`, ErrorDomain.CPU);
  return map;
}

const x86Map = (): X86CpuMap => cpuMap(loadX86CpuMap(), 'x86');

/** virCPUBaseline: the baseline by the CPU driver of `arch`. */
function baselineFor(arch: string, cpus: readonly CpuDef[], options: X86BaselineOptions): BaselineCpu {
  const driver = cpuDriverOf(arch);
  if (driver === 'x86') return baselineX86Cpu(x86Map(), cpus, options);
  if (driver === 'arm') return baselineArmCpu(cpus);
  if (driver === 'ppc64') return baselinePpc64Cpu(cpuMap(loadPpc64CpuMap(), 'ppc64'), cpus);
  // libvirt's s390 CPU driver has no baseline of its own
  throw virError(ErrorCode.NO_SUPPORT, `cannot compute baseline CPU of ${arch} architecture`, ErrorDomain.CPU);
}

/** virCPUExpandFeatures: the model's features spelled out (x86), then sorted by name. */
function expandFeatures(arch: string, cpu: BaselineCpu): BaselineCpu {
  return sortFeatures(cpuDriverOf(arch) === 'x86' ? expandX86Features(x86Map(), cpu) : cpu);
}

/** qemuConnectBaselineCPU: host CPU definitions, baselined by the CPU map of the first one's architecture. */
export function baselineCpu(xmlCPUs: readonly string[], flags: number): string {
  checkFlags(flags, EXPAND_FEATURES | MIGRATABLE, 'qemuConnectBaselineCPU');
  const cpus = parseCpuDefList(xmlCPUs, 'host');
  const arch = cpus[0]!.arch!;
  const baseline = baselineFor(arch, cpus, { migratable: (flags & MIGRATABLE) !== 0 });
  // features libvirt never passes to QEMU (virQEMUCapsCPUFilterFeatures) are left out on x86
  let cpu = isX86Arch(arch) ? { ...baseline, features: baseline.features.filter((f) => !NEVER_PASSED.has(f.name)) } : baseline;
  if (flags & EXPAND_FEATURES) cpu = expandFeatures(arch, cpu);
  return formatBaselineCpu(cpu);
}

/**
 * virQEMUCapsGetCPUFeatures: every feature property of QEMU's host model
 * expansion for the accelerator, in libvirt's names; with `migratable` those
 * only a non-migratable CPU has are left out. Undefined without the expansion.
 */
function hypervisorFeatures(caps: QemuCaps, accel: 'kvm' | 'tcg', migratable: boolean): string[] | undefined {
  const host = caps.hostCpuModels[accel];
  if (!host) return undefined;
  const skipped = new Set(migratable ? host.nonMigratable : []);
  return (host.knownFeatures ?? host.features).filter((name) => !skipped.has(name)).map(x86FeatureFromQemu);
}

/** qemuConnectBaselineHypervisorCPU: CPUs baselined against the models and features a QEMU binary offers. */
export async function baselineHypervisorCpu(driver: QemuDriver, q: HypervisorQuery, xmlCPUs: readonly string[], flags: number): Promise<string> {
  checkFlags(flags, EXPAND_FEATURES | MIGRATABLE, 'qemuConnectBaselineHypervisorCPU');
  const migratable = (flags & MIGRATABLE) !== 0;
  const cpus = parseCpuDefList(xmlCPUs, 'auto');
  const { binary, caps, arch, virtType } = await lookupDefaultCaps(driver, {
    emulator: q.emulator ?? undefined, arch: q.arch ?? undefined, machine: q.machine ?? undefined, virttype: q.virttype ?? undefined,
  });
  if (caps.cpuModels.length === 0) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, `QEMU '${binary}' does not support any CPU models for virttype '${virtType}'`, ErrorDomain.QEMU);
  }
  if (!isX86Arch(arch)) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, `computing baseline hypervisor CPU is not supported for arch ${arch}`, ErrorDomain.QEMU);
  }
  const accel = virtType === 'kvm' ? 'kvm' : 'tcg';
  const knownFeatures = hypervisorFeatures(caps, accel, migratable);
  const baseline = baselineFor(arch, cpus, {
    hvModels: qemuCpuModels(caps, accel),
    ...(knownFeatures ? { knownFeatures } : {}),
    // QEMU's feature list already leaves out what blocks migration
    migratable: migratable && !knownFeatures,
  });
  const cpu: BaselineCpu = { ...baseline, fallback: 'forbid' };
  return formatBaselineCpu(flags & EXPAND_FEATURES ? expandFeatures(arch, cpu) : cpu);
}
