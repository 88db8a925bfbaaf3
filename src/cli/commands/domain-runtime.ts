// Runtime queries about one domain: scheduler, memory and block I/O tunables
// (schedinfo, memtune, blkiotune), interface bandwidth (domiftune), vCPUs, CPU pinning and IOThreads (setvcpu, vcpupin, emulatorpin,
// iothreadinfo/pin/add/del/set),
// guest filesystems (domfsinfo), job abort and the graphical display URI
// (domjobabort, domdisplay).
import type { Domain } from '../../api/connection.js';
import { cpuMapCpus, cpuMapLength, DomainState, DomainXMLFlags, ModificationImpact, plainParams, typedParam, typedParamValue, TypedParamType, type DomainVcpuInfo, type PlainParam, type TypedParam } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, parseXml, type XmlElement } from '../../util/xml.js';
import { formatBitmap, parseBitmap } from '../../util/bitmap.js';
import { CommandError, attempt } from '../errors.js';
import { formatTable } from '../table.js';
import { ScaleError, parseScaled, parseScaledBigInt, type Handler, type Invocation, type Shell } from '../shell.js';

/** added by libvirt's public API to parameter queries when the driver takes string parameters */
const TYPED_PARAM_STRING_OKAY = 4;
const VCPU_MAXIMUM = 4;
const MEMORY_UNLIMITED = 9007199254740991n;
const UINT_MAX = 2 ** 32 - 1;

/** virsh's --current/--live/--config handling: the flags and whether --current was given. */
function impactFlags(cmd: Invocation): { flags: number; current: boolean; live: boolean; config: boolean } {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  const live = cmd.bool('live');
  const config = cmd.bool('config');
  return { flags: (live ? ModificationImpact.LIVE : 0) | (config ? ModificationImpact.CONFIG : 0), current: cmd.bool('current'), live, config };
}

type ParamsQuery = (nparams: number) => Promise<{ params: TypedParam[]; nparams: number }>;

/** virsh's typed-parameter query: the count first (nparams 0), then that many parameters, each step with its message. */
async function queryParams(kind: string, query: ParamsQuery): Promise<PlainParam[]> {
  let count: number;
  try {
    count = (await query(0)).nparams;
  } catch (e) {
    throw new CommandError([`Unable to get number of ${kind} parameters`], e);
  }
  if (count === 0) return [];
  try {
    return plainParams((await query(count)).params);
  } catch (e) {
    throw new CommandError([`Unable to get ${kind} parameters`], e);
  }
}

const paramLine = (p: PlainParam, value = String(p.value)) => `${p.field.padEnd(15)}: ${value}\n`;

/** virTypedParamsAddFromString: `text` as a value of the parameter's type, with libvirt's message where it is not one. */
function paramFromString(field: string, type: TypedParamType, text: string): TypedParam {
  const invalid = (what: string) => virError(ErrorCode.INVALID_ARG, `Invalid value for field '${field}': expected ${what}`, ErrorDomain.NONE);
  const integer = /^\s*[+-]?\d+$/.test(text) ? BigInt(text.trim()) : undefined;
  switch (type) {
    case TypedParamType.INT:
      if (integer === undefined || BigInt.asIntN(32, integer) !== integer) throw invalid('int');
      return typedParam.int(field, Number(integer));
    case TypedParamType.UINT:
      if (integer === undefined || integer < 0n || integer > BigInt(UINT_MAX)) throw invalid('unsigned int');
      return typedParam.uint(field, Number(integer));
    case TypedParamType.LLONG:
      if (integer === undefined || BigInt.asIntN(64, integer) !== integer) throw invalid('long long');
      return typedParam.llong(field, integer);
    case TypedParamType.ULLONG:
      // strtoull: a negative number wraps around
      if (integer === undefined || integer < -(2n ** 64n - 1n) || integer >= 2n ** 64n) throw invalid('unsigned long long');
      return typedParam.ullong(field, BigInt.asUintN(64, integer));
    default:
      return typedParam.string(field, text);
  }
}

/** cmdSchedInfoUpdate: the --set name=value pairs, then --cap and --weight, typed like the current parameters. */
function schedulerUpdates(cmd: Invocation, current: TypedParam[]): TypedParam[] {
  const pairs = cmd.argv('set').map((arg) => {
    const eq = arg.indexOf('=');
    if (eq < 0) throw new CommandError(['Invalid syntax for --set, expecting name=value']);
    return [arg.slice(0, eq), arg.slice(eq + 1)] as const;
  });
  for (const name of ['cap', 'weight']) {
    const value = cmd.string(name);
    if (value !== undefined) pairs.push([name, value]);
  }
  return pairs.map(([field, value]) => {
    const known = current.find((p) => p.field === field);
    if (!known) throw new CommandError([`invalid scheduler option: ${field}`]);
    return paramFromString(field, known.value.type, value);
  });
}

