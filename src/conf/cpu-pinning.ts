// The pinning and IOThread parts of a domain definition as libvirt's setters
// change them: <cputune>'s vcpupin/emulatorpin/iothreadpin, and the IOThread
// id list (<iothreads> with <iothreadids>).
import { formatBitmap } from '../util/bitmap.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';
import { domainSchema } from './domain-schema.js';
import { resolveSchema } from './schema.js';

const TOP_LEVEL_ORDER = Object.keys(domainSchema.children ?? {});

/** The top-level element `name`, created where libvirt prints it when missing. */
function topLevel(def: XmlElement, name: string): XmlElement {
  const existing = child(def, name);
  if (existing) return existing;
  const rank = TOP_LEVEL_ORDER.indexOf(name);
  const at = def.children.findIndex((c) => TOP_LEVEL_ORDER.indexOf(c.name) > rank);
  const created = element(name);
  def.children.splice(at < 0 ? def.children.length : at, 0, created);
  return created;
}

const CPUTUNE_ORDER = Object.keys(resolveSchema(domainSchema.children!['cputune']!, element('cputune')).children ?? {});

/** Replaces the <cputune> child `name` matching `match`, or adds one where libvirt prints that kind. */
function setPin(def: XmlElement, name: string, match: (el: XmlElement) => boolean, attrs: Record<string, string>): void {
  const cputune = topLevel(def, 'cputune');
  const pin = element(name, attrs);
  const existing = cputune.children.findIndex((c) => c.name === name && match(c));
  if (existing >= 0) {
    cputune.children[existing] = pin;
    return;
  }
  const rank = CPUTUNE_ORDER.indexOf(name);
  const at = cputune.children.findIndex((c) => CPUTUNE_ORDER.indexOf(c.name) > rank);
  cputune.children.splice(at < 0 ? cputune.children.length : at, 0, pin);
}

/** Pins (live or persistent) are sorted like libvirt prints them: vCPUs ascending, IOThreads in id-list order. */
function sortPins(def: XmlElement, name: string, rank: (el: XmlElement) => number): void {
  const cputune = child(def, 'cputune');
  if (!cputune) return;
  const group = childrenNamed(cputune, name).sort((a, b) => rank(a) - rank(b));
  let i = 0;
  cputune.children = cputune.children.map((c) => (c.name === name ? group[i++]! : c));
}

export function setVcpuPin(def: XmlElement, vcpu: number, cpus: ReadonlySet<number>): void {
  setPin(def, 'vcpupin', (el) => Number(el.attrs.vcpu) === vcpu, { vcpu: String(vcpu), cpuset: formatBitmap(cpus) });
  sortPins(def, 'vcpupin', (el) => Number(el.attrs.vcpu));
}

export function setEmulatorPin(def: XmlElement, cpus: ReadonlySet<number>): void {
  setPin(def, 'emulatorpin', () => true, { cpuset: formatBitmap(cpus) });
}

/** The emulator threads' CPU set as text: <emulatorpin>, else <vcpu cpuset>; undefined for every host CPU. */
export function emulatorCpuset(def: XmlElement): string | undefined {
  return child(child(def, 'cputune') ?? def, 'emulatorpin')?.attrs.cpuset ?? child(def, 'vcpu')?.attrs.cpuset;
}

/**
 * The IOThread ids in libvirt's order: the listed ones, then the lowest free
 * ids up to the <iothreads> count (the ones libvirt fills in itself).
 */
export function iothreadIdList(def: XmlElement): number[] {
  const listed = childrenNamed(child(def, 'iothreadids') ?? def, 'iothread').map((t) => Number(t.attrs.id));
  const count = Number(child(def, 'iothreads')?.text.trim() || 0);
  const ids = [...listed];
  const taken = new Set(listed);
  for (let id = 1; ids.length < count; id++) if (!taken.has(id)) ids.push(id);
  return ids;
}

export function hasIOThread(def: XmlElement, id: number): boolean {
  return iothreadIdList(def).includes(id);
}

/** <iothreadids> listing every IOThread, as libvirt prints it once one of them was changed by an API call. */
function listedIOThreads(def: XmlElement): XmlElement {
  const ids = iothreadIdList(def);
  const list = topLevel(def, 'iothreadids');
  const known = new Set(childrenNamed(list, 'iothread').map((t) => Number(t.attrs.id)));
  for (const id of ids) if (!known.has(id)) list.children.push(element('iothread', { id: String(id) }));
  return list;
}

function setIOThreadCount(def: XmlElement, count: number): void {
  if (count === 0) {
    def.children = def.children.filter((c) => c.name !== 'iothreads' && c.name !== 'iothreadids');
    return;
  }
  topLevel(def, 'iothreads').text = String(count);
}

/** The <iothread> entry of `id` in the listed ids (listing them all first). */
export function iothreadEntry(def: XmlElement, id: number): XmlElement | undefined {
  return childrenNamed(listedIOThreads(def), 'iothread').find((t) => Number(t.attrs.id) === id);
}

/** virDomainIOThreadIDAdd: the new id goes last. */
export function addIOThreadId(def: XmlElement, id: number): void {
  const list = listedIOThreads(def);
  list.children.push(element('iothread', { id: String(id) }));
  setIOThreadCount(def, childrenNamed(list, 'iothread').length);
}

/** virDomainIOThreadIDDel: the id, its pinning and its scheduler go. */
export function removeIOThreadId(def: XmlElement, id: number): void {
  const list = listedIOThreads(def);
  list.children = list.children.filter((t) => !(t.name === 'iothread' && Number(t.attrs.id) === id));
  const cputune = child(def, 'cputune');
  if (cputune) {
    cputune.children = cputune.children.filter((c) => !((c.name === 'iothreadpin' && Number(c.attrs.iothread) === id) || (c.name === 'iothreadsched' && Number(c.attrs.iothreads) === id)));
    if (cputune.children.length === 0) def.children = def.children.filter((c) => c !== cputune);
  }
  setIOThreadCount(def, childrenNamed(list, 'iothread').length);
}

export function setIOThreadPin(def: XmlElement, id: number, cpus: ReadonlySet<number>): void {
  const order = listedIOThreadOrder(def);
  setPin(def, 'iothreadpin', (el) => Number(el.attrs.iothread) === id, { iothread: String(id), cpuset: formatBitmap(cpus) });
  sortPins(def, 'iothreadpin', (el) => order.get(Number(el.attrs.iothread)) ?? order.size);
}

function listedIOThreadOrder(def: XmlElement): Map<number, number> {
  return new Map(childrenNamed(listedIOThreads(def), 'iothread').map((t, i) => [Number(t.attrs.id), i]));
}

/** An IOThread's CPU set as text: its <iothreadpin>, else <vcpu cpuset>; undefined for every host CPU. */
export function iothreadCpuset(def: XmlElement, id: number): string | undefined {
  const pin = childrenNamed(child(def, 'cputune') ?? def, 'iothreadpin').find((p) => Number(p.attrs.iothread) === id);
  return pin?.attrs.cpuset ?? child(def, 'vcpu')?.attrs.cpuset;
}
