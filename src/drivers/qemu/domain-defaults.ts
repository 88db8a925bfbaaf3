// The QEMU driver's domain-level defaults and checks (qemuDomainDefPostParseBasic,
// the domain-level parts of qemuDomainDefPostParse and qemuValidateDomainDef),
// driven by the probed capabilities of the domain's emulator, never by tables
// of machine names. Device defaults live in device-defaults.ts.

import { ErrorCode, virError } from '../../util/error.js';
import { child, childrenNamed, element, type XmlElement } from '../../util/xml.js';
import { ensureChild } from '../../conf/tree.js';
import { parseScaledValue } from '../../conf/units.js';
import { hasNvramImage } from '../../conf/domain-os.js';
import { parseBitmap } from '../../util/bitmap.js';
import {
  guestMachineOf, isArmArch, isArmVirt, isPpc64Arch, isPSeries, isQ35, isS390Arch, isX86Arch,
} from '../../conf/machine-family.js';
import { archSupported, canonicalMachineName, defaultMachine, findMachine, hostArch, virtTypeSupported, type QemuCaps } from './capabilities.js';

/** Arches with a libvirt CPU driver (virCPUArchIsSupported). */
const cpuArchSupported = (arch: string) => isX86Arch(arch) || isArmArch(arch) || isPpc64Arch(arch) || isS390Arch(arch);

function osType(dom: XmlElement): XmlElement {
  return ensureChild(ensureChild(dom, 'os'), 'type');
}

/**
 * qemuDomainDefPostParseBasic plus the generic arch default: the guest arch
 * defaults to the host's, the emulator to the binary found for that arch.
 */
export function qemuDomainPostParseBasic(dom: XmlElement, findEmulator: (arch: string) => string | undefined): void {
  const type = osType(dom);
  type.attrs['arch'] ??= hostArch();
  const devices = ensureChild(dom, 'devices');
  const emulator = child(devices, 'emulator');
  if (emulator && emulator.text !== '') return;
  const arch = type.attrs['arch'];
  const found = findEmulator(arch);
  if (found === undefined) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `No emulator found for arch '${arch}'`);
  if (emulator) emulator.text = found;
  else devices.children.unshift(element('emulator', {}, [], found));
}

/** Where the driver keeps per-domain NVRAM images (qemu.conf nvram_dir). */
export const DEFAULT_NVRAM_DIR = '/var/lib/libvirt/qemu/nvram';

/** The domain-level parts of qemuDomainDefPostParse, in libvirt's order. */
export function qemuDomainPostParse(dom: XmlElement, caps: QemuCaps, nvramDir: string = DEFAULT_NVRAM_DIR): void {
  if (child(dom, 'bootloader') || child(dom, 'bootloader_args')) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'bootloader is not supported by QEMU');
  }
  const type = osType(dom);
  if (type.attrs['machine'] === undefined) {
    // libvirt keeps machines per accelerator: one the binary cannot run with has none
    const machine = virtTypeSupported(caps, dom.attrs['type'] ?? '') ? defaultMachine(caps) : undefined;
    if (!machine) {
      const emulator = child(child(dom, 'devices') ?? dom, 'emulator')?.text ?? '';
      throw virError(ErrorCode.INVALID_ARG, `could not get preferred machine for ${emulator} type=${dom.attrs['type']}`);
    }
    type.attrs['machine'] = machine.name;
  }
  defaultNvramPath(dom, nvramDir);
  type.attrs['machine'] = canonicalMachineName(caps, type.attrs['machine']!);
  setDefaultCpu(dom, caps);
  enableDefaultFeatures(dom, caps);
  cpuPostParse(dom, caps);
  tsegPostParse(dom);
  numaCpusPostParse(dom);
}

/** qemuDomainDefNumaCPUsRectify: vCPUs no NUMA cell claims go to cell 0. */
function numaCpusPostParse(dom: XmlElement): void {
  const cells = childrenNamed(child(child(dom, 'cpu') ?? element('x'), 'numa') ?? element('x'), 'cell');
  if (cells.length === 0) return;
  const maxVcpus = Number(child(dom, 'vcpu')?.text || '1');
  const claimed = cells.map((c) => parseBitmap(c.attrs['cpus'] ?? '') ?? new Set<number>());
  if (claimed.reduce((n, set) => n + set.size, 0) >= maxVcpus) return;
  // Ranges between the other cells' vCPUs: no per-vCPU set, as <vcpu> is not range-checked yet.
  const taken = [...new Set(claimed.slice(1).flatMap((set) => [...set]))].filter((c) => c < maxVcpus).sort((a, b) => a - b);
  const ranges: string[] = [];
  let start = 0;
  for (const end of [...taken, maxVcpus]) {
    if (end > start) ranges.push(end - 1 > start ? `${start}-${end - 1}` : String(start));
    start = end + 1;
  }
  cells[0]!.attrs['cpus'] = ranges.join(',');
}