const schedinfo: Handler = async (ctl, cmd) => {
  const { flags, current, live, config } = impactFlags(cmd);
  // live and config cannot be queried at once: settle on current then
  const queryFlags = live && config ? 0 : flags;
  const { dom } = await ctl.domain(cmd);
  const conn = dom.connection;
  const { type, nparams } = await conn.invoke('domainGetSchedulerType', { dom: dom.ref });
  ctl.print(`${'Scheduler'.padEnd(15)}: ${type}\n`);
  if (nparams === 0) return;
  const withFlags = flags !== 0 || current;
  const query = async () => (await conn.invoke('domainGetSchedulerParametersFlags', { dom: dom.ref, nparams, flags: withFlags ? queryFlags | TYPED_PARAM_STRING_OKAY : 0 })).params;
  let params = await query();
  const updates = schedulerUpdates(cmd, params);
  if (updates.length > 0) {
    await conn.invoke('domainSetSchedulerParametersFlags', { dom: dom.ref, params: updates, flags: withFlags ? flags : 0 });
    params = await query();
  } else if (live && config) {
    throw new CommandError(['cannot query both live and config at once']);
  }
  for (const p of plainParams(params)) ctl.print(paramLine(p));
};

const MEMTUNE_OPTIONS: [string, string][] = [
  ['hard-limit', 'hard_limit'],
  ['soft-limit', 'soft_limit'],
  ['swap-hard-limit', 'swap_hard_limit'],
  ['min-guarantee', 'min_guarantee'],
];

/** virshMemtuneGetSize: KiB (rounded up) from a scaled size; negative means unlimited. */
function memtuneSize(option: string, text: string): bigint {
  if (/^\s*-\d/.test(text)) return MEMORY_UNLIMITED;
  try {
    return (BigInt(parseScaled(text, 1024, 2 ** 63 - 1)) + 1023n) / 1024n;
  } catch (e) {
    throw new CommandError([`Unable to parse integer parameter ${option}`], e instanceof ScaleError ? e.reason : undefined);
  }
}

const memtune: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const updates = MEMTUNE_OPTIONS.flatMap(([option, field]) => {
    const text = cmd.string(option);
    return text === undefined ? [] : [typedParam.ullong(field, memtuneSize(option, text))];
  });
  if (updates.length > 0) {
    try {
      await dom.connection.invoke('domainSetMemoryParameters', { dom: dom.ref, params: updates, flags });
    } catch (e) {
      throw new CommandError(['Unable to change memory parameters'], e);
    }
    return;
  }
  const params = await queryParams('memory', (nparams) =>
    dom.connection.invoke('domainGetMemoryParameters', { dom: dom.ref, nparams, flags: flags | TYPED_PARAM_STRING_OKAY }));
  for (const p of params) ctl.print(paramLine(p, BigInt(p.value as number | bigint) === MEMORY_UNLIMITED ? 'unlimited' : undefined));
};

/** virshNodeGetCPUCount: the host CPUs virsh sizes its CPU maps for. */
async function hostCpuCount(ctl: Shell): Promise<number> {
  return (await ctl.c.getCPUMap()).online.length;
}

/** A CPU map as virsh prints it: only the CPUs its map has room for. */
const cpuMapText = (cpus: number[], maxcpu: number) => formatBitmap(new Set(cpus.filter((cpu) => cpu < maxcpu)));

/** virshParseCPUList: "r" for every host CPU, else a CPU set naming at least one CPU the host has; packed for the pinning calls. */
function parseCpuList(cpulist: string, maxcpu: number): Buffer {
  let cpus: number[];
  if (cpulist.startsWith('r')) {
    cpus = [...Array(maxcpu).keys()];
  } else {
    const set = parseBitmap(cpulist, 1024);
    const reason = set ? undefined : virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${cpulist}'`, ErrorDomain.NONE);
    if (!set || set.size === 0) throw new CommandError([`Invalid cpulist '${cpulist}'`], reason);
    cpus = [...set];
    const last = Math.max(...cpus);
    if (last >= maxcpu) throw new CommandError([`CPU ${last} in cpulist '${cpulist}' exceed the maxcpu ${maxcpu}`]);
  }
  const map = Buffer.alloc(cpuMapLength(maxcpu));
  for (const cpu of cpus) map[cpu >> 3]! |= 1 << (cpu & 7);
  return map;
}

