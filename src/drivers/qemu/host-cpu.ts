// The host's x86 CPU as libvirt's virCPUx86GetHost sees it: CPUID (and the
// IA32_ARCH_CAPABILITIES MSR) decoded into the CPU map's features, plus the
// TSC frequency KVM would give guests; and libvirt's "full" host CPU for KVM
// guests, that plus the features QEMU's KVM "host" model offers. Where the
// hardware is read from is the host facts' business (host/live.ts); where it
// cannot be read the host CPU stays unknown and the checks that need it are skipped.

import { bitKey, featureBits, hasFeature, loadX86CpuMap, modelCpuBits } from '../../conf/cpu-map.js';
import type { X86CpuMap } from '../../conf/cpu-map.js';
import type { X86CpuData } from '../../conf/cpu-compare.js';
import { decodeX86Cpu } from '../../conf/cpu-decode.js';
import { hostArch, type HostModelAccel, type QemuCaps } from './capabilities.js';
import { x86FeatureFromQemu } from './cpu-feature-names.js';

/** eax, ebx, ecx, edx of one CPUID leaf/subleaf. */
export type CpuidRegisters = readonly [number, number, number, number];

/** Where the decoding reads the hardware from; tests substitute a synthetic CPU. */
export interface CpuSource {
  cpuid(leaf: number, subleaf: number): CpuidRegisters | undefined;
  msr(index: number): bigint | undefined;
  /** the kernel's TSC frequency in kHz (what KVM_GET_TSC_KHZ reports), if known */
  tscKHz(): number | undefined;
  /** KVM is available (libvirt asks KVM for the TSC, so without it the TSC is unknown) */
  kvm(): boolean;
}

export interface HostTsc {
  /** Hz */
  frequency: number;
  /** KVM can run guests at another TSC rate; undefined when that cannot be told */
  scaling?: boolean;
}

export interface HostX86Cpu extends X86CpuData {
  /** CPUID leaf 1 EAX: family, model, stepping */
  signature: number;
  tsc?: HostTsc;
}

const REGISTER_INDEX = { eax: 0, ebx: 1, ecx: 2, edx: 3 } as const;
const ARCH_CAPABILITIES_MSR = 0x10a;
const VMX_PROCBASED_CTLS2_MSR = 0x48b;
/** "use TSC scaling" among the allowed-1 settings (high half) of the secondary VM-execution controls */
const VMX_TSC_SCALING_BIT = 32n + 25n;

function vendorString(regs: CpuidRegisters): string {
  const buf = Buffer.alloc(12);
  buf.writeUInt32LE(regs[1], 0);
  buf.writeUInt32LE(regs[3], 4);
  buf.writeUInt32LE(regs[2], 8);
  return buf.toString('latin1');
}

/**
 * KVM_CAP_TSC_CONTROL: KVM scales the TSC only with hardware help, AMD's
 * TSC ratio MSR or Intel's VMX TSC scaling; without either (no hardware
 * virtualisation at all, e.g. a paravirtualised KVM) it cannot.
 */
function tscScaling(map: X86CpuMap, data: ReadonlySet<string>, source: CpuSource): boolean | undefined {
  if (hasFeature(map, data, 'svm')) return hasFeature(map, data, 'tsc-scale');
  if (hasFeature(map, data, 'vmx')) {
    const ctls2 = source.msr(VMX_PROCBASED_CTLS2_MSR);
    return ctls2 === undefined ? undefined : ((ctls2 >> VMX_TSC_SCALING_BIT) & 1n) === 1n;
  }
  return false;
}

