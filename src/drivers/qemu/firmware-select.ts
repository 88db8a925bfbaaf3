// Firmware autoselection (<os firmware='efi|bios'>): the first QEMU firmware
// descriptor, by file name, whose interface, target and features fit the
// domain, fills in the loader and NVRAM at start (qemuFirmwareFillDomain).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { XmlElement } from '../../util/xml.js';
import { child, childrenNamed, element } from '../../util/xml.js';
import { virError, ErrorCode, ErrorDomain } from '../../util/error.js';

/** Where QEMU firmware descriptors live; a name in an earlier folder hides the same name in a later one. */
export const FIRMWARE_DESCRIPTOR_DIRS = ['/etc/qemu/firmware', '/usr/share/qemu/firmware'];

export interface FirmwareDescriptor {
  'interface-types': string[];
  mapping: { device: string; mode?: string; filename?: string; executable?: { filename: string }; 'nvram-template'?: { filename: string } };
  targets: Array<{ architecture: string; machines: string[] }>;
  features: string[];
}

export function loadFirmwareDescriptors(dirs: string[] = FIRMWARE_DESCRIPTOR_DIRS): FirmwareDescriptor[] {
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[] = [];
    try { names = readdirSync(dir).filter((n) => n.endsWith('.json')); } catch { continue; }
    for (const n of names) if (!byName.has(n)) byName.set(n, join(dir, n));
  }
  return [...byName.keys()].sort().flatMap((n) => {
    try { return [JSON.parse(readFileSync(byName.get(n)!, 'utf8')) as FirmwareDescriptor]; } catch { return []; }
  });
}

function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(text);
}

/** Fills <loader>/<nvram> (and SMM) of a domain asking for firmware autoselection; no-op otherwise. */
export function fillFirmware(def: XmlElement, nvramDir: string, descriptors: readonly FirmwareDescriptor[]): void {
  const os = child(def, 'os');
  const kind = os?.attrs.firmware;
  if (!os || !kind) return;
  const type = child(os, 'type');
  const arch = type?.attrs.arch ?? 'x86_64';
  const machine = type?.attrs.machine ?? '';
  const loader = child(os, 'loader');
  const wanted = new Map<string, boolean>();
  const fw = child(os, 'firmware');
  for (const f of fw ? childrenNamed(fw, 'feature') : []) wanted.set(f.attrs.name ?? '', f.attrs.enabled === 'yes');
  if (loader?.attrs.secure === 'yes') wanted.set('secure-boot', true);
  const stateless = loader?.attrs.stateless === 'yes';
  const features = child(def, 'features');
  const smmOff = features ? child(features, 'smm')?.attrs.state === 'off' : false;
  const found = descriptors.find((d) => {
    if (!d['interface-types'].includes(kind === 'efi' ? 'uefi' : kind)) return false;
    if (!d.targets.some((t) => t.architecture === arch && t.machines.some((m) => globMatch(m, machine)))) return false;
    if (kind === 'efi' && d.mapping.device !== 'flash') return false;
    if (stateless !== (d.mapping.mode === 'stateless')) return false;
    if (smmOff && d.features.includes('requires-smm')) return false;
    return [...wanted].every(([name, on]) => d.features.includes(name) === on);
  });
  if (!found) throw virError(ErrorCode.OPERATION_FAILED, `Unable to find any firmware to satisfy '${kind}'`, ErrorDomain.QEMU);
  const smm = found.features.includes('requires-smm');
  const newLoader = element('loader', { readonly: 'yes', type: found.mapping.device === 'flash' ? 'pflash' : 'rom', ...(smm ? { secure: 'yes' } : {}) }, [], found.mapping.executable?.filename ?? '');
  os.children = os.children.filter((c) => c.name !== 'loader');
  const typeAt = os.children.findIndex((c) => c.name === 'type');
  os.children.splice(typeAt + 1, 0, newLoader);
  if (found.mapping.device === 'flash' && !stateless && !child(os, 'nvram')) {
    const name = child(def, 'name')?.text ?? '';
    os.children.splice(typeAt + 2, 0, element('nvram', {}, [], `${nvramDir}/${name}_VARS.fd`));
  }
  if (smm && features && !child(features, 'smm')) features.children.push(element('smm', { state: 'on' }));
}