/** vcpupin: pins a vCPU with --cpulist, else prints every vCPU's (or the given one's) CPU affinity. */
const vcpupin: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const cpulist = cmd.string('cpulist');
  if (cpulist === undefined) cmd.exclusive('live', 'config');
  const vcpu = cmd.number('vcpu', 0, UINT_MAX);
  if (cpulist !== undefined && vcpu === undefined) throw new CommandError(['vcpupin: Missing vCPU number in pin mode.']);
  const maxcpu = await hostCpuCount(ctl);
  const { dom } = await ctl.domain(cmd);
  const conn = dom.connection;
  if (cpulist !== undefined) {
    const cpumap = parseCpuList(cpulist, maxcpu);
    // without any impact option virsh uses the older call
    if (flags === 0 && !cmd.bool('current')) await conn.invoke('domainPinVcpu', { dom: dom.ref, vcpu: vcpu!, cpumap });
    else await conn.invoke('domainPinVcpuFlags', { dom: dom.ref, vcpu: vcpu!, cpumap, flags });
    return;
  }
  // virshCPUCountCollect checks the state the flags ask for before counting
  if (flags & ModificationImpact.LIVE && !(await dom.isActive())) throw new CommandError(['cannot get vcpupin for offline domain']);
  if (flags & ModificationImpact.CONFIG && !(await dom.isPersistent())) throw new CommandError(['cannot get vcpupin for transient domain']);
  const { num: ncpus } = await conn.invoke('domainGetVcpusFlags', { dom: dom.ref, flags: flags | VCPU_MAXIMUM });
  if (vcpu !== undefined && vcpu >= ncpus) {
    const live = flags & ModificationImpact.LIVE || (!(flags & ModificationImpact.CONFIG) && (await dom.isActive()));
    throw new CommandError([`vcpu ${vcpu} is out of range of ${live ? 'live' : 'persistent'} cpu count ${ncpus}`]);
  }
  const maps = await vcpuPinInfo(dom, ncpus, maxcpu, flags);
  const rows = maps.flatMap((cpus, i) => (vcpu === undefined || vcpu === i ? [[String(i), cpuMapText(cpus, maxcpu)]] : []));
  ctl.print(formatTable(['VCPU', 'CPU Affinity'], rows, true));
};

/** setvcpu: enables or disables the listed vCPUs (virDomainSetVcpu). */
const setvcpu: Handler = async (ctl, cmd) => {
  cmd.exclusive('enable', 'disable');
  const { flags } = impactFlags(cmd);
  const enable = cmd.bool('enable');
  if (!enable && !cmd.bool('disable')) throw new CommandError(['one of --enable, --disable is required']);
  const cpumap = cmd.required('vcpulist');
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainSetVcpu', { dom: dom.ref, cpumap, state: enable ? 1 : 0, flags });
};

/** virDomainGetVcpuPinInfo: each vCPU's allowed host CPUs. */
async function vcpuPinInfo(dom: Domain, ncpumaps: number, maxcpu: number, flags: number): Promise<number[][]> {
  const maplen = cpuMapLength(maxcpu);
  const { cpumaps, num } = await dom.connection.invoke('domainGetVcpuPinInfo', { dom: dom.ref, ncpumaps, maplen, flags });
  return Array.from({ length: num }, (_, i) => cpuMapCpus(cpumaps, i, maplen));
}

/** virshDomainVcpuState */
const VCPU_STATES = ['offline', 'running', 'blocked'];

/**
 * One vCPU's vcpuinfo block; without `info` (a shut-off domain) virsh's N/A
 * lines, whose "CPU time" has no colon in virsh either.
 */
export function formatVcpuInfo(vcpu: number, info: DomainVcpuInfo | undefined, cpus: number[], maxcpu: number, pretty: boolean): string {
  const line = (label: string, value: string | number) => `${label.padEnd(15)} ${value}\n`;
  let out = line('VCPU:', vcpu);
  if (info) {
    out += line('CPU:', info.cpu) + line('State:', VCPU_STATES[info.state] ?? 'no state');
    if (info.cpuTime !== 0n) out += line('CPU time:', `${(Number(info.cpuTime) / 1e9).toFixed(1)}s`);
  } else {
    out += line('CPU:', 'N/A') + line('State:', 'N/A') + line('CPU time', 'N/A');
  }
  const allowed = new Set(cpus);
  const affinity = pretty ? `${cpuMapText(cpus, maxcpu)} (out of ${maxcpu})` : Array.from({ length: maxcpu }, (_, cpu) => (allowed.has(cpu) ? 'y' : '-')).join('');
  return out + line('CPU Affinity:', affinity);
}

