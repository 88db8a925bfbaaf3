// <redirdev> and <redirfilter>: schemas (virDomainRedirdevDefFormat,
// virDomainRedirFilterDefFormat).

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { chardevChildren, dropGeneratedAlias, infoChildren, normalizeChardevSource } from './common.js';

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
}

/** Wildcard (-1) filter fields are the default and not printed. */
export function postParseRedirfilter(filter: XmlElement): void {
  for (const usbdev of filter.children) {
    for (const k of ['class', 'vendor', 'product', 'version']) if (usbdev.attrs[k] === '-1') delete usbdev.attrs[k];
  }
}
