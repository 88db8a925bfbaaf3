// cpu-compare and hypervisor-cpu-compare: the <cpu> of a file (a lone CPU,
// a domain, host capabilities or domain capabilities) compared with the host
// CPU or the hypervisor's, printed as virsh prints the result.
import { child, childrenNamed, element, formatXml, parseXml, XmlSyntaxError, type XmlElement } from '../../util/xml.js';
import { CommandError } from '../errors.js';
import { readInputFile } from '../files.js';
import type { Handler, Invocation } from '../shell.js';

/** VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE, VIR_CONNECT_COMPARE_CPU_VALIDATE_XML */
const FAIL_INCOMPATIBLE = 1 << 0;
const VALIDATE_XML = 1 << 1;
/** virCPUCompareResult */
const INCOMPATIBLE = 0;
const IDENTICAL = 1;
const SUPERSET = 2;

/**
 * vshExtractCPUDefXMLs: the CPU definitions of a file, in document order —
 * top-level <cpu>s, a domain's, the host's in capabilities, and domain
 * capabilities' supported host-model (as a plain <cpu>).
 */
export function extractCpuDefs(file: string): string[] {
  const text = readInputFile(file);
  const doc = text.startsWith('<?xml') && text.includes('?>') ? text.slice(text.indexOf('?>') + 2) : text;
  let container: XmlElement;
  try {
    container = parseXml(`<container>${doc}</container>`);
  } catch (e) {
    // syntax errors name the file, as virXMLParseStringCtxt reports them
    if (e instanceof XmlSyntaxError) throw new CommandError([e.format(file)]);
    throw e;
  }
  const cpus: XmlElement[] = [];
  for (const top of container.children) {
    if (top.name === 'cpu') cpus.push(top);
    else if (top.name === 'domain') cpus.push(...childrenNamed(top, 'cpu'));
    else if (top.name === 'capabilities') cpus.push(...childrenNamed(child(top, 'host') ?? top, 'cpu'));
    else if (top.name === 'domainCapabilities') {
      const modes = childrenNamed(child(top, 'cpu') ?? top, 'mode').filter((m) => m.attrs.name === 'host-model' && m.attrs.supported === 'yes');
      cpus.push(...modes.map((m) => element('cpu', {}, m.children)));
    }
  }
  if (cpus.length === 0) {
    throw new CommandError([`File '${file}' does not contain any <cpu> element or valid domain XML, host capabilities XML, or domain capabilities XML`]);
  }
  return cpus.map((cpu) => formatXml(cpu));
}

function compareFlags(cmd: Invocation): number {
  return (cmd.bool('error') ? FAIL_INCOMPATIBLE : 0) | (cmd.bool('validate') ? VALIDATE_XML : 0);
}

const cpuCompare: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const [xml] = extractCpuDefs(file);
  let result: number;
  try {
    ({ result } = await ctl.c.invoke('connectCompareCPU', { xml: xml!, flags: compareFlags(cmd) }));
  } catch (e) {
    throw new CommandError([`Failed to compare host CPU with ${file}`], e);
  }
  if (result === INCOMPATIBLE) {
    ctl.print(`CPU described in ${file} is incompatible with host CPU\n`);
    throw new CommandError([]);
  }
  if (result === IDENTICAL) ctl.print(`CPU described in ${file} is identical to host CPU\n`);
  else if (result === SUPERSET) ctl.print(`Host CPU is a superset of CPU described in ${file}\n`);
  else throw new CommandError([`Failed to compare host CPU with ${file}`]);
};

const hypervisorCpuCompare: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const [virttype, emulator, arch, machine] = ['virttype', 'emulator', 'arch', 'machine'].map((o) => cmd.string(o) ?? null);
  const [xmlCPU] = extractCpuDefs(file);
  let result: number;
  try {
    ({ result } = await ctl.c.invoke('connectCompareHypervisorCPU', { emulator: emulator!, arch: arch!, machine: machine!, virttype: virttype!, xmlCPU: xmlCPU!, flags: compareFlags(cmd) }));
  } catch (e) {
    throw new CommandError([`Failed to compare hypervisor CPU with ${file}`], e);
  }
  if (result === INCOMPATIBLE) {
    ctl.print(`CPU described in ${file} is incompatible with the CPU provided by hypervisor on the host\n`);
    throw new CommandError([]);
  }
  if (result === IDENTICAL) ctl.print(`CPU described in ${file} is identical to the CPU provided by hypervisor on the host\n`);
  else if (result === SUPERSET) ctl.print(`The CPU provided by hypervisor on the host is a superset of CPU described in ${file}\n`);
  else throw new CommandError([`Failed to compare hypervisor CPU with ${file}`]);
};

export const handlers: Record<string, Handler> = { 'cpu-compare': cpuCompare, 'hypervisor-cpu-compare': hypervisorCpuCompare };
