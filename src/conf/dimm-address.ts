// DIMM slot addresses of memory devices (qemuDomainAssignMemorySlots).

import { ErrorCode, virError } from '../util/error.js';
import { child, type XmlElement } from '../util/xml.js';
import type { DeviceList } from './device-list.js';

/** Gives each dimm/nvdimm memory device without an address the lowest free slot of <maxMemory slots>. */
export function assignMemorySlots(list: DeviceList, domain: XmlElement): void {
  const slots = Number.parseInt(child(domain, 'maxMemory')?.attrs.slots ?? '0', 10);
  if (!(slots > 0)) return;
  // a set of the taken slots: <maxMemory slots> may be up to UINT_MAX
  const used = new Set<number>();
  const mems = list.named('memory');
  for (const m of mems) if (m.address?.type === 'dimm' && m.address.slot < slots) used.add(m.address.slot);
  for (const m of mems) {
    const model = m.el.attrs.model;
    if ((model !== 'dimm' && model !== 'nvdimm') || m.address?.type === 'dimm') continue;
    let slot = 0;
    while (slot < slots && used.has(slot)) slot++;
    if (slot === slots) throw virError(ErrorCode.INTERNAL_ERROR, 'failed to find an empty memory slot');
    used.add(slot);
    m.address = { type: 'dimm', slot };
  }
}
