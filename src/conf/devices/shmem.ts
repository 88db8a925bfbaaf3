// <shmem>: schema (virDomainShmemDefFormat), the default model, and sizes in
// MiB as libvirt prints them.

import { ErrorCode, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { parseScaledValue } from '../units.js';
import { dropGeneratedAlias, ensureChild, firstChild, infoChildren } from './common.js';

export const shmemSchema: ElementSchema = {
  attrs: ['name', 'role'],
  children: {
    model: { attrs: ['type'] },
    size: { attrs: ['unit'], text: true },
    server: { attrs: ['path'] },
    msi: { attrs: ['vectors', 'ioeventfd'] },
    ...infoChildren(),
  },
};

export function shmemSizeBytes(shm: XmlElement): bigint {
  const size = firstChild(shm, 'size');
  if (!size) return 0n;
  return parseScaledValue(size.text.trim(), size.attrs['unit'], './size[1]', 1n, 0xffffffffffffffffn);
}

/** virDomainShmemDefParseXML: MSI only makes sense with a doorbell server. */
export function parseShmem(shm: XmlElement): void {
  if (firstChild(shm, 'msi') && !firstChild(shm, 'server')) throw virError(ErrorCode.XML_ERROR, 'msi option is only supported with a server');
}

export function postParseShmem(shm: XmlElement): void {
  dropGeneratedAlias(shm);
  const model = ensureChild(shm, 'model');
  model.attrs['type'] ??= 'ivshmem';
}
