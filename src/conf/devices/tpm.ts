// <tpm>: schema (virDomainTPMDefFormat); model and version defaults are the driver's.

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { dropGeneratedAlias, infoChildren } from './common.js';

export const tpmSchema: ElementSchema = {
  attrs: ['model'],
  children: {
    backend: {
      attrs: ['type', 'version', 'persistent_state'],
      children: {
        device: { attrs: ['path'] },
        encryption: { attrs: ['secret'] },
        active_pcr_banks: { children: { sha1: {}, sha256: {}, sha384: {}, sha512: {} } },
        source: { attrs: ['type', 'mode', 'path'] },
      },
    },
    ...infoChildren(),
  },
};

export function postParseTpm(tpm: XmlElement): void {
  dropGeneratedAlias(tpm);
}
