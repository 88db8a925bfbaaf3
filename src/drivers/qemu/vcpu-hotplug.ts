// Enabling or disabling individual vCPUs (virDomainSetVcpu): live, one CPU
// device plugged (device_add, id vcpuN) or unplugged (device_del, waiting for
// the guest as libvirt does); in the persistent definition, the vCPUs' states.
import { ModificationImpact } from '../../driver/flags.js';
import { vcpuCpusets } from '../../conf/cputune.js';
import { setVcpuEntries, vcpuEntries, type VcpuEntry } from '../../conf/vcpu-list.js';
import { parseBitmap } from '../../util/bitmap.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { setThreadAffinity } from '../../util/process.js';
import { cloneElement, type XmlElement } from '../../util/xml.js';
import { vcpuThreads } from './domain-stats.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import { availableHostCpus } from './iothreads.js';
import type { RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';
import { hotpluggableCpus } from './resize.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
/** QEMU_GUEST_VCPU_MAX_ID */
const VCPU_MAX_ID = 4096;
/** qemuDomainWaitForDeviceRemoval's wait for the guest */
const UNPLUG_TIMEOUT_MS = 5000;
const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);
const unsupported = (message: string) => virError(ErrorCode.OPERATION_UNSUPPORTED, message, ErrorDomain.QEMU);

/** qemuDomainSetVcpu */
export async function setVcpu(driver: QemuDriver, dom: DomainRef, cpumap: string, state: number, flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetVcpu');
  if (state !== 0 && state !== 1) throw invalidArg('unsupported state value');
  const selected = parseBitmap(cpumap, VCPU_MAX_ID);
  if (!selected) throw virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${cpumap}'`, ErrorDomain.NONE);
  if (selected.size === 0) throw invalidArg('no vcpus selected for modification');
  const vcpus = [...selected].sort((a, b) => a - b);
  const last = vcpus[vcpus.length - 1]!;
  const enable = state === 1;
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    if (persistent && last >= vcpuEntries(persistent).length) throw invalidArg(`vcpu ${last} is not present in persistent config`);
    if (live && last >= vcpuEntries(running!.live).length) throw invalidArg(`vcpu ${last} is not present in live config`);
    const liveVcpu = live ? liveTarget(vcpuEntries(running!.live), vcpus, enable) : undefined;
    if (persistent) validateConfig(vcpuEntries(persistent), selected);
    if (liveVcpu !== undefined) {
      if (enable) await plug(driver, running!, liveVcpu);
      else await unplug(driver, running!, liveVcpu);
    }
    if (persistent) {
      setVcpuEntries(persistent, vcpuEntries(persistent).map((e) => (selected.has(e.id) ? { ...e, enabled: enable, hotpluggable: true, order: 0 } : { ...e, order: 0 })));
      await rt.savePersistent(persistent);
    }
    await rt.sync({ refresh: false });
  });
}

/** qemuDomainFilterHotplugVcpuEntities: every selected vCPU can change; one CPU device at a time (x86 plugs a vCPU per device). */
function liveTarget(entries: VcpuEntry[], vcpus: number[], enable: boolean): number {
  for (const id of vcpus) {
    const e = entries[id]!;
    if (e.enabled === enable) throw invalidArg(`vcpu '${id}' is already in requested state`);
    // (libvirt refuses only a vCPU whose definition leaves hotpluggable unsaid)
    if (e.enabled && e.hotpluggable === undefined) throw invalidArg(`vcpu '${id}' can't be hotunplugged`);
  }
  if (vcpus.length !== 1) throw unsupported('only one hotpluggable entity can be selected');
  return vcpus[0]!;
}

/** qemuDomainVcpuValidateConfig: vCPU 0 stays, and the vCPUs that cannot be plugged stay first. */
function validateConfig(entries: VcpuEntry[], selected: Set<number>): void {
  if (selected.has(0)) throw invalidArg("vCPU '0' can't be modified");
  const first = Math.min(...selected);
  for (const e of entries.slice(first + 1)) {
    if (!selected.has(e.id) && e.enabled && e.hotpluggable === false) {
      throw invalidArg(`vcpu '${first}' can't be modified as it is followed by non-hotpluggable online vcpus`);
    }
  }
}