/** virshDomainGetVcpuBitmap: the persistent definition's vCPU count and the vCPUs it enables. */
function configuredVcpus(def: XmlElement): { max: number; enabled: number[] } {
  const vcpu = child(def, 'vcpu');
  const max = Number(vcpu?.text.trim());
  if (!vcpu || !Number.isInteger(max)) throw new CommandError(['Failed to retrieve maximum vcpu count']);
  const current = Number(vcpu.attrs.current ?? 0) || max;
  const vcpus = child(def, 'vcpus');
  const listed = vcpus ? childrenNamed(vcpus, 'vcpu') : [];
  if (listed.length === 0) return { max, enabled: [...Array(current).keys()] };
  const enabled = new Set(listed.filter((v) => v.attrs.enabled === 'yes' && v.attrs.id !== undefined).map((v) => Number(v.attrs.id)));
  if (enabled.size !== current) throw new CommandError(['Failed to retrieve vcpu state bitmap']);
  return { max, enabled: [...enabled].sort((a, b) => a - b) };
}

const vcpuinfo: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const pretty = cmd.bool('pretty');
  const maxcpu = await hostCpuCount(ctl);
  const info = await dom.getInfo();
  let vcpus: { info: DomainVcpuInfo[]; cpumaps: number[][] };
  try {
    vcpus = await dom.getVcpus(info.nrVirtCpu);
  } catch (e) {
    if (info.state !== DomainState.SHUTOFF) throw e;
    // a shut-off domain still has its pinning
    const { max, enabled } = configuredVcpus(parseXml(await dom.getXMLDesc(DomainXMLFlags.INACTIVE)));
    const maps = await vcpuPinInfo(dom, max, maxcpu, ModificationImpact.CONFIG);
    ctl.print(enabled.map((vcpu) => formatVcpuInfo(vcpu, undefined, maps[vcpu] ?? [], maxcpu, pretty)).join('\n'));
    return;
  }
  ctl.print(vcpus.info.map((v, i) => formatVcpuInfo(v.number, v, vcpus.cpumaps[i] ?? [], maxcpu, pretty)).join('\n'));
};

/** emulatorpin: pins the emulator threads with a CPU list, else prints their CPU affinity. */
const emulatorpin: Handler = async (ctl, cmd) => {
  const { flags, current } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const cpulist = cmd.string('cpulist');
  const maxcpu = await hostCpuCount(ctl);
  if (cpulist !== undefined) {
    const cpumap = parseCpuList(cpulist, maxcpu);
    // pinning without an impact option means the running domain
    await dom.connection.invoke('domainPinEmulator', { dom: dom.ref, cpumap, flags: flags === 0 && !current ? ModificationImpact.LIVE : flags });
    return;
  }
  const maplen = cpuMapLength(maxcpu);
  const { cpumaps } = await dom.connection.invoke('domainGetEmulatorPinInfo', { dom: dom.ref, maplen, flags });
  const cpus = cpuMapCpus(cpumaps, 0, maplen);
  ctl.printExtra('emulator: CPU Affinity\n----------------------------------\n       *: ');
  ctl.print(`${cpuMapText(cpus, maxcpu)}\n`);
};

const domfsinfo: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  let infos;
  try {
    ({ info: infos } = await dom.connection.invoke('domainGetFSInfo', { dom: dom.ref, flags: 0 }));
  } catch (e) {
    throw new CommandError(['Unable to get filesystem information'], e);
  }
  if (infos.length === 0) {
    ctl.printExtra('No filesystems are mounted in the domain');
    return;
  }
  const rows = infos.map((fs) => [fs.mountpoint, fs.name, fs.fstype, fs.dev_aliases.join(',')]);
  ctl.print(formatTable(['Mountpoint', 'Name', 'Type', 'Target'], rows, true));
};

const domfsfreeze: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { filesystems } = await attempt('Unable to freeze filesystems', dom.connection.invoke('domainFSFreeze', { dom: dom.ref, mountpoints: cmd.argv('mountpoint'), flags: 0 }));
  ctl.printExtra(`Froze ${filesystems} filesystem(s)\n`);
};

const domfsthaw: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { filesystems } = await attempt('Unable to thaw filesystems', dom.connection.invoke('domainFSThaw', { dom: dom.ref, mountpoints: cmd.argv('mountpoint'), flags: 0 }));
  ctl.printExtra(`Thawed ${filesystems} filesystem(s)\n`);
};

