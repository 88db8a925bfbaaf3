// <shmem>: schema (virDomainShmemDefFormat), sizes in MiB as libvirt prints
// them, and the QEMU driver's ivshmem defaults and checks.

import { ErrorCode, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';
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

function sizeBytes(shm: XmlElement): bigint {
  const size = firstChild(shm, 'size');
  if (!size) return 0n;
  return parseScaledValue(size.text.trim(), size.attrs['unit'], './size[1]', 1n, 0xffffffffffffffffn);
}

export function postParseShmem(shm: XmlElement): void {
  dropGeneratedAlias(shm);
  const model = ensureChild(shm, 'model');
  model.attrs['type'] ??= 'ivshmem';
}

/** qemuDomainShmemDefPostParse. */
export function qemuPostParseShmem(shm: XmlElement): void {
  const model = firstChild(shm, 'model')?.attrs['type'] ?? 'ivshmem';
  const userBytes = sizeBytes(shm);
  const bytes = model !== 'ivshmem-doorbell' && userBytes === 0n ? 4n << 20n : userBytes;
  shm.children = shm.children.filter((c) => c.name !== 'size');
  if (bytes) shm.children.push(element('size', { unit: 'M' }, [], String(bytes >> 20n)));
  if (model === 'ivshmem') return;
  if (!firstChild(shm, 'server')) {
    if (model === 'ivshmem-doorbell') throw virError(ErrorCode.CONFIG_UNSUPPORTED, `shmem model '${model}' is supported only with server option enabled`);
    return;
  }
  if (model === 'ivshmem-plain') throw virError(ErrorCode.CONFIG_UNSUPPORTED, `shmem model '${model}' is supported only with server option disabled`);
  if (userBytes) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `shmem model '${model}' does not support size setting`);
  ensureChild(shm, 'msi').attrs['ioeventfd'] ??= 'on';
}
