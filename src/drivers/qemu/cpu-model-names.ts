// connectGetCPUModelNames: the CPU models libvirt's CPU map lists for an
// architecture, in map order; which architectures have a CPU driver and which
// of those list models follows libvirt's CPU drivers (x86 and ppc64 list them,
// s390 and arm accept any model and list none).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CPU_MAP_DIR } from '../../conf/cpu-map.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { childrenNamed, parseXml } from '../../util/xml.js';

/** virArch names (virArchFromString), without "none". */
const ARCHES = new Set([
  'alpha', 'armv6l', 'armv7l', 'armv7b', 'aarch64', 'cris', 'i686', 'ia64', 'lm32', 'm68k', 'microblaze', 'microblazeel',
  'mips', 'mipsel', 'mips64', 'mips64el', 'openrisc', 'parisc', 'parisc64', 'ppc', 'ppcle', 'ppc64', 'ppc64le', 'ppcemb',
  'riscv32', 'riscv64', 's390', 's390x', 'sh4', 'sh4eb', 'sparc', 'sparc64', 'unicore32', 'x86_64', 'xtensa', 'xtensaeb',
]);

/** libvirt's CPU drivers (cpu.c), each serving some architectures. */
export type CpuDriverName = 'x86' | 'ppc64' | 's390' | 'arm';

const CPU_DRIVERS: ReadonlyMap<string, CpuDriverName> = new Map([
  ['i686', 'x86'], ['x86_64', 'x86'],
  ['ppc64', 'ppc64'], ['ppc64le', 'ppc64'],
  ['s390', 's390'], ['s390x', 's390'],
  ['armv6l', 'arm'], ['armv7b', 'arm'], ['armv7l', 'arm'], ['aarch64', 'arm'],
] as const);

/** The map section whose models a CPU driver lists (s390 and arm accept any model and list none). */
const MODEL_SECTION: Partial<Record<CpuDriverName, string>> = { x86: 'x86', ppc64: 'ppc64' };

/** cpuGetSubDriver: the CPU driver of an architecture, libvirt's error for one without. */
export function cpuDriverOf(archName: string): CpuDriverName {
  const driver = CPU_DRIVERS.get(archName);
  if (!driver) throw virError(ErrorCode.NO_SUPPORT, `'${archName}' architecture is not supported by CPU driver`, ErrorDomain.CPU);
  return driver;
}

/** Model names of one section of the CPU map, following index.xml's includes in order. */
function mapModels(section: string, dir: string): string[] {
  const read = (file: string) => {
    try {
      return parseXml(readFileSync(path.join(dir, file), 'utf8'));
    } catch (e) {
      throw virError(ErrorCode.INTERNAL_ERROR, `cannot read CPU map ${path.join(dir, file)}: ${(e as Error).message}`, ErrorDomain.CPU);
    }
  };
  const arch = childrenNamed(read('index.xml'), 'arch').find((a) => a.attrs.name === section);
  const includes = arch ? childrenNamed(arch, 'include').map((i) => i.attrs.filename ?? '') : [];
  return includes.flatMap((file) => childrenNamed(read(file), 'model').map((m) => m.attrs.name ?? ''));
}

export function cpuModelNames(archName: string, dir = process.env.TSVIRT_CPU_MAP_DIR || DEFAULT_CPU_MAP_DIR): string[] {
  if (!ARCHES.has(archName)) throw virError(ErrorCode.INVALID_ARG, `cannot find architecture ${archName}`, ErrorDomain.QEMU);
  const section = MODEL_SECTION[cpuDriverOf(archName)];
  return section === undefined ? [] : mapModels(section, dir);
}
