// Resizing a domain: memory (virDomainSetMemoryFlags: the balloon live, the
// definition's <currentMemory>/<memory> in the config), vCPUs
// (virDomainSetVcpusFlags: vCPU hotplug live, <vcpu> in the config) and disks
// (virDomainBlockResize), with libvirt's flags and refusals.
import { ModificationImpact } from '../../driver/flags.js';
import { domainCurrentVcpus, domainMaxMemoryKiB, domainMaxVcpus } from '../../conf/domain.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, element, type XmlElement } from '../../util/xml.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';

/** virDomainMemoryModFlags / virDomainVcpuFlags beside the modification impact */
const MEM_MAXIMUM = 1 << 2;
const VCPU_MAXIMUM = 1 << 2;
const VCPU_GUEST = 1 << 3;
const VCPU_HOTPLUGGABLE = 1 << 4;
/** VIR_DOMAIN_BLOCK_RESIZE_BYTES */
const RESIZE_BYTES = 1 << 0;

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const invalid = (message: string) => virError(ErrorCode.OPERATION_INVALID, message, ErrorDomain.QEMU);
const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);

/** Replaces (or adds) a top-level element's text. */
function setText(def: XmlElement, name: string, text: string, attrs: Record<string, string> = {}): void {
  const existing = child(def, name);
  if (existing) {
    existing.text = text;
    existing.attrs = { ...existing.attrs, ...attrs };
  } else {
    const at = def.children.findIndex((c) => c.name === 'memory') + 1;
    def.children.splice(at, 0, element(name, attrs, [], text));
  }
}

function setVcpuCount(def: XmlElement, max: number, current: number): void {
  const vcpu = child(def, 'vcpu')!;
  vcpu.text = String(max);
  const { current: _old, ...rest } = vcpu.attrs;
  vcpu.attrs = current === max ? rest : { ...rest, current: String(current) };
}

/** A CPU QEMU can plug (query-hotpluggable-cpus). */
export interface HotpluggableCpu {
  type: string;
  props: Record<string, number>;
  'qom-path'?: string;
}

