// A domain's IOThreads (virDomainGetIOThreadInfo, virDomainAddIOThread,
// virDomainDelIOThread, virDomainSetIOThreadParams): the live ones are QEMU's
// iothread objects (object-add/object-del, query-iothreads, qom-set of the
// polling and pool properties), the persistent ones the <iothreadids> list.
import { ModificationImpact } from '../../driver/flags.js';
import type { ProcRet } from '../../driver/procedures.js';
import { TypedParamType, typedParamValue, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { addIOThreadId, hasIOThread, iothreadCpuset, iothreadEntry, iothreadIdList, removeIOThreadId } from '../../conf/cpu-pinning.js';
import { parseBitmap } from '../../util/bitmap.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { setThreadAffinity, threadAffinity } from '../../util/process.js';
import { child, cloneElement, type XmlElement } from '../../util/xml.js';
import { packCpuMaps } from './cpu-maps.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import { hostCpuMap } from './host-capabilities.js';
import type { RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);
const INT_MAX = 2 ** 31 - 1;

/** One of QEMU's iothread objects, by libvirt's id (the object is "iothreadID"). */
export interface LiveIOThread {
  id: number;
  tid: number;
}

/** qemuMonitorJSONGetIOThreads: QEMU's iothreads in its order. */
export async function queryIOThreads(qmp: QmpClient): Promise<LiveIOThread[]> {
  const threads = await qmp.execute<{ id: string; 'thread-id': number }[]>('query-iothreads');
  return threads.map((t) => {
    const id = /^iothread(\d+)$/.exec(t.id)?.[1];
    if (id === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `failed to find iothread id for '${t.id}'`, ErrorDomain.QEMU);
    return { id: Number(id), tid: t['thread-id'] };
  });
}

/** The host CPUs libvirt falls back to (virHostCPUGetAvailableCPUsBitmap). */
export function availableHostCpus(): number[] {
  return hostCpuMap().online.flatMap((on, cpu) => (on ? [cpu] : []));
}

/** A CPU map sized for the host's CPUs, as virBitmapToData packs one. */
function hostSizedMap(cpus: readonly number[]): Buffer {
  return packCpuMaps([cpus], 1, Math.ceil(Math.max(hostCpuMap().online.length, ...cpus.map((c) => c + 1)) / 8));
}

type IOThreadInfo = ProcRet<'domainGetIOThreadInfo'>;

/** qemuDomainGetIOThreadInfo: QEMU's threads and their affinity live, the definition's ids and pinning otherwise. */
export async function ioThreadInfo(driver: QemuDriver, dom: DomainRef, flags: number): Promise<IOThreadInfo> {
  checkFlags(flags, IMPACT, 'qemuDomainGetIOThreadInfo');
  const rt = driver.runtime;
  return rt.withDomain(dom, async (obj, running) => {
    const { config } = rt.impact(flags, obj, running);
    if (config) {
      const def = obj.newDef ?? obj.def;
      const info = iothreadIdList(def).map((id) => {
        const cpuset = iothreadCpuset(def, id);
        return { iothread_id: id, cpumap: hostSizedMap(cpuset === undefined ? availableHostCpus() : [...(parseBitmap(cpuset) ?? [])]) };
      });
      return { info, ret: info.length };
    }
    const threads = await queryIOThreads(await rt.runtime.ensureMonitor(running!));
    const info = threads.map(({ id, tid }) => {
      const cpus = threadAffinity(running!.pid, tid);
      if (!cpus) throw virError(ErrorCode.SYSTEM_ERROR, `cannot get CPU affinity of process ${tid}: No such process`, ErrorDomain.NONE);
      return { iothread_id: id, cpumap: hostSizedMap(cpus) };
    });
    return { info, ret: info.length };
  });
}

function checkNonzero(id: number): void {
  if (id === 0) throw invalidArg('invalid value of 0 for iothread_id');
}

/** virDomainDriverAddIOThreadCheck */
function checkAddable(def: XmlElement, id: number): void {
  if (hasIOThread(def, id)) throw invalidArg(`an IOThread is already using iothread_id '${id}'`);
}

/** virDomainDriverDelIOThreadCheck: the IOThread exists and no disk or controller uses it. */
function checkRemovable(def: XmlElement, id: number): void {
  if (!hasIOThread(def, id)) throw invalidArg(`cannot find IOThread '${id}' in iothreadids list`);
  const devices = child(def, 'devices')?.children ?? [];
  const usesIt = (d: XmlElement) => Number(child(d, 'driver')?.attrs.iothread) === id;
  const disk = devices.find((d) => d.name === 'disk' && usesIt(d));
  if (disk) throw invalidArg(`cannot remove IOThread ${id} since it is being used by disk '${child(disk, 'target')?.attrs.dev ?? ''}'`);
  if (devices.some((d) => d.name === 'controller' && usesIt(d))) throw invalidArg(`cannot remove IOThread '${id}' since it is being used by controller`);
}

/** The live IOThread count must be what was expected after QEMU changed its list. */
function checkCount(threads: LiveIOThread[], expected: number): void {
  if (threads.length !== expected) {
    throw virError(ErrorCode.INTERNAL_ERROR, `got wrong number of IOThread ids from QEMU monitor. got ${threads.length}, wanted ${expected}`, ErrorDomain.QEMU);
  }
}

/** qemuDomainAddIOThread */
export async function addIOThread(driver: QemuDriver, dom: DomainRef, id: number, flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainAddIOThread');
  checkNonzero(id);
  await changeIOThreads(driver, dom, flags, (persistent) => {
    checkAddable(persistent, id);
    addIOThreadId(persistent, id);
  }, async (running, qmp) => {
    checkAddable(running.live, id);
    const expected = iothreadIdList(running.live).length + 1;
    await qmp.execute('object-add', { 'qom-type': 'iothread', id: `iothread${id}` });
    try {
      const threads = await queryIOThreads(qmp);
      checkCount(threads, expected);
      const added = threads.find((t) => t.id === id);
      if (!added) throw virError(ErrorCode.INTERNAL_ERROR, `cannot find new IOThread '${id}' in QEMU monitor.`, ErrorDomain.QEMU);
      addIOThreadId(running.live, id);
      // qemuProcessSetupIOThread: the domain's <vcpu cpuset>, else every host CPU (not the creating thread's pinning)
      const cpuset = iothreadCpuset(running.live, id);
      await setThreadAffinity(added.tid, new Set(cpuset === undefined ? availableHostCpus() : parseBitmap(cpuset)));
    } catch (e) {
      // the live definition is restored by changeIOThreads; QEMU's object goes too
      await qmp.execute('object-del', { id: `iothread${id}` }).catch(() => undefined);
      throw e;
    }
  });
}

/** qemuDomainDelIOThread */
export async function delIOThread(driver: QemuDriver, dom: DomainRef, id: number, flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainDelIOThread');
  checkNonzero(id);
  await changeIOThreads(driver, dom, flags, (persistent) => {
    checkRemovable(persistent, id);
    removeIOThreadId(persistent, id);
  }, async (running, qmp) => {
    checkRemovable(running.live, id);
    const expected = iothreadIdList(running.live).length - 1;
    await qmp.execute('object-del', { id: `iothread${id}` });
    checkCount(await queryIOThreads(qmp), expected);
    removeIOThreadId(running.live, id);
  });
}

/** The settings virDomainSetIOThreadParams takes, each with its QOM property; -1 pool sizes mean QEMU's default. */
interface IOThreadSettings {
  poll_max_ns?: bigint;
  poll_grow?: number;
  poll_shrink?: number;
  thread_pool_min?: number;
  thread_pool_max?: number;
}

const POLLING = ['poll_max_ns', 'poll_grow', 'poll_shrink'] as const;

/** qemuDomainIOThreadParseParams: the known fields with their types and ranges. */
function parseSettings(params: readonly TypedParam[]): IOThreadSettings {
  validateTypedParams(params, {
    poll_max_ns: TypedParamType.ULLONG, poll_grow: TypedParamType.UINT, poll_shrink: TypedParamType.UINT,
    thread_pool_min: TypedParamType.INT, thread_pool_max: TypedParamType.INT,
  });
  const s: IOThreadSettings = {};
  for (const p of params) Object.assign(s, { [p.field]: typedParamValue(p) });
  const unsupported = (message: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, message, ErrorDomain.QEMU);
  if (s.poll_max_ns !== undefined && BigInt(s.poll_max_ns) > BigInt(INT_MAX)) throw unsupported(`poll-max-ns (${s.poll_max_ns}) must be less than or equal to ${INT_MAX}`);
  if (s.poll_grow !== undefined && s.poll_grow > INT_MAX) throw unsupported(`poll-grow (${s.poll_grow}) must be less than or equal to ${INT_MAX}`);
  if (s.poll_shrink !== undefined && s.poll_shrink > INT_MAX) throw unsupported(`poll-shrink (${s.poll_shrink}) must be less than or equal to ${INT_MAX}`);
  if (s.thread_pool_min !== undefined && s.thread_pool_min < -1) throw unsupported(`thread_pool_min (${s.thread_pool_min}) must be equal to or greater than -1`);
  if (s.thread_pool_max !== undefined && (s.thread_pool_max < -1 || s.thread_pool_max === 0)) {
    throw unsupported(`thread_pool_max (${s.thread_pool_max}) must be a positive number or -1`);
  }
  return s;
}

const poolSize = (entry: XmlElement, attr: string) => Number(entry.attrs[attr] ?? -1);

/** qemuDomainIOThreadValidate: a live change cannot go back to QEMU's default, and the pool's minimum stays below its maximum. */
function validateSettings(entry: XmlElement, s: IOThreadSettings, live: boolean): void {
  const invalid = (message: string) => virError(ErrorCode.OPERATION_INVALID, message, ErrorDomain.QEMU);
  for (const key of ['thread_pool_min', 'thread_pool_max'] as const) {
    if (live && s[key] !== undefined && s[key]! < 0) throw invalid(`${key} (${s[key]}) must be equal to or greater than 0 for live change`);
  }
  const min = s.thread_pool_min ?? poolSize(entry, 'thread_pool_min');
  const max = s.thread_pool_max ?? poolSize(entry, 'thread_pool_max');
  if (min > max) throw invalid(`thread_pool_min (${min}) can't be greater than thread_pool_max (${max})`);
}

/** qemuDomainHotplugModIOThreadIDDef: the pool sizes are kept in the XML; polling has no place there (false). */
function recordSettings(entry: XmlElement, s: IOThreadSettings): boolean {
  if (POLLING.some((key) => s[key] !== undefined)) return false;
  for (const key of ['thread_pool_min', 'thread_pool_max'] as const) {
    if (s[key] === undefined) continue;
    if (s[key] === -1) delete entry.attrs[key];
    else entry.attrs[key] = String(s[key]);
  }
  return true;
}

function findEntry(def: XmlElement, id: number): XmlElement {
  const entry = hasIOThread(def, id) ? iothreadEntry(def, id) : undefined;
  if (!entry) throw invalidArg(`cannot find IOThread '${id}' in iothreadids`);
  return entry;
}

/** qemuMonitorJSONSetIOThread: qom-set each given property; the pool's maximum first when the new minimum is above the current maximum. */
async function applySettings(qmp: QmpClient, id: number, s: IOThreadSettings): Promise<void> {
  const path = `/objects/iothread${id}`;
  const set = (property: string, value: number | bigint | undefined) =>
    value === undefined ? undefined : qmp.execute('qom-set', { path, property, value: Number(value) });
  await set('poll-max-ns', s.poll_max_ns);
  await set('poll-grow', s.poll_grow);
  await set('poll-shrink', s.poll_shrink);
  let maxFirst = false;
  if (s.thread_pool_min !== undefined && s.thread_pool_max !== undefined) {
    maxFirst = (await qmp.execute<number>('qom-get', { path, property: 'thread-pool-max' })) < s.thread_pool_min;
  }
  if (maxFirst) await set('thread-pool-max', s.thread_pool_max);
  await set('thread-pool-min', s.thread_pool_min);
  if (!maxFirst) await set('thread-pool-max', s.thread_pool_max);
}

/** qemuDomainSetIOThreadParams */
export async function setIOThreadParams(driver: QemuDriver, dom: DomainRef, id: number, params: readonly TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetIOThreadParams');
  checkNonzero(id);
  const settings = parseSettings(params);
  await changeIOThreads(driver, dom, flags, (persistent) => {
    const entry = findEntry(persistent, id);
    validateSettings(entry, settings, false);
    if (!recordSettings(entry, settings)) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'configuring persistent polling values is not supported', ErrorDomain.QEMU);
  }, async (running, qmp) => {
    const entry = findEntry(running.live, id);
    validateSettings(entry, settings, true);
    await applySettings(qmp, id, settings);
    recordSettings(entry, settings);
  });
}

/**
 * qemuDomainChgIOThread: the persistent copy is changed first (so its errors
 * come before anything changes), then the live domain, then the copy is saved.
 */
async function changeIOThreads(driver: QemuDriver, dom: DomainRef, flags: number, onConfig: (def: XmlElement) => void, onLive: (running: RunningDomain, qmp: QmpClient) => Promise<void>): Promise<void> {
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    if (persistent) onConfig(persistent);
    if (live) {
      const liveBefore = cloneElement(running!.live);
      try {
        await onLive(running!, await rt.runtime.ensureMonitor(running!));
      } catch (e) {
        running!.live = liveBefore;
        throw e;
      }
      await rt.runtime.saveStatus(running!);
    }
    if (persistent) await rt.savePersistent(persistent);
    await rt.sync({ refresh: false });
  });
}

