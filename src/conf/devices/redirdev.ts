// <redirdev> and <redirfilter>: schemas (virDomainRedirdevDefFormat,
// virDomainRedirFilterDefFormat).

import { ErrorCode, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { chardevChildren, dropGeneratedAlias, firstChild, infoChildren, normalizeChardevSource } from './common.js';

export const redirdevSchema: ElementSchema = {
  attrs: ['bus', 'type'],
  children: { ...chardevChildren, ...infoChildren({ boot: true }) },
};

export const redirfilterSchema: ElementSchema = {
  children: { usbdev: { attrs: ['class', 'vendor', 'product', 'version', 'allow'] } },
};

export function postParseRedirdev(redirdev: XmlElement): void {
  dropGeneratedAlias(redirdev);
  redirdev.attrs['bus'] ??= 'usb';
  normalizeChardevSource(redirdev, redirdev.attrs['type'] ?? 'pty');
  if (redirdev.attrs['type'] === 'dbus') {
    // D-Bus redirection defaults to QEMU's usbredir channel (virDomainRedirdevDefParseXML)
    let source = firstChild(redirdev, 'source');
    if (!source) redirdev.children.unshift(source = element('source'));
    source.attrs['channel'] ??= 'org.qemu.usbredir';
  }
}

/** Wildcard (-1) filter fields are the default and not printed; versions are kept as BCD major.minor. */
export function postParseRedirfilter(filter: XmlElement): void {
  for (const usbdev of filter.children) {
    for (const k of ['class', 'vendor', 'product', 'version']) if (usbdev.attrs[k] === '-1') delete usbdev.attrs[k];
    const version = usbdev.attrs['version'];
    if (version !== undefined) usbdev.attrs['version'] = canonicalUsbVersion(version);
  }
}

/** "JJ.M" means JJ.M0 (a BCD pair per side), printed as "J.MM" the way libvirt stores it. */
function canonicalUsbVersion(version: string): string {
  const m = /^(\d+)\.(\d+)$/.exec(version);
  const major = m ? Number(m[1]) : NaN;
  let minor = m ? Number(m[2]) : NaN;
  if (!(major < 100 && minor < 100)) {
    throw virError(ErrorCode.XML_ERROR, `Cannot parse USB device version ${version}`);
  }
  if (m![2]!.length === 1) minor *= 10;
  return `${major}.${String(minor).padStart(2, '0')}`;
}
