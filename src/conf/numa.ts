// Guest NUMA topology (<cpu><numa>): cells indexed by id, sizes in KiB, CPU
// sets in canonical form, and the distance matrix completed the way
// virDomainNumaDefParseXML completes it (local distance, symmetry); and the
// host NUMA binding of guest memory (<numatune>, virDomainNumatuneParseXML).

import { ErrorCode, virError } from '../util/error.js';
import { formatBitmap, parseBitmap } from '../util/bitmap.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';
import { parseMemoryKiB } from './units.js';
import { propEnum, propUInt, propYesNo } from './xml-props.js';
import { canonicalSet, ensureChild } from './tree.js';

const LOCAL_DISTANCE = 10;
const UNREACHABLE = 255;

export function parseNuma(numa: XmlElement): void {
  const cells = childrenNamed(numa, 'cell');
  const ordered: XmlElement[] = new Array(cells.length);
  cells.forEach((cell, i) => {
    const id = propUInt(cell, 'id') ?? i;
    if (id >= cells.length) {
      throw virError(ErrorCode.XML_ERROR, "Exactly one 'cell' element per guest NUMA cell allowed, non-contiguous ranges or ranges not starting from 0 are not allowed");
    }
    if (ordered[id]) throw virError(ErrorCode.XML_ERROR, `Duplicate NUMA cell info for cell id '${id}'`);
    ordered[id] = cell;
    cell.attrs['id'] = String(id);
    const cpus = cell.attrs['cpus'];
    if (cpus !== undefined) {
      const set = parseBitmap(cpus);
      if (set === undefined) throw virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${cpus}'`);
      cell.attrs['cpus'] = formatBitmap(set);
    }
    const mine = cell.attrs['cpus'] !== undefined ? parseBitmap(cell.attrs['cpus'])! : new Set<number>();
    cells.slice(0, i).forEach((other, j) => {
      const theirs = parseBitmap(other.attrs['cpus'] ?? '') ?? new Set<number>();
      if ([...mine].some((c) => theirs.has(c))) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, `NUMA cells ${id} and ${Number(other.attrs['id'] ?? j)} have overlapping vCPU ids`);
      }
    });
    const memory = cell.attrs['memory'];
    if (memory === undefined) throw virError(ErrorCode.XML_ERROR, "Missing 'memory' attribute in NUMA cell");
    cell.attrs['memory'] = parseMemoryKiB(memory, cell.attrs['unit'], './@memory').toString();
    cell.attrs['unit'] = 'KiB';
    propEnum(cell, 'memAccess', ['default', 'shared', 'private'], { nonzero: true });
    propYesNo(cell, 'discard');
  });
  completeDistances(ordered);
  numa.children = [...ordered, ...numa.children.filter((c) => c.name !== 'cell')];
}

function completeDistances(cells: XmlElement[]): void {
  const n = cells.length;
  const matrix: (number[] | undefined)[] = new Array(n);
  const row = (i: number) => (matrix[i] ??= Object.assign(new Array<number>(n).fill(0), { [i]: LOCAL_DISTANCE }));
  cells.forEach((cell, cur) => {
    const distances = child(cell, 'distances');
    if (!distances) return;
    const siblings = childrenNamed(distances, 'sibling');
    if (siblings.length === 0) throw virError(ErrorCode.XML_ERROR, 'NUMA distances defined without siblings');
    for (const s of siblings) {
      const id = propUInt(s, 'id', 10, { required: true })!;
      if (id >= n) throw virError(ErrorCode.XML_ERROR, `'sibling_id ${id}' does not refer to a valid cell within NUMA 'cell id ${cur}'`);
      const value = propUInt(s, 'value', 10, { required: true })!;
      if (value < LOCAL_DISTANCE || value > UNREACHABLE || (id === cur) !== (value === LOCAL_DISTANCE)) {
        throw virError(ErrorCode.XML_ERROR, `'value ${value}' is invalid for 'sibling id ${id}' under NUMA 'cell id ${cur}'`);
      }
      row(cur)[id] = value;
      const other = row(id);
      if (!other[cur]) other[cur] = value;
    }
  });
  cells.forEach((cell, i) => {
    const r = matrix[i];
    cell.children = cell.children.filter((c) => c.name !== 'distances');
    if (!r) return;
    const siblings = r.flatMap((v, j) => (v ? [element('sibling', { id: String(j), value: String(v) })] : []));
    cell.children.unshift(element('distances', {}, siblings));
  });
}

const NUMATUNE_MODES = ['strict', 'preferred', 'interleave', 'restrictive'];