const domfstrim: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const minimum = BigInt(cmd.number('minimum') ?? 0);
  const mountPoint = cmd.string('mountpoint') ?? null;
  await attempt('Unable to invoke fstrim', dom.connection.invoke('domainFSTrim', { dom: dom.ref, mountPoint, minimum, flags: 0 }));
};

const guestvcpus: Handler = async (ctl, cmd) => {
  cmd.exclusive('enable', 'disable');
  cmd.requireOption('enable', 'cpulist');
  cmd.requireOption('disable', 'cpulist');
  const cpulist = cmd.string('cpulist');
  const enable = cmd.bool('enable');
  if (cpulist !== undefined && !enable && !cmd.bool('disable')) throw new CommandError(['One of options --enable or --disable is required by option --cpulist']);
  const { dom } = await ctl.domain(cmd);
  if (cpulist !== undefined) {
    await dom.connection.invoke('domainSetGuestVcpus', { dom: dom.ref, cpumap: cpulist, state: enable ? 1 : 0, flags: 0 });
    return;
  }
  const { params } = await dom.connection.invoke('domainGetGuestVcpus', { dom: dom.ref, flags: 0 });
  for (const p of params) ctl.print(`${p.field.padEnd(15)}: ${String(typedParamValue(p))}\n`);
};

const iothreadinfo: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  let threads;
  try {
    ({ info: threads } = await dom.connection.invoke('domainGetIOThreadInfo', { dom: dom.ref, flags }));
  } catch (e) {
    throw new CommandError(['Unable to get domain IOThreads information'], e);
  }
  if (threads.length === 0) {
    ctl.printExtra('No IOThreads found for the domain');
    return;
  }
  const rows = threads.map((t) => [String(t.iothread_id), formatBitmap(new Set(cpuMapCpus(t.cpumap, 0, t.cpumap.length)))]);
  ctl.print(formatTable(['IOThread ID', 'CPU Affinity'], rows, true));
};

const iothreadpin: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const id = cmd.number('iothread', 0, UINT_MAX)!;
  const cpulist = cmd.required('cpulist');
  const cpumap = parseCpuList(cpulist, await hostCpuCount(ctl));
  await dom.connection.invoke('domainPinIOThread', { dom: dom.ref, iothreads_id: id, cpumap, flags });
};

/** The --id of iothreadadd/iothreaddel/iothreadset: a positive int. */
function iothreadId(cmd: Invocation): number {
  const id = cmd.number('id', -(2 ** 31), 2 ** 31 - 1)!;
  if (id <= 0) throw new CommandError([`Invalid IOThread id value: '${id}'`]);
  return id;
}

const iothreadadd: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainAddIOThread', { dom: dom.ref, iothread_id: iothreadId(cmd), flags });
};

const iothreaddel: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  await dom.connection.invoke('domainDelIOThread', { dom: dom.ref, iothread_id: iothreadId(cmd), flags });
};

/** iothreadset: the given polling and worker pool settings as virDomainSetIOThreadParams' typed parameters. */
const iothreadset: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const id = iothreadId(cmd);
  const params: TypedParam[] = [];
  const pollMax = cmd.number('poll-max-ns', 0, Number.MAX_SAFE_INTEGER);
  if (pollMax !== undefined) params.push(typedParam.ullong('poll_max_ns', BigInt(pollMax)));
  for (const [option, field] of [['poll-grow', 'poll_grow'], ['poll-shrink', 'poll_shrink']] as const) {
    const value = cmd.number(option, 0, UINT_MAX);
    if (value !== undefined) params.push(typedParam.uint(field, value));
  }
  for (const [option, field] of [['thread-pool-min', 'thread_pool_min'], ['thread-pool-max', 'thread_pool_max']] as const) {
    const value = cmd.number(option, -(2 ** 31), 2 ** 31 - 1);
    if (value !== undefined) params.push(typedParam.int(field, value));
  }
  if (params.length === 0) throw new CommandError(['Not enough arguments passed, nothing to set']);
  await dom.connection.invoke('domainSetIOThreadParams', { dom: dom.ref, iothread_id: id, params, flags });
};


/** blkiotune's per-device options and the typed parameters they set (VIR_DOMAIN_BLKIO_DEVICE_*). */
const BLKIO_DEVICE_OPTIONS: [string, string][] = [
  ['device-weights', 'device_weight'],
  ['device-read-iops-sec', 'device_read_iops_sec'],
  ['device-write-iops-sec', 'device_write_iops_sec'],
  ['device-read-bytes-sec', 'device_read_bytes_sec'],
  ['device-write-bytes-sec', 'device_write_bytes_sec'],
];