/** qemuDomainDefTsegPostParse: an explicit SMM TSEG size needs q35 and whole MiB. */
function tsegPostParse(dom: XmlElement): void {
  const smm = child(child(dom, 'features') ?? element('x'), 'smm');
  const tseg = smm?.attrs['state'] === 'on' ? child(smm, 'tseg') : undefined;
  if (!tseg) return;
  if (!isQ35(guestMachineOf(dom))) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'SMM TSEG is only supported with q35 machine type');
  }
  const bytes = parseScaledValue(tseg.text, tseg.attrs['unit'], './features/smm/tseg', 1n, 0xffffffffffffffffn);
  if (bytes % (1n << 20n) !== 0n) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'SMM TSEG size must be divisible by 1 MiB');
}

/** A read-only pflash UEFI loader without NVRAM image gets the driver's per-domain one. */
function defaultNvramPath(dom: XmlElement, nvramDir: string): void {
  const os = ensureChild(dom, 'os');
  const loader = child(os, 'loader');
  if (loader?.attrs['type'] !== 'pflash' || loader.attrs['readonly'] !== 'yes') return;
  if (hasNvramImage(os) || loader.attrs['stateless'] === 'yes') return;
  const name = child(dom, 'name')?.text ?? '';
  ensureChild(os, 'nvram').text = `${nvramDir}/${name}_VARS.fd`;
}

/** qemuDomainDefSetDefaultCPU: the machine's default CPU model, made explicit. */
function setDefaultCpu(dom: XmlElement, caps: QemuCaps): void {
  const cpu = child(dom, 'cpu');
  if (cpu && ((cpu.attrs['mode'] ?? 'custom') !== 'custom' || (child(cpu, 'model')?.text ?? '') !== '')) return;
  const type = osType(dom);
  const arch = type.attrs['arch'] ?? '';
  if (!cpuArchSupported(arch)) return;
  if (!isX86Arch(arch) && !isS390Arch(arch) && !isPpc64Arch(arch) && dom.attrs['type'] !== 'qemu') return;
  const cpuType = findMachine(caps, type.attrs['machine'] ?? '')?.defaultCpuType;
  const model = caps.cpuModels.find((m) => cpuType !== undefined && m.typename === cpuType)?.name;
  if (model === undefined) return;
  const target = cpu ?? ensureChild(dom, 'cpu');
  if (model === 'host') {
    if (dom.attrs['type'] !== 'kvm') {
      throw virError(ErrorCode.INTERNAL_ERROR, 'QEMU reports invalid default CPU model "host" for non-kvm domain virt type');
    }
    target.attrs = { ...target.attrs, mode: 'host-passthrough' };
    return;
  }
  target.attrs = { ...target.attrs, mode: 'custom', match: 'exact', check: 'none' };
  target.children = target.children.filter((c) => c.name !== 'model');
  target.children.unshift(element('model', { fallback: 'forbid' }, [], model));
}

/**
 * qemuDomainDefEnableDefaultFeatures: ARM virt always has a GIC, the highest
 * version the accelerator provides (query-gic-capabilities), except GICv3 for
 * TCG (its emulation lacks an MSI controller); GICv2 as the last resort.
 */
function enableDefaultFeatures(dom: XmlElement, caps: QemuCaps): void {
  const features = child(dom, 'features');
  const gic = features ? child(features, 'gic') : undefined;
  if (gic ? gic.attrs['version'] !== undefined : !isArmVirt(guestMachineOf(dom))) return;
  const kvm = dom.attrs['type'] === 'kvm';
  const usable = caps.gicVersions
    .filter((g) => (kvm ? g.kernel : g.emulated) && !(g.version === 3 && dom.attrs['type'] === 'qemu'))
    .map((g) => g.version);
  const target = gic ?? ensureChild(ensureChild(dom, 'features'), 'gic');
  target.attrs['version'] = String(usable.length > 0 ? Math.max(...usable) : 2);
}

