// Host and Hypervisor commands, plus the host-object listings (secrets,
// network filters, node devices) that only report what the driver offers.
import { plainParams, typedParam, type NodeInfo } from '../../api/types.js';
import { child, childrenNamed, parseXml, type XmlElement } from '../../util/xml.js';
import { ErrorCode } from '../../util/error.js';
import { CommandError, attempt } from '../errors.js';
import { VERSION } from '../help.js';
import type { Handler, Shell } from '../shell.js';
import { formatTable } from '../table.js';


function versionText(n: number): string {
  return `${Math.floor(n / 1000000)}.${Math.floor((n % 1000000) / 1000)}.${n % 1000}`;
}



const version: Handler = async (ctl, cmd) => {
  const c = ctl.c;
  const type = await c.getType();
  ctl.print(`Compiled against library: libvirt ${VERSION}\n`);
  ctl.print(`Using library: libvirt ${VERSION}\n`);
  ctl.print(`Using API: ${type} ${VERSION}\n`);
  const hv = Number((await attempt('failed to get the hypervisor version', c.invoke('connectGetVersion'))).hv_ver);
  if (hv === 0) ctl.print(`Cannot extract running ${type} hypervisor version\n`);
  else ctl.print(`Running hypervisor: ${type} ${versionText(hv)}\n`);
  if (cmd.bool('daemon')) {
    try {
      ctl.print(`Running against daemon: ${versionText(await c.getLibVersion())}\n`);
    } catch {
      ctl.error('failed to get the daemon version');
    }
  }
};

const uri: Handler = async (ctl) => {
  ctl.print(`${ctl.c.uri}\n`);
};

const hostname: Handler = async (ctl) => {
  const { hostname: name } = await attempt('failed to get hostname', ctl.c.invoke('connectGetHostname'));
  ctl.print(`${name}\n`);
};

const sysinfo: Handler = async (ctl) => {
  ctl.print((await attempt('failed to get sysinfo', ctl.c.invoke('connectGetSysinfo', { flags: 0 }))).sysinfo);
};

const nodeinfo: Handler = async (ctl) => {
  const info = await attempt<NodeInfo>('failed to get node information', ctl.c.getNodeInfo());
  const line = (label: string, value: string | number) => ctl.print(`${label.padEnd(20)} ${value}\n`);
  line('CPU model:', info.model);
  line('CPU(s):', info.cpus);
  if (info.mhz) line('CPU frequency:', `${info.mhz} MHz`);
  line('CPU socket(s):', info.sockets);
  line('Core(s) per socket:', info.cores);
  line('Thread(s) per core:', info.threads);
  line('NUMA cell(s):', info.nodes);
  line('Memory size:', `${info.memory} KiB`);
};

const capabilities: Handler = async (ctl) => {
  ctl.print(`${await ctl.c.getCapabilities()}\n`);
};

const domcapabilities: Handler = async (ctl, cmd) => {
  const { capabilities } = await attempt(
    'failed to get emulator capabilities',
    ctl.c.invoke('connectGetDomainCapabilities', {
      emulatorbin: cmd.string('emulatorbin') ?? null,
      arch: cmd.string('arch') ?? null,
      machine: cmd.string('machine') ?? null,
      virttype: cmd.string('virttype') ?? null,
      flags: 0,
    }),
  );
  ctl.print(`${capabilities}\n`);
};

const maxvcpus: Handler = async (ctl, cmd) => {
  const type = cmd.string('type');
  let vcpus = -1;
  try {
    const { capabilities } = await ctl.c.invoke('connectGetDomainCapabilities', { emulatorbin: null, arch: null, machine: null, virttype: type ?? null, flags: 0 });
    const caps = parseXml(capabilities);
    const max = child(caps, 'vcpu')?.attrs.max;
    if (max !== undefined && /^\d+$/.test(max)) vcpus = Number(max);
  } catch {
    // fall back to virConnectGetMaxVcpus, as virsh does
  }
  if (vcpus < 0) vcpus = (await ctl.c.invoke('connectGetMaxVcpus', { type: type ?? null })).max_vcpus;
  ctl.print(`${vcpus}\n`);
};

const kib = (bytes: bigint | number) => BigInt(bytes) / 1024n;

