// Which family a guest's architecture and machine type belong to: the one
// place that knows machine-name rules (libvirt's qemuDomainMachineIsQ35,
// ...IsI440FX, ...IsARMVirt, ...IsRISCVVirt, ...IsPSeries and
// the ARCH_IS_* tests). Every question takes the pair as written in
// <os><type arch machine>, so any object carrying both can be asked.

import { child, type XmlElement } from '../util/xml.js';

export interface GuestMachine {
  readonly arch: string;
  /** As written (alias or canonical name); '' when absent. */
  readonly machine: string;
}

/** The <os><type> arch and machine of a domain ('' for what is absent). */
export function guestMachineOf(domain: XmlElement): GuestMachine {
  const type = child(child(domain, 'os') ?? domain, 'type');
  return { arch: type?.attrs.arch ?? '', machine: type?.attrs.machine ?? '' };
}

export const isX86Arch = (arch: string): boolean => arch === 'x86_64' || arch === 'i686';
export const isArmArch = (arch: string): boolean => arch === 'armv6l' || arch === 'armv7l' || arch === 'aarch64';
export const isRiscvArch = (arch: string): boolean => arch === 'riscv32' || arch === 'riscv64';
export const isPpc64Arch = (arch: string): boolean => arch.startsWith('ppc64');
export const isS390Arch = (arch: string): boolean => arch === 's390' || arch === 's390x';

const isVirtMachine = (machine: string): boolean => machine === 'virt' || machine.startsWith('virt-');

export const isX86 = (m: GuestMachine): boolean => isX86Arch(m.arch);
export const isS390 = (m: GuestMachine): boolean => isS390Arch(m.arch);

export const isQ35 = (m: GuestMachine): boolean =>
  isX86Arch(m.arch) && (m.machine === 'q35' || m.machine.startsWith('pc-q35-'));

export const isI440fx = (m: GuestMachine): boolean =>
  isX86Arch(m.arch) && (m.machine === 'pc' || ['pc-0.', 'pc-1.', 'pc-i440fx-', 'rhel'].some((p) => m.machine.startsWith(p)));

export const isArmVirt = (m: GuestMachine): boolean => isArmArch(m.arch) && isVirtMachine(m.machine);
export const isRiscvVirt = (m: GuestMachine): boolean => isRiscvArch(m.arch) && isVirtMachine(m.machine);

export const isPSeries = (m: GuestMachine): boolean =>
  isPpc64Arch(m.arch) && (m.machine === 'pseries' || m.machine.startsWith('pseries-'));
