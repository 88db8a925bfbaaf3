// Firmware selection in <os>: the firmware attribute with its <firmware>
// features, <loader> and <nvram> (virDomainDefParseBootFirmwareOptions,
// virDomainLoaderDefParseXML, virDomainDefPostParseOs, virDomainDefOSValidate).

import { ErrorCode, virError } from '../util/error.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';
import { propEnum, propYesNo } from './xml-props.js';

/** virDomainOsDefFirmwareFeature, in libvirt's (printing) order. */
const FIRMWARE_FEATURES = ['enrolled-keys', 'secure-boot'] as const;

export function parseOsFirmware(os: XmlElement): void {
  const firmware = os.attrs['firmware'];
  if (firmware !== undefined && !['bios', 'efi'].includes(firmware)) {
    throw virError(ErrorCode.XML_ERROR, `unknown firmware value ${firmware}`);
  }
  const block = child(os, 'firmware');
  if (block) {
    const byName = new Map<string, XmlElement>();
    for (const f of childrenNamed(block, 'feature')) {
      const name = propEnum(f, 'name', FIRMWARE_FEATURES, { required: true })!;
      const enabled = propYesNo(f, 'enabled', { required: true })!;
      byName.set(name, element('feature', { enabled, name }));
    }
    block.children = FIRMWARE_FEATURES.flatMap((n) => (byName.has(n) ? [byName.get(n)!] : []));
  }
  const loader = child(os, 'loader');
  if (loader) {
    propYesNo(loader, 'readonly');
    propEnum(loader, 'type', ['none', 'rom', 'pflash'], { nonzero: true });
    propYesNo(loader, 'secure');
    propYesNo(loader, 'stateless');
  }
}

function firmwareFeature(os: XmlElement, name: string): XmlElement | undefined {
  return childrenNamed(child(os, 'firmware') ?? element('x'), 'feature').find((f) => f.attrs['name'] === name);
}

/** virDomainDefPostParseOs: enrolled keys imply Secure Boot; a loader path is a ROM by default. */
export function postParseOsFirmware(os: XmlElement): void {
  const enrolled = firmwareFeature(os, 'enrolled-keys');
  if (enrolled?.attrs['enabled'] === 'yes') {
    const secure = firmwareFeature(os, 'secure-boot');
    if (secure?.attrs['enabled'] === 'no') {
      throw virError(ErrorCode.XML_DETAIL, "firmware feature 'enrolled-keys' cannot be enabled when firmware feature 'secure-boot' is disabled");
    }
    if (!secure) child(os, 'firmware')!.children.push(element('feature', { enabled: 'yes', name: 'secure-boot' }));
  }
  const loader = child(os, 'loader');
  if (loader && loader.text.trim() !== '' && loader.attrs['type'] === undefined) loader.attrs['type'] = 'rom';
}

/** Whether <nvram> names an image (a path or a <source>), not only a template. */
export function hasNvramImage(os: XmlElement): boolean {
  const nvram = child(os, 'nvram');
  return nvram !== undefined && (nvram.text.trim() !== '' || child(nvram, 'source') !== undefined);
}

/** virDomainDefOSValidate. */
export function validateOsFirmware(os: XmlElement): void {
  const detail = (msg: string) => virError(ErrorCode.XML_DETAIL, msg);
  const firmware = os.attrs['firmware'];
  const loader = child(os, 'loader');
  const nvram = child(os, 'nvram');
  const hasLoader = loader !== undefined || nvram !== undefined;
  const template = nvram?.attrs['template'];
  if (firmware !== undefined) {
    if (!hasLoader) return;
    if (loader?.attrs['readonly'] !== undefined) throw detail("loader attribute 'readonly' cannot be specified when firmware autoselection is enabled");
    if (loader?.attrs['type'] !== undefined) throw detail("loader attribute 'type' cannot be specified when firmware autoselection is enabled");
    if ((loader?.text.trim() ?? '') !== '') throw detail('loader path cannot be specified when firmware autoselection is enabled');
    if (template !== undefined) throw detail("nvram attribute 'template' cannot be specified when firmware autoselection is enabled");
    if (loader?.attrs['secure'] === 'no') throw detail("loader attribute 'secure' cannot be specified when firmware autoselection is enabled");
    if (hasNvramImage(os) && firmware !== 'efi') throw detail(`firmware type '${firmware}' does not support nvram`);
  } else {
    if (child(os, 'firmware')?.children.length) {
      throw detail('cannot use feature-based firmware autoselection when firmware autoselection is disabled');
    }
    if (!hasLoader) return;
    if ((loader?.text.trim() ?? '') === '') throw detail('no loader path specified and firmware auto selection disabled');
  }
  const stateless = loader?.attrs['stateless'];
  if (stateless === 'yes') {
    if (template !== undefined) throw detail('NVRAM template is not permitted when loader is stateless');
    if (hasNvramImage(os)) throw detail('NVRAM is not permitted when loader is stateless');
  } else if (stateless === 'no') {
    if (firmware === undefined) {
      if (loader?.attrs['type'] !== 'pflash') throw detail('Only pflash loader type permits NVRAM');
    } else if (firmware !== 'efi') {
      throw detail('Only EFI firmware permits NVRAM');
    }
  }
}
