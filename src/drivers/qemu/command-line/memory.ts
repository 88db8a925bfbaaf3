// Guest RAM: -m, the default RAM memory-backend object that the machine's
// memory-backend= property points at, and -overcommit.
import { child, childrenNamed } from '../../../util/xml.js';
import type { XmlElement } from '../../../util/xml.js';
import type { BuildContext, JsonProps } from './context.js';
import { hasNumaNodes, unitFactor } from './machine.js';
import { findMachine } from '../capabilities.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import { parseBitmap } from '../../../util/bitmap.js';
import { addAddressProps } from './address.js';

/** A <memory>-style element's value in KiB. */
export function sizeKiB(el: XmlElement | undefined): number {
  if (!el) return 0;
  return Math.round(Number(el.text.trim()) * unitFactor(el.attrs.unit ?? 'KiB'));
}

/** QEMU wants RAM in 4 KiB blocks; libvirt rounds every size up to 1 MiB (qemuDomainAlignMemorySizes). */
export function alignMemory(kib: number): number {
  return Math.ceil(kib / 1024) * 1024;
}

/** The largest memory size libvirt accepts: LLONG_MAX bytes, in KiB (virMemoryMaxValue). */
const MAX_MEMORY_KIB = 2 ** 53 - 1;

/** The NUMA cells of the guest, each with its aligned size in KiB. */
export function numaCells(ctx: BuildContext): Array<{ cell: XmlElement; kib: number }> {
  const cpu = child(ctx.view.def, 'cpu');
  const numa = cpu ? child(cpu, 'numa') : undefined;
  if (!numa) return [];
  return childrenNamed(numa, 'cell').map((cell, i) => {
    const kib = alignMemory(Math.round(Number(cell.attrs.memory ?? 0) * unitFactor(cell.attrs.unit ?? 'KiB')));
    if (kib > MAX_MEMORY_KIB) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `memory size of NUMA node '${i}' overflowed after alignment`, ErrorDomain.QEMU);
    return { cell, kib };
  });
}

/** virDomainDefGetMemoryInitial after alignment: the boot RAM, without hotplugged memory devices. */
export function initialMemoryKiB(ctx: BuildContext): number {
  const cells = numaCells(ctx);
  if (cells.length > 0) return cells.reduce((sum, c) => sum + c.kib, 0);
  const devices = ctx.view.deviceList('memory').reduce((sum, m) => sum + sizeKiB(child(child(m, 'target') ?? m, 'size')), 0);
  return alignMemory(sizeKiB(child(ctx.view.def, 'memory')) - devices);
}

/**
 * The memory-backend object for guest RAM of `kib` KiB, following
 * <memoryBacking> (and a NUMA cell's memAccess, which overrides its access mode).
 */
export function memoryBackendProps(ctx: BuildContext, id: string, kib: number, cellAccess?: string, cellId?: number): JsonProps {
  const backing = child(ctx.view.def, 'memoryBacking');
  const source = backing ? child(backing, 'source')?.attrs.type : undefined;
  const access = cellAccess ?? (backing ? child(backing, 'access')?.attrs.mode : undefined);
  const allocation = backing ? child(backing, 'allocation') : undefined;
  const out: JsonProps = {};
  // Any explicit access mode needs a shareable mapping, hence a file backend (qemuBuildMemoryBackendProps).
  if (source === 'memfd') out['qom-type'] = 'memory-backend-memfd';
  else if (source === 'file' || access !== undefined) out['qom-type'] = 'memory-backend-file';
  else out['qom-type'] = 'memory-backend-ram';
  out.id = id;
  if (out['qom-type'] === 'memory-backend-file') out['mem-path'] = `${ctx.runtime.memoryBackingDir}/${id}`;
  if (access === 'shared') out.share = true;
  else if (access === 'private') out.share = false;
  // Keep the RAM block id older QEMUs used for the default RAM, so migration still matches.
  if (out['qom-type'] !== 'memory-backend-ram' && id === ctx.view.defaultRamId(ctx.options.caps)) out['x-use-canonical-path-for-ramblock-id'] = false;
  if (allocation?.attrs.mode === 'immediate') {
    out.prealloc = true;
    if (allocation.attrs.threads !== undefined) out['prealloc-threads'] = Number(allocation.attrs.threads);
  }
  out.size = kib * 1024;
  Object.assign(out, hostNodePolicy(ctx, cellId));
  return out;
}

const NUMA_POLICIES: Record<string, string> = { strict: 'bind', preferred: 'preferred', interleave: 'interleave' };

