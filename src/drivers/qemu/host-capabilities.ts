// What `virsh capabilities` and `virsh domcapabilities` report for the qemu
// driver, gathered from this host (procfs/sysfs, firmware descriptors) and from
// the probed QEMU binaries, with libvirt's CPU map for the CPU models.
// Everything printed is derived, never assumed: where libvirt relies on data
// tsvirt does not model, that part is left out rather than invented.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { configuredHostUUID } from '../../util/host-uuid.js';
import { escapeXml } from '../../util/xml.js';
import {
  formatCapabilitiesXML, formatDomainCapabilitiesXML,
  type CacheBank, type CapsBlock, type CapsEnum, type GuestCaps, type GuestFeature, type HostCpu, type NumaCell,
} from '../../conf/capabilities.js';
import { archSupported, virtTypeSupported, canonicalMachineName, defaultMachine, findBinaryForArch, findMachine, hostArch, installedGuestArches, type QemuCaps } from './capabilities.js';
import { graphicsTypes, tpmCaps, videoModels } from './device-caps.js';
import type { QemuDriver } from './driver.js';
import { hostX86CpuMap } from './host-cpu.js';
import { qemuHostModel } from './host-cpu-model.js';
import { customCpuModels } from './custom-cpu-models.js';
import type { FirmwareDescriptor } from './firmware-select.js';
import type { HostFacts } from './host/facts.js';
import type { NodeInfo } from '../../driver/node-info.js';
import { dacLabel } from './security/identity.js';
import { SECURITY_MODELS } from './security/process-label.js';
import { isArmVirt, isI440fx, isX86Arch } from '../../conf/machine-family.js';
import { ARCHES } from '../../conf/domain-core.js';

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const listDir = (path: string): string[] => {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
};

/** Expands a kernel cpu list ("0-3,8") into numbers. */
function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/**
 * The host UUID: the daemon's host_uuid when set, SMBIOS when the host has it, else one generated once and kept
 * in the driver's cache folder (libvirt draws a new random one per daemon start;
 * an embedded driver has no daemon, so it is kept stable instead).
 */
export async function hostUUID(cacheDir: string): Promise<string> {
  const configured = configuredHostUUID();
  if (configured !== undefined) return configured;
  const smbios = read('/sys/class/dmi/id/product_uuid');
  if (smbios) return smbios.toLowerCase();
  const file = join(cacheDir, 'host-uuid');
  const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (/^[0-9a-f-]{36}$/.test(kept)) return kept;
  const fresh = process.getBuiltinModule('node:crypto').randomUUID();
  await mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(file, `${fresh}\n`, 0o644);
  return fresh;
}

