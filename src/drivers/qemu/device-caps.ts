// Which device variants the probed QEMU binary (and its host, for swtpm) can
// provide, as libvirt's virQEMUCapsFillDomainDevice*Caps computes them: the
// single answer shared by domcapabilities and device validation.

import type { QemuCaps } from './capabilities.js';

function hasAny(caps: QemuCaps, ...types: string[]): boolean {
  return types.some((t) => caps.deviceTypes.has(t));
}

/** Video models (virQEMUCapsFillDomainDeviceVideoCaps). */
export function videoModels(caps: QemuCaps): string[] {
  const models: Array<[string, boolean]> = [
    ['vga', hasAny(caps, 'VGA')],
    ['cirrus', hasAny(caps, 'cirrus-vga')],
    ['vmvga', hasAny(caps, 'vmware-svga')],
    ['qxl', hasAny(caps, 'qxl-vga')],
    ['virtio', hasAny(caps, 'virtio-gpu-pci', 'virtio-gpu-device')],
    ['none', true],
    ['bochs', hasAny(caps, 'bochs-display')],
    ['ramfb', hasAny(caps, 'ramfb')],
  ];
  return models.filter(([, ok]) => ok).map(([m]) => m);
}

/** Graphics types (virQEMUCapsFillDomainDeviceGraphicsCaps). */
export function graphicsTypes(caps: QemuCaps): string[] {
  const types: Array<[string, boolean]> = [
    ['sdl', caps.displayTypes.includes('sdl')],
    ['vnc', caps.commands.has('query-vnc')],
    ['spice', caps.commands.has('query-spice')],
    ['egl-headless', caps.displayTypes.includes('egl-headless')],
    ['dbus', caps.displayTypes.includes('dbus')],
  ];
  return types.filter(([, ok]) => ok).map(([t]) => t);
}

export interface TpmCaps {
  models: string[];
  backends: string[];
  versions: string[];
}

/** TPM models, backends and emulator versions (virQEMUCapsFillDomainDeviceTPMCaps). */
export function tpmCaps(caps: QemuCaps): TpmCaps {
  const models: Array<[string, boolean]> = [
    ['tpm-tis', hasAny(caps, 'tpm-tis', 'tpm-tis-device')],
    ['tpm-crb', hasAny(caps, 'tpm-crb')],
    ['tpm-spapr', hasAny(caps, 'tpm-spapr')],
    ['spapr-tpm-proxy', hasAny(caps, 'spapr-tpm-proxy')],
  ];
  const backends = hasAny(caps, 'tpm-passthrough') ? ['passthrough'] : [];
  const versions = caps.host.swtpmVersions();
  if (versions && hasAny(caps, 'tpm-emulator')) backends.push('emulator', 'external');
  return { models: models.filter(([, ok]) => ok).map(([m]) => m), backends, versions: [...(versions ?? [])] };
}
