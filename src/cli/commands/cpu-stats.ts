// cpu-stats: per-host-CPU and total CPU time of a domain, printed as virsh does.
import { plainParams, type PlainParam } from '../../api/types.js';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';

/** virsh asks for at most this many CPUs per call */
const CPUS_PER_CALL = 128;
const TIME_FIELDS = new Set(['cpu_time', 'vcpu_time', 'user_time', 'system_time']);
const INT_MAX = 2 ** 31 - 1;

/** vshCPUStatsPrintField: times as seconds with nine decimals, anything else as its value. */
function field(p: PlainParam): string {
  if (TIME_FIELDS.has(p.field) && typeof p.value === 'bigint') {
    return `\t${p.field.padEnd(12)} ${String(p.value / 1_000_000_000n).padStart(9)}.${String(p.value % 1_000_000_000n).padStart(9, '0')} seconds\n`;
  }
  return `\t${p.field.padEnd(12)} ${typeof p.value === 'boolean' ? (p.value ? 'yes' : 'no') : String(p.value)}\n`;
}

const cpuStats: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  let showTotal = cmd.bool('total');
  let start = 0;
  let count = -1;
  let showPerCpu = false;
  const startOpt = cmd.number('start', -INT_MAX - 1, INT_MAX);
  if (startOpt !== undefined) {
    if (startOpt < 0) throw new CommandError(['Invalid value for start CPU']);
    start = startOpt;
    showPerCpu = true;
  }
  const countOpt = cmd.number('count', -INT_MAX - 1, INT_MAX);
  if (countOpt !== undefined) {
    if (countOpt < 0) throw new CommandError(['Invalid value for number of CPUs to show']);
    count = countOpt;
    showPerCpu = true;
  }
  if (!showTotal && !showPerCpu) showTotal = showPerCpu = true;
  const stats = (nparams: number, start_cpu: number, ncpus: number) =>
    dom.connection.invoke('domainGetCPUStats', { dom: dom.ref, nparams, start_cpu, ncpus, flags: 0 }).catch((e: Error) => {
      throw new CommandError([`Failed to retrieve CPU statistics for domain '${name}'`], e);
    });
  if (showPerCpu) {
    const maxId = (await stats(0, 0, 0)).nparams;
    if (start >= maxId) throw new CommandError([`Start CPU ${start} is out of range (min: 0, max: ${maxId - 1})`]);
    if (count < 0 || count > maxId) {
      if (count > maxId) ctl.print(`Only ${maxId} CPUs available to show\n`);
      count = maxId - start;
    }
    const perCpu = (await stats(0, 0, 1)).nparams;
    if (perCpu === 0) {
      ctl.print('No per-CPU stats available');
      if (!showTotal) return;
    } else {
      for (let cpu = start; count > 0; ) {
        const ncpus = Math.min(count, CPUS_PER_CALL);
        const params = plainParams((await stats(perCpu, cpu, ncpus)).params);
        for (let i = 0; i < ncpus; i++) {
          const slice = params.slice(i * perCpu, (i + 1) * perCpu);
          if (slice.length === 0) continue;
          ctl.print(`CPU${cpu + i}:\n${slice.map(field).join('')}`);
        }
        cpu += ncpus;
        count -= ncpus;
      }
    }
    if (!showTotal) return;
  }
  const nparams = (await stats(0, -1, 1)).nparams;
  if (nparams === 0) {
    ctl.print('No total stats available');
    return;
  }
  const total = plainParams((await stats(nparams, -1, 1)).params);
  ctl.print(`Total:\n${total.map(field).join('')}`);
};

export const handlers: Record<string, Handler> = { 'cpu-stats': cpuStats };
