// <memballoon>: schema (virDomainMemballoonDefFormat: device info comes
// before <driver>) and the QEMU default virtio balloon.

import { element, type XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { propEnum } from '../xml-props.js';
import { appendDevice, devicesNamed, dropGeneratedAlias, infoChildren, type DeviceContext } from './common.js';

const MEMBALLOON_MODELS = ['virtio', 'xen', 'none', 'virtio-transitional', 'virtio-non-transitional'] as const;

export const memballoonSchema: ElementSchema = {
  attrs: ['model', 'autodeflate', 'freePageReporting'],
  children: {
    stats: { attrs: ['period'] },
    ...infoChildren(),
    driver: { attrs: ['iommu', 'ats', 'packed', 'page_per_vq'] },
  },
};

export function parseMemballoon(balloon: XmlElement): void {
  propEnum(balloon, 'model', MEMBALLOON_MODELS, { required: true });
}

export function postParseMemballoon(balloon: XmlElement): void {
  dropGeneratedAlias(balloon);
  const stats = balloon.children.find((c) => c.name === 'stats');
  if (stats && !Number(stats.attrs['period'] ?? 0)) balloon.children = balloon.children.filter((c) => c !== stats);
}

/** Adds `<memballoon model='virtio'/>` when the guest has none. */
export function addDefaultMemballoon(ctx: DeviceContext): void {
  if (devicesNamed(ctx, 'memballoon').length === 0) appendDevice(ctx, element('memballoon', { model: 'virtio' }));
}

/** The domain's working balloon (virDomainDefHasMemballoon: present and not model 'none'). */
export function activeMemballoon(dom: XmlElement): XmlElement | undefined {
  const devices = dom.children.find((c) => c.name === 'devices');
  const balloon = devices?.children.find((c) => c.name === 'memballoon');
  return balloon && balloon.attrs.model !== 'none' ? balloon : undefined;
}

/** Sets the guest statistics period: <stats period>, the balloon's first child, which a period of 0 removes. */
export function setMemballoonPeriod(balloon: XmlElement, period: number): void {
  balloon.children = balloon.children.filter((c) => c.name !== 'stats');
  if (period !== 0) balloon.children.unshift(element('stats', { period: String(period) }));
}
