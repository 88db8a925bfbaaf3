// CPU pinning of a domain's threads (virDomainPinVcpuFlags, virDomainPinEmulator,
// virDomainGetEmulatorPinInfo, virDomainPinIOThread): live, the threads' affinity
// (vCPU threads from query-cpus-fast, IOThreads from query-iothreads, the
// emulator's threads the rest); in both definitions, <cputune>'s pins.
// tsvirt's guests have no cpuset cgroup (libvirt's pins go there as well
// where the controller is mounted): the affinity alone restricts the threads.
import { ModificationImpact } from '../../driver/flags.js';
import type { ProcRet } from '../../driver/procedures.js';
import { typedParam } from '../../driver/typed-params.js';
import { domainCurrentVcpus, domainMaxVcpus } from '../../conf/domain.js';
import { emulatorCpuset, hasIOThread, iothreadCpuset, setEmulatorPin, setIOThreadPin, setVcpuPin } from '../../conf/cpu-pinning.js';
import { vcpuCpusets } from '../../conf/cputune.js';
import { oneDefinition } from '../../conf/objects/modification-impact.js';
import { formatBitmap, parseBitmap } from '../../util/bitmap.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { processThreads, setThreadAffinity, threadAffinity } from '../../util/process.js';
import { cloneElement, type XmlElement } from '../../util/xml.js';
import { packCpuMaps, unpackCpuMap } from './cpu-maps.js';
import { vcpuThreads } from './domain-stats.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import { availableHostCpus, queryIOThreads } from './iothreads.js';
import type { RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);

/** The CPUs of a caller's map; an empty one is refused with `emptyMessage`. */
function requestedCpus(cpumap: Buffer, emptyMessage: string): Set<number> {
  const cpus = unpackCpuMap(cpumap);
  if (cpus.size === 0) throw invalidArg(emptyMessage);
  return cpus;
}

/**
 * One pinning change: the persistent copy is checked first, then the live
 * domain is changed (its threads, its definition, a TUNABLE event), then the copy saved.
 */
async function pin(driver: QemuDriver, dom: DomainRef, flags: number, change: {
  checkConfig?: (def: XmlElement) => void;
  cpus: () => Set<number>;
  live: (running: RunningDomain, cpus: Set<number>) => Promise<string>;
  config: (def: XmlElement, cpus: Set<number>) => void;
}): Promise<void> {
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    if (persistent) change.checkConfig?.(persistent);
    const cpus = change.cpus();
    if (live) {
      const field = await change.live(running!, cpus);
      await rt.runtime.saveStatus(running!);
      rt.queueEvent({ key: 'domainEventCallbackTunable', body: { dom: running!.ref(), params: [typedParam.string(field, formatBitmap(cpus))] } });
    }
    if (persistent) {
      change.config(persistent, cpus);
      await rt.savePersistent(persistent);
    }
    await rt.sync({ refresh: false });
  });
}

/** qemuDomainPinVcpuFlags: an offline vCPU's pinning is only recorded, taking effect when it is plugged. */
export async function pinVcpu(driver: QemuDriver, dom: DomainRef, vcpu: number, cpumap: Buffer, flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainPinVcpuFlags');
  await pin(driver, dom, flags, {
    checkConfig: (def) => {
      if (vcpu >= domainMaxVcpus(def)) throw invalidArg(`vcpu ${vcpu} is out of range of persistent cpu count ${domainCurrentVcpus(def)}`);
    },
    cpus: () => requestedCpus(cpumap, 'Empty cpu list for pinning'),
    live: async (running, cpus) => {
      const threads = await vcpuThreads(running.pid, await driver.runtime.runtime.ensureMonitor(running));
      if (!threads) throw virError(ErrorCode.OPERATION_INVALID, 'cpu affinity is not supported', ErrorDomain.QEMU);
      const max = domainMaxVcpus(running.live);
      if (vcpu >= max) throw invalidArg(`vcpu ${vcpu} is out of range of live cpu count ${max}`);
      const thread = threads.get(vcpu);
      if (thread) await setThreadAffinity(thread.tid, cpus);
      setVcpuPin(running.live, vcpu, cpus);
      return `cputune.vcpupin${vcpu}`;
    },
    config: (def, cpus) => setVcpuPin(def, vcpu, cpus),
  });
}

/**
 * QEMU's threads by role: its vCPUs' (by vCPU), its IOThreads' (by id) and the
 * emulator's, every other one (those libvirt's emulator cgroup holds).
 */
