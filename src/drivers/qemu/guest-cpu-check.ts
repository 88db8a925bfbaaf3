// What libvirt checks about the guest CPU against the host's before it builds
// a command line (start and domxml-to-native alike): a requested TSC frequency
// the host can provide (qemuProcessStartValidateTSC), and for x86 guests
// forbidden features and, with check='partial', a CPU model and features the
// host provides (qemuProcessUpdateGuestCPU -> virCPUCompare): for KVM the host
// CPU with KVM's additions, for TCG what QEMU emulates.
// When the host CPU or libvirt's CPU map cannot be read (not root, libvirt0
// not installed), the checks are skipped, as libvirt skips them without host
// CPU data. Known approximation: libvirt names a forbidden feature in its
// error when the host CPU definition lists it; tsvirt knows that list only for
// the features of QEMU's KVM host model (it does not decode a host CPU into a
// named model), so other forbidden features get the comparison's plural message.

import { child, childrenNamed } from '../../util/xml.js';
import type { XmlElement } from '../../util/xml.js';
import { virError, ErrorCode, ErrorDomain } from '../../util/error.js';
import { checkForbiddenFeatures, checkX86CpuCompatible } from '../../conf/cpu-compare.js';
import type { X86CpuData } from '../../conf/cpu-compare.js';
import type { X86CpuMap } from '../../conf/cpu-map.js';
import { fullHostCpu } from './host-cpu.js';
import type { HostTsc } from './host-cpu.js';
import type { QemuCaps } from './capabilities.js';
import { isX86Arch } from '../../conf/machine-family.js';

/** 250 ppm: half of NTP's threshold, libvirt's TSC_TOLERANCE. */
const TSC_TOLERANCE_PPM = 250;

/** Refuses a <timer name='tsc' frequency> the host TSC neither runs at (within tolerance) nor can be scaled to. */
export function checkTscFrequency(def: XmlElement, tsc: HostTsc | undefined): void {
  const timer = requestedTscTimer(def);
  if (!timer || !tsc) return;
  const freq = Number(timer.attrs.frequency);
  const tolerance = Math.floor((tsc.frequency * TSC_TOLERANCE_PPM) / 1_000_000);
  const min = tsc.frequency - tolerance;
  const max = tsc.frequency + tolerance;
  // unknown scaling support: QEMU will try, and possibly fail
  if ((freq >= min && freq <= max) || tsc.scaling !== false) return;
  throw virError(ErrorCode.CONFIG_UNSUPPORTED,
    `Requested TSC frequency ${freq} Hz is outside tolerance range ([${min}, ${max}] Hz) around host frequency ${tsc.frequency} Hz and TSC scaling is not supported by the host CPU`,
    ErrorDomain.QEMU);
}

/** The <timer name='tsc'> that asks for a frequency, if any. */
function requestedTscTimer(def: XmlElement): XmlElement | undefined {
  const clock = child(def, 'clock');
  return (clock ? childrenNamed(clock, 'timer') : []).find((t) => t.attrs.name === 'tsc' && Number(t.attrs.frequency ?? 0) > 0);
}


/** The guest <cpu> libvirt checks against the host: x86, a model (or a non-custom mode), check other than 'none'. */
function cpuToCheck(def: XmlElement): XmlElement | undefined {
  const cpu = child(def, 'cpu');
  if (!cpu || !isX86Arch(child(child(def, 'os') ?? def, 'type')?.attrs.arch ?? '')) return undefined;
  if ((cpu.attrs.mode ?? 'custom') === 'custom' && !child(cpu, 'model')?.text.trim()) return undefined;
  return (cpu.attrs.check ?? 'none') === 'none' ? undefined : cpu;
}

/**
 * An x86 guest's CPU against the host CPU libvirt compares it with:
 * forbidden features unless check='none', and with check='partial' the whole
 * comparison. The host CPU is computed only when needed;
 * when it is unknown the checks are skipped.
 */
export function checkGuestCpuCompatible(def: XmlElement, map: X86CpuMap, hostCpu: () => X86CpuData | undefined): void {
  const cpu = cpuToCheck(def);
  if (!cpu) return;
  const mode = cpu.attrs.mode ?? 'custom';
  const host = hostCpu();
  if (!host) return;
  checkForbiddenFeatures(host, cpu);
  if (mode === 'host-passthrough' || mode === 'maximum' || cpu.attrs.check !== 'partial') return;
  checkX86CpuCompatible(map, host, cpu);
}

/** qemuProcessStartValidateTSC against the binary's host (early: start validation). */
export function checkTscAgainstHost(def: XmlElement, caps: QemuCaps): void {
  // the host CPU (CPU map, CPUID, kernel log) is read only for a guest that asks for a TSC frequency
  if (requestedTscTimer(def)) checkTscFrequency(def, caps.host.x86Cpu()?.host?.tsc);
}

/** The CPU compare against this host and the guest's binary (late: libvirt runs it after storage, secrets and firmware are prepared). */
export function checkCpuAgainstHost(def: XmlElement, caps: QemuCaps): void {
  if (!cpuToCheck(def)) return;
  const probed = caps.host.x86Cpu();
  if (!probed) return;
  const accel = def.attrs.type === 'kvm' ? 'kvm' : 'tcg';
  checkGuestCpuCompatible(def, probed.map, () => fullHostCpu(probed.map, probed.host, caps, accel));
}
