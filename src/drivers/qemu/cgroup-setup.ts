// The guest's cgroup once QEMU runs (qemuProcessSetupVcpus/IOThreads and
// qemuSetupCgroup): each vCPU and IOThread thread gets its own subgroup, then
// the definition's <cputune> CPU shares and bandwidth, its <memtune>
// limits and its <blkiotune> settings apply to the groups.
import { child, type XmlElement } from '../../util/xml.js';
import { MEMORY_UNLIMITED, memtuneLimit } from '../../conf/memtune.js';
import { applyBlkiotune } from './blkio-tuning.js';
import type { QmpClient } from './qmp.js';
import type { DomainSecurity } from './security/domain-security.js';
import type { GuestCgroup } from './security/guest-cgroup.js';

/** A <cputune> child's number, 0 when absent (libvirt's "not set"). */
export function cputuneValue(def: XmlElement, name: string): bigint {
  const text = child(child(def, 'cputune') ?? def, name)?.text.trim();
  return text && /^-?\d+$/.test(text) ? BigInt(text) : 0n;
}

export interface GuestThreads {
  vcpus: Map<number, number>;
  iothreads: Map<number, number>;
}

/** The vCPU (cpu-index -> thread id) and IOThread (id -> thread id) threads QEMU reports. */
export async function guestThreads(qmp: QmpClient): Promise<GuestThreads> {
  const cpus = await qmp.execute<{ 'cpu-index': number; 'thread-id': number }[]>('query-cpus-fast');
  const iothreads = await qmp.execute<{ id: string; 'thread-id': number }[]>('query-iothreads').catch(() => []);
  return {
    vcpus: new Map(cpus.map((c) => [c['cpu-index'], c['thread-id']])),
    iothreads: new Map(iothreads.flatMap((t) => (/^iothread\d+$/.test(t.id) ? [[Number(t.id.slice('iothread'.length)), t['thread-id']]] : []))),
  };
}

/** Every thread into its subgroup, then the <cputune> settings into the groups. */
export async function setupGuestCgroup(security: DomainSecurity, qmp: QmpClient, id: number, name: string, pid: number, live: XmlElement): Promise<void> {
  const threads = await guestThreads(qmp);
  for (const [index, tid] of threads.vcpus) await security.attachThread(id, name, `vcpu${index}`, tid);
  for (const [iothread, tid] of threads.iothreads) await security.attachThread(id, name, `iothread${iothread}`, tid);
  const cgroup = await security.guestCgroup(pid);
  if (!cgroup) return;
  await applyCputune(cgroup, live, threads);
  await applyMemtune(cgroup, live);
  await applyBlkiotune(cgroup, live);
}

/** virDomainCgroupSetupMemtune: the limits <memtune> sets. */
async function applyMemtune(cgroup: GuestCgroup, def: XmlElement): Promise<void> {
  if (!cgroup.has('memory')) return;
  const limits = [['hard_limit', 'hard'], ['soft_limit', 'soft'], ['swap_hard_limit', 'swap']] as const;
  for (const [name, kind] of limits) {
    const kib = memtuneLimit(def, name);
    if (kib !== MEMORY_UNLIMITED) await cgroup.setMemoryLimit(kind, kib);
  }
}

/** qemuSetupCpuCgroup + the per-thread bandwidth of qemuProcessSetupVcpu/EmulatorThread/IOThread. */
async function applyCputune(cgroup: GuestCgroup, def: XmlElement, threads: GuestThreads): Promise<void> {
  if (!cgroup.has('cpu')) return;
  const shares = cputuneValue(def, 'shares');
  if (child(child(def, 'cputune') ?? def, 'shares')) await cgroup.setCpuShares(shares);
  await cgroup.setPeriodQuota(cputuneValue(def, 'global_period'), cputuneValue(def, 'global_quota'));
  const [period, quota] = [cputuneValue(def, 'period'), cputuneValue(def, 'quota')];
  for (const index of threads.vcpus.keys()) if (await cgroup.hasThread('vcpu', index)) await cgroup.thread('vcpu', index).setPeriodQuota(period, quota);
  if (await cgroup.hasThread('emulator')) await cgroup.thread('emulator').setPeriodQuota(cputuneValue(def, 'emulator_period'), cputuneValue(def, 'emulator_quota'));
  const [ioPeriod, ioQuota] = [cputuneValue(def, 'iothread_period'), cputuneValue(def, 'iothread_quota')];
  for (const iothread of threads.iothreads.keys()) if (await cgroup.hasThread('iothread', iothread)) await cgroup.thread('iothread', iothread).setPeriodQuota(ioPeriod, ioQuota);
}
