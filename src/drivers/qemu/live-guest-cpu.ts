// The <cpu> of a running x86 guest as libvirt shows it: the CPU the guest was
// started with (qemuProcessUpdateGuestCPU: a host-model or match='minimum'
// CPU becomes the host model, optional features are settled, QEMU may not
// fall back to another model), then QEMU's view of the started vCPU taken in
// (qemuProcessUpdateAndVerifyCPU): features QEMU enabled beyond the model
// become required, features it could not give become disabled, and the CPU
// is then checked in full. A guest that asked for check='full' must get
// exactly what it asked for, or it does not start.
import { child, element, type XmlElement } from '../../util/xml.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { featureBits, modelCpuBits, bitKey, type X86CpuMap } from '../../conf/cpu-map.js';
import { x86FeatureFromQemu } from './cpu-feature-names.js';
import { qemuHostModel, updatedGuestCpu, type CpuFeature, type CpuFeaturePolicy } from './host-cpu-model.js';
import type { HostModelAccel, QemuCaps } from './capabilities.js';
import type { QmpClient } from './qmp.js';

/** Where QEMU's first vCPU lives when query-cpus-fast names none (qemuProcessGetVCPUQOMPath). */
const DEFAULT_VCPU_PATH = '/machine/unattached/device[0]';

/** CPU data as sets of bit keys (cpu-map.ts). */
export interface GuestCpuData {
  enabled: ReadonlySet<string>;
  disabled: ReadonlySet<string>;
}

/** A guest CPU in custom mode: what the live XML's <cpu> says. */
export interface LiveCpu {
  model: string;
  vendor?: string;
  check: string;
  features: CpuFeature[];
}

/**
 * qemuProcessFetchGuestCPU for a QEMU with unavailable-features: every
 * boolean property of the first vCPU that is on, and the features QEMU could
 * not give, in libvirt's names (features the map does not know are ignored).
 */
export async function fetchGuestCpuData(qmp: QmpClient, map: X86CpuMap): Promise<GuestCpuData> {
  const cpus = await qmp.execute<Array<{ 'qom-path'?: string }>>('query-cpus-fast').catch(() => []);
  const path = cpus[0]?.['qom-path'] ?? DEFAULT_VCPU_PATH;
  const props = await qmp.execute<Array<{ name: string; type: string }>>('qom-list', { path });
  const booleans = props.filter((p) => p.type === 'bool').map((p) => p.name);
  // asked together: QEMU answers in order, without a round trip per property
  const values = await Promise.all(booleans.map((property) => qmp.execute<boolean>('qom-get', { path, property })));
  const on = booleans.filter((_, i) => values[i] === true).map(x86FeatureFromQemu);
  const unavailable = (await qmp.execute<string[]>('qom-get', { path, property: 'unavailable-features' })).map(x86FeatureFromQemu);
  return { enabled: featureBits(map, on), disabled: featureBits(map, unavailable) };
}

/** virCPUDefUpdateFeature: a listed feature takes the policy in place, another is appended. */
function updateFeature(features: CpuFeature[], name: string, policy: CpuFeaturePolicy): void {
  const listed = features.find((f) => f.name === name);
  if (listed) listed.policy = policy;
  else features.push({ name, policy });
}

const isSubset = (data: ReadonlySet<string>, bits: readonly string[]) => bits.length > 0 && bits.every((k) => data.has(k));

/**
 * virCPUx86UpdateLive for a custom CPU: the features QEMU enabled or could
 * not give, against what the model and its features ask for. With
 * check='full' any difference is an error; otherwise it is written down and
 * the CPU becomes check='full'.
 */
