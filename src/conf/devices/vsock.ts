// <vsock>: schema (virDomainVsockDefFormat) and the cid/model defaults.

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { dropGeneratedAlias, ensureChild, infoChildren } from './common.js';

export const vsockSchema: ElementSchema = {
  attrs: ['model'],
  children: { cid: { attrs: ['auto', 'address'] }, ...infoChildren(), driver: { attrs: ['iommu', 'ats', 'packed', 'page_per_vq'] } },
};

/** virDomainVsockDefPostParse plus qemuDomainVsockDefPostParse (virtio model). */
export function postParseVsock(vsock: XmlElement): void {
  dropGeneratedAlias(vsock);
  const cid = ensureChild(vsock, 'cid');
  if (cid.attrs['auto'] === undefined) cid.attrs['auto'] = Number(cid.attrs['address'] ?? 0) ? 'no' : 'yes';
  vsock.attrs['model'] ??= 'virtio';
}
