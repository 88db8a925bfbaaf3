// Guest NUMA topology (<cpu><numa>): cells indexed by id, sizes in KiB, CPU
// sets in canonical form, and the distance matrix completed the way
// virDomainNumaDefParseXML completes it (local distance, symmetry).

import { ErrorCode, virError } from '../util/error.js';
import { formatBitmap, parseBitmap } from '../util/bitmap.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';
import { parseMemoryKiB } from './units.js';
import { propEnum, propUInt, propYesNo } from './xml-props.js';

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
