// libvirt's host-model CPU for QEMU guests: QEMU's host CPU model of the
// guest's accelerator (KVM "host", TCG "max") decoded into a CPU map model and
// features (virQEMUCapsInitCPUModelX86), and a guest CPU updated from it the
// way virCPUx86Update does before the command line is built: host-model and
// match='minimum' CPUs become that model with the guest's own feature policies
// on top, and a model's features QEMU removed are always disabled.

import { child, childrenNamed } from '../../util/xml.js';
import type { XmlElement } from '../../util/xml.js';
import { featureBits, modelCpuBits } from '../../conf/cpu-map.js';
import type { X86CpuMap } from '../../conf/cpu-map.js';
import { decodeX86Cpu, makeSignature } from '../../conf/cpu-decode.js';
import type { HypervisorCpuModels } from '../../conf/cpu-decode.js';
import { hasDeviceType } from './capabilities.js';
import type { HostModelAccel, QemuCaps, QemuHostCpuModel } from './capabilities.js';
import { x86FeatureFromQemu } from './cpu-feature-names.js';

export type CpuFeaturePolicy = 'force' | 'require' | 'optional' | 'disable' | 'forbid';

export interface CpuFeature {
  name: string;
  policy: CpuFeaturePolicy;
}

/** A CPU as a named model, its vendor (libvirt's name) and features in libvirt's spelling. */
export interface ModelCpu {
  model: string;
  vendor?: string;
  features: CpuFeature[];
}

/**
 * The CPU models QEMU offers an accelerator, with their blockers in libvirt's
 * names (none for KVM where only a recorded host's facts describe it).
 */
export function qemuCpuModels(caps: QemuCaps, accel: HostModelAccel): HypervisorCpuModels {
  return new Map(caps.cpuModels.map((m) => [m.name, ((accel === 'tcg' ? m.unavailableFeatures : m.kvmUnavailableFeatures) ?? []).map(x86FeatureFromQemu)]));
}

export interface HostModelOptions {
  /** leave out what a migratable CPU cannot have */
  migratable: boolean;
  /** the models QEMU offers (all of the map's when absent) */
  hvModels?: HypervisorCpuModels;
  /** leave out MSR features: QEMU cannot tell which of them it lacks */
  dropMsrFeatures?: boolean;
}

/**
 * QEMU's host model as libvirt reports it (virQEMUCapsInitCPUModelX86).
 * Features the map does not know are ignored.
 */
export function decodeQemuHostModel(map: X86CpuMap, host: QemuHostCpuModel, options: HostModelOptions): ModelCpu | undefined {
  const skipped = new Set(options.migratable ? host.nonMigratable : []);
  const names = host.features.filter((name) => !skipped.has(name)).map(x86FeatureFromQemu);
  const vendor = [...map.vendors].find(([, id]) => id === host.vendor)?.[0];
  const signature = makeSignature(host.family ?? 0, host.model ?? 0, host.stepping ?? 0);
  const decoded = decodeX86Cpu(map, { ...(vendor !== undefined ? { vendor } : {}), signature, data: featureBits(map, names) }, 'guest', options.hvModels);
  if (!decoded) return undefined;
  const isMsr = (name: string) => map.featureByName.get(name)?.bits.some((b) => b.source === 'msr') ?? false;
  const features = decoded.features.filter((f) => !(options.dropMsrFeatures && isMsr(f.name)));
  return { model: decoded.model, ...(vendor !== undefined ? { vendor } : {}), features };
}

/**
 * The host model of a binary for `accel`: migratable, what host-model guests
 * get, or not, what domcapabilities reports. Without QEMU's
 * unavailable-features (libvirt looks for it on the max-x86_64-cpu type, so
 * an i386 binary has none) MSR features are dropped.
 */
