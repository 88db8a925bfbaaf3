// <hub>: schema (virDomainHubDefFormat).

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { dropGeneratedAlias, infoChildren } from './common.js';

export const hubSchema: ElementSchema = { attrs: ['type'], children: infoChildren() };

export function postParseHub(hub: XmlElement): void {
  dropGeneratedAlias(hub);
}
