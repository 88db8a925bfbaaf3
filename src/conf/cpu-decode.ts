// libvirt's x86 CPU decoding (cpu_x86.c x86Decode): CPU data described as the
// closest named CPU model plus the features to add (require) or take away
// (disable). Models are tried newest first; a model whose signature matches
// the CPU's family/model wins over one that does not, otherwise the shortest
// feature list (disabled features weighing more) wins.

import { bitKey, featureBits } from './cpu-map.js';
import type { X86CpuMap, X86Model, X86Signature } from './cpu-map.js';

/** A host CPU definition may only add features; a guest CPU definition may also disable some. */
export type X86CpuType = 'host' | 'guest';

export interface X86DecodedFeature {
  name: string;
  policy: 'require' | 'disable';
}

export interface X86DecodedCpu {
  model: string;
  features: readonly X86DecodedFeature[];
}

/** CPU data to decode: vendor, the CPUID leaf 1 EAX signature, the bitKey()s of its features. */
export interface X86CpuIdentity {
  vendor?: string;
  signature?: number;
  data: ReadonlySet<string>;
}

/** Reserved bits of a processor signature (libvirt's SIGNATURE_MASK). */
const SIGNATURE_MASK = 0x0fff3fff;

export function signatureParts(signature: number): { family: number; model: number; stepping: number } {
  return {
    family: ((signature >>> 20) & 0xff) + ((signature >>> 8) & 0xf),
    model: ((signature >>> 12) & 0xf0) + ((signature >>> 4) & 0xf),
    stepping: signature & 0xf,
  };
}

/** x86MakeSignature: the CPUID leaf 1 EAX of a family, model and stepping. */
export function makeSignature(family: number, model: number, stepping: number): number {
  let signature = 0;
  if (family > 0xf) {
    signature |= (family - 0xf) << 20;
    family = 0xf;
  }
  signature |= family << 8;
  signature |= (model >> 4) << 16;
  signature |= (model & 0xf) << 4;
  return (signature | (stepping & 0xf)) >>> 0;
}

function signaturesMatch(signatures: readonly X86Signature[], signature: number): boolean {
  const { family, model, stepping } = signatureParts(signature);
  return signatures.some((s) => s.family === family && s.model === model && (!s.steppings || s.steppings.has(stepping)));
}

/** libvirt's x86DataToCPUFeatures: the features wholly in `data`, in map order, each taking its bits out. */
export function takeFeatures(map: X86CpuMap, data: Set<string>): string[] {
  const names: string[] = [];
  for (const f of map.features) {
    const keys = f.bits.map(bitKey);
    if (keys.length === 0 || !keys.every((k) => data.has(k))) continue;
    for (const k of keys) data.delete(k);
    names.push(f.name);
  }
  return names;
}

/**
 * The CPU models a hypervisor offers, each with the features it cannot
 * provide for it (QEMU's unavailable-features, libvirt's blockers).
 */
export type HypervisorCpuModels = ReadonlyMap<string, readonly string[]>;

/** x86DataToCPU: `data` as `model` plus required and disabled features; a blocker `data` does not add is disabled. */
function describeAs(map: X86CpuMap, data: ReadonlySet<string>, model: X86Model, type: X86CpuType, blockers: readonly string[]): X86DecodedCpu {
  const modelData = featureBits(map, model.features);
  const extra = new Set([...data].filter((k) => !modelData.has(k)));
  const missing = new Set([...modelData].filter((k) => !data.has(k)));
  for (const blocker of blockers) {
    const bits = featureBits(map, [blocker]);
    if (bits.size > 0 && ![...bits].every((k) => extra.has(k))) for (const k of bits) missing.add(k);
  }
  const features: X86DecodedFeature[] = [
    ...takeFeatures(map, extra).map((name) => ({ name, policy: 'require' as const })),
    ...takeFeatures(map, missing).map((name) => ({ name, policy: 'disable' as const })),
  ];
  if (type === 'guest') {
    // features QEMU dropped from the model are always spelled out
    for (const name of model.removedFeatures) {
      if (!features.some((f) => f.name === name)) features.push({ name, policy: 'disable' });
    }
  }
  return { model: model.name, features };
}