/** blkiotune: without settings the block I/O weight and per-device throttles, else sets the ones given. */
const blkiotune: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const params: TypedParam[] = [];
  const weight = cmd.number('weight', -(2 ** 31), 2 ** 31 - 1);
  if (weight !== undefined) {
    if (weight <= 0) throw new CommandError([`Invalid value of ${weight} for I/O weight`]);
    params.push(typedParam.uint('weight', weight));
  }
  for (const [option, field] of BLKIO_DEVICE_OPTIONS) {
    let text: string | undefined;
    try {
      text = cmd.string(option);
    } catch {
      throw new CommandError(['Unable to parse string parameter']);
    }
    if (text !== undefined) params.push(typedParam.string(field, text));
  }
  if (params.length > 0) {
    try {
      await dom.connection.invoke('domainSetBlkioParameters', { dom: dom.ref, params, flags });
    } catch (e) {
      throw new CommandError(['Unable to change blkio parameters'], e);
    }
    return;
  }
  const current = await queryParams('blkio', (nparams) =>
    dom.connection.invoke('domainGetBlkioParameters', { dom: dom.ref, nparams, flags: flags | TYPED_PARAM_STRING_OKAY }));
  for (const p of current) ctl.print(paramLine(p));
};

/** virshParseRateStr: "average,peak,burst,floor", any field may be empty. */
function parseRate(text: string): { average: bigint; peak: bigint; burst: bigint; floor: bigint } {
  const fields = text.split(',');
  if (fields.length > 4) throw new CommandError([`Rate string '${text}' has too many fields`]);
  const names = ['average', 'peak', 'burst', 'floor'] as const;
  const rate = { average: 0n, peak: 0n, burst: 0n, floor: 0n };
  names.forEach((name, i) => {
    const field = fields[i];
    if (field === undefined || field === '') return;
    if (!/^\s*\+?\d+$/.test(field) || BigInt(field.trim()) > 2n ** 64n - 1n) throw new CommandError([`field '${name}' is malformed`]);
    rate[name] = BigInt(field.trim());
  });
  return rate;
}

/** domiftune's rates as typed parameters, with virsh's checks (average, or inbound floor, is mandatory). */
function rateParams(direction: 'inbound' | 'outbound', text: string): TypedParam[] {
  const rate = parseRate(text);
  if (rate.average > UINT_MAX || rate.peak > UINT_MAX || rate.burst > UINT_MAX) throw new CommandError([`${direction} rate larger than maximum ${UINT_MAX}`]);
  if (direction === 'inbound' && !rate.average && (rate.burst || rate.peak) && !rate.floor) throw new CommandError(['either inbound average or floor is mandatory']);
  if (direction === 'outbound') {
    if (!rate.average && (rate.burst || rate.peak)) throw new CommandError(['outbound average is mandatory']);
    if (rate.floor) throw new CommandError(['outbound floor is unsupported yet']);
  }
  const fields = direction === 'inbound' ? (['peak', 'burst', 'floor'] as const) : (['peak', 'burst'] as const);
  return [typedParam.uint(`${direction}.average`, Number(rate.average)),
    ...fields.filter((f) => rate[f]).map((f) => typedParam.uint(`${direction}.${f}`, Number(rate[f])))];
}

/** domiftune: without rates the interface's bandwidth parameters, else sets the ones given. */
const domiftune: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const device = cmd.required('interface');
  const inbound = cmd.string('inbound');
  const outbound = cmd.string('outbound');
  const params = [...(inbound === undefined ? [] : rateParams('inbound', inbound)), ...(outbound === undefined ? [] : rateParams('outbound', outbound))];
  if (params.length > 0) {
    try {
      await dom.connection.invoke('domainSetInterfaceParameters', { dom: dom.ref, device, params, flags });
    } catch (e) {
      throw new CommandError(['Unable to set interface parameters'], e);
    }
    return;
  }
  const current = await queryParams('interface', (nparams) => dom.connection.invoke('domainGetInterfaceParameters', { dom: dom.ref, device, nparams, flags }));
  for (const p of current) ctl.print(paramLine(p));
};

/** blkdeviotune's options: the scaled byte limits, then the counts, each with its typed parameter (VIR_DOMAIN_BLOCK_IOTUNE_*). */
const IOTUNE_SCALED = ['total-bytes-sec', 'read-bytes-sec', 'write-bytes-sec', 'total-bytes-sec-max', 'read-bytes-sec-max', 'write-bytes-sec-max'];
const IOTUNE_COUNTS = ['total-iops-sec', 'read-iops-sec', 'write-iops-sec', 'total-iops-sec-max', 'read-iops-sec-max', 'write-iops-sec-max', 'size-iops-sec',
  'total-bytes-sec-max-length', 'read-bytes-sec-max-length', 'write-bytes-sec-max-length', 'total-iops-sec-max-length', 'read-iops-sec-max-length', 'write-iops-sec-max-length'];