async function qemuThreads(pid: number, qmp: QmpClient): Promise<{ vcpus: Map<number, number>; iothreads: Map<number, number>; emulator: number[] }> {
  const vcpus = new Map([...((await vcpuThreads(pid, qmp)) ?? new Map<number, { tid: number }>())].map(([vcpu, t]) => [vcpu, t.tid]));
  const iothreads = new Map((await queryIOThreads(qmp)).map((t) => [t.id, t.tid]));
  const others = new Set([...vcpus.values(), ...iothreads.values()]);
  return { vcpus, iothreads, emulator: processThreads(pid).map((t) => t.tid).filter((tid) => !others.has(tid)) };
}

/**
 * qemuProcessSetupVcpus/IOThreads/Emulator at start: each thread restricted to
 * its pinning, else the domain's <vcpu cpuset>, else every host CPU (whatever
 * the starting process had). Threads already where they belong are left alone.
 */
export async function applyThreadPinning(pid: number, qmp: QmpClient, def: XmlElement): Promise<void> {
  const threads = await qemuThreads(pid, qmp);
  const all = availableHostCpus();
  const place = async (tid: number, cpuset: string | undefined) => {
    const wanted = cpuset === undefined ? all : [...(parseBitmap(cpuset) ?? [])].sort((a, b) => a - b);
    if (threadAffinity(pid, tid)?.join(',') !== wanted.join(',')) await setThreadAffinity(tid, new Set(wanted));
  };
  const vcpuSets = vcpuCpusets(def, domainMaxVcpus(def));
  for (const [vcpu, tid] of threads.vcpus) await place(tid, vcpuSets[vcpu]);
  for (const [id, tid] of threads.iothreads) await place(tid, iothreadCpuset(def, id));
  const emulator = emulatorCpuset(def);
  for (const tid of threads.emulator) await place(tid, emulator);
}

/** qemuDomainPinEmulator */
export async function pinEmulator(driver: QemuDriver, dom: DomainRef, cpumap: Buffer, flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainPinEmulator');
  await pin(driver, dom, flags, {
    cpus: () => requestedCpus(cpumap, 'Empty cpu list for pinning'),
    live: async (running, cpus) => {
      const { emulator } = await qemuThreads(running.pid, await driver.runtime.runtime.ensureMonitor(running));
      for (const tid of emulator) await setThreadAffinity(tid, cpus);
      setEmulatorPin(running.live, cpus);
      return 'cputune.emulatorpin';
    },
    config: (def, cpus) => setEmulatorPin(def, cpus),
  });
}

/** qemuDomainGetEmulatorPinInfo: <emulatorpin>, else <vcpu cpuset>, else every available host CPU. */
export async function emulatorPinInfo(driver: QemuDriver, dom: DomainRef, maplen: number, flags: number): Promise<ProcRet<'domainGetEmulatorPinInfo'>> {
  checkFlags(flags, IMPACT, 'qemuDomainGetEmulatorPinInfo');
  const { def } = oneDefinition(await driver.objectOf(dom), flags);
  const cpuset = emulatorCpuset(def);
  const cpus = cpuset === undefined ? availableHostCpus() : [...(parseBitmap(cpuset) ?? [])];
  return { cpumaps: packCpuMaps([cpus], 1, maplen), ret: 1 };
}

/** qemuDomainPinIOThread */
export async function pinIOThread(driver: QemuDriver, dom: DomainRef, id: number, cpumap: Buffer, flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainPinIOThread');
  await pin(driver, dom, flags, {
    cpus: () => requestedCpus(cpumap, 'Empty iothread cpumap list for pinning'),
    live: async (running, cpus) => {
      if (!hasIOThread(running.live, id)) throw invalidArg(`iothread ${id} not found`);
      const thread = (await queryIOThreads(await driver.runtime.runtime.ensureMonitor(running))).find((t) => t.id === id);
      if (!thread) throw invalidArg(`iothread ${id} not found`);
      await setThreadAffinity(thread.tid, cpus);
      setIOThreadPin(running.live, id, cpus);
      return `cputune.iothreadpin${id}`;
    },
    config: (def, cpus) => {
      if (!hasIOThread(def, id)) throw invalidArg(`iothreadid ${id} not found`);
      setIOThreadPin(def, id, cpus);
    },
  });
}