/** <numatune>: the host nodes guest RAM (or one cell's RAM) is bound to. */
function hostNodePolicy(ctx: BuildContext, cellId: number | undefined): JsonProps {
  const numatune = child(ctx.view.def, 'numatune');
  if (!numatune) return {};
  const memnode = cellId === undefined ? undefined : childrenNamed(numatune, 'memnode').find((m) => Number(m.attrs.cellid) === cellId);
  const rule = memnode ?? child(numatune, 'memory');
  const nodeset = rule?.attrs.nodeset;
  const policy = NUMA_POLICIES[rule?.attrs.mode ?? 'strict'];
  if (!nodeset || !policy) return {};
  return { 'host-nodes': [...(parseBitmap(nodeset) ?? [])].sort((a, b) => a - b), policy };
}

function numaElement(ctx: BuildContext): XmlElement | undefined {
  const cpu = child(ctx.view.def, 'cpu');
  return cpu ? child(cpu, 'numa') : undefined;
}

/** Heterogeneous memory attributes: interconnect latencies/bandwidths or memory-side caches. */
export function hasHmat(ctx: BuildContext): boolean {
  const numa = numaElement(ctx);
  if (!numa) return false;
  return child(numa, 'interconnects') !== undefined || childrenNamed(numa, 'cell').some((c) => child(c, 'cache') !== undefined);
}

const HMAT_HIERARCHY = ['memory', 'first-level', 'second-level', 'third-level'];
const HMAT_CACHE_POLICY: Record<string, string> = { writeback: 'write-back', writethrough: 'write-through', none: 'none' };

/** -numa hmat-lb per interconnect, then hmat-cache per cell cache (qemuBuildNumaHMATCommandLine). */
function buildHmat(ctx: BuildContext): void {
  const numa = numaElement(ctx)!;
  const interconnects = child(numa, 'interconnects');
  for (const link of interconnects?.children ?? []) {
    const hierarchy = HMAT_HIERARCHY[Number(link.attrs.cache ?? 0)];
    const kind = link.name === 'latency' ? 'latency' : 'bandwidth';
    const value = kind === 'latency' ? link.attrs.value : `${Math.round(Number(link.attrs.value) * unitFactor(link.attrs.unit ?? 'KiB'))}K`;
    ctx.cmd.add('-numa', `hmat-lb,initiator=${link.attrs.initiator},target=${link.attrs.target},hierarchy=${hierarchy},data-type=${link.attrs.type}-${kind},${kind}=${value}`);
  }
  childrenNamed(numa, 'cell').forEach((cell, i) => {
    for (const cache of childrenNamed(cell, 'cache')) {
      const size = child(cache, 'size');
      const line = child(cache, 'line');
      const kib = size ? Math.round(Number(size.attrs.value) * unitFactor(size.attrs.unit ?? 'KiB')) : 0;
      const bytes = line ? Math.round(Number(line.attrs.value) * unitFactor(line.attrs.unit ?? 'B') * 1024) : 0;
      ctx.cmd.add('-numa', `hmat-cache,node-id=${i},size=${kib}K,level=${cache.attrs.level},associativity=${cache.attrs.associativity},policy=${HMAT_CACHE_POLICY[cache.attrs.policy ?? 'none'] ?? 'none'},line=${bytes}`);
    }
  });
}

/** "0-3,8-11" → ",cpus=0-3,cpus=8-11" (qemuBuildNumaCPUs). */
function numaCpus(cpus: string): string {
  return cpus.split(',').filter(Boolean).map((range) => `,cpus=${range}`).join('');
}

/** One memory backend and -numa node per guest NUMA cell, then the distance matrix. */
export function buildNuma(ctx: BuildContext): void {
  const cells = numaCells(ctx);
  if (cells.length === 0) return;
  const machine = findMachine(ctx.options.caps, ctx.view.machine);
  const backends = cells.map(({ cell, kib }, i) => memoryBackendProps(ctx, `ram-node${i}`, kib, cell.attrs.memAccess, i));
  // Plain preallocated RAM can still use the legacy -numa mem= on machines that accept it.
  const needBackend = !machine?.numaMemSupported
    || backends.some((b) => b['qom-type'] !== 'memory-backend-ram' || b['host-nodes'] !== undefined);
  if (!needBackend && backends.some((b) => b.prealloc === true)) ctx.cmd.add('-mem-prealloc');
  const hmat = hasHmat(ctx);
  const firstInitiator = cells.findIndex(({ cell }) => cell.attrs.cpus !== undefined);
  cells.forEach(({ cell, kib }, i) => {
    if (needBackend || hmat) ctx.cmd.json('-object', backends[i]!);
    const initiator = hmat ? `,initiator=${cell.attrs.initiator ?? (cell.attrs.cpus !== undefined ? i : firstInitiator)}` : '';
    const memory = needBackend || hmat ? `,memdev=ram-node${i}` : `,mem=${Math.floor(kib / 1024)}`;
    ctx.cmd.add('-numa', `node,nodeid=${i}${numaCpus(cell.attrs.cpus ?? '')}${initiator}${memory}`);
  });
  const distances = cells.map(({ cell }) => {
    const list = child(cell, 'distances');
    return list ? childrenNamed(list, 'sibling') : [];
  });
  if (distances.some((d) => d.length > 0)) {
    cells.forEach((_, i) => cells.forEach((__, j) => {
      const explicit = distances[i]!.find((s) => Number(s.attrs.id) === j)?.attrs.value;
      const value = explicit !== undefined ? Number(explicit) : i === j ? 10 : 20;
      ctx.cmd.add('-numa', `dist,src=${i},dst=${j},val=${value}`);
    }));
  }
  if (hmat) buildHmat(ctx);
}