/** blkdeviotune: without limits the disk's throttle parameters, else sets the ones given. */
const blkdeviotune: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const disk = cmd.required('device');
  const params: TypedParam[] = [];
  for (const option of [...IOTUNE_SCALED, ...IOTUNE_COUNTS]) {
    const text = cmd.string(option);
    if (text === undefined) continue;
    let value: bigint;
    try {
      value = IOTUNE_SCALED.includes(option) ? parseScaledBigInt(text, 1) : BigInt(/^\s*\d+$/.test(text) ? text : NaN);
    } catch {
      const kind = IOTUNE_SCALED.includes(option) ? 'Scaled numeric value' : 'Numeric value';
      throw new CommandError([`${kind} '${text}' for <${option}> option is malformed or out of range`, 'Unable to parse integer parameter']);
    }
    params.push(typedParam.ullong(option.replaceAll('-', '_'), value));
  }
  const group = cmd.string('group-name');
  if (group !== undefined) params.push(typedParam.string('group_name', group));
  if (params.length === 0) {
    const current = await queryParams('block I/O throttle', (nparams) =>
      dom.connection.invoke('domainGetBlockIoTune', { dom: dom.ref, disk: nparams === 0 ? null : disk, nparams, flags: flags | TYPED_PARAM_STRING_OKAY }));
    for (const p of current) ctl.print(paramLine(p));
    return;
  }
  await attempt('Unable to change block I/O throttle', dom.connection.invoke('domainSetBlockIoTune', { dom: dom.ref, disk, params, flags }));
};

const domjobabort: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  if (cmd.bool('postcopy')) await dom.connection.invoke('domainAbortJobFlags', { dom: dom.ref, flags: 1 });
  else await dom.connection.invoke('domainAbortJob', { dom: dom.ref });
};

const attr = (el: XmlElement | undefined, name: string) => el?.attrs[name];

/** virshGetOneDisplay: the URI of the domain's first `scheme` display, if it has a port or socket. */
function displayURI(root: XmlElement, scheme: string): string | undefined {
  const graphics = childrenNamed(child(root, 'devices') ?? root, 'graphics').find((g) => g.attrs.type === scheme);
  if (!graphics) return undefined;
  const listen = child(graphics, 'listen');
  const port = Number(attr(graphics, 'port') ?? 0) || 0;
  const tlsPort = Number(attr(graphics, 'tlsPort') ?? 0) || 0;
  const socket = attr(listen, 'type') === 'socket' ? attr(listen, 'socket') : undefined;
  if (!port && !tlsPort && !socket) return undefined;
  let host = attr(graphics, 'listen') ?? attr(listen, 'address');
  // a wildcard address does not help the user: libvirt prints the URI's host, here none
  if (host === '0.0.0.0' || host === '::') host = undefined;
  const passwd = attr(graphics, 'passwd');
  let uri = socket ? `${scheme}+unix://` : `${scheme}://`;
  if (scheme === 'vnc' && passwd !== undefined) uri += `:${passwd}@`;
  if (socket) uri += socket;
  else if (host === undefined) uri += 'localhost';
  else uri += host.includes(':') ? `[${host}]` : host;
  if (port) uri += `:${scheme === 'vnc' ? port - 5900 : port}`;
  const query: string[] = [];
  if (tlsPort) query.push(`tls-port=${tlsPort}`);
  if (scheme === 'spice' && passwd !== undefined) query.push(`password=${passwd}`);
  return query.length > 0 ? `${uri}?${query.join('&')}` : uri;
}

/** virshGetDBusDisplay: only unix socket addresses make a URI; others are reported and skipped. */
function dbusURI(root: XmlElement, report: (message: string) => void): string | undefined {
  const graphics = childrenNamed(child(root, 'devices') ?? root, 'graphics').find((g) => g.attrs.type === 'dbus');
  const address = attr(graphics, 'address');
  if (address === undefined) return undefined;
  if (address.startsWith('unix:path=')) return `dbus+unix://${address.slice('unix:path='.length)}`;
  report(`'${address}' D-Bus address is not handled`);
  return undefined;
}