/** Huge page sizes in KiB, ascending, after the base page. */
function hugePageSizes(dir = '/sys/kernel/mm/hugepages'): number[] {
  return listDir(dir)
    .map((d) => /^hugepages-(\d+)kB$/.exec(d)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const VENDORS: Record<string, string> = { AuthenticAMD: 'AMD', GenuineIntel: 'Intel', HygonGenuine: 'Hygon' };

function hostCpu(): HostCpu {
  const cpuinfo = read('/proc/cpuinfo') ?? '';
  const first = cpuinfo.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
  const cpu: HostCpu = { arch: hostArch(), pageSizes: [4, ...hugePageSizes()] };
  const vendor = field('vendor_id');
  if (vendor) cpu.vendor = VENDORS[vendor] ?? vendor;
  const microcode = field('microcode');
  if (microcode) cpu.microcode = Number.parseInt(microcode, microcode.startsWith('0x') ? 16 : 10);
  const family = field('cpu family');
  const model = field('model');
  const stepping = field('stepping');
  if (family && model && stepping) cpu.signature = { family: Number(family), model: Number(model), stepping: Number(stepping) };
  const bits = /(\d+) bits physical/.exec(field('address sizes') ?? '')?.[1];
  if (bits) cpu.maxPhysAddrBits = Number(bits);

  const online = parseCpuList(read('/sys/devices/system/cpu/online') ?? '0');
  const topo = (id: number, f: string) => read(`/sys/devices/system/cpu/cpu${id}/topology/${f}`);
  const packages = new Set(online.map((id) => topo(id, 'physical_package_id')));
  const dies = new Set(online.map((id) => `${topo(id, 'physical_package_id')}/${topo(id, 'die_id')}`));
  const cores = new Set(online.map((id) => `${topo(id, 'physical_package_id')}/${topo(id, 'die_id')}/${topo(id, 'core_id')}`));
  if (online.length > 0 && packages.size > 0) {
    cpu.topology = {
      sockets: packages.size,
      dies: dies.size / packages.size,
      cores: cores.size / dies.size,
      threads: online.length / cores.size,
    };
  }
  return cpu;
}

function numaCells(pageSizes: number[]): NumaCell[] {
  const base = '/sys/devices/system/node';
  const nodes = listDir(base)
    .map((d) => /^node(\d+)$/.exec(d)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return nodes.map((id) => {
    const dir = `${base}/node${id}`;
    const memoryKiB = Number(/MemTotal:\s+(\d+) kB/.exec(read(`${dir}/meminfo`) ?? '')?.[1] ?? '0');
    const huge = pageSizes.slice(1).map((size): [number, number] => [size, Number(read(`${dir}/hugepages/hugepages-${size}kB/nr_hugepages`) ?? '0')]);
    const hugeKiB = huge.reduce((sum, [size, count]) => sum + size * count, 0);
    const distances = (read(`${dir}/distance`) ?? '').split(/\s+/).filter(Boolean).map(Number);
    const cpus = parseCpuList(read(`${dir}/cpulist`) ?? '').map((cpu) => {
      const t = (f: string) => Number(read(`/sys/devices/system/cpu/cpu${cpu}/topology/${f}`) ?? '0');
      return { id: cpu, socketId: t('physical_package_id'), dieId: t('die_id'), coreId: t('core_id'), siblings: read(`/sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`) ?? String(cpu) };
    });
    return {
      id,
      memoryKiB,
      pages: [[4, Math.floor((memoryKiB - hugeKiB) / 4)], ...huge],
      distances: distances.map((value, i) => ({ id: nodes[i] ?? i, value })),
      cpus,
    };
  });
}

/** Level-3-and-above caches shared between CPUs (virCapabilitiesInitCaches). */
function cacheBanks(): CacheBank[] {
  const banks = new Map<string, CacheBank>();
  for (const cpu of parseCpuList(read('/sys/devices/system/cpu/online') ?? '')) {
    const dir = `/sys/devices/system/cpu/cpu${cpu}/cache`;
    for (const index of listDir(dir).filter((d) => d.startsWith('index'))) {
      const f = (name: string) => read(`${dir}/${index}/${name}`);
      const level = Number(f('level') ?? '0');
      if (level < 3) continue;
      const m = /^(\d+)([KMG]?)$/.exec(f('size') ?? '');
      if (!m) continue;
      const size = Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]!]!;
      const type = { Unified: 'both', Data: 'data', Instruction: 'code' }[f('type') ?? ''] ?? 'both';
      const id = Number(f('id') ?? '0');
      const key = `${level}/${type}/${id}`;
      if (!banks.has(key)) banks.set(key, { id, level, type, size, cpus: f('shared_cpu_list') ?? String(cpu) });
    }
  }
  return [...banks.values()].sort((a, b) => a.level - b.level || a.id - b.id);
}

const WORDSIZE: Record<string, number> = { x86_64: 64, aarch64: 64, i686: 32, armv7l: 32, armv6l: 32 };

/** virQEMUCapsInitGuestFromBinary's guest features. */
function guestFeatures(arch: string): GuestFeature[] {
  const features: GuestFeature[] = [];
  if (arch === 'i686') features.push({ name: 'pae' }, { name: 'nonpae' });
  if (isX86Arch(arch) || arch === 'aarch64') features.push({ name: 'acpi', default: 'on', toggle: 'yes' });
  if (isX86Arch(arch)) features.push({ name: 'apic', default: 'on', toggle: 'no' });
  features.push({ name: 'cpuselection' }, { name: 'deviceboot' }, { name: 'disksnapshot', default: 'on', toggle: 'no' });
  return features;
}

function guestCaps(arch: string, caps: QemuCaps): GuestCaps {
  const machines = caps.machines.flatMap((m) => {
    const entry = { name: m.name, maxCpus: m.maxCpus, deprecated: m.deprecated };
    return m.alias ? [entry, { name: m.alias, canonical: m.name, maxCpus: m.maxCpus, deprecated: m.deprecated }] : [entry];
  });
  return {
    osType: 'hvm',
    arch,
    wordsize: WORDSIZE[arch] ?? 64,
    emulator: caps.binary,
    machines,
    domainTypes: [...(caps.tcgUsable ? ['qemu'] : []), ...(caps.kvmUsable ? ['kvm'] : [])],
    features: guestFeatures(arch),
  };
}

/** virsh capabilities for the qemu driver. */
export async function formatCapabilities(driver: QemuDriver): Promise<string> {
  const cpu = hostCpu();
  const guests: GuestCaps[] = [];
  for (const arch of installedGuestArches()) guests.push(guestCaps(arch, await driver.caps.forArch(arch)));
  const label = dacLabel((await driver.runtime.processes()).security.identity);
  return formatCapabilitiesXML({
    hostUUID: await hostUUID(driver.paths.cacheDir),
    cpu,
    iommu: listDir('/sys/kernel/iommu_groups').length > 0,
    cells: numaCells(cpu.pageSizes),
    caches: cacheBanks(),
    // the DAC base label is the identity QEMU runs as (qemu.conf user/group under root, else the caller)
    secModels: SECURITY_MODELS.map((model) => ({
      model,
      doi: '0',
      baseLabels: model === 'dac' ? [{ type: 'kvm', label }, { type: 'qemu', label }] : [],
    })),
    guests,
  });
}

// ---------------------------------------------------------------------------
// domcapabilities

/** A libvirt enum: the values present, kept in libvirt's enum order. */
const enumOf = (name: string, ordered: Array<[string, boolean]>): CapsEnum => ({ name, values: ordered.filter(([, on]) => on).map(([v]) => v) });

/** Firmware descriptor arch names (QEMU's) for libvirt arches: QEMU's "arm" is armv7l, never armv6l. */
const FIRMWARE_ARCH: Record<string, string> = { i686: 'i386', armv7l: 'arm' };

function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(text);
}

