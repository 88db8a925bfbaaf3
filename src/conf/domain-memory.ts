// Domain memory: sizes normalised to KiB, memory tuning, hugepages and the
// totals libvirt derives from NUMA cells and memory devices
// (virDomainDefParseMemory, virDomainDefPostParseMemory, virDomainDefMemtuneValidate).

import { ErrorCode, virError } from '../util/error.js';
import { parseBitmap } from '../util/bitmap.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';
import { canonicalSet, ensureChild, removeChildren } from './tree.js';
import { MEMORY_MAX_BYTES, parseMemoryKiB } from './units.js';
import { parseUnsigned, propEnum, UINT_MAX } from './xml-props.js';

/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, in KiB. */
const MEMORY_PARAM_UNLIMITED_KIB = 9007199254740991n;

/** A memory-sized element's value as KiB; rewrites the element as unit='KiB'. */
function normaliseSize(el: XmlElement, xpath: string, max = MEMORY_MAX_BYTES): bigint {
  const kib = parseMemoryKiB(el.text, el.attrs['unit'], xpath, max);
  el.attrs['unit'] = 'KiB';
  el.text = kib.toString();
  return kib;
}

export function parseMemory(dom: XmlElement): void {
  const memory = child(dom, 'memory');
  if (memory) normaliseSize(memory, './memory[1]');
  const current = child(dom, 'currentMemory');
  if (current) normaliseSize(current, './currentMemory[1]');
  const max = child(dom, 'maxMemory');
  if (max) {
    normaliseSize(max, './maxMemory[1]');
    const slots = max.attrs['slots'];
    // virXPathUInt: not a number or past UINT_MAX
    if (slots !== undefined && !((parseUnsigned(slots) ?? UINT_MAX + 1n) <= UINT_MAX)) throw virError(ErrorCode.XML_ERROR, 'Failed to parse memory slot count');
  }
  if (memory) {
    const dumpCore = propEnum(memory, 'dumpCore', ['absent', 'on', 'off'], { nonzero: true });
    if (dumpCore === undefined) delete memory.attrs['dumpCore'];
  }
  const backing = child(dom, 'memoryBacking');
  if (backing) {
    const checks: [string, string, string[]][] = [
      ['source', 'type', ['none', 'file', 'anonymous', 'memfd']],
      ['access', 'mode', ['default', 'shared', 'private']],
      ['allocation', 'mode', ['default', 'immediate', 'ondemand']],
    ];
    for (const [name, attr, values] of checks) {
      const v = child(backing, name)?.attrs[attr];
      if (v !== undefined && values.indexOf(v) <= 0) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown memoryBacking/${name}/${attr} '${v}'`);
      }
    }
    for (const page of childrenNamed(child(backing, 'hugepages') ?? element('x'), 'page')) {
      const size = page.attrs['size'];
      if (size === undefined) throw virError(ErrorCode.XML_ERROR, 'missing hugepage size');
      page.attrs['size'] = parseMemoryKiB(size, page.attrs['unit'], './@size').toString();
      page.attrs['unit'] = 'KiB';
      canonicalSet(page, 'nodeset');
    }
  }
  const memtune = child(dom, 'memtune');
  for (const tune of ['hard_limit', 'soft_limit', 'min_guarantee', 'swap_hard_limit']) {
    const el = child(memtune ?? element('x'), tune);
    // virDomainParseMemoryLimit: the largest value means "unlimited", which is not printed.
    if (el && normaliseSize(el, `./memtune/${tune}[1]`) >= MEMORY_PARAM_UNLIMITED_KIB) removeChildren(memtune!, tune);
  }
}

/** Total of `<memory>` hotplug devices' target sizes, in KiB. */
function hotplugMemoryKiB(dom: XmlElement): bigint {
  let sum = 0n;
  const devices = child(dom, 'devices');
  for (const mem of devices ? childrenNamed(devices, 'memory') : []) {
    const size = child(child(mem, 'target') ?? element('x'), 'size');
    if (size) sum += parseMemoryKiB(size.text, size.attrs['unit'], './size');
  }
  return sum;
}

export function postParseMemory(dom: XmlElement): void {
  const cpu = child(dom, 'cpu');
  const numa = cpu ? child(cpu, 'numa') : undefined;
  let numaMemory = 0n;
  for (const cell of numa ? childrenNamed(numa, 'cell') : []) numaMemory += BigInt(cell.attrs['memory'] ?? '0');
  const hotplug = hotplugMemoryKiB(dom);
  let memory = child(dom, 'memory');
  let total = memory ? BigInt(memory.text) : 0n;
  if (numaMemory > 0n) {
    total = numaMemory + hotplug;
  } else if (hotplug > total) {
    throw virError(ErrorCode.XML_ERROR, 'Total size of memory devices exceeds the total memory size');
  }
  if (total - hotplug <= 0n) {
    throw virError(ErrorCode.XML_ERROR, 'Memory size must be specified via <memory> or in the <numa> configuration');
  }
  if (!memory) {
    memory = element('memory', { unit: 'KiB' });
    dom.children.push(memory);
  }
  memory.text = total.toString();
  const current = ensureChild(dom, 'currentMemory', { unit: 'KiB' });
  const cur = current.text === '' ? 0n : BigInt(current.text);
  if (cur === 0n || cur > total) current.text = total.toString();
  const max = child(dom, 'maxMemory');
  const maxKiB = max ? BigInt(max.text) : 0n;
  const slots = max?.attrs['slots'] !== undefined ? Number(max.attrs['slots']) : 0;
  if ((maxKiB > 0n || slots > 0) && !(maxKiB > 0n && slots > 0)) {
    throw virError(ErrorCode.XML_ERROR, 'both maximum memory size and memory slot count must be specified');
  }
  if (max && maxKiB === 0n) removeChildren(dom, 'maxMemory');
  if (maxKiB > 0n && maxKiB < total) {
    throw virError(ErrorCode.XML_ERROR, 'maximum memory size must be equal or greater than the actual memory size');
  }
}

/** virDomainDefPostParseMemtune: without guest NUMA, a hugepage nodeset of just node 0 means no nodeset. */
export function postParseHugepages(dom: XmlElement): void {
  if (childrenNamed(child(child(dom, 'cpu') ?? element('x'), 'numa') ?? element('x'), 'cell').length > 0) return;
  for (const page of childrenNamed(child(child(dom, 'memoryBacking') ?? element('x'), 'hugepages') ?? element('x'), 'page')) {
    if (page.attrs['nodeset'] === '0') delete page.attrs['nodeset'];
  }
}

/** virDomainDefMemtuneValidate: one default hugepage size, nodesets within the guest NUMA cells. */
export function validateHugepages(dom: XmlElement): void {
  const pages = childrenNamed(child(child(dom, 'memoryBacking') ?? element('x'), 'hugepages') ?? element('x'), 'page');
  const cells = childrenNamed(child(child(dom, 'cpu') ?? element('x'), 'numa') ?? element('x'), 'cell').length;
  pages.forEach((page, i) => {
    const nodes = page.attrs['nodeset'] !== undefined ? parseBitmap(page.attrs['nodeset']) : undefined;
    for (const other of pages.slice(0, i)) {
      const otherNodes = other.attrs['nodeset'] !== undefined ? parseBitmap(other.attrs['nodeset']) : undefined;
      if (nodes && otherNodes && [...nodes].some((n) => otherNodes.has(n))) {
        throw virError(ErrorCode.XML_DETAIL, `nodeset attribute of hugepages of sizes ${page.attrs['size']} and ${other.attrs['size']} intersect`);
      }
      if (!nodes && !otherNodes) {
        throw virError(ErrorCode.XML_DETAIL, `two master hugepages detected: ${page.attrs['size']} and ${other.attrs['size']}`);
      }
    }
    const outside = nodes ? [...nodes].sort((a, b) => a - b).find((n) => n > cells - 1) : undefined;
    if (outside !== undefined) throw virError(ErrorCode.XML_DETAIL, `hugepages: node ${outside} not found`);
  });
}