/** Decodes the host CPU from `source` into the map's vendor and feature bits. */
export function decodeHostX86Cpu(map: X86CpuMap, source: CpuSource): HostX86Cpu | undefined {
  const basic = source.cpuid(0, 0);
  const extended = source.cpuid(0x80000000, 0);
  if (!basic) return undefined;
  const inRange = (leaf: number) => (leaf >= 0x80000000 ? leaf <= (extended?.[0] ?? 0) : leaf <= basic[0]);
  const leaves = new Map<string, CpuidRegisters | undefined>();
  const data = new Set<string>();
  const bits = map.features.flatMap((f) => f.bits);
  for (const b of bits) {
    if (b.source !== 'cpuid' || !inRange(b.leaf)) continue;
    const key = `${b.leaf}:${b.subleaf}`;
    if (!leaves.has(key)) leaves.set(key, source.cpuid(b.leaf, b.subleaf));
    const value = leaves.get(key)?.[REGISTER_INDEX[b.register]];
    if (value !== undefined && (value >>> b.bit) & 1) data.add(bitKey(b));
  }
  // libvirt reads only IA32_ARCH_CAPABILITIES, and only when CPUID announces it
  const msr = hasFeature(map, data, 'arch-capabilities') ? source.msr(ARCH_CAPABILITIES_MSR) : undefined;
  for (const b of bits) {
    if (b.source !== 'msr' || b.leaf !== ARCH_CAPABILITIES_MSR || msr === undefined) continue;
    const value = b.register === 'edx' ? msr >> 32n : msr & 0xffffffffn;
    if ((value >> BigInt(b.bit)) & 1n) data.add(bitKey(b));
  }
  const vendorId = vendorString(basic);
  const vendor = [...map.vendors].find(([, id]) => id === vendorId)?.[0];
  const signature = source.cpuid(1, 0)?.[0] ?? 0;
  const host: HostX86Cpu = { ...(vendor !== undefined ? { vendor } : {}), signature, data };
  // libvirt probes the TSC only for an invariant TSC, and asks KVM for it
  const khz = hasFeature(map, data, 'invtsc') && source.kvm() ? source.tscKHz() : undefined;
  if (khz !== undefined) {
    const scaling = tscScaling(map, data, source);
    host.tsc = { frequency: khz * 1000, ...(scaling !== undefined ? { scaling } : {}) };
  }
  return host;
}

/** The kernel's TSC lines, weakest first: the CPU clock, the TSC when it differs, a refined TSC calibration. */
const TSC_LOG_LINE = /tsc: (Detected|Refined TSC clocksource calibration:) (\d+)\.(\d{3}) MHz( processor| TSC)?/;

/**
 * The kernel's TSC frequency in kHz (tsc_khz, which KVM hands to guests)
 * from its log records, the most precise line winning.
 */
export function tscKHzFromKernelLog(records: Iterable<string>): number | undefined {
  let khz: number | undefined;
  let bestRank = -1;
  for (const record of records) {
    const m = TSC_LOG_LINE.exec(record);
    if (!m) continue;
    const rank = m[1] !== 'Detected' ? 2 : m[4] === ' TSC' ? 1 : 0;
    if (rank >= bestRank) {
      bestRank = rank;
      khz = Number(m[2]) * 1000 + Number(m[3]);
    }
  }
  return khz;
}

/** libvirt's x86 CPU map on an x86 host; undefined elsewhere or without the data. Reads no host CPU. */
export function hostX86CpuMap(): X86CpuMap | undefined {
  return hostArch() === 'x86_64' || hostArch() === 'i686' ? loadX86CpuMap() : undefined;
}

/** QEMU's host model for `accel` from the probed capabilities, in libvirt's names of features the CPU map knows. */
function hostModelFeatures(map: X86CpuMap, caps: QemuCaps, accel: HostModelAccel): string[] | undefined {
  return caps.hostCpuModels[accel]?.features.map(x86FeatureFromQemu).filter((name) => map.featureByName.has(name));
}

/**
 * The host CPU libvirt compares guests of a binary with
 * (virQEMUCapsGetHostModel ..._FULL). KVM: the host CPU decoded into a model
 * and features, with every feature of QEMU's KVM host model added by name
 * (undefined without the host CPU). TCG: what QEMU emulates at most, whose
 * named features tsvirt does not know (undefined when QEMU cannot tell).
 */
export function fullHostCpu(map: X86CpuMap, host: HostX86Cpu | undefined, caps: QemuCaps, accel: HostModelAccel): X86CpuData | undefined {
  if (accel === 'tcg') {
    const features = hostModelFeatures(map, caps, accel);
    return features && { data: featureBits(map, features) };
  }
  if (!host) return undefined;
  const decoded = decodeX86Cpu(map, host, 'guest');
  if (!decoded) return host;
  const listed = new Set([...decoded.features.filter((f) => f.policy === 'require').map((f) => f.name), ...(hostModelFeatures(map, caps, accel) ?? [])]);
  const disabled = decoded.features.filter((f) => f.policy === 'disable' && !listed.has(f.name)).map((f) => f.name);
  const data = modelCpuBits(map, decoded.model, listed, disabled);
  return { ...(host.vendor !== undefined ? { vendor: host.vendor } : {}), data, listed };
}