export function updateLiveCpu(map: X86CpuMap, cpu: LiveCpu, data: GuestCpuData): LiveCpu {
  const policyOf = (...policies: CpuFeaturePolicy[]) => cpu.features.filter((f) => policies.includes(f.policy)).map((f) => f.name);
  const expected = modelCpuBits(map, cpu.model, policyOf('require', 'force'), policyOf('disable', 'forbid'));
  const features = cpu.features.map((f) => ({ ...f }));
  const added: string[] = [];
  const removed: string[] = [];
  for (const feature of map.features) {
    const bits = feature.bits.map(bitKey);
    const required = isSubset(expected, bits);
    if (!required && isSubset(data.enabled, bits)) {
      if (cpu.check === 'full') added.push(feature.name);
      else updateFeature(features, feature.name, 'require');
    }
    if (isSubset(data.disabled, bits) || (required && !isSubset(data.enabled, bits))) {
      if (cpu.check === 'full') removed.push(feature.name);
      else updateFeature(features, feature.name, 'disable');
    }
  }
  for (const name of map.models.get(cpu.model)?.removedFeatures ?? []) {
    if (!features.some((f) => f.name === name)) features.push({ name, policy: 'disable' });
  }
  if (added.length > 0 || removed.length > 0) {
    const parts = [...(added.length > 0 ? [`extra features: ${added.join(',')}`] : []), ...(removed.length > 0 ? [`missing features: ${removed.join(',')}`] : [])];
    throw virError(ErrorCode.OPERATION_FAILED, `guest CPU doesn't match specification: ${parts.join(', ')}`, ErrorDomain.CPU);
  }
  if (cpu.check === 'full' && data.disabled.size > 0) throw virError(ErrorCode.OPERATION_FAILED, "guest CPU doesn't match specification", ErrorDomain.CPU);
  return { ...cpu, check: 'full', features };
}

/**
 * qemuProcessUpdateGuestCPU: the custom CPU an x86 guest with a model or
 * host-model <cpu> starts with, against the migratable host model of its
 * accelerator. Undefined for a CPU libvirt leaves alone.
 */
export function startedGuestCpu(map: X86CpuMap, caps: QemuCaps, cpu: XmlElement, accel: HostModelAccel): LiveCpu | undefined {
  const mode = cpu.attrs.mode ?? 'custom';
  if (mode !== 'custom' && mode !== 'host-model') return undefined;
  if (mode === 'custom' && !child(cpu, 'model')?.text.trim()) return undefined;
  const hostModel = qemuHostModel(map, caps, accel, true);
  const updated = updatedGuestCpu(map, cpu, hostModel);
  if (!updated) return undefined;
  const vendor = mode === 'host-model' || cpu.attrs.match === 'minimum' ? hostModel?.vendor : child(cpu, 'vendor')?.text.trim();
  return { model: updated.model, ...(vendor ? { vendor } : {}), check: cpu.attrs.check ?? 'none', features: updated.features };
}

/** The live <cpu>: custom, exact, libvirt's element order; topology, cache and NUMA cells kept from the guest's. */
export function liveCpuElement(cpu: XmlElement, live: LiveCpu): XmlElement {
  const model = child(cpu, 'model');
  const kept = (names: string[]) => cpu.children.filter((c) => names.includes(c.name));
  return element('cpu', { mode: 'custom', match: 'exact', check: live.check }, [
    element('model', { fallback: 'forbid', vendor_id: model?.attrs.vendor_id }, [], live.model),
    ...(live.vendor ? [element('vendor', {}, [], live.vendor)] : []),
    ...kept(['microcode', 'topology', 'cache', 'maxphysaddr']),
    ...live.features.map((f) => element('feature', { policy: f.policy, name: f.name })),
    ...kept(['numa']),
  ]);
}

/** virCPUDefIsEqual for two custom CPUs of one guest: the same features with the same policies, in order. */
function sameFeatures(a: LiveCpu, b: LiveCpu): boolean {
  return a.features.length === b.features.length && a.features.every((f, i) => f.name === b.features[i]!.name && f.policy === b.features[i]!.policy);
}

/**
 * Replaces the live definition's <cpu> in place: the guest's view of its CPU
 * after QEMU started. Returns the CPU the guest was started with when QEMU
 * changed it (libvirt's origCPU, which save images carry).
 */
export async function updateLiveGuestCpu(live: XmlElement, qmp: QmpClient, map: X86CpuMap, caps: QemuCaps): Promise<XmlElement | undefined> {
  const cpu = child(live, 'cpu');
  if (!cpu) return undefined;
  const started = startedGuestCpu(map, caps, cpu, live.attrs.type === 'kvm' ? 'kvm' : 'tcg');
  if (!started) return undefined;
  const updated = updateLiveCpu(map, started, await fetchGuestCpuData(qmp, map));
  live.children[live.children.indexOf(cpu)] = liveCpuElement(cpu, updated);
  return sameFeatures(started, updated) ? undefined : liveCpuElement(cpu, started);
}