const domdisplay: Handler = async (ctl, cmd) => {
  const all = cmd.bool('all');
  cmd.exclusive('all', 'type');
  const { dom } = await ctl.domain(cmd);
  if (!(await dom.isActive())) throw new CommandError(['Domain is not running']);
  const type = cmd.string('type');
  const root = parseXml(await dom.getXMLDesc(cmd.bool('include-password') ? DomainXMLFlags.SECURE : 0));
  let found = false;
  for (const scheme of ['vnc', 'spice', 'rdp', 'dbus']) {
    if (!all && type !== undefined && type !== scheme) continue;
    const uri = scheme === 'dbus' ? dbusURI(root, (m) => ctl.error(m)) : displayURI(root, scheme);
    if (uri === undefined) continue;
    ctl.print(all ? `${uri}\n` : uri);
    found = true;
    if (!all) break;
  }
  if (!found) throw new CommandError([type !== undefined ? `No graphical display with type '${type}' found` : 'No graphical display found']);
};

/** virsh's vncdisplay: the VNC port and listen address of the live XML (no address or a wildcard: none printed). */
const vncdisplay: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  if (!(await dom.isActive())) throw new CommandError(['Domain is not running']);
  const root = parseXml(await dom.getXMLDesc(0));
  const graphics = childrenNamed(child(root, 'devices') ?? root, 'graphics').find((g) => g.attrs.type === 'vnc');
  const port = Number(attr(graphics, 'port'));
  if (!graphics || !Number.isInteger(port)) throw new CommandError(['Failed to get VNC port. Is this domain using VNC?']);
  const listen = attr(graphics, 'listen') ?? attr(child(graphics, 'listen'), 'address');
  ctl.print(`${listen === undefined || listen === '0.0.0.0' ? '' : listen}:${port - 5900}\n`);
};

/** The pty of the domain's first console (virsh reads it off the live XML; none: a failure without a message). */
const ttyconsole: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const devices = child(parseXml(await dom.getXMLDesc(0)), 'devices');
  const tty = devices && child(devices, 'console')?.attrs['tty'];
  if (tty === undefined) throw new CommandError([]);
  ctl.print(`${tty}\n`);
};

/** virDomainNumatuneMemMode */
const NUMATUNE_MODES = ['strict', 'preferred', 'interleave', 'restrictive'];

/** numatune: without settings the memory mode and nodeset, else sets the ones given. */
const numatune: Handler = async (ctl, cmd) => {
  const { flags } = impactFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const params: TypedParam[] = [];
  const nodeset = cmd.string('nodeset');
  if (nodeset !== undefined) params.push(typedParam.string('numa_nodeset', nodeset));
  const mode = cmd.string('mode');
  if (mode !== undefined) {
    // a name, or a number of a mode newer than this client (strtol, base 0)
    const byName = NUMATUNE_MODES.indexOf(mode);
    const number = /^\s*[+-]?(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(mode) ? Number.parseInt(mode.trim(), /^\s*[+-]?0x/i.test(mode) ? 16 : /^\s*[+-]?0\d/.test(mode) ? 8 : 10) : NaN;
    const m = byName >= 0 ? byName : number;
    if (!Number.isInteger(m) || m < -(2 ** 31) || m >= 2 ** 31) throw new CommandError([`Invalid mode: ${mode}`]);
    params.push(typedParam.int('numa_mode', m));
  }
  if (params.length > 0) {
    try {
      await dom.connection.invoke('domainSetNumaParameters', { dom: dom.ref, params, flags });
    } catch (e) {
      throw new CommandError(['Unable to change numa parameters'], e);
    }
    return;
  }
  let count: number;
  try {
    count = (await dom.connection.invoke('domainGetNumaParameters', { dom: dom.ref, nparams: 0, flags })).nparams;
  } catch (e) {
    throw new CommandError(['Unable to get number of memory parameters'], e);
  }
  if (count === 0) return;
  let current: TypedParam[];
  try {
    current = (await dom.connection.invoke('domainGetNumaParameters', { dom: dom.ref, nparams: count, flags: flags | TYPED_PARAM_STRING_OKAY })).params;
  } catch (e) {
    throw new CommandError(['Unable to get numa parameters'], e);
  }
  for (const p of current) {
    const value = typedParamValue(p);
    ctl.print(paramLine({ field: p.field, value }, p.field === 'numa_mode' && p.value.type === TypedParamType.INT ? String(NUMATUNE_MODES[value as number] ?? '(null)') : undefined));
  }
};

export const handlers: Record<string, Handler> = { schedinfo, memtune, blkiotune, domiftune, numatune, blkdeviotune, vcpuinfo, vcpupin, setvcpu, emulatorpin, domfsinfo, domfsfreeze, domfsthaw, domfstrim, guestvcpus, iothreadinfo, iothreadpin, iothreadadd, iothreaddel, iothreadset, domjobabort, domdisplay, vncdisplay, ttyconsole };