/** qemuDomainDefCPUPostParse: SVE implied by vector lengths, migratable and check defaults. */
function cpuPostParse(dom: XmlElement, caps: QemuCaps): void {
  const cpu = child(dom, 'cpu');
  if (!cpu) return;
  const features = childrenNamed(cpu, 'feature');
  const sve = features.find((f) => f.attrs['name'] === 'sve');
  if (features.some((f) => f.attrs['name'] !== 'sve' && (f.attrs['name'] ?? '').startsWith('sve'))) {
    if (sve && (sve.attrs['policy'] === 'disable' || sve.attrs['policy'] === 'forbid')) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'SVE disabled, but SVE vector lengths provided');
    }
    if (sve) sve.attrs['policy'] = 'require';
    else cpu.children.push(element('feature', { policy: 'require', name: 'sve' }));
  }
  const mode = cpu.attrs['mode'] ?? 'custom';
  if (mode === 'host-passthrough' && cpu.attrs['migratable'] === undefined) {
    // QEMU_CAPS_CPU_MIGRATABLE: libvirt looks for the property on max-x86_64-cpu.
    if (caps.deviceTypes.has('max-x86_64-cpu')) cpu.attrs['migratable'] = 'on';
    else if (isX86Arch(osType(dom).attrs['arch'] ?? '')) cpu.attrs['migratable'] = 'off';
  }
  if (mode === 'custom' && (child(cpu, 'model')?.text ?? '') === '') return;
  if (cpu.attrs['check'] !== undefined) return;
  if (mode === 'host-passthrough' || mode === 'maximum') cpu.attrs['check'] = 'none';
  else if (mode === 'host-model') cpu.attrs['check'] = 'partial';
  else cpu.attrs['check'] = dom.attrs['type'] === 'qemu' ? 'none' : 'partial';
}

/** Domain-level checks of qemuValidateDomainDef, in libvirt's order. */
export function qemuValidateDomain(dom: XmlElement, caps: QemuCaps): void {
  const type = osType(dom);
  const emulator = child(child(dom, 'devices') ?? dom, 'emulator')?.text ?? '';
  const unsupported = (msg: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, msg);
  if (type.text !== 'hvm') throw unsupported(`Emulator '${emulator}' does not support os type '${type.text}'`);
  const arch = type.attrs['arch'] ?? '';
  if (!archSupported(caps, arch)) throw unsupported(`Emulator '${emulator}' does not support arch '${arch}'`);
  const virtType = dom.attrs['type'] ?? '';
  if (!virtTypeSupported(caps, virtType)) throw unsupported(`Emulator '${emulator}' does not support virt type '${virtType}'`);
  const machine = type.attrs['machine'] ?? '';
  if (!findMachine(caps, machine)) throw unsupported(`Emulator '${emulator}' does not support machine type '${machine}'`);
  if (child(child(dom, 'memtune') ?? element('x'), 'min_guarantee')) {
    throw unsupported("Parameter 'min_guarantee' not supported by QEMU.");
  }
  validateFirmwareAcpi(dom);
  validateCpu(dom);
  validateMemoryHotplug(dom);
  validateTopology(dom, caps);
  validateFeatures(dom, caps);
  if (child(dom, 'launchSecurity')?.attrs['type'] === 'sev' && !caps.sev) {
    throw unsupported('SEV launch security is not supported with this QEMU binary');
  }
}

function hasFeature(dom: XmlElement, name: string): XmlElement | undefined {
  return child(child(dom, 'features') ?? element('x'), name);
}

/** UEFI needs ACPI on x86; ACPI needs UEFI on aarch64. */
function validateFirmwareAcpi(dom: XmlElement): void {
  const os = child(dom, 'os') ?? element('os');
  const arch = osType(dom).attrs['arch'] ?? '';
  const uefi = os.attrs['firmware'] === 'efi' || child(os, 'loader')?.attrs['type'] === 'pflash';
  const acpi = hasFeature(dom, 'acpi') !== undefined;
  if (uefi && isX86Arch(arch) && !acpi) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'UEFI requires ACPI on this architecture');
  if (acpi && arch === 'aarch64' && !uefi) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'ACPI requires UEFI on this architecture');
}

