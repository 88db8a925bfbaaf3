// <rng>: schema (virDomainRNGDefFormat) and the random backend's default source.

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { propEnum } from '../xml-props.js';
import { chardevChildren, dropGeneratedAlias, infoChildren, normalizeChardevSource } from './common.js';

const RNG_MODELS = ['virtio', 'virtio-transitional', 'virtio-non-transitional'] as const;
const RNG_BACKENDS = ['random', 'egd', 'builtin'] as const;

export const rngSchema: ElementSchema = {
  attrs: ['model'],
  children: {
    rate: { attrs: ['bytes', 'period'] },
    backend: (el) => (el.attrs['model'] === 'egd' ? { attrs: ['model', 'type'], children: chardevChildren } : { attrs: ['model'], text: true }),
    driver: { attrs: ['iommu', 'ats', 'packed', 'page_per_vq'] },
    ...infoChildren(),
  },
};

export function parseRng(rng: XmlElement): void {
  propEnum(rng, 'model', RNG_MODELS, { required: true });
  const backend = rng.children.find((c) => c.name === 'backend');
  if (backend) propEnum(backend, 'model', RNG_BACKENDS, { required: true });
}

export function postParseRng(rng: XmlElement): void {
  dropGeneratedAlias(rng);
  const backend = rng.children.find((c) => c.name === 'backend');
  if (!backend) return;
  if (backend.attrs['model'] === 'random' && backend.text.trim() === '') backend.text = '/dev/random';
  if (backend.attrs['model'] === 'egd') normalizeChardevSource(backend, backend.attrs['type'] ?? 'pty');
}
