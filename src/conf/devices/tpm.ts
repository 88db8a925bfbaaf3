// <tpm>: schema (virDomainTPMDefFormat); model and version defaults are the driver's.

import { ErrorCode, virError } from '../../util/error.js';
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

/** virDomainTPMDefParseXML: exactly one backend. */
export function parseTpm(tpm: XmlElement): void {
  const backends = tpm.children.filter((c) => c.name === 'backend').length;
  if (backends > 1) throw virError(ErrorCode.XML_ERROR, 'only one TPM backend is supported');
  if (backends === 0) throw virError(ErrorCode.XML_ERROR, 'missing TPM device backend');
}

export function postParseTpm(tpm: XmlElement): void {
  dropGeneratedAlias(tpm);
}