/** QEMU's CPU slots (query-hotpluggable-cpus) in topology order: the i-th is vCPU i. */
export async function hotpluggableCpus(qmp: QmpClient): Promise<HotpluggableCpu[]> {
  return (await qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus'))
    .sort((a, b) => (a.props['socket-id'] ?? 0) - (b.props['socket-id'] ?? 0) || (a.props['core-id'] ?? 0) - (b.props['core-id'] ?? 0) || (a.props['thread-id'] ?? 0) - (b.props['thread-id'] ?? 0));
}

export class QemuResize {
  constructor(private readonly driver: QemuDriver) {}

  // ---- memory ----------------------------------------------------------------

  async setMemory(dom: DomainRef, kib: bigint, flags: number): Promise<void> {
    checkFlags(flags, IMPACT | MEM_MAXIMUM, 'qemuDomainSetMemoryFlags');
    const rt = this.driver.runtime;
    await rt.withDomain(dom, async (obj, running) => {
      const { live, config } = rt.impact(flags & IMPACT, obj, running);
      const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
      if (flags & MEM_MAXIMUM) {
        if (live) throw invalid('cannot resize the maximum memory on an active domain');
        if (persistent) {
          setText(persistent, 'memory', String(kib), { unit: 'KiB' });
          // the balloon never exceeds the new maximum
          if (BigInt(child(persistent, 'currentMemory')?.text || '0') > kib) setText(persistent, 'currentMemory', String(kib), { unit: 'KiB' });
        }
      } else {
        const maxOf = (def: XmlElement) => domainMaxMemoryKiB(def);
        if ((live && kib > maxOf(running!.live)) || (persistent && kib > maxOf(persistent))) throw invalidArg('cannot set memory higher than max memory');
        if (live) await this.balloon(running!, kib);
        if (persistent) setText(persistent, 'currentMemory', String(kib), { unit: 'KiB' });
      }
      if (persistent) await rt.savePersistent(persistent);
      await rt.sync({ refresh: false });
    });
  }

  /**
   * Asks the guest's balloon driver for `kib`. The live <currentMemory> follows
   * when the guest reports the new size (BALLOON_CHANGE), as in libvirt.
   */
  private async balloon(running: RunningDomain, kib: bigint): Promise<void> {
    const balloon = child(child(running.live, 'devices') ?? running.live, 'memballoon');
    if (!balloon || balloon.attrs.model === 'none') {
      throw invalid('Unable to change memory of active domain without the balloon device and guest OS balloon driver');
    }
    const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
    await qmp.execute('balloon', { value: Number(kib * 1024n) });
  }

  // ---- vCPUs -------------------------------------------------------------------

  async setVcpus(dom: DomainRef, count: number, flags: number): Promise<void> {
    checkFlags(flags, IMPACT | VCPU_MAXIMUM | VCPU_GUEST | VCPU_HOTPLUGGABLE, 'qemuDomainSetVcpusFlags');
    if (flags & VCPU_GUEST) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'QEMU guest agent is not configured', ErrorDomain.QEMU);
    if (count < 1) throw invalidArg('argument unsupported: vCPU count must be at least 1');
    const rt = this.driver.runtime;
    await rt.withDomain(dom, async (obj, running) => {
      const { live, config } = rt.impact(flags & IMPACT, obj, running);
      const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
      if (flags & VCPU_MAXIMUM) {
        if (live) throw virError(ErrorCode.CONFIG_UNSUPPORTED, "maximum vcpu count of a live domain can't be modified", ErrorDomain.QEMU);
        setVcpuCount(persistent!, count, Math.min(domainCurrentVcpus(persistent!), count));
      } else {
        if (live && count > domainMaxVcpus(running!.live)) {
          throw invalidArg(`requested vcpus is greater than max allowable vcpus for the live domain: ${count} > ${domainMaxVcpus(running!.live)}`);
        }
        if (persistent && count > domainMaxVcpus(persistent)) {
          throw invalidArg(`requested vcpus is greater than max allowable vcpus for the persistent domain: ${count} > ${domainMaxVcpus(persistent)}`);
        }
        if (live) await this.plugVcpus(running!, count);
        if (persistent) setVcpuCount(persistent, domainMaxVcpus(persistent), count);
      }
      if (persistent) await rt.savePersistent(persistent);
      await rt.sync({ refresh: false });
    });
  }

  /** vCPU hotplug: device_add the missing CPUs in QEMU's topology order, or device_del the last ones (ids vcpuN as libvirt's). */
  private async plugVcpus(running: RunningDomain, count: number): Promise<void> {
    const runtime = this.driver.runtime.runtime;
    const qmp = await runtime.ensureMonitor(running);
    const current = domainCurrentVcpus(running.live);
    const slots = await hotpluggableCpus(qmp);
    for (let i = current; i < count; i++) {
      const slot = slots[i];
      if (!slot || slot['qom-path'] !== undefined) throw virError(ErrorCode.INTERNAL_ERROR, `vCPU '${i}' is already in use`, ErrorDomain.QEMU);
      await qmp.execute('device_add', { ...slot.props, driver: slot.type, id: `vcpu${i}` });
      setVcpuCount(running.live, domainMaxVcpus(running.live), i + 1);
      await runtime.saveStatus(running);
    }
    for (let i = current - 1; i >= count; i--) {
      await qmp.execute('device_del', { id: `vcpu${i}` });
      setVcpuCount(running.live, domainMaxVcpus(running.live), i);
      await runtime.saveStatus(running);
    }
  }

  // ---- disks -------------------------------------------------------------------

  async blockResize(dom: DomainRef, path: string, size: bigint, flags: number): Promise<void> {
    checkFlags(flags, RESIZE_BYTES, 'qemuDomainBlockResize');
    const bytes = flags & RESIZE_BYTES ? size : size * 1024n;
    const rt = this.driver.runtime;
    await rt.withRunning(dom, async (_obj, running) => {
      const disk = childrenNamed(child(running.live, 'devices')!, 'disk').find((d) => child(d, 'target')?.attrs.dev === path || child(d, 'source')?.attrs.file === path);
      if (!disk) throw invalidArg(`disk '${path}' was not found in the domain config`);
      const index = child(disk, 'source')?.attrs.index;
      if (index === undefined) throw invalid(`block resize is not supported for disk '${path}'`);
      const qmp = await rt.runtime.ensureMonitor(running);
      await qmp.execute('block_resize', { 'node-name': `libvirt-${index}-format`, size: Number(bytes) });
    });
  }
}