/**
 * The host's QEMU firmware descriptors (docs/interop/firmware.json) that fit
 * arch+machine, in libvirt's precedence. Descriptors are JSON from the host:
 * any field may be missing.
 */
function matchingFirmware(host: HostFacts, arch: string, machine: string): Array<Partial<FirmwareDescriptor>> {
  const fwArch = FIRMWARE_ARCH[arch] ?? arch;
  return host.firmwareDescriptors().filter((fw: Partial<FirmwareDescriptor>) =>
    (fw.targets ?? []).some((t) => t.architecture === fwArch && (t.machines ?? []).some((m) => globMatch(m, machine))));
}

/** libvirt's built-in loader list (qemu.conf's nvram default, DEFAULT_LOADER_NVRAM), offered when no descriptor names a loader for the machine. */
const DEFAULT_LOADERS = ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_CODE.secboot.fd', '/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF32_CODE.fd'];

function osCaps(host: HostFacts, arch: string, machine: string): { supported: boolean; firmware: string[]; loader?: { values: string[]; enums: CapsEnum[] } } {
  const fws = matchingFirmware(host, arch, machine);
  const interfaces = new Set(fws.flatMap((f) => f['interface-types'] ?? []));
  const described = fws
    .map((fw) => (fw.mapping?.device === 'memory' ? fw.mapping.filename : fw.mapping?.executable?.filename))
    .filter((file): file is string => file !== undefined);
  const loaders: string[] = [];
  for (const file of described.length > 0 ? described : DEFAULT_LOADERS) {
    if (host.pathExists(file) && !loaders.includes(file)) loaders.push(file);
  }
  const secure = fws.some((f) => (f.features ?? []).includes('requires-smm'));
  return {
    supported: true,
    firmware: [...(interfaces.has('bios') ? ['bios'] : []), ...(interfaces.has('uefi') ? ['efi'] : [])],
    loader: {
      values: loaders,
      enums: [
        { name: 'type', values: ['rom', 'pflash'] },
        { name: 'readonly', values: ['yes', 'no'] },
        { name: 'secure', values: secure ? ['yes', 'no'] : ['no'] },
      ],
    },
  };
}

/** The USB controllers whose presence lets libvirt offer USB host devices. */
const USB_CONTROLLERS = ['piix3-usb-uhci', 'piix4-usb-uhci', 'usb-ehci', 'ich9-usb-ehci1', 'vt82c686b-usb-uhci', 'pci-ohci', 'nec-usb-xhci', 'qemu-xhci'];