/**
 * qemuDomainVcpuPersistOrder: the enabled vCPUs numbered in the order they
 * came (the ones started with QEMU first, by id), a disabled one without.
 */
function withOrder(entries: VcpuEntry[], added?: number): VcpuEntry[] {
  const recorded = entries.some((e) => e.enabled && e.id !== added && e.order > 0);
  let last = 0;
  const numbered = entries.map((e) => {
    if (!e.enabled || e.id === added) return { ...e, order: 0 };
    last = recorded ? Math.max(last, e.order) : last + 1;
    return recorded ? e : { ...e, order: last };
  });
  if (added !== undefined) numbered[added] = { ...numbered[added]!, order: last + 1 };
  return numbered;
}

/** qemuDomainHotplugAddVcpu: the vCPU's CPU device, then its thread set up with its pinning (qemuProcessSetupVcpu). */
async function plug(driver: QemuDriver, running: RunningDomain, vcpu: number): Promise<void> {
  const qmp = await driver.runtime.runtime.ensureMonitor(running);
  const slot = (await hotpluggableCpus(qmp))[vcpu];
  if (!slot) throw unsupported('cpu hotplug is not supported');
  await qmp.execute('device_add', { ...slot.props, driver: slot.type, id: `vcpu${vcpu}` });
  const entries = vcpuEntries(running.live);
  entries[vcpu] = { ...entries[vcpu]!, enabled: true, hotpluggable: true };
  setVcpuEntries(running.live, withOrder(entries, vcpu));
  const thread = (await vcpuThreads(running.pid, qmp))?.get(vcpu);
  if (!thread) throw virError(ErrorCode.INTERNAL_ERROR, `qemu didn't report thread id for vcpu '${vcpu}'`, ErrorDomain.QEMU);
  const cpuset = vcpuCpusets(running.live, vcpu + 1)[vcpu];
  await setThreadAffinity(thread.tid, new Set(cpuset === undefined ? availableHostCpus() : parseBitmap(cpuset)));
  await driver.runtime.runtime.saveStatus(running);
}

/** qemuDomainHotplugDelVcpu: only a vCPU plugged as a device can go, once the guest lets it go. */
async function unplug(driver: QemuDriver, running: RunningDomain, vcpu: number): Promise<void> {
  const qmp = await driver.runtime.runtime.ensureMonitor(running);
  const slot = (await hotpluggableCpus(qmp))[vcpu];
  const alias = slot?.['qom-path']?.match(/^\/machine\/peripheral\/(.+)$/)?.[1];
  if (!alias) throw unsupported(`vcpu '${vcpu}' can't be unplugged`);
  const deleted = qmp.waitEvent('DEVICE_DELETED', UNPLUG_TIMEOUT_MS, (e) => e.data.device === alias).then(() => true, () => false);
  await qmp.execute('device_del', { id: alias });
  if (!(await deleted)) {
    throw virError(ErrorCode.OPERATION_TIMEOUT, 'vcpu unplug request timed out. Unplug result must be manually inspected in the domain', ErrorDomain.QEMU);
  }
  const entries = vcpuEntries(running.live);
  entries[vcpu] = { ...entries[vcpu]!, enabled: false };
  setVcpuEntries(running.live, withOrder(entries));
  await driver.runtime.runtime.saveStatus(running);
}


/**
 * qemuProcessSetupHotpluggableVcpus: at start, before the guest runs, the
 * vCPUs the definition enables as hotpluggable are plugged as devices (in their
 * order), so that they can be unplugged later.
 */
export async function plugHotpluggableVcpus(qmp: QmpClient, def: XmlElement): Promise<void> {
  const rank = (e: VcpuEntry) => (e.order > 0 ? e.order : Number.MAX_SAFE_INTEGER);
  const wanted = vcpuEntries(def).filter((e) => e.enabled && e.hotpluggable === true).sort((a, b) => rank(a) - rank(b) || a.id - b.id);
  if (wanted.length === 0) return;
  const slots = await hotpluggableCpus(qmp);
  for (const { id } of wanted) {
    const slot = slots[id];
    if (!slot) throw unsupported('cpu hotplug is not supported');
    await qmp.execute('device_add', { ...slot.props, driver: slot.type, id: `vcpu${id}` });
  }
}
