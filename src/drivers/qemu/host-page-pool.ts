// virHostMemAllocPages: the host's huge page pools, per NUMA cell or for the
// whole host, set to a count or grown by one, through the kernel's
// nr_hugepages files. The kernel may reserve fewer pages than asked; the
// count is read back and a shortfall is an error, as in libvirt.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { systemError } from '../../util/errno-text.js';
import { ALL_CELLS, NODE_DIR, SYSTEM_PAGE_KIB, maxNumaNode } from './node-stats.js';

/** The nr_hugepages file of one page size on one cell (-1: the whole host), libvirt's error when there is none. */
function poolFile(cell: number, pageKiB: number): string {
  const dir = cell === ALL_CELLS ? '/sys/kernel/mm/hugepages' : `${NODE_DIR}/node${cell}/hugepages`;
  const path = `${dir}/hugepages-${pageKiB}kB/nr_hugepages`;
  if (existsSync(path)) return path;
  if (cell === ALL_CELLS) throw virError(ErrorCode.OPERATION_FAILED, `page size ${pageKiB} is not available`, ErrorDomain.NONE);
  if (!existsSync(`${NODE_DIR}/node${cell}`)) throw virError(ErrorCode.OPERATION_FAILED, `NUMA node ${cell} is not available`, ErrorDomain.NONE);
  throw virError(ErrorCode.OPERATION_FAILED, `page size ${pageKiB} is not available on node ${cell}`, ErrorDomain.NONE);
}

function readPoolSize(path: string): bigint {
  const text = readFileSync(path, 'utf8');
  if (!/^\d+\n$/.test(text)) throw virError(ErrorCode.OPERATION_FAILED, `invalid number '${text}' in '${path}'`, ErrorDomain.NONE);
  return BigInt(text.trim());
}

/** virNumaSetPagePoolSize: the pool of one page size on one cell to `count` pages, or `count` more with `add`. */
function setPoolSize(cell: number, pageKiB: number, count: bigint, add: boolean): void {
  // the kernel manages the system page size itself
  if (pageKiB === SYSTEM_PAGE_KIB) throw virError(ErrorCode.OPERATION_UNSUPPORTED, "system pages pool can't be modified", ErrorDomain.NONE);
  const path = poolFile(cell, pageKiB);
  const current = readPoolSize(path);
  if (add && count === 0n) return;
  const wanted = add ? current + count : count;
  if (wanted === current) return;
  try {
    writeFileSync(path, String(wanted));
  } catch (e) {
    throw systemError(`Unable to write to: ${path}`, e, ErrorDomain.NONE);
  }
  const reserved = readPoolSize(path);
  if (reserved !== wanted) throw virError(ErrorCode.OPERATION_FAILED, `Unable to allocate ${wanted} pages. Allocated only ${reserved}`, ErrorDomain.NONE);
}

/**
 * Sets (or with `add` grows) the pools of each page size (KiB) to its count on
 * cellCount cells from startCell (-1: the whole host). Returns how many
 * pools were handled.
 */
export function allocHostPages(pageSizes: readonly number[], pageCounts: readonly bigint[], startCell: number, cellCount: number, add: boolean): number {
  const maxNode = maxNumaNode();
  let lastCell = maxNode ?? 0;
  // without NUMA the one fake cell is the whole host
  const first = maxNode === undefined && startCell === 0 && cellCount === 1 ? ALL_CELLS : startCell;
  if (first > lastCell) throw virError(ErrorCode.INTERNAL_ERROR, `start cell ${first} out of range (0-${lastCell})`, ErrorDomain.NONE);
  lastCell = Math.min(lastCell, first + cellCount - 1);
  let handled = 0;
  for (let cell = first; cell <= lastCell; cell++) {
    pageSizes.forEach((size, i) => {
      setPoolSize(cell, size, pageCounts[i] ?? 0n, add);
      handled++;
    });
  }
  return handled;
}
