// virConnectCompareCPU and virConnectCompareHypervisorCPU on the qemu driver:
// a <cpu> definition against the host CPU (what capabilities reports) or
// against the CPU a QEMU binary can give guests of a virt type (the host
// model domcapabilities reports). x86 only, as in libvirt.
import { parseXml, type XmlElement } from '../../util/xml.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { compareX86Cpu, type X86CpuData } from '../../conf/cpu-compare.js';
import { parseCpuDef } from '../../conf/cpu-def-list.js';
import { featureBits, hasFeature, modelCpuBits, type X86CpuMap } from '../../conf/cpu-map.js';
import { isX86Arch } from '../../conf/machine-family.js';
import { hostX86CpuMap } from './host-cpu.js';
import { qemuHostModel } from './host-cpu-model.js';
import { lookupDefaultCaps } from './host-capabilities.js';
import { checkFlags, type QemuDriver } from './driver.js';
import { findBinaryForArch, hostArch } from './capabilities.js';
import { x86FeatureFromQemu } from './cpu-feature-names.js';
import type { HostX86CpuFacts } from './host/facts.js';

/** VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE, VIR_CONNECT_COMPARE_CPU_VALIDATE_XML */
const FAIL_INCOMPATIBLE = 1 << 0;
const VALIDATE_XML = 1 << 1;

/** virCPUCompareResult */
export enum CpuCompare {
  INCOMPATIBLE = 0,
  IDENTICAL = 1,
  SUPERSET = 2,
}

/** The CPU definition a caller passes: a lone <cpu> element, refused as libvirt's parser refuses it. */
function parseCpu(xml: string): XmlElement {
  parseCpuDef(xml, 'auto');
  return parseXml(xml);
}

/** virCPUx86Compare: an incompatible CPU is an error when the caller asks for one, with the reason. */
function compare(map: X86CpuMap, host: X86CpuData | undefined, xml: string, flags: number): CpuCompare {
  const cpu = parseCpu(xml);
  const failIncompatible = (flags & FAIL_INCOMPATIBLE) !== 0;
  if (!host) {
    if (failIncompatible) throw virError(ErrorCode.CPU_INCOMPATIBLE, 'unknown host CPU', ErrorDomain.CPU);
    return CpuCompare.INCOMPATIBLE;
  }
  const compared = compareX86Cpu(map, host, cpu);
  if (compared.result === 'incompatible') {
    if (failIncompatible) throw virError(ErrorCode.CPU_INCOMPATIBLE, compared.message, ErrorDomain.CPU);
    return CpuCompare.INCOMPATIBLE;
  }
  return compared.result === 'identical' ? CpuCompare.IDENTICAL : CpuCompare.SUPERSET;
}

/** IA32_ARCH_CAPABILITIES, the one MSR libvirt reads for the host CPU */
const ARCH_CAPABILITIES_MSR = 0x10a;

/**
 * The host CPU with its IA32_ARCH_CAPABILITIES features: read from the MSR
 * device where the msr module is loaded, otherwise what KVM reports for the
 * feature MSR (libvirt's KVM_GET_MSRS fallback), which QEMU's KVM host model
 * of the host architecture's binary carries.
 */
async function hostCpuData(driver: QemuDriver, { map, host }: HostX86CpuFacts): Promise<X86CpuData | undefined> {
  const isArchCapability = (name: string) => map.featureByName.get(name)?.bits.some((b) => b.source === 'msr' && b.leaf === ARCH_CAPABILITIES_MSR) ?? false;
  if (!host || !hasFeature(map, host.data, 'arch-capabilities') || map.features.some((f) => isArchCapability(f.name) && hasFeature(map, host.data, f.name))) return host;
  const binary = findBinaryForArch(hostArch());
  const kvm = binary ? (await driver.caps.get(binary)).hostCpuModels.kvm : undefined;
  if (!kvm) return host;
  const msrFeatures = kvm.features.map(x86FeatureFromQemu).filter(isArchCapability);
  return { ...host, data: new Set([...host.data, ...featureBits(map, msrFeatures)]) };
}

/** qemuConnectCompareCPU: against the host CPU libvirt's capabilities describe. */
export async function compareWithHostCpu(driver: QemuDriver, xml: string, flags: number): Promise<CpuCompare> {
  checkFlags(flags, FAIL_INCOMPATIBLE | VALIDATE_XML, 'qemuConnectCompareCPU');
  const facts = driver.caps.host.x86Cpu();
  if (!facts) throw virError(ErrorCode.NO_SUPPORT, `cannot compare CPUs of ${hostArch()} architecture`, ErrorDomain.CPU);
  return compare(facts.map, await hostCpuData(driver, facts), xml, flags);
}

export interface HypervisorQuery {
  emulator: string | null;
  arch: string | null;
  machine: string | null;
  virttype: string | null;
}

/** qemuConnectCompareHypervisorCPU: against the host model QEMU reports for the virt type (domcapabilities' host-model). */
export async function compareWithHypervisorCpu(driver: QemuDriver, q: HypervisorQuery, xml: string, flags: number): Promise<CpuCompare> {
  checkFlags(flags, FAIL_INCOMPATIBLE | VALIDATE_XML, 'qemuConnectCompareHypervisorCPU');
  const { binary, caps, arch, virtType } = await lookupDefaultCaps(driver, {
    emulator: q.emulator ?? undefined, arch: q.arch ?? undefined, machine: q.machine ?? undefined, virttype: q.virttype ?? undefined,
  });
  const map = isX86Arch(arch) ? hostX86CpuMap() : undefined;
  const model = map && qemuHostModel(map, caps, virtType === 'kvm' ? 'kvm' : 'tcg', false);
  if (!model) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, `QEMU '${binary}' does not support reporting CPU model for virttype '${virtType}'`, ErrorDomain.QEMU);
  }
  const withPolicy = (policy: string) => model.features.filter((f) => f.policy === policy).map((f) => f.name);
  const hvCpu: X86CpuData = {
    ...(model.vendor !== undefined ? { vendor: model.vendor } : {}),
    data: modelCpuBits(map, model.model, withPolicy('require'), withPolicy('disable')),
  };
  return compare(map, hvCpu, xml, flags);
}
