// virDomainGetCPUStats in the qemu driver (qemuDomainGetCPUStats over libvirt's
// cgroup v2 backend): the domain's total CPU time, user and system time come from
// its cgroup's cpu.stat (microseconds there, nanoseconds here). cgroup v2 keeps no
// per-host-CPU usage, so a per-CPU query fails with libvirt's v2 error once the
// caller asks for values; the counts a caller asks first are answered as libvirt does.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { typedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { checkFlags, type QemuDriver } from './driver.js';

/** VIR_TYPED_PARAM_STRING_OKAY */
const TYPED_PARAM_STRING_OKAY = 1 << 2;
/** CGROUP_NB_TOTAL_CPU_STAT_PARAM: cpu_time, user_time, system_time */
const TOTAL_STATS = 3;
/** CGROUP_NB_PER_CPU_STAT_PARAM (cpu_time) + vcpu_time: QEMU's vCPUs are threads of their own */
const PER_CPU_STATS = 2;

/** cpu.stat's "key value" lines. */
function parseCpuStat(text: string): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value && /^\d+$/.test(value)) values.set(key, BigInt(value));
  }
  return values;
}

/** virHostCPUGetPresentBitmap's size: the highest present CPU + 1. */
async function presentHostCpus(): Promise<number> {
  const text = await readFile('/sys/devices/system/cpu/present', 'utf8');
  const ids = text.trim().split(',').flatMap((range) => range.split('-').map(Number));
  return Math.max(...ids) + 1;
}

export async function domainCPUStats(driver: QemuDriver, { dom, nparams, start_cpu, ncpus, flags }: ProcArgs<'domainGetCPUStats'>): Promise<ProcRet<'domainGetCPUStats'>> {
  checkFlags(flags, TYPED_PARAM_STRING_OKAY, 'qemuDomainGetCPUStats');
  return driver.runtime.withRunning(dom, async (obj, running) => {
    const group = await driver.runtime.security.cgroupOf(running.id, obj.name, running.pid);
    if (!group) throw virError(ErrorCode.OPERATION_INVALID, 'cgroup CPUACCT controller is not mounted', ErrorDomain.QEMU);
    if (start_cpu === -1) {
      if (nparams === 0) return { params: [], nparams: TOTAL_STATS };
      const stat = parseCpuStat(await readFile(path.join(group, 'cpu.stat'), 'utf8'));
      const ns = (key: string) => {
        const usec = stat.get(key);
        if (usec === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `cannot parse cpu.stat file '${path.join(group, 'cpu.stat')}'`, ErrorDomain.CGROUP);
        return usec * 1000n;
      };
      const params = [typedParam.ullong('cpu_time', ns('usage_usec')), typedParam.ullong('user_time', ns('user_usec')), typedParam.ullong('system_time', ns('system_usec'))].slice(0, nparams);
      return { params, nparams: params.length };
    }
    if (nparams === 0 && ncpus !== 0) return { params: [], nparams: PER_CPU_STATS };
    const hostCpus = await presentHostCpus();
    if (ncpus === 0) return { params: [], nparams: hostCpus };
    if (start_cpu >= hostCpus) throw virError(ErrorCode.INVALID_ARG, `start_cpu ${start_cpu} larger than maximum of ${hostCpus - 1}`, ErrorDomain.CGROUP);
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, "operation 'getCpuacctPercpuUsage' not supported for backend 'cgroup V2'", ErrorDomain.CGROUP);
  }, { monitor: false });
}
