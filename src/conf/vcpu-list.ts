// The state of each vCPU of a definition (<vcpus>: enabled, hotpluggable,
// order), read whether or not the definition lists them, and written back as
// libvirt does once vCPUs were changed one by one (every vCPU listed, the
// <vcpu current> count following the enabled ones).
import { domainMaxVcpus } from './domain.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';

export interface VcpuEntry {
  id: number;
  enabled: boolean;
  /** undefined where the definition does not say (printed as 'no') */
  hotpluggable: boolean | undefined;
  /** the order vCPUs were enabled in (1 first); 0 when not recorded */
  order: number;
}

/** Every vCPU, from <vcpus> when it lists them, else the first <vcpu current> enabled. */
export function vcpuEntries(def: XmlElement): VcpuEntry[] {
  const max = domainMaxVcpus(def);
  const list = child(def, 'vcpus');
  const listed = new Map((list ? childrenNamed(list, 'vcpu') : []).map((v) => [Number(v.attrs.id), v]));
  const current = Number(child(def, 'vcpu')?.attrs.current ?? max);
  return Array.from({ length: max }, (_, id) => {
    const v = listed.get(id);
    if (!v) return { id, enabled: listed.size === 0 && id < current, hotpluggable: undefined, order: 0 };
    const hotpluggable = v.attrs.hotpluggable === undefined ? undefined : v.attrs.hotpluggable === 'yes';
    return { id, enabled: v.attrs.enabled === 'yes', hotpluggable, order: Number(v.attrs.order ?? 0) };
  });
}

/** Writes the entries as <vcpus> (after <vcpu>) and the enabled count as <vcpu current>. */
export function setVcpuEntries(def: XmlElement, entries: readonly VcpuEntry[]): void {
  const vcpu = child(def, 'vcpu')!;
  const enabled = entries.filter((e) => e.enabled).length;
  const { current: _old, ...attrs } = vcpu.attrs;
  vcpu.attrs = enabled === entries.length ? attrs : { ...attrs, current: String(enabled) };
  const list = element('vcpus', {}, entries.map((e) => element('vcpu', {
    id: String(e.id),
    enabled: e.enabled ? 'yes' : 'no',
    hotpluggable: e.hotpluggable ? 'yes' : 'no',
    ...(e.order > 0 ? { order: String(e.order) } : {}),
  })));
  const at = def.children.findIndex((c) => c.name === 'vcpus');
  if (at >= 0) def.children[at] = list;
  else def.children.splice(def.children.indexOf(vcpu) + 1, 0, list);
}