function deviceBlocks(caps: QemuCaps, machine: string): CapsBlock[] {
  const has = (...types: string[]) => types.some((t) => caps.deviceTypes.has(t));
  const transitional = has('virtio-blk-pci-transitional');
  // qemuDomainMachineHasBuiltinIDE: of the machines tsvirt drives, i440FX (isapc's IDE is no bus libvirt offers)
  const builtinIde = isI440fx({ arch: caps.arch, machine });
  const tpm = tpmCaps(caps);
  return [
    {
      name: 'disk',
      supported: true,
      enums: [
        { name: 'diskDevice', values: ['disk', 'cdrom', 'floppy', 'lun'] },
        enumOf('bus', [['ide', builtinIde], ['fdc', true], ['scsi', true], ['virtio', true], ['usb', has('usb-storage')], ['sata', has('ich9-ahci')]]),
        enumOf('model', [['virtio', true], ['virtio-transitional', transitional], ['virtio-non-transitional', transitional]]),
      ],
    },
    {
      name: 'graphics',
      supported: true,
      enums: [{ name: 'type', values: graphicsTypes(caps) }],
    },
    {
      name: 'video',
      supported: true,
      enums: [{ name: 'modelType', values: videoModels(caps) }],
    },
    {
      name: 'hostdev',
      supported: true,
      enums: [
        { name: 'mode', values: ['subsystem'] },
        { name: 'startupPolicy', values: ['default', 'mandatory', 'requisite', 'optional'] },
        enumOf('subsysType', [['usb', has(...USB_CONTROLLERS)], ['pci', true], ['scsi', true]]),
        { name: 'capsType', values: [] },
        { name: 'pciBackend', values: caps.kvmUsable && caps.host.pathExists('/dev/vfio') ? ['vfio'] : [] },
      ],
    },
    {
      name: 'rng',
      supported: true,
      enums: [
        enumOf('model', [['virtio', has('virtio-rng-pci', 'virtio-rng-device')], ['virtio-transitional', transitional], ['virtio-non-transitional', transitional]]),
        enumOf('backendModel', [['random', has('rng-random')], ['egd', has('rng-egd')], ['builtin', has('rng-builtin')]]),
      ],
    },
    { name: 'filesystem', supported: true, enums: [enumOf('driverType', [['path', true], ['handle', true], ['virtiofs', has('vhost-user-fs-device')]])] },
    {
      name: 'tpm',
      supported: tpm.models.length > 0,
      enums: [
        { name: 'model', values: tpm.models },
        { name: 'backendModel', values: tpm.backends },
        // listed only when swtpm can emulate some version
        ...(tpm.versions.length > 0 ? [{ name: 'backendVersion', values: tpm.versions }] : []),
      ],
    },
    { name: 'redirdev', supported: has('usb-redir'), enums: [{ name: 'bus', values: ['usb'] }] },
    { name: 'channel', supported: true, enums: [enumOf('type', [['pty', true], ['unix', true], ['spicevmc', caps.commands.has('query-spice')]])] },
  ];
}

function featureBlocks(caps: QemuCaps, arch: string, machine: string, virtType: string): CapsBlock[] {
  // only ARM's virt machine has a choice of GIC
  const gic = isArmVirt({ arch, machine })
    ? caps.gicVersions.filter((g) => (virtType === 'kvm' ? g.kernel : g.emulated)).map((g) => g.version).sort((a, b) => a - b)
    : [];
  return [
    { name: 'gic', supported: gic.length > 0, enums: [{ name: 'version', values: gic.map(String) }] },
    { name: 'vmcoreinfo', supported: caps.deviceTypes.has('vmcoreinfo'), enums: [] },
    { name: 'genid', supported: caps.deviceTypes.has('vmgenid'), enums: [] },
    { name: 'backingStoreInput', supported: true, enums: [] },
    { name: 'backup', supported: caps.commands.has('blockdev-backup'), enums: [] },
    { name: 'sev', supported: caps.sev, enums: [] },
    { name: 'sgx', supported: caps.sgx, enums: [] },
    // probed once per binary with KVM, so listed for either virt type; absent where KVM was not probed
    ...(caps.hypervFeatures ? [{ name: 'hyperv', supported: true, enums: [{ name: 'features', values: [...caps.hypervFeatures] }] }] : []),
  ];
}

export interface DomainCapsQuery {
  emulator?: string | undefined;
  arch?: string | undefined;
  machine?: string | undefined;
  virttype?: string | undefined;
}