/** The capabilities' <host> and its NUMA <cell>s, for the commands that walk every cell (--all). */
export async function capabilityCells(ctl: Shell): Promise<{ caps: XmlElement; host: XmlElement | undefined; cells: XmlElement[] }> {
  let caps: XmlElement;
  try {
    caps = parseXml(await ctl.c.getCapabilities());
  } catch (e) {
    throw new CommandError(['unable to get node capabilities'], e);
  }
  const host = child(caps, 'host');
  return { caps, host, cells: childrenNamed(child(child(host ?? caps, 'topology') ?? caps, 'cells') ?? caps, 'cell') };
}

const freecell: Handler = async (ctl, cmd) => {
  const all = cmd.bool('all');
  const cellGiven = cmd.opts.some((o) => o.def.name === 'cellno');
  if (all && cellGiven) throw new CommandError(['Options --all and --cellno are mutually exclusive']);
  const c = ctl.c;
  if (!all) {
    if (cellGiven) {
      const cell = cmd.number('cellno', -(2 ** 31), 2 ** 31 - 1)!;
      const [mem] = (await c.invoke('nodeGetCellsFreeMemory', { startCell: cell, maxcells: 1 })).cells;
      ctl.print(`${cell}: ${kib(mem ?? 0)} KiB\n`);
      return;
    }
    const mem = (await c.invoke('nodeGetFreeMemory')).freeMem;
    ctl.print(`Total: ${kib(mem)} KiB\n`);
    return;
  }
  const { cells } = await capabilityCells(ctl);
  let total = 0n;
  for (const cell of cells) {
    const id = Number(cell.attrs.id);
    const [mem] = (await attempt(`failed to get free memory for NUMA node number: ${id}`, c.invoke('nodeGetCellsFreeMemory', { startCell: id, maxcells: 1 }))).cells;
    total += BigInt(mem ?? 0);
    ctl.print(`${String(id).padStart(5)}: ${String(kib(mem ?? 0)).padStart(10)} KiB\n`);
  }
  ctl.printExtra('--------------------\n');
  ctl.printExtra(`${'Total'.padStart(5)}: ${String(kib(total)).padStart(10)} KiB\n`);
};

const nodecpumap: Handler = async (ctl, cmd) => {
  const map = await attempt('Unable to get cpu map', ctl.c.getCPUMap());
  const online = map.online.filter(Boolean).length;
  ctl.print(`${'CPUs present:'.padEnd(15)} ${map.online.length}\n`);
  ctl.print(`${'CPUs online:'.padEnd(15)} ${online}\n`);
  let text: string;
  if (cmd.bool('pretty')) {
    // virBitmapDataFormat: ranges like 0,2-4
    const ranges: string[] = [];
    for (let i = 0; i < map.online.length; i++) {
      if (!map.online[i]) continue;
      let j = i;
      while (map.online[j + 1]) j++;
      ranges.push(i === j ? `${i}` : `${i}-${j}`);
      i = j;
    }
    text = ranges.join(',');
  } else {
    text = map.online.map((on) => (on ? 'y' : '-')).join('');
  }
  ctl.print(`${'CPU map:'.padEnd(15)} ${text}\n`);
};

const freepages: Handler = async (ctl, cmd) => {
  const all = cmd.bool('all');
  const cellGiven = cmd.opts.some((o) => o.def.name === 'cellno');
  if (all && cellGiven) throw new CommandError(['Options --all and --cellno are mutually exclusive']);
  const bytes = cmd.scaled('pagesize', 1024, 2 ** 32 - 1);
  const c = ctl.c;
  const free = async (sizes: number[], cell: number) => (await c.invoke('nodeGetFreePages', { pages: sizes, startCell: cell, cellCount: 1, flags: 0 })).counts;
  if (!all) {
    if (!cellGiven) throw new CommandError(['missing cellno argument']);
    const cell = cmd.number('cellno', -(2 ** 31), 2 ** 31 - 1)!;
    if (cell < -1) throw new CommandError(['cell number must be non-negative integer or -1']);
    if (bytes === undefined) throw new CommandError(['missing pagesize argument']);
    const kib = Math.ceil(bytes / 1024);
    const [count] = await free([kib], cell);
    ctl.print(`${kib}KiB: ${count ?? 0n}\n`);
    return;
  }
  const { caps, host, cells } = await capabilityCells(ctl);
  let sizes: number[];
  if (bytes !== undefined) {
    sizes = [Math.ceil(bytes / 1024)];
  } else {
    // the host CPU's page sizes, else every cell's, sorted and without repeats
    let pages = childrenNamed(child(host ?? caps, 'cpu') ?? caps, 'pages');
    if (pages.length === 0) pages = cells.flatMap((cell) => childrenNamed(cell, 'pages'));
    if (pages.length === 0) throw new CommandError(['could not get information about supported page sizes']);
    sizes = [...new Set(pages.map((p) => Number(p.attrs.size)))].sort((a, b) => a - b);
  }
  for (const cell of cells) {
    const id = Number(cell.attrs.id);
    const counts = await free(sizes, id);
    ctl.print(`Node ${id}:\n`);
    sizes.forEach((size, i) => ctl.print(`${size}KiB: ${counts[i] ?? 0n}\n`));
    ctl.print('\n');
  }
};

