// The QEMU driver's domain-level defaults and checks (qemuDomainDefPostParseBasic,
// the domain-level parts of qemuDomainDefPostParse and qemuValidateDomainDef),
// driven by the probed capabilities of the domain's emulator, never by tables
// of machine names. Device defaults live in device-defaults.ts.

import { ErrorCode, virError } from '../../util/error.js';
import { child, childrenNamed, element, type XmlElement } from '../../util/xml.js';
import { ensureChild } from '../../conf/domain-core.js';
import { canonicalMachineName, defaultMachine, findMachine, hostArch, type QemuCaps } from './capabilities.js';

/**
 * tsvirt has no SELinux/AppArmor security driver: like libvirt with
 * security_driver = "none", its first security model is 'none'.
 */
export const QEMU_DEFAULT_SECURITY_MODEL = 'none';

const isX86 = (arch: string) => arch === 'x86_64' || arch === 'i686';
const isArm = (arch: string) => arch === 'aarch64' || arch === 'armv7l' || arch === 'armv6l';
const isPpc64 = (arch: string) => arch.startsWith('ppc64');
const isS390 = (arch: string) => arch.startsWith('s390');
/** Arches with a libvirt CPU driver (virCPUArchIsSupported). */
const cpuArchSupported = (arch: string) => isX86(arch) || isArm(arch) || isPpc64(arch) || isS390(arch);

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

/** Whether the binary can run `virtType` guests, as libvirt's probe recorded it. */
export function virtTypeSupported(caps: QemuCaps, virtType: string): boolean {
  if (virtType === 'qemu') return true;
  if (virtType !== 'kvm') return false;
  const host = hostArch();
  return caps.kvmPresent && (caps.arch === host || (host === 'x86_64' && caps.arch === 'i686'));
}

/** The domain-level parts of qemuDomainDefPostParse, in libvirt's order. */
export function qemuDomainPostParse(dom: XmlElement, caps: QemuCaps): void {
  if (child(dom, 'bootloader') || child(dom, 'bootloader_args')) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'bootloader is not supported by QEMU');
  }
  const type = osType(dom);
  if (type.attrs['machine'] === undefined) {
    const machine = defaultMachine(caps);
    if (!machine) {
      const emulator = child(child(dom, 'devices') ?? dom, 'emulator')?.text ?? '';
      throw virError(ErrorCode.INVALID_ARG, `could not get preferred machine for ${emulator} type=${dom.attrs['type']}`);
    }
    type.attrs['machine'] = machine.name;
  }
  type.attrs['machine'] = canonicalMachineName(caps, type.attrs['machine']!);
  setDefaultCpu(dom, caps);
  enableDefaultFeatures(dom);
  cpuPostParse(dom, caps);
}

/** qemuDomainDefSetDefaultCPU: the machine's default CPU model, made explicit. */
function setDefaultCpu(dom: XmlElement, caps: QemuCaps): void {
  const cpu = child(dom, 'cpu');
  if (cpu && ((cpu.attrs['mode'] ?? 'custom') !== 'custom' || (child(cpu, 'model')?.text ?? '') !== '')) return;
  const type = osType(dom);
  const arch = type.attrs['arch'] ?? '';
  if (!cpuArchSupported(arch)) return;
  if (!isX86(arch) && !isS390(arch) && !isPpc64(arch) && dom.attrs['type'] !== 'qemu') return;
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

function isArmVirt(dom: XmlElement): boolean {
  const type = osType(dom);
  const machine = type.attrs['machine'] ?? '';
  return isArm(type.attrs['arch'] ?? '') && (machine === 'virt' || machine.startsWith('virt-'));
}

/**
 * qemuDomainDefEnableDefaultFeatures: ARM virt always has a GIC. libvirt skips
 * GICv3 for TCG (no emulated MSI controller) and otherwise takes the best
 * version domain capabilities list; the probe records none, so libvirt's own
 * fallback applies: GICv2.
 */
function enableDefaultFeatures(dom: XmlElement): void {
  const features = child(dom, 'features');
  const gic = features ? child(features, 'gic') : undefined;
  if (gic ? gic.attrs['version'] !== undefined : !isArmVirt(dom)) return;
  const target = gic ?? ensureChild(ensureChild(dom, 'features'), 'gic');
  target.attrs['version'] = '2';
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
    else if (isX86(osType(dom).attrs['arch'] ?? '')) cpu.attrs['migratable'] = 'off';
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
  const cpu = child(dom, 'cpu');
  const topology = cpu ? child(cpu, 'topology') : undefined;
  if (topology) {
    const product = ['sockets', 'dies', 'cores', 'threads'].reduce((p, a) => p * Number(topology.attrs[a] ?? '1'), 1);
    if (product !== Number(child(dom, 'vcpu')?.text ?? '1')) {
      throw unsupported("CPU topology doesn't match maximum vcpu count");
    }
  }
}

/** virQEMUCapsIsArchSupported: the binary's own arch, plus i686 on x86_64 and armv7l on aarch64. */
function archSupported(caps: QemuCaps, arch: string): boolean {
  if (arch === caps.arch) return true;
  return (caps.arch === 'x86_64' && arch === 'i686') || (caps.arch === 'aarch64' && arch === 'armv7l');
}