/**
 * virQEMUCapsCacheLookupDefault: the capabilities of the binary an emulator,
 * arch, machine and virt type ask for (the host arch's binary by default),
 * with libvirt's errors for a combination it does not serve.
 */
export async function lookupDefaultCaps(driver: QemuDriver, q: DomainCapsQuery): Promise<{ binary: string; caps: QemuCaps; arch: string; virtType: string; machine: string | undefined }> {
  if (q.virttype !== undefined && q.virttype !== 'qemu' && q.virttype !== 'kvm') {
    throw virError(ErrorCode.INVALID_ARG, `unknown virttype: ${q.virttype}`, ErrorDomain.QEMU);
  }
  if (q.arch !== undefined && !ARCHES.includes(q.arch)) throw virError(ErrorCode.INVALID_ARG, `unknown architecture: ${q.arch}`, ErrorDomain.QEMU);
  const binary = q.emulator ?? findBinaryForArch(q.arch ?? hostArch());
  if (!binary) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unable to find any emulator to serve '${q.arch ?? hostArch()}' architecture`, ErrorDomain.QEMU);
  }
  const caps = await driver.caps.get(binary);
  // an emulator of another architecture needs that architecture named
  const arch = q.arch ?? hostArch();
  const family = (a: string) => (isX86Arch(a) ? 'x86' : a.startsWith('arm') || a === 'aarch64' ? 'arm' : a);
  if (family(arch) !== family(caps.arch)) {
    throw virError(ErrorCode.INVALID_ARG, `architecture from emulator '${caps.arch}' doesn't match given architecture '${arch}'`, ErrorDomain.QEMU);
  }
  const virtType = q.virttype ?? (caps.kvmUsable ? 'kvm' : 'qemu');
  if (virtType === 'kvm' && !caps.kvmUsable) {
    throw virError(ErrorCode.INVALID_ARG, `the accel 'kvm' is not supported by '${binary}' on this host`, ErrorDomain.QEMU);
  }
  const machine = q.machine === undefined ? defaultMachine(caps)?.name : canonicalMachineName(caps, q.machine);
  if (machine !== undefined && !caps.machines.some((m) => m.name === machine)) {
    throw virError(ErrorCode.INVALID_ARG, `the machine '${machine}' is not supported by emulator '${binary}'`, ErrorDomain.QEMU);
  }
  return { binary, caps, arch, virtType, machine };
}

/** virsh domcapabilities (qemuConnectGetDomainCapabilities). */
export async function formatDomainCapabilities(driver: QemuDriver, q: DomainCapsQuery): Promise<string> {
  const { binary, caps, arch, virtType, machine: found } = await lookupDefaultCaps(driver, q);
  if (!archSupported(caps, arch)) throw virError(ErrorCode.INVALID_ARG, `Emulator '${binary}' does not support arch '${arch}'`, ErrorDomain.QEMU);
  if (!virtTypeSupported(caps, virtType)) throw virError(ErrorCode.INVALID_ARG, `Emulator '${binary}' does not support virt type '${virtType}'`, ErrorDomain.QEMU);
  const machine = found ?? '';
  const m = findMachine(caps, machine);
  const map = isX86Arch(arch) ? hostX86CpuMap() : undefined;
  // REPORTED: non-migratable features included (virQEMUCapsGetHostModel)
  const hostModel = map && qemuHostModel(map, caps, virtType === 'kvm' ? 'kvm' : 'tcg', false);
  return formatDomainCapabilitiesXML({
    path: binary,
    domain: virtType,
    ...(machine ? { machine } : {}),
    arch,
    ...(m ? { maxVcpus: m.maxCpus } : {}),
    iothreads: caps.deviceTypes.has('iothread'),
    os: osCaps(caps.host, arch, machine),
    cpu: {
      hostPassthrough: virtType === 'kvm',
      hostPassthroughMigratable: caps.cpuMigratable ? ['on', 'off'] : ['off'],
      ...(caps.cpuModels.some((c) => c.name === 'max') ? { maximum: ['on', 'off'] } : {}),
      customModels: customCpuModels(caps, arch, virtType),
      ...(hostModel ? { hostModel: { ...hostModel, fallback: 'forbid' as const } } : {}),
    },
    memoryBacking: { supported: true, sourceTypes: enumOf('sourceType', [['file', true], ['anonymous', true], ['memfd', caps.deviceTypes.has('memory-backend-memfd')]]).values },
    devices: deviceBlocks(caps, machine),
    features: featureBlocks(caps, arch, machine, virtType),
  });
}