/**
 * virCPUx86CompareCandidateFeatureList: the weight of a definition (each
 * further disabled feature costs one more). libvirt's loop stops at the
 * shrinking count of enabled features, so disabled features past it (they
 * come last) are not counted: kept, as it decides which model libvirt picks.
 */
function weight(cpu: X86DecodedCpu, type: X86CpuType): { total: number; disabled: number } {
  if (type === 'host') return { total: cpu.features.length, disabled: 0 };
  let enabled = cpu.features.length;
  let disabled = 0;
  let penalty = 2;
  for (let i = 0; i < enabled; i++) {
    if (cpu.features[i]!.policy !== 'disable') continue;
    enabled--;
    disabled += penalty++;
  }
  return { total: enabled + disabled, disabled };
}

/**
 * x86DecodeUseCandidate: is `candidate` better than `current`? 'best' ends the
 * search: the one model the caller prefers. Among several preferred models,
 * one of them wins a tie on fewer disabled features.
 */
function better(
  current: { model: X86Model; cpu: X86DecodedCpu } | undefined,
  candidate: { model: X86Model; cpu: X86DecodedCpu },
  signature: number,
  type: X86CpuType,
  preferred: readonly string[],
): boolean | 'best' {
  if (!(type === 'host' ? candidate.model.decodeHost : candidate.model.decodeGuest)) return false;
  if (type === 'host' && candidate.cpu.features.some((f) => f.policy === 'disable')) return false;
  const isPreferred = preferred.includes(candidate.model.name);
  if (isPreferred && preferred.length === 1) return 'best';
  if (!current) return true;
  if (signature) {
    const currentMatches = signaturesMatch(current.model.signatures, signature);
    const candidateMatches = signaturesMatch(candidate.model.signatures, signature);
    if (currentMatches !== candidateMatches) return candidateMatches;
  }
  const a = weight(current.cpu, type);
  const b = weight(candidate.cpu, type);
  return b.total < a.total || (b.total === a.total && b.disabled < a.disabled) || (isPreferred && b.disabled < a.disabled);
}

/**
 * Decodes CPU data into the best model of the map (x86Decode over all
 * models, or those `hvModels` offers, favouring the `preferred` ones);
 * undefined when no model may describe it.
 */
export function decodeX86Cpu(
  map: X86CpuMap,
  cpu: X86CpuIdentity,
  type: X86CpuType,
  hvModels?: HypervisorCpuModels,
  preferred: readonly string[] = [],
): X86DecodedCpu | undefined {
  const signature = (cpu.signature ?? 0) & SIGNATURE_MASK;
  let data = cpu.data;
  // Intel's broken TSX: these CPUs report hle and rtm that do not work
  const { family, model, stepping } = signatureParts(signature);
  if (cpu.vendor === 'Intel' && family === 6 && ((model === 63 && stepping < 4) || model === 60 || model === 69 || model === 70)) {
    const tsx = featureBits(map, ['hle', 'rtm']);
    data = new Set([...data].filter((k) => !tsx.has(k)));
  }
  let best: { model: X86Model; cpu: X86DecodedCpu } | undefined;
  for (const candidate of [...map.models.values()].reverse()) {
    if (hvModels && !hvModels.has(candidate.name)) continue;
    if (cpu.vendor && candidate.vendor && candidate.vendor !== cpu.vendor) continue;
    const described = { model: candidate, cpu: describeAs(map, data, candidate, type, hvModels?.get(candidate.name) ?? []) };
    const verdict = better(best, described, signature, type, preferred);
    if (verdict) best = described;
    if (verdict === 'best') break;
  }
  return best?.cpu;
}
