// The CPU models domcapabilities offers in mode 'custom' (libvirt's
// virQEMUCapsFillDomainCPUCaps): QEMU's query-cpu-definitions, in QEMU's order,
// narrowed to the models libvirt's CPU driver for the guest arch knows (x86 and
// ppc64 keep only the models of libvirt's CPU map; arm and s390 take QEMU's
// whole list; an arch without a libvirt CPU driver offers none), minus QEMU's
// "host". x86 models carry their vendor from the map.

import { loadPpc64CpuMap, loadX86CpuMap } from '../../conf/cpu-map.js';
import { isArmArch, isPpc64Arch, isS390Arch, isX86Arch } from '../../conf/machine-family.js';
import type { QemuCaps, QemuCpuModel } from './capabilities.js';

export interface CustomCpuModel {
  name: string;
  usable: 'yes' | 'no' | 'unknown';
  deprecated: boolean;
  vendor?: string;
}

/** libvirt's CPU driver for an arch: which QEMU model names it keeps, with their vendor. */
type ModelFilter = (name: string) => { keep: boolean; vendor?: string | undefined };

/** undefined where libvirt has no CPU driver for the arch, or its CPU map is not installed (it then lists nothing). */
function modelFilter(arch: string): ModelFilter | undefined {
  if (isX86Arch(arch)) {
    const map = loadX86CpuMap();
    return map && ((name) => {
      const model = map.models.get(name);
      return { keep: model !== undefined, vendor: model?.vendor };
    });
  }
  if (isPpc64Arch(arch)) {
    const map = loadPpc64CpuMap();
    return map && ((name) => ({ keep: map.models.has(name) }));
  }
  if (isArmArch(arch) || isS390Arch(arch)) return () => ({ keep: true });
  return undefined;
}

/** QEMU reports unavailable features only where it can check them (x86): elsewhere usability is unknown. */
function usability(unavailable: readonly string[] | undefined): CustomCpuModel['usable'] {
  if (unavailable === undefined) return 'unknown';
  return unavailable.length === 0 ? 'yes' : 'no';
}

/** The name libvirt shows: QEMU names ppc64 models in lower case, libvirt by the map's spelling. */
function libvirtName(arch: string, model: QemuCpuModel): string {
  if (!isPpc64Arch(arch)) return model.name;
  const map = loadPpc64CpuMap();
  return [...(map?.models.keys() ?? [])].find((m) => m.toLowerCase() === model.name.toLowerCase()) ?? model.name;
}

/**
 * The custom-mode models of `caps` for a guest of `arch` under `virtType`; the
 * kvm list judges usability by KVM's own blockers where the binary was probed
 * with KVM (a recorded host has TCG's only).
 */
export function customCpuModels(caps: QemuCaps, arch: string, virtType: string): CustomCpuModel[] {
  const filter = modelFilter(arch);
  if (!filter) return [];
  const out: CustomCpuModel[] = [];
  for (const model of caps.cpuModels) {
    if (model.name === 'host') continue;
    const name = libvirtName(arch, model);
    const { keep, vendor } = filter(name);
    if (!keep) continue;
    out.push({
      name,
      usable: usability((virtType === 'kvm' && model.kvmUnavailableFeatures) || model.unavailableFeatures),
      deprecated: model.deprecated,
      ...(vendor !== undefined ? { vendor } : {}),
    });
  }
  return out;
}
