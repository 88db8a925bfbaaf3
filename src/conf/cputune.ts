// <iothreadids> and <cputune>: thread ids, pinning sets and scheduler
// settings in the form libvirt prints them (per-thread elements in thread
// order), with virDomainDefTunablesParse's checks and messages.

import { ErrorCode, virError } from '../util/error.js';
import { parseBitmap } from '../util/bitmap.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';
import { propEnum, propUInt } from './xml-props.js';
import { canonicalSet, ensureChild } from './tree.js';

/** Sorts the `name` children of `parent` by `key`, leaving the other children in place. */
function sortGroup(parent: XmlElement, name: string, key: (el: XmlElement) => number): void {
  const group = childrenNamed(parent, name).sort((a, b) => key(a) - key(b));
  let i = 0;
  parent.children = parent.children.map((c) => (c.name === name ? group[i++]! : c));
}

/**
 * virDomainDefParseIOThreads: IOThread ids in libvirt's order, the listed ones
 * then the lowest free ids up to <iothreads>, which grows to cover the list.
 */
function iothreadIds(dom: XmlElement): Map<number, number> {
  const countEl = child(dom, 'iothreads');
  if (countEl && !/^\s*\+?\d+$/.test(countEl.text)) throw virError(ErrorCode.XML_ERROR, `invalid iothreads count '${countEl.text}'`);
  const ids = child(dom, 'iothreadids');
  // Id -> position in libvirt's order; a Map keeps filling thousands of ids linear.
  const order = new Map<number, number>();
  for (const t of ids ? childrenNamed(ids, 'iothread') : []) {
    const id = propUInt(t, 'id', 10, { required: true, nonzero: true })!;
    if (order.has(id)) throw virError(ErrorCode.XML_ERROR, `duplicate iothread id '${id}' found`);
    order.set(id, order.size);
  }
  const count = Math.max(Number(countEl?.text ?? '0'), order.size);
  // libvirt allocates an id per IOThread and aborts out of memory on huge counts.
  if (count > MAX_IOTHREADS) throw virError(ErrorCode.XML_ERROR, `invalid iothreads count '${countEl?.text.trim()}'`);
  if (count > 0) ensureChild(dom, 'iothreads').text = String(count);
  for (let id = 1; order.size < count; id++) {
    if (order.has(id)) continue;
    order.set(id, order.size);
    ids?.children.push(element('iothread', { id: String(id) }));
  }
  return order;
}

/**
 * Not a libvirt limit (it allocates whatever is asked, up to running out of
 * memory): far above any real use, and low enough that the id list it
 * expands to stays cheap to validate and format.
 */
const MAX_IOTHREADS = 8192;

const SCHED_POLICIES = ['none', 'batch', 'idle', 'fifo', 'rr'];

/**
 * virDomainThreadSchedParseHelper + virDomainSchedulerFormat: one element per
 * thread, in thread order, and no thread scheduled twice.
 */
function expandSchedulers(cputune: XmlElement, name: 'vcpu' | 'iothread', rank: (id: number) => number, exists: (id: number) => void): void {
  const tag = `${name}sched`;
  const attr = `${name}s`;
  const byThread = new Map<number, XmlElement>();
  for (const el of childrenNamed(cputune, tag)) {
    const policy = propEnum(el, 'scheduler', SCHED_POLICIES, { required: true, nonzero: true })!;
    const attrs: Record<string, string> = { scheduler: policy };
    if (policy === 'fifo' || policy === 'rr') {
      const priority = el.attrs['priority'];
      if (priority === undefined) throw virError(ErrorCode.XML_ERROR, `Missing required attribute 'priority' in element '${tag}'`);
      if (!/^\s*[+-]?\d+$/.test(priority)) {
        throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute 'priority' in element '${tag}': '${priority}'. Expected integer value`);
      }
      attrs['priority'] = String(Number(priority));
    }
    const text = el.attrs[attr];
    if (text === undefined) throw virError(ErrorCode.XML_ERROR, `Missing attribute '${attr}' in element '${tag}'`);
    const set = parseBitmap(text);
    if (set === undefined) throw virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${text}'`);
    for (const id of [...set].sort((a, b) => a - b)) {
      exists(id);
      if (byThread.has(id)) throw virError(ErrorCode.XML_DETAIL, `'${tag}' attributes '${attr}' must not overlap`);
      byThread.set(id, element(tag, { [attr]: String(id), ...attrs }));
    }
  }
  if (byThread.size === 0) return;
  const expanded = [...byThread.keys()].sort((a, b) => rank(a) - rank(b)).map((id) => byThread.get(id)!);
  const at = cputune.children.findIndex((c) => c.name === tag);
  cputune.children = cputune.children.filter((c) => c.name !== tag);
  cputune.children.splice(at, 0, ...expanded);
}

/** virDomainDefTunablesParse (cputune) and the IOThread id list. */
export function parseCputune(dom: XmlElement): void {
  const iothreads = iothreadIds(dom);
  const cputune = child(dom, 'cputune');
  if (!cputune) return;
  for (const c of cputune.children) {
    if (['vcpupin', 'emulatorpin', 'iothreadpin'].includes(c.name)) canonicalSet(c, 'cpuset');
  }
  // Pins are printed by walking vCPUs in order and IOThreads in id-list order.
  const rank = (id: number) => iothreads.get(id) ?? iothreads.size + id;
  sortGroup(cputune, 'vcpupin', (el) => Number(el.attrs['vcpu']));
  sortGroup(cputune, 'iothreadpin', (el) => rank(Number(el.attrs['iothread'])));
  const maxVcpus = Number(child(dom, 'vcpu')?.text || '1');
  expandSchedulers(cputune, 'vcpu', (id) => id, (id) => {
    if (id >= maxVcpus) throw virError(ErrorCode.INVALID_ARG, `invalid vcpu index '${id}'`);
  });
  expandSchedulers(cputune, 'iothread', rank, (id) => {
    if (!iothreads.has(id)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Cannot find 'iothread' : ${id}`);
  });
}

/**
 * The CPU set each of the first `count` vCPUs is pinned to, as text
 * (virDomainDefGetVcpuPinInfoHelper): its <vcpupin>, else <vcpu cpuset>;
 * undefined for a vCPU that may use every host CPU.
 */
export function vcpuCpusets(dom: XmlElement, count: number): (string | undefined)[] {
  const vcpu = child(dom, 'vcpu');
  const cputune = child(dom, 'cputune');
  const pins = cputune ? childrenNamed(cputune, 'vcpupin') : [];
  const max = Number(vcpu?.text.trim() || 1);
  return Array.from({ length: Math.max(0, Math.min(count, max)) }, (_, i) => pins.find((p) => Number(p.attrs.vcpu) === i)?.attrs.cpuset ?? vcpu?.attrs.cpuset);
}