/** node-memory-tune's options and the parameters they set. */
const SHM_OPTIONS: Array<[string, string]> = [
  ['shm-pages-to-scan', 'shm_pages_to_scan'],
  ['shm-sleep-millisecs', 'shm_sleep_millisecs'],
  ['shm-merge-across-nodes', 'shm_merge_across_nodes'],
];

const nodeMemoryTune: Handler = async (ctl, cmd) => {
  const updates = SHM_OPTIONS.flatMap(([option, field]) => {
    const v = cmd.number(option, 0, 2 ** 32 - 1);
    return v === undefined ? [] : [typedParam.uint(field, v)];
  });
  if (updates.length > 0) {
    await attempt('Unable to change memory parameters', ctl.c.invoke('nodeSetMemoryParameters', { params: updates, flags: 0 }));
    return;
  }
  const { nparams } = await attempt('Unable to get number of memory parameters', ctl.c.invoke('nodeGetMemoryParameters', { nparams: 0, flags: 0 }));
  if (nparams === 0) return;
  const { params } = await attempt('Unable to get memory parameters', ctl.c.invoke('nodeGetMemoryParameters', { nparams, flags: 0 }));
  ctl.print('Shared memory:\n');
  for (const p of plainParams(params)) ctl.print(`\t${p.field.padEnd(15)} ${String(p.value)}\n`);
};

const cpuModels: Handler = async (ctl, cmd) => {
  const arch = cmd.string('arch') ?? '';
  const { models } = await attempt('failed to get CPU model names', ctl.c.invoke('connectGetCPUModelNames', { arch, need_results: 1, flags: 0 }));
  if (models.length === 0) ctl.printExtra('all CPU models are accepted\n');
  for (const m of models) ctl.print(`${m}\n`);
};

/** virsh's nodecpustats rows, in its order, by the driver's field names. */
const CPU_STAT_ROWS: Array<[string, string]> = [['user', 'user:'], ['kernel', 'system:'], ['idle', 'idle:'], ['iowait', 'iowait:'], ['intr', 'intr:']];

const nodecpustats: Handler = async (ctl, cmd) => {
  const cpuNum = cmd.number('cpu', -(2 ** 31), 2 ** 31 - 1) ?? -1;
  const percent = cmd.bool('percent');
  const { nparams } = await attempt('Unable to get number of cpu stats', ctl.c.invoke('nodeGetCPUStats', { cpuNum, nparams: 0, flags: 0 }));
  if (nparams === 0) return;
  const sample = async () => {
    const { params } = await attempt('Unable to get node cpu stats', ctl.c.invoke('nodeGetCPUStats', { cpuNum, nparams, flags: 0 }));
    return new Map(params.map((p) => [p.field, p.value]));
  };
  const first = await sample();
  const utilization = first.get('utilization');
  if (!percent) {
    for (const [field, label] of CPU_STAT_ROWS) {
      const v = first.get(field);
      if (v !== undefined) ctl.print(`${label.padEnd(15)} ${String(v).padStart(20)}\n`);
    }
    return;
  }
  if (utilization !== undefined) {
    ctl.print(`${'usage:'.padEnd(15)} ${String(utilization).padStart(5)}%\n`);
    ctl.print(`${'idle:'.padEnd(15)} ${String(100n - utilization).padStart(5)}%\n`);
    return;
  }
  // virsh samples twice, one second apart, and shows each share of the elapsed time
  await new Promise((r) => setTimeout(r, 1000));
  const second = await sample();
  const delta = new Map([...first].map(([f, v]) => [f, Number((second.get(f) ?? v) - v)]));
  const total = CPU_STAT_ROWS.reduce((sum, [f]) => sum + (delta.get(f) ?? 0), 0);
  const pct = (n: number) => `${((n / total) * 100).toFixed(1).padStart(5)}%`;
  ctl.print(`${'usage:'.padEnd(15)} ${pct((delta.get('user') ?? 0) + (delta.get('kernel') ?? 0))}\n`);
  for (const [field, label] of CPU_STAT_ROWS) {
    const d = delta.get(field);
    if (d !== undefined) ctl.print(`${label.padEnd(15)} ${pct(d)}\n`);
  }
};

