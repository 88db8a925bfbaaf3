// <memtune>'s limits as the memory parameters see them (virDomainMemtune):
// each limit in KiB, VIR_DOMAIN_MEMORY_PARAM_UNLIMITED where it is not set,
// and written back in libvirt's element order (an unlimited one has no element).
import { child, element, type XmlElement } from '../util/xml.js';
import { parseMemoryKiB } from './units.js';
import { reorder } from './domain.js';

/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED: the value of a limit that is not set. */
export const MEMORY_UNLIMITED = 9007199254740991n;
/** <memtune>'s children in libvirt's order. */
const MEMTUNE_CHILDREN = ['hard_limit', 'soft_limit', 'min_guarantee', 'swap_hard_limit'];
export const MEMORY_LIMITS = ['hard_limit', 'soft_limit', 'swap_hard_limit'] as const;
export type MemoryLimit = (typeof MEMORY_LIMITS)[number];

/** One <memtune> limit in KiB, unlimited where unset. */
export function memtuneLimit(def: XmlElement, name: MemoryLimit): bigint {
  const memtune = child(def, 'memtune');
  const el = memtune && child(memtune, name);
  return el ? parseMemoryKiB(el.text.trim(), el.attrs.unit, `./memtune/${name}[1]`) : MEMORY_UNLIMITED;
}

/** Sets <memtune> limits (KiB); an unlimited value drops its element, an empty <memtune> goes. */
export function setMemtuneLimits(def: XmlElement, values: ReadonlyMap<MemoryLimit, bigint>): void {
  let memtune = child(def, 'memtune');
  if (!memtune) def.children.push((memtune = element('memtune')));
  const limits = new Map(memtune.children.map((c) => [c.name, c]));
  for (const [name, value] of values) {
    if (value === MEMORY_UNLIMITED) limits.delete(name);
    else limits.set(name, element(name, { unit: 'KiB' }, [], String(value)));
  }
  memtune.children = MEMTUNE_CHILDREN.flatMap((name) => limits.get(name) ?? []);
  if (memtune.children.length === 0) def.children.splice(def.children.indexOf(memtune), 1);
  reorder(def);
}
