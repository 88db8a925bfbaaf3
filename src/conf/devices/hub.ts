// <hub>: schema (virDomainHubDefFormat).

import { ErrorCode, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { dropGeneratedAlias, infoChildren, usbDisabled, type DeviceContext } from './common.js';

export const hubSchema: ElementSchema = { attrs: ['type'], children: infoChildren() };

export function parseHub(hub: XmlElement, ctx: DeviceContext): void {
  if (hub.attrs['type'] === 'usb' && usbDisabled(ctx)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, "Can't add USB hub: USB is disabled for this domain");
}

export function postParseHub(hub: XmlElement): void {
  dropGeneratedAlias(hub);
}