export function buildMemory(ctx: BuildContext): void {
  const { view } = ctx;
  const maxMemory = child(view.def, 'maxMemory');
  const initial = initialMemoryKiB(ctx);
  if (maxMemory) {
    ctx.cmd.add('-m', `size=${initial}k,slots=${maxMemory.attrs.slots ?? 0},maxmem=${alignMemory(sizeKiB(maxMemory))}k`);
  } else {
    ctx.cmd.add('-m', String(Math.floor(initial / 1024)));
  }
  const ramId = view.defaultRamId(ctx.options.caps);
  if (ramId && !hasNumaNodes(ctx)) ctx.cmd.json('-object', memoryBackendProps(ctx, ramId, initial));
  const locked = child(view.def, 'memoryBacking') && child(child(view.def, 'memoryBacking')!, 'locked');
  ctx.cmd.add('-overcommit', `mem-lock=${locked ? 'on' : 'off'}`);
}

/** DIMM-like modules must be 2 MiB aligned (qemuDomainGetMemoryModuleSizeAlignment). */
function alignModule(kib: number): number {
  return Math.ceil(kib / 2048) * 2048;
}

const MEMORY_DEVICE_DRIVERS: Record<string, string> = {
  dimm: 'pc-dimm', nvdimm: 'nvdimm', 'virtio-pmem': 'virtio-pmem-pci', 'virtio-mem': 'virtio-mem-pci',
};

/** Hot-pluggable memory: a backend object and its device per <memory> module. */
export function buildMemoryDevices(ctx: BuildContext): void {
  for (const mem of ctx.view.deviceList('memory')) {
    const model = mem.attrs.model ?? 'dimm';
    const driver = MEMORY_DEVICE_DRIVERS[model];
    if (!driver) continue;
    const alias = ctx.view.alias(mem);
    const source = child(mem, 'source');
    const target = child(mem, 'target');
    const kib = alignModule(sizeKiB(target ? child(target, 'size') : undefined));
    const path = source ? child(source, 'path')?.text.trim() : undefined;
    const backend: JsonProps = { 'qom-type': path ? 'memory-backend-file' : 'memory-backend-ram', id: `mem${alias}` };
    if (path) backend['mem-path'] = path;
    if (mem.attrs.access === 'shared') backend.share = true;
    else if (mem.attrs.access === 'private') backend.share = false;
    const pmem = source ? child(source, 'pmem') !== undefined : false;
    if (model === 'nvdimm' && !pmem) backend.prealloc = true;
    backend.size = kib * 1024;
    const align = source ? child(source, 'alignsize') : undefined;
    if (align) backend.align = sizeKiB(align) * 1024;
    if (pmem) backend.pmem = true;
    ctx.cmd.json('-object', backend);
    const node = target ? child(target, 'node')?.text.trim() : undefined;
    const label = target ? child(target, 'label') : undefined;
    const labelSize = label ? sizeKiB(child(label, 'size')) : 0;
    const blockSize = target ? sizeKiB(child(target, 'block')) : 0;
    const requested = target ? sizeKiB(child(target, 'requested')) : 0;
    const out: JsonProps = { driver };
    if (node !== undefined) out.node = Number(node);
    if (labelSize > 0) out['label-size'] = labelSize * 1024;
    if (blockSize > 0) out['block-size'] = blockSize * 1024;
    if (requested > 0) out['requested-size'] = requested * 1024;
    const uuid = child(mem, 'uuid')?.text.trim();
    if (uuid) out.uuid = uuid;
    if (target && child(target, 'readonly')) out.unarmed = true;
    out.memdev = `mem${alias}`;
    out.id = alias;
    addAddressProps(ctx.view, mem, out);
    ctx.cmd.json('-device', out);
  }
}