// ---------------------------------------------------------------------------
// node information (virsh nodeinfo / freecell)

/** KiB of a meminfo field summed over the NUMA nodes, else from /proc/meminfo. */
function memoryKiB(field: 'MemTotal' | 'MemFree'): number {
  const re = new RegExp(`${field}:\\s+(\\d+) kB`);
  const nodes = listDir('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d));
  if (nodes.length > 0) return nodes.reduce((sum, n) => sum + Number(re.exec(read(`/sys/devices/system/node/${n}/meminfo`) ?? '')?.[1] ?? '0'), 0);
  return Number(re.exec(read('/proc/meminfo') ?? '')?.[1] ?? '0');
}

/** virNodeGetInfo: sockets are counted per NUMA node, as libvirt does. */
export function hostNodeInfo(): NodeInfo {
  const cpu = hostCpu();
  const online = parseCpuList(read('/sys/devices/system/cpu/online') ?? '0');
  const nodes = Math.max(1, listDir('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d)).length);
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(read('/proc/cpuinfo') ?? '')?.[1] ?? '0');
  const t = cpu.topology ?? { sockets: 1, dies: 1, cores: online.length, threads: 1 };
  return {
    model: cpu.arch,
    memory: memoryKiB('MemTotal'),
    cpus: online.length,
    mhz: Math.floor(mhz),
    nodes,
    sockets: Math.max(1, Math.floor(t.sockets / nodes)),
    cores: t.cores * t.dies,
    threads: t.threads,
  };
}

/** virHostCPUGetMap: every present CPU (up to the highest id), and which are online. */
export function hostCpuMap(): { online: boolean[] } {
  const present = parseCpuList(read('/sys/devices/system/cpu/present') ?? '0');
  const online = new Set(parseCpuList(read('/sys/devices/system/cpu/online') ?? '0'));
  return { online: Array.from({ length: Math.max(...present) + 1 }, (_, cpu) => online.has(cpu)) };
}

/** virNodeGetFreeMemory, in bytes. */
export function hostFreeMemory(): bigint {
  return BigInt(memoryKiB('MemFree')) * 1024n;
}

// ---------------------------------------------------------------------------
// sysinfo (virsh sysinfo)

/** SMBIOS sections and their entries, as the kernel exports them under /sys/class/dmi/id. */
const SMBIOS_SECTIONS: Array<[string, Array<[string, string]>]> = [
  ['bios', [['vendor', 'bios_vendor'], ['version', 'bios_version'], ['date', 'bios_date'], ['release', 'bios_release']]],
  ['system', [['manufacturer', 'sys_vendor'], ['product', 'product_name'], ['version', 'product_version'], ['serial', 'product_serial'], ['uuid', 'product_uuid'], ['sku', 'product_sku'], ['family', 'product_family']]],
  ['baseBoard', [['manufacturer', 'board_vendor'], ['product', 'board_name'], ['version', 'board_version'], ['serial', 'board_serial'], ['asset', 'board_asset_tag']]],
  ['chassis', [['manufacturer', 'chassis_vendor'], ['version', 'chassis_version'], ['serial', 'chassis_serial'], ['asset', 'chassis_asset_tag']]],
];

/**
 * The host's SMBIOS tables in libvirt's <sysinfo type='smbios'> format, from
 * the kernel's DMI export (processor and memory tables need dmidecode and are
 * left out). Hosts without SMBIOS get libvirt's error.
 */
export function formatHostSysinfo(dmiDir = '/sys/class/dmi/id'): string {
  if (!existsSync(dmiDir)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Host SMBIOS information is not available', ErrorDomain.QEMU);
  const out = ["<sysinfo type='smbios'>"];
  for (const [section, entries] of SMBIOS_SECTIONS) {
    const present = entries.map(([name, file]) => [name, read(join(dmiDir, file))] as const).filter(([, v]) => v);
    if (present.length === 0) continue;
    out.push(`  <${section}>`, ...present.map(([name, v]) => `    <entry name='${name}'>${escapeXml(v!)}</entry>`), `  </${section}>`);
  }
  out.push('</sysinfo>');
  return out.join('\n') + '\n';
}