/** qemuValidateDomainDefCpu: maximum physical address bits and cache passthrough rules. */
function validateCpu(dom: XmlElement): void {
  const cpu = child(dom, 'cpu');
  if (!cpu) return;
  const arch = osType(dom).attrs['arch'] ?? '';
  const unsupported = (msg: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, msg);
  const addr = child(cpu, 'maxphysaddr');
  if (addr) {
    if (!isX86Arch(arch)) throw unsupported(`CPU maximum physical address bits specification is not supported for '${arch}' architecture`);
    if (addr.attrs['mode'] === 'passthrough' && addr.attrs['bits'] !== undefined) {
      throw unsupported("CPU maximum physical address bits number specification cannot be used with mode='passthrough'");
    }
    if (addr.attrs['mode'] === 'emulate' && addr.attrs['bits'] === undefined) {
      throw unsupported("if using CPU maximum physical address mode='emulate', bits= must be specified too");
    }
  }
  const cache = child(cpu, 'cache');
  if (cache) {
    if (!isX86Arch(arch)) throw unsupported(`CPU cache specification is not supported for '${arch}' architecture`);
    const mode = cache.attrs['mode'];
    const level = cache.attrs['level'];
    if (mode === 'emulate' && level !== '3') throw unsupported("CPU cache mode 'emulate' can only be used with level='3'");
    if (mode === 'passthrough' && cpu.attrs['mode'] !== 'host-passthrough' && cpu.attrs['mode'] !== 'maximum') {
      throw unsupported("CPU cache mode 'passthrough' can only be used with 'host-passthrough' / 'maximum' CPUs");
    }
    if ((mode === 'passthrough' || mode === 'disable') && level !== undefined) {
      throw unsupported(`unsupported CPU cache level for mode '${mode}'`);
    }
  }
}

/** qemuDomainDefValidateMemoryHotplug (without a device being plugged). */
function validateMemoryHotplug(dom: XmlElement): void {
  const memoryDevices = childrenNamed(child(dom, 'devices') ?? element('x'), 'memory').length;
  const max = child(dom, 'maxMemory');
  if (!max) {
    if (memoryDevices > 0) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, "cannot use/hotplug a memory device when domain 'maxMemory' is not defined");
    }
    return;
  }
  const cells = childrenNamed(child(child(dom, 'cpu') ?? element('x'), 'numa') ?? element('x'), 'cell').length;
  if (!isPpc64Arch(osType(dom).attrs['arch'] ?? '') && cells === 0) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'At least one numa node has to be configured when enabling memory hotplug');
  }
  const slots = Number(max.attrs['slots'] ?? '0');
  if (memoryDevices > slots) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `memory device count '${memoryDevices}' exceeds slots count '${slots}'`);
  }
}

/** qemuValidateDomainVCpuTopology. */
function validateTopology(dom: XmlElement, caps: QemuCaps): void {
  const maxVcpus = Number(child(dom, 'vcpu')?.text ?? '1');
  const current = Number(child(dom, 'vcpu')?.attrs['current'] ?? maxVcpus);
  if (current === 0) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Domain requires at least 1 vCPU');
  const maxCpus = findMachine(caps, osType(dom).attrs['machine'] ?? '')?.maxCpus ?? 0;
  if (maxCpus > 0 && maxVcpus > maxCpus) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Maximum CPUs greater than specified machine type limit ${maxCpus}`);
  }
  const topology = child(child(dom, 'cpu') ?? element('x'), 'topology');
  if (topology) {
    const product = ['sockets', 'dies', 'cores', 'threads'].reduce((p, a) => p * Number(topology.attrs[a] ?? '1'), 1);
    if (product !== maxVcpus) throw virError(ErrorCode.CONFIG_UNSUPPORTED, "CPU topology doesn't match maximum vcpu count");
  }
}

/** Features only pSeries machines have. */
const PSERIES_FEATURES = ['hpt', 'htm', 'nested-hv', 'ccf-assist', 'cfpc', 'sbbc', 'ibs'];

/** qemuValidateDomainDefFeatures: features that exist only on some arches and machines. */
function validateFeatures(dom: XmlElement, caps: QemuCaps): void {
  const type = osType(dom);
  const arch = type.attrs['arch'] ?? '';
  const machine = type.attrs['machine'] ?? '';
  const notFor = (name: string) =>
    virError(ErrorCode.CONFIG_UNSUPPORTED, `The '${name}' feature is not supported for architecture '${arch}' or machine type '${machine}'`);
  const guest = { arch, machine };
  const pseries = isPSeries(guest);
  for (const f of child(dom, 'features')?.children ?? []) {
    if (PSERIES_FEATURES.includes(f.name) && !pseries) throw notFor(f.name);
    if ((f.name === 'ioapic' || f.name === 'pvspinlock') && !isX86Arch(arch)) throw notFor(f.name);
    if (f.name === 'gic' && !isArmVirt(guest)) throw notFor(f.name);
    if (f.name === 'hyperv' && !isX86Arch(arch) && !isArmVirt(guest)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Hyperv features are not supported for architecture '${arch}' or machine type '${machine}'`);
    }
    if (f.name === 'vmcoreinfo' && f.attrs['state'] === 'on' && !caps.deviceTypes.has('vmcoreinfo')) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'vmcoreinfo is not available with this QEMU binary');
    }
    if (f.name === 'tcg' && dom.attrs['type'] !== 'qemu') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `TCG features are incompatible with domain type '${dom.attrs['type']}'`);
    }
  }
}
