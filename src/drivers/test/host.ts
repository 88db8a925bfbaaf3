// The test driver's host: node info (default or from a node file's <cpu>/<memory>),
// NUMA cells of the default node, and the capabilities document built from them.

import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childText, element, formatXml, type XmlElement } from '../../util/xml.js';
import type { NodeInfo } from '../../driver/node-info.js';

export interface TestCell {
  /** KiB */
  memory: number;
  /** KiB */
  freeMemory: number;
  cpus: { id: number; socketId: number; coreId: number }[];
}

export type { NodeInfo };

export function defaultNodeInfo(): NodeInfo {
  return { model: 'i686', memory: 3 * 1024 * 1024, cpus: 16, mhz: 1400, nodes: 2, sockets: 2, cores: 2, threads: 2 };
}

/** The default node's two NUMA cells of 8 CPUs each. */
export function defaultCells(): TestCell[] {
  return [0, 1].map((i) => ({
    memory: (i + 1) * 2048 * 1024,
    freeMemory: (i + 1) * 1024 * 1024,
    cpus: Array.from({ length: 8 }, (_, k) => ({ id: i * 8 + k, socketId: i, coreId: k })),
  }));
}

/** testParseNodeInfo: <cpu> and <memory> of a node file override the defaults. */
export function parseNodeInfo(node: XmlElement): NodeInfo {
  const info = defaultNodeInfo();
  const cpu = child(node, 'cpu');
  const uint = (name: 'nodes' | 'sockets' | 'cores' | 'threads' | 'mhz' | 'active'): number | undefined => {
    const text = cpu && childText(cpu, name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) {
      throw virError(ErrorCode.XML_ERROR, `invalid node cpu ${name} value`, ErrorDomain.TEST);
    }
    return Number(text);
  };
  info.nodes = uint('nodes') ?? info.nodes;
  info.sockets = uint('sockets') ?? info.sockets;
  info.cores = uint('cores') ?? info.cores;
  info.threads = uint('threads') ?? info.threads;
  info.cpus = info.cores * info.threads * info.sockets * info.nodes;
  const active = uint('active');
  if (active !== undefined && active < info.cpus) info.cpus = active;
  info.mhz = uint('mhz') ?? info.mhz;
  const model = cpu && childText(cpu, 'model');
  if (model !== undefined) {
    if (model.length >= 32) throw virError(ErrorCode.INTERNAL_ERROR, `Model ${model} too big for destination`, ErrorDomain.TEST);
    info.model = model;
  }
  const memory = childText(node, 'memory');
  if (memory !== undefined) {
    if (!/^\d+$/.test(memory)) throw virError(ErrorCode.XML_ERROR, 'invalid node memory value', ErrorDomain.TEST);
    info.memory = Number(memory);
  }
  return info;
}

const PAGE_SIZES = [4, 8, 2048, 1024 * 1024];

/** testBuildCapabilities + virCapabilitiesFormatXML. */
export function formatCapabilities(cells: TestCell[], iommu: boolean): string {
  const pages = PAGE_SIZES.map((size) => element('pages', { unit: 'KiB', size: String(size) }));
  const cpu = element('cpu', {}, [element('arch', {}, [], 'i686'), element('features', {}, [element('pae'), element('nonpae')]), ...pages]);
  const cellEls = cells.map((cell, i) => {
    // Cell 1 reports its memory in 8 KiB pages, the others in 4 KiB pages.
    const first = i === 1 ? PAGE_SIZES[1]! : PAGE_SIZES[0]!;
    return element('cell', { id: String(i) }, [
      element('memory', { unit: 'KiB' }, [], String(cell.memory)),
      element('pages', { unit: 'KiB', size: String(first) }, [], String(Math.floor(cell.memory / first))),
      ...PAGE_SIZES.slice(2).map((size) => element('pages', { unit: 'KiB', size: String(size) }, [], '0')),
      element(
        'cpus',
        { num: String(cell.cpus.length) },
        cell.cpus.map((c) => element('cpu', { id: String(c.id), socket_id: String(c.socketId), die_id: '0', core_id: String(c.coreId), siblings: String(c.id) })),
      ),
    ]);
  });
  const cellsEl = element('cells', { num: String(cells.length) }, cellEls);
  if (cellEls.length === 0) cellsEl.text = '\n      ';
  const host = element('host', {}, [
    cpu,
    element('power_management'),
    element('iommu', { support: iommu ? 'yes' : 'no' }),
    element('topology', {}, [cellsEl]),
    element('secmodel', {}, [element('model', {}, [], 'testSecurity'), element('doi')]),
  ]);
  const guests = ['hvm', 'xen'].map((osType) =>
    element('guest', {}, [
      element('os_type', {}, [], osType),
      element('arch', { name: 'i686' }, [element('wordsize', {}, [], '32'), element('emulator', {}, [], '/usr/bin/test-hv'), element('domain', { type: 'test' })]),
      element('features', {}, [element('pae'), element('nonpae')]),
    ]),
  );
  // libvirt separates <host> and each <guest> with an empty line and ends with one.
  const body = [host, ...guests].map((el) => formatXml(el, 2)).join('\n');
  return `<capabilities>\n\n${body}\n</capabilities>\n`.replace('<doi/>', '<doi></doi>');
}