const nodememstats: Handler = async (ctl, cmd) => {
  const cell = cmd.number('cell', -(2 ** 31), 2 ** 31 - 1) ?? -1;
  const query = { cellNum: cell, flags: 0 };
  const { nparams } = await attempt('Unable to get number of memory stats', ctl.c.invoke('nodeGetMemoryStats', { ...query, nparams: 0 }));
  const { params: stats } = await attempt('Unable to get memory stats', ctl.c.invoke('nodeGetMemoryStats', { ...query, nparams }));
  for (const s of stats) ctl.print(`${s.field.padEnd(7)}: ${String(s.value).padStart(20)} KiB\n`);
};

/**
 * virsh's list collection: the virConnectListAll* call, falling back to the
 * older count call when the driver lacks it, with virsh's failure messages.
 */
async function collect<T>(listAll: () => Promise<T[]>, numOf: () => Promise<number>, countFailed: string, listFailed: string): Promise<T[]> {
  try {
    return await listAll();
  } catch (e) {
    if ((e as { code?: number }).code !== ErrorCode.NO_SUPPORT) throw new CommandError([listFailed], e);
  }
  const n = await attempt(countFailed, numOf());
  if (n > 0) throw new CommandError([listFailed]);
  return [];
}

/** virSecretUsageType */
const SECRET_USAGE = ['none', 'volume', 'ceph', 'iscsi', 'tls', 'vtpm'];

const secretList: Handler = async (ctl, cmd) => {
  const c = ctl.c;
  // VIR_CONNECT_LIST_SECRETS_EPHEMERAL, _NO_EPHEMERAL, _PRIVATE, _NO_PRIVATE
  const flags = ['ephemeral', 'no-ephemeral', 'private', 'no-private'].reduce((f, name, bit) => (cmd.bool(name) ? f | (1 << bit) : f), 0);
  const listed = await collect(
    async () => (await c.invoke('connectListAllSecrets', { need_results: 1, flags })).secrets,
    async () => (await c.invoke('connectNumOfSecrets')).num,
    'Failed to count secrets',
    'Failed to list secrets',
  );
  // virshSecretSorter: by UUID
  const secrets = [...listed].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  const usage = (s: (typeof secrets)[number]) => (s.usageType ? `${SECRET_USAGE[s.usageType]} ${s.usageID}` : 'Unused');
  ctl.print(formatTable(['UUID', 'Usage'], secrets.map((s) => [s.uuid, usage(s)]), !ctl.quiet));
};

const nwfilterList: Handler = async (ctl) => {
  const c = ctl.c;
  const filters = await collect(
    async () => (await c.invoke('connectListAllNWFilters', { need_results: 1, flags: 0 })).filters,
    async () => (await c.invoke('connectNumOfNWFilters')).num,
    'Failed to count network filters',
    'Failed to list network filters',
  );
  ctl.print(formatTable(['UUID', 'Name'], filters.map((f) => [f.uuid, f.name]), !ctl.quiet));
};

const NODEDEV_ACTIVE = 2 ** 31;

const nodedevList: Handler = async (ctl, cmd) => {
  const c = ctl.c;
  const flags = cmd.bool('inactive') || cmd.bool('all') ? 0 : NODEDEV_ACTIVE;
  const devs = await collect(
    async () => (await c.invoke('connectListAllNodeDevices', { need_results: 1, flags })).devices,
    async () => (await c.invoke('nodeNumOfDevices', { cap: null, flags: 0 })).num,
    'Failed to count node devices',
    'Failed to list node devices',
  );
  for (const d of [...devs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) ctl.print(`${d.name}\n`);
};

export const handlers: Record<string, Handler> = {
  version,
  uri,
  hostname,
  sysinfo,
  nodeinfo,
  capabilities,
  domcapabilities,
  maxvcpus,
  freecell,
  nodecpumap,
  freepages,
  'cpu-models': cpuModels,
  nodecpustats,
  nodememstats,
  'node-memory-tune': nodeMemoryTune,
  'secret-list': secretList,
  'nwfilter-list': nwfilterList,
  'nodedev-list': nodedevList,
};