/**
 * virDomainNumatuneParseXML + virDomainNumatuneSet: mode defaults to strict,
 * placement follows the nodeset (static) or the vCPU placement; automatic
 * memory placement makes vCPU placement automatic too when nothing is pinned.
 */
export function parseNumatune(dom: XmlElement): void {
  const vcpuPlacement = child(dom, 'vcpu')!.attrs['placement'];
  let numatune = child(dom, 'numatune');
  if (vcpuPlacement === 'auto' && !child(numatune ?? element('x'), 'memory')) {
    // Automatic vCPU placement implies automatic memory placement.
    numatune ??= ensureChild(dom, 'numatune');
    numatune.children.unshift(element('memory', { placement: 'auto' }));
  }
  if (!numatune) return;
  for (const c of numatune.children) {
    const text = c.attrs['nodeset'];
    if (canonicalSet(c, 'nodeset')?.size === 0) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Invalid value of 'nodeset': ${text}`);
  }
  const memory = child(numatune, 'memory');
  const vcpu = child(dom, 'vcpu')!;
  if (memory && Object.keys(memory.attrs).length > 0) {
    const mode = memory.attrs['mode'] ?? 'strict';
    if (!NUMATUNE_MODES.includes(mode)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Unsupported NUMA memory tuning mode '${mode}'`);
    }
    let placement = memory.attrs['placement'];
    if (placement !== undefined && !['default', 'static', 'auto'].includes(placement)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Unsupported NUMA memory placement mode '${placement}'`);
    }
    const nodeset = memory.attrs['nodeset'];
    if (placement === undefined && nodeset !== undefined) placement = 'static';
    if (placement === undefined || placement === 'default') {
      placement = nodeset !== undefined || vcpu.attrs['placement'] === 'static' ? 'static' : 'auto';
    }
    if (placement === 'static' && nodeset === undefined) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, "nodeset for NUMA memory tuning must be set if 'placement' is 'static'");
    }
    memory.attrs = placement === 'static' ? { mode, nodeset: nodeset! } : { mode, placement };
  }
  parseMemnodes(dom, numatune, memory);
  const cputune = child(dom, 'cputune');
  const pinned = (cputune?.children ?? []).some((c) => ['vcpupin', 'emulatorpin', 'iothreadpin'].includes(c.name));
  if (memory?.attrs['placement'] === 'auto' && vcpu.attrs['cpuset'] === undefined && !pinned) vcpu.attrs['placement'] = 'auto';
}

/** virDomainNumatuneNodeParseXML: per-cell bindings, printed in cell order with their mode. */
function parseMemnodes(dom: XmlElement, numatune: XmlElement, memory: XmlElement | undefined): void {
  const memnodes = childrenNamed(numatune, 'memnode');
  if (memnodes.length === 0) return;
  if (memory?.attrs['placement'] === 'auto') {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Per-node binding is not compatible with automatic NUMA placement.');
  }
  const cells = childrenNamed(child(child(dom, 'cpu') ?? element('x'), 'numa') ?? element('x'), 'cell').length;
  if (cells === 0) throw virError(ErrorCode.XML_ERROR, "Element 'memnode' is invalid without any guest NUMA cells");
  const seen = new Set<number>();
  for (const node of memnodes) {
    const cellid = propUInt(node, 'cellid', 10, { required: true })!;
    if (cellid >= cells) {
      throw virError(ErrorCode.XML_ERROR, "Argument 'cellid' in memnode element must correspond to existing guest's NUMA cell");
    }
    if (seen.has(cellid)) throw virError(ErrorCode.XML_ERROR, `Multiple memnode elements with cellid ${cellid}`);
    seen.add(cellid);
    const mode = propEnum(node, 'mode', NUMATUNE_MODES) ?? 'strict';
    if (memory?.attrs['mode'] === 'restrictive' && mode !== 'restrictive') {
      throw virError(ErrorCode.XML_ERROR, "'restrictive' mode is required in memnode element when mode is 'restrictive' in memory element");
    }
    const nodeset = node.attrs['nodeset'];
    if (nodeset === undefined) throw virError(ErrorCode.XML_ERROR, 'Missing required nodeset attribute in memnode element');
    node.attrs = { cellid: String(cellid), mode, nodeset };
  }
  sortByNumber(numatune, 'memnode', 'cellid');
}

/** Puts the `name` children of `parent` in ascending order of a numeric attribute. */
function sortByNumber(parent: XmlElement, name: string, attr: string): void {
  const sorted = childrenNamed(parent, name).sort((a, b) => Number(a.attrs[attr]) - Number(b.attrs[attr]));
  let i = 0;
  parent.children = parent.children.map((c) => (c.name === name ? sorted[i++]! : c));
}
