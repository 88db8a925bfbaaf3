// <memory> devices (DIMMs, NVDIMMs, virtio-mem/pmem, SGX EPC): schema
// (virDomainMemoryDefFormat), sizes normalised to KiB, and the default access
// of virtio-pmem.

import { element, type XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { parseMemoryKiB } from '../units.js';
import { dropGeneratedAlias, firstChild, infoChildren, setDefault } from './common.js';

const sized: ElementSchema = { attrs: ['unit'], text: true };

export const memorySchema: ElementSchema = {
  attrs: ['model', 'access', 'discard'],
  children: {
    uuid: { text: true },
    source: {
      children: { nodemask: { text: true }, pagesize: sized, path: { text: true }, alignsize: sized, pmem: {} },
    },
    target: {
      children: {
        size: sized,
        node: { text: true },
        label: { children: { size: sized } },
        readonly: {},
        block: sized,
        requested: sized,
        current: sized,
        address: { attrs: ['base'] },
      },
    },
    ...infoChildren(),
  },
};

const SIZE_ELEMENTS: readonly (readonly string[])[] = [
  ['source', 'pagesize'], ['source', 'alignsize'], ['target', 'size'], ['target', 'label', 'size'],
  ['target', 'block'], ['target', 'requested'], ['target', 'current'],
];

/** Every size is stored in KiB and printed with unit='KiB'. */
function normaliseSizes(mem: XmlElement): void {
  for (const path of SIZE_ELEMENTS) {
    let el: XmlElement | undefined = mem;
    for (const name of path) el = el && firstChild(el, name);
    if (!el) continue;
    const kib = parseMemoryKiB(el.text.trim(), el.attrs['unit'], `./${path.join('/')}`);
    const fresh = element(el.name, { unit: 'KiB' }, [], String(kib));
    Object.assign(el, { attrs: fresh.attrs, text: fresh.text });
  }
}

export function postParseMemory(mem: XmlElement): void {
  dropGeneratedAlias(mem);
  normaliseSizes(mem);
  if (mem.attrs['model'] === 'virtio-pmem') setDefault(mem, 'access', 'shared');
}