export function qemuHostModel(map: X86CpuMap, caps: QemuCaps, accel: HostModelAccel, migratable: boolean): ModelCpu | undefined {
  const host = caps.hostCpuModels[accel];
  return host && decodeQemuHostModel(map, host, {
    migratable,
    hvModels: qemuCpuModels(caps, accel),
    dropMsrFeatures: !hasDeviceType(caps, 'max-x86_64-cpu'),
  });
}

/** Features libvirt never passes to QEMU (virQEMUCapsCPUFilterFeatures). */
export const NEVER_PASSED = new Set(['cmt', 'mbm_total', 'mbm_local', 'osxsave', 'ospke']);

/**
 * qemuProcessUpdateGuestCPU for an x86 guest <cpu> with a model or
 * host-model mode: updated against the migratable host model of the guest's
 * accelerator, without the features libvirt never passes and without
 * disabled features QEMU does not know (they are off anyway).
 */
export function qemuGuestCpu(map: X86CpuMap, caps: QemuCaps, cpu: XmlElement, accel: HostModelAccel): { model: string; features: CpuFeature[] } | undefined {
  const updated = updatedGuestCpu(map, cpu, qemuHostModel(map, caps, accel, true));
  if (!updated) return undefined;
  const known = caps.hostCpuModels[accel]?.knownFeatures;
  const knownNames = known && new Set(known.map(x86FeatureFromQemu));
  const features = updated.features.filter((f) => !NEVER_PASSED.has(f.name)
    && !(knownNames && (f.policy === 'disable' || f.policy === 'forbid') && !knownNames.has(f.name)));
  return { model: updated.model, features };
}

/** virCPUDefUpdateFeature: a listed feature takes the new policy in place, another one is appended. */
function updateFeature(features: CpuFeature[], name: string, policy: CpuFeaturePolicy): void {
  const existing = features.find((f) => f.name === name);
  if (existing) existing.policy = policy;
  else features.push({ name, policy });
}

/** The <feature> elements of a <cpu>, require being the default policy. */
export function cpuFeatures(cpu: XmlElement): CpuFeature[] {
  return childrenNamed(cpu, 'feature').map((f) => ({ name: f.attrs.name ?? '', policy: (f.attrs.policy ?? 'require') as CpuFeaturePolicy }));
}

/**
 * virCPUx86Update for a guest <cpu> with a model or host-model mode: the CPU
 * QEMU is given; optional features become required or disabled as the host
 * model has them. Undefined when a host-model CPU has no host model to become.
 */
export function updatedGuestCpu(map: X86CpuMap, cpu: XmlElement, hostModel: ModelCpu | undefined): { model: string; features: CpuFeature[] } | undefined {
  const guestFeatures = cpuFeatures(cpu);
  if (hostModel) {
    // optional features follow the host model (x86FeatureInData over its data)
    const withPolicy = (policy: CpuFeaturePolicy) => hostModel.features.filter((f) => f.policy === policy).map((f) => f.name);
    const hostData = modelCpuBits(map, hostModel.model, withPolicy('require'), withPolicy('disable'));
    for (const f of guestFeatures) {
      if (f.policy !== 'optional') continue;
      const bits = featureBits(map, [f.name]);
      f.policy = bits.size > 0 && [...bits].every((k) => hostData.has(k)) ? 'require' : 'disable';
    }
  }
  let model = child(cpu, 'model')?.text.trim() ?? '';
  let features = guestFeatures;
  if (cpu.attrs.mode === 'host-model' || ((cpu.attrs.mode ?? 'custom') === 'custom' && cpu.attrs.match === 'minimum')) {
    if (!hostModel) return undefined;
    model = hostModel.model;
    features = hostModel.features.map((f) => ({ ...f }));
    for (const f of guestFeatures) updateFeature(features, f.name, f.policy);
  }
  for (const name of map.models.get(model)?.removedFeatures ?? []) {
    if (!features.some((f) => f.name === name)) features.push({ name, policy: 'disable' });
  }
  return { model, features };
}
