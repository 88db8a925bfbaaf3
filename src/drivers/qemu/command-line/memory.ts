// Guest RAM: -m, the default RAM memory-backend object that the machine's
// memory-backend= property points at, and -overcommit.
import { child, childrenNamed } from '../../../util/xml.js';
import type { XmlElement } from '../../../util/xml.js';
import type { BuildContext, JsonProps } from './context.js';
import { hasNumaNodes, unitFactor } from './machine.js';

/** A <memory>-style element's value in KiB. */
export function sizeKiB(el: XmlElement | undefined): number {
  if (!el) return 0;
  return Math.round(Number(el.text.trim()) * unitFactor(el.attrs.unit ?? 'KiB'));
}

/** virDomainDefGetMemoryInitial: the boot RAM, without hotplugged memory devices. */
export function initialMemoryKiB(ctx: BuildContext): number {
  const { def } = ctx.view;
  const cpu = child(def, 'cpu');
  const numa = cpu ? child(cpu, 'numa') : undefined;
  if (numa && childrenNamed(numa, 'cell').length > 0) {
    return childrenNamed(numa, 'cell').reduce((sum, cell) => sum + Math.round(Number(cell.attrs.memory ?? 0) * unitFactor(cell.attrs.unit ?? 'KiB')), 0);
  }
  const devices = ctx.view.deviceList('memory').reduce((sum, m) => sum + sizeKiB(child(child(m, 'target') ?? m, 'size')), 0);
  return sizeKiB(child(def, 'memory')) - devices;
}

/** The memory-backend object for guest RAM of `sizeKiB`, following <memoryBacking>. */
export function memoryBackendProps(ctx: BuildContext, id: string, kib: number): JsonProps {
  const backing = child(ctx.view.def, 'memoryBacking');
  const source = backing ? child(backing, 'source')?.attrs.type : undefined;
  const access = backing ? child(backing, 'access')?.attrs.mode : undefined;
  const allocation = backing ? child(backing, 'allocation') : undefined;
  const out: JsonProps = {};
  if (source === 'memfd') out['qom-type'] = 'memory-backend-memfd';
  else if (source === 'file' || access === 'shared') {
    out['qom-type'] = 'memory-backend-file';
  } else out['qom-type'] = 'memory-backend-ram';
  out.id = id;
  if (out['qom-type'] === 'memory-backend-file') {
    out['mem-path'] = ctx.runtime.memoryBackingDir;
  }
  if (access === 'shared') out.share = true;
  if (allocation?.attrs.mode === 'immediate') {
    out.prealloc = true;
    if (allocation.attrs.threads !== undefined) out['prealloc-threads'] = Number(allocation.attrs.threads);
  }
  out.size = kib * 1024;
  return out;
}

export function buildMemory(ctx: BuildContext): void {
  const { view } = ctx;
  const maxMemory = child(view.def, 'maxMemory');
  const initial = initialMemoryKiB(ctx);
  if (maxMemory) {
    ctx.cmd.add('-m', `size=${initial}k,slots=${maxMemory.attrs.slots ?? 0},maxmem=${sizeKiB(maxMemory)}k`);
  } else {
    ctx.cmd.add('-m', String(Math.floor(initial / 1024)));
  }
  const ramId = view.defaultRamId(ctx.options.caps);
  if (ramId && !hasNumaNodes(ctx)) ctx.cmd.json('-object', memoryBackendProps(ctx, ramId, initial));
  const locked = child(view.def, 'memoryBacking') && child(child(view.def, 'memoryBacking')!, 'locked');
  ctx.cmd.add('-overcommit', `mem-lock=${locked ? 'on' : 'off'}`);
}
