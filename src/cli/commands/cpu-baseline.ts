// cpu-baseline and hypervisor-cpu-baseline: the CPUs of a file (lone <cpu>s,
// domains, host capabilities, domain capabilities) or one named model,
// baselined by the host's CPU map or for a hypervisor, printed as returned.
import { CommandError } from '../errors.js';
import type { Handler, Invocation } from '../shell.js';
import { extractCpuDefs } from './cpu-compare.js';

/** VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES, VIR_CONNECT_BASELINE_CPU_MIGRATABLE */
const EXPAND_FEATURES = 1 << 0;
const MIGRATABLE = 1 << 1;

function baselineFlags(cmd: Invocation): number {
  return (cmd.bool('features') ? EXPAND_FEATURES : 0) | (cmd.bool('migratable') ? MIGRATABLE : 0);
}

const cpuBaseline: Handler = async (ctl, cmd) => {
  const xmlCPUs = extractCpuDefs(cmd.required('file'));
  const { cpu } = await ctl.c.invoke('connectBaselineCPU', { xmlCPUs, flags: baselineFlags(cmd) });
  ctl.print(cpu);
};

const hypervisorCpuBaseline: Handler = async (ctl, cmd) => {
  const [file, model, virttype, emulator, arch, machine] = ['file', 'model', 'virttype', 'emulator', 'arch', 'machine'].map((o) => cmd.string(o));
  if (file !== undefined && model !== undefined) throw new CommandError(['Options --file and --model are mutually exclusive']);
  if (file === undefined && model === undefined) throw new CommandError(['Either --file or --model must be provided']);
  // --model is a lone CPU of that model, as virsh builds it
  const xmlCPUs = file !== undefined ? extractCpuDefs(file) : [`<cpu><model>${model}</model></cpu>`];
  const { cpu } = await ctl.c.invoke('connectBaselineHypervisorCPU', {
    emulator: emulator ?? null, arch: arch ?? null, machine: machine ?? null, virttype: virttype ?? null, xmlCPUs, flags: baselineFlags(cmd),
  });
  ctl.print(cpu);
};

export const handlers: Record<string, Handler> = { 'cpu-baseline': cpuBaseline, 'hypervisor-cpu-baseline': hypervisorCpuBaseline };
