// Domain Monitoring commands: list, domstate, dominfo, device lists, block/interface
// info, stats, plus tsvirt's domtopology.
import type { Domain } from '../../api/connection.js';
import { cString, DomainState, ListDomainsFlags, MEMORY_STAT_NAMES, plainParams, type DomainInterfaceStats, type DomainRef, type PlainParam } from '../../api/types.js';
import { child, childrenNamed, formatXml, parseXml, type XmlElement } from '../../util/xml.js';
import { CommandError, attempt } from '../errors.js';
import type { Handler, Invocation, Shell } from '../shell.js';
import { compareNames } from '../order.js';
import { formatTable } from '../table.js';
import { formatTopology } from '../topology.js';

const STATE_NAMES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

const STATE_REASONS: string[][] = [
  ['unknown'],
  ['unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled', 'save canceled', 'event wakeup', 'crashed', 'post-copy', 'post-copy failed'],
  ['unknown'],
  ['unknown', 'user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog', 'from snapshot', 'shutting down', 'creating snapshot', 'crashed', 'starting up', 'post-copy', 'post-copy failed'],
  ['unknown', 'user'],
  ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  ['unknown', 'panicked'],
  ['unknown'],
];

function stateName(state: number): string {
  return STATE_NAMES[state] ?? 'no state';
}

function reasonName(state: number, reason: number): string {
  return STATE_REASONS[state]?.[reason] ?? 'unknown';
}

/** virshDomainGetXML: the domain's XML document, parsed. */
async function domainXml(ctl: Shell, cmd: Invocation, flags: number): Promise<{ dom: Domain; root: XmlElement }> {
  const { dom } = await ctl.domain(cmd);
  return { dom, root: parseXml(await dom.getXMLDesc(flags)) };
}

/** virsh's domain order: running domains by id, then inactive ones by name, case-insensitively. */
function sortDomains<T extends DomainRef | Domain>(doms: T[]): T[] {
  return [...doms].sort((a, b) => {
    if (a.id === -1 && b.id === -1) return compareNames(a, b);
    if (a.id !== -1 && b.id !== -1) return a.id - b.id;
    return a.id === -1 ? 1 : -1;
  });
}

const LIST_FILTERS: [string, number][] = [
  ['persistent', ListDomainsFlags.PERSISTENT],
  ['transient', ListDomainsFlags.TRANSIENT],
  ['with-managed-save', ListDomainsFlags.MANAGEDSAVE],
  ['without-managed-save', ListDomainsFlags.NO_MANAGEDSAVE],
  ['autostart', ListDomainsFlags.AUTOSTART],
  ['no-autostart', ListDomainsFlags.NO_AUTOSTART],
  ['with-snapshot', ListDomainsFlags.HAS_SNAPSHOT],
  ['without-snapshot', ListDomainsFlags.NO_SNAPSHOT],
  ['with-checkpoint', ListDomainsFlags.HAS_CHECKPOINT],
  ['without-checkpoint', ListDomainsFlags.NO_CHECKPOINT],
  ['state-running', ListDomainsFlags.RUNNING],
  ['state-paused', ListDomainsFlags.PAUSED],
  ['state-shutoff', ListDomainsFlags.SHUTOFF],
  ['state-other', ListDomainsFlags.OTHER],
];

/** The domain's title (`title`) or description, '' when unset (virshGetDomainDescription). */
export async function domainDescription(dom: Domain, title: boolean, flags: number): Promise<string> {
  try {
    return (await dom.connection.invoke('domainGetMetadata', { dom: dom.ref, type: title ? 1 : 0, uri: null, flags })).metadata;
  } catch (e) {
    if ((e as { code?: number }).code === 80) return ''; // VIR_ERR_NO_DOMAIN_METADATA
    throw e;
  }
}

const list: Handler = async (ctl, cmd) => {
  let flags = ListDomainsFlags.ACTIVE;
  if (cmd.bool('inactive') || cmd.bool('state-shutoff')) flags = ListDomainsFlags.INACTIVE;
  if (cmd.bool('all')) flags = ListDomainsFlags.INACTIVE | ListDomainsFlags.ACTIVE;
  for (const [opt, flag] of LIST_FILTERS) if (cmd.bool(opt)) flags |= flag;
  cmd.exclusive('table', 'name');
  cmd.exclusive('table', 'uuid');
  cmd.exclusive('table', 'id');
  const optUUID = cmd.bool('uuid');
  const optName = cmd.bool('name');
  const optID = cmd.bool('id');
  const optTitle = cmd.bool('title');
  const table = cmd.bool('table') || (!optUUID && !optName && !optID);
  const optManagedSave = cmd.bool('managed-save');
  // one look at the domains: a domain another process changes meanwhile is listed as it was when list began
  await ctl.c.readView(async () => {
    const doms = sortDomains(await ctl.c.listAllDomains(flags));
    const rows: string[][] = [];
    // indexed: for-of makes an iterator result per domain in V8's interpreter
    for (let i = 0; i < doms.length; i++) {
      const dom = doms[i]!;
      const id = dom.id === -1 ? '-' : String(dom.id);
      if (table) {
        let state: string;
        try {
          const s = (await dom.getState()).state;
          state = optManagedSave && s === DomainState.SHUTOFF && (await dom.hasManagedSaveImage()) ? 'saved' : stateName(s);
        } catch {
          continue; // removed meanwhile
        }
        const row = [id, dom.name, state];
        if (optTitle) row.push(await domainDescription(dom, true, 0));
        rows.push(row);
        continue;
      }
      const parts: string[] = [];
      if (optUUID) parts.push(dom.uuid);
      if (optID) {
        if (dom.id === -1 && !optUUID && !optName) continue;
        parts.push(id);
      }
      if (optName) parts.push(dom.name);
      ctl.print(parts.join(' ') + '\n');
    }
    if (table) ctl.print(formatTable(['Id', 'Name', 'State', ...(optTitle ? ['Title'] : [])], rows, !ctl.quiet));
  });
};

const domstate: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { state, reason } = await dom.getState();
  ctl.print(cmd.bool('reason') ? `${stateName(state)} (${reasonName(state, reason)})\n` : `${stateName(state)}\n`);
};

const dominfo: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const line = (label: string, value: string | number) => ctl.print(`${label.padEnd(15)} ${value}\n`);
  line('Id:', dom.id === -1 ? '-' : dom.id);
  line('Name:', dom.name);
  line('UUID:', dom.uuid);
  const osType = await dom.connection.invoke('domainGetOSType', { dom: dom.ref }).then((r) => r.type, () => undefined);
  if (osType) line('OS Type:', osType);
  const info = await dom.getInfo();
  line('State:', stateName(info.state));
  line('CPU(s):', info.nrVirtCpu);
  if (info.cpuTime !== 0n) line('CPU time:', `${(Number(info.cpuTime) / 1e9).toFixed(1)}s`);
  line('Max memory:', `${info.maxMem} KiB`);
  line('Used memory:', `${info.memory} KiB`);
  const persistent = await dom.isPersistent().catch(() => undefined);
  line('Persistent:', persistent === undefined ? 'unknown' : persistent ? 'yes' : 'no');
  const autostart = await dom.getAutostart().catch(() => undefined);
  if (autostart !== undefined) line('Autostart:', autostart ? 'enable' : 'disable');
  const saved = await dom.hasManagedSaveImage().catch(() => undefined);
  line('Managed save:', saved === undefined ? 'unknown' : saved ? 'yes' : 'no');
  await securityLines(dom, line);
  // virsh prints the messages only when the call succeeds with some
  const { msgs } = await dom.connection.invoke('domainGetMessages', { dom: dom.ref, flags: 0 }).catch(() => ({ msgs: [] as string[] }));
  msgs.forEach((message, i) => line(i === 0 ? 'Messages:' : '', message));
};

/** dominfo's security model and label, when the host has a security driver. */
async function securityLines(dom: Domain, line: (label: string, value: string) => void): Promise<void> {
  let model: { model: string; doi: string };
  try {
    const raw = await dom.connection.invoke('nodeGetSecurityModel');
    model = { model: cString(raw.model), doi: cString(raw.doi) };
  } catch (e) {
    if ((e as { code?: number }).code === 3) return; // no security driver: nothing to show
    throw e;
  }
  if (!model.model) return;
  line('Security model:', model.model);
  line('Security DOI:', model.doi);
  const seclabel = await dom.connection.invoke('domainGetSecurityLabel', { dom: dom.ref });
  const label = cString(seclabel.label);
  if (label) line('Security label:', `${label} (${seclabel.enforcing ? 'enforcing' : 'permissive'})`);
}

/** string(@a|@b|...): the first of those attributes in document order. */
function firstAttr(el: XmlElement | undefined, names: string[]): string | undefined {
  if (!el) return undefined;
  const hit = Object.keys(el.attrs).find((k) => names.includes(k));
  return hit === undefined ? undefined : el.attrs[hit];
}

function devices(root: XmlElement, kind: string): XmlElement[] {
  const devs = child(root, 'devices');
  return devs ? childrenNamed(devs, kind) : [];
}

const domblklist: Handler = async (ctl, cmd) => {
  const { root } = await domainXml(ctl, cmd, cmd.bool('inactive') ? 2 : 0);
  const details = cmd.bool('details');
  const rows = devices(root, 'disk').map((disk) => {
    const target = child(disk, 'target')?.attrs.dev;
    if (target === undefined) throw new CommandError(['unable to query block list']);
    const source = firstAttr(child(disk, 'source'), ['file', 'dev', 'dir', 'name', 'volume', 'path']) ?? '-';
    return details ? [disk.attrs.type ?? '', disk.attrs.device ?? '', target, source] : [target, source];
  });
  ctl.print(formatTable(details ? ['Type', 'Device', 'Target', 'Source'] : ['Target', 'Source'], rows, !ctl.quiet));
};

const domiflist: Handler = async (ctl, cmd) => {
  const { root } = await domainXml(ctl, cmd, cmd.bool('inactive') ? 2 : 0);
  const rows = devices(root, 'interface').map((nic) => [
    child(nic, 'target')?.attrs.dev ?? '-',
    nic.attrs.type ?? '',
    firstAttr(child(nic, 'source'), ['bridge', 'dev', 'network', 'name', 'path']) ?? '-',
    child(nic, 'model')?.attrs.type ?? '-',
    child(nic, 'mac')?.attrs.address ?? '-',
  ]);
  ctl.print(formatTable(['Interface', 'Type', 'Source', 'Model', 'MAC'], rows, !ctl.quiet));
};

/** virMacAddrParse + format: normalised lower-case MAC, or '' when the text is not a MAC. */
export function normaliseMac(text: string): string {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return '';
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
}

const domifGetlink: Handler = async (ctl, cmd) => {
  const iface = cmd.required('interface');
  const { root } = await domainXml(ctl, cmd, cmd.bool('config') ? 2 : 0);
  const mac = normaliseMac(iface);
  const found = devices(root, 'interface').filter(
    (nic) => child(nic, 'mac')?.attrs.address === mac || child(nic, 'target')?.attrs.dev === iface,
  );
  if (found.length < 1) throw new CommandError([mac ? `Interface (mac: ${mac}) not found.` : `Interface (dev: ${iface}) not found.`]);
  if (found.length > 1) throw new CommandError(['multiple matching interfaces found']);
  ctl.print(`${iface} ${child(found[0]!, 'link')?.attrs.state ?? 'up'}`);
};

/** virDomainModificationImpact */
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
/** VIR_DOMAIN_XML_INACTIVE */
const XML_INACTIVE = 2;

/** cmdDomIfSetLink: the interface's XML with the new <link state>, through virDomainUpdateDeviceFlags. */
const domifSetlink: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const iface = cmd.required('interface');
  const state = cmd.required('state');
  if (state !== 'up' && state !== 'down') throw new CommandError([`invalid link state '${state}'`]);
  const config = cmd.bool('config');
  const flags = config || !(await dom.isActive()) ? AFFECT_CONFIG : AFFECT_LIVE;
  const root = parseXml(await dom.getXMLDesc(config ? XML_INACTIVE : 0));
  const nics = devices(root, 'interface');
  if (nics.length === 0) throw new CommandError(['Failed to extract interface information or no interfaces found']);
  const lower = iface.toLowerCase();
  const nic = nics.find((n) => child(n, 'mac')?.attrs.address?.toLowerCase() === lower || child(n, 'target')?.attrs.dev?.toLowerCase() === lower);
  if (!nic) throw new CommandError([`interface '${iface}' not found`]);
  const link = child(nic, 'link');
  if (link) link.attrs = { ...link.attrs, state };
  else nic.children.push({ name: 'link', attrs: { state }, children: [], text: '', line: 0 });
  const xml = formatXml(nic);
  if (cmd.bool('print-xml')) {
    ctl.print(xml);
    return;
  }
  await attempt('Failed to update interface link state', dom.connection.invoke('domainUpdateDeviceFlags', { dom: dom.ref, xml, flags }));
  ctl.printExtra('Device updated successfully\n');
};

const ADDRESS_SOURCES = ['lease', 'agent', 'arp'];

const domifaddr: Handler = async (ctl, cmd) => {
  const ifaceName = cmd.string('interface');
  const sourceName = cmd.string('source');
  let source = 0;
  if (sourceName !== undefined) {
    source = ADDRESS_SOURCES.indexOf(sourceName);
    if (source < 0) throw new CommandError([`Unknown data source '${sourceName}'`]);
  }
  const { dom } = await ctl.domain(cmd);
  const { ifaces } = await attempt('Failed to query for interfaces addresses', dom.connection.invoke('domainInterfaceAddresses', { dom: dom.ref, source, flags: 0 }));
  ctl.printExtra(` ${'Name'.padEnd(10)} ${'MAC address'.padEnd(20)} ${'Protocol'.padEnd(8)}     Address\n${'-'.repeat(79)}\n`);
  const full = cmd.bool('full');
  for (const iface of ifaces) {
    if (ifaceName !== undefined && ifaceName !== iface.name) continue;
    if (iface.addrs.length === 0) {
      ctl.print(` ${iface.name.padEnd(10)} ${(iface.hwaddr || 'N/A').padEnd(17)}    ${'N/A'.padEnd(12)} N/A\n`);
      continue;
    }
    iface.addrs.forEach((a, j) => {
      const addr = `${(a.type === 0 ? 'ipv4' : 'ipv6').padEnd(12)} ${a.addr}/${a.prefix}`;
      if (full || j === 0) ctl.print(` ${iface.name.padEnd(10)} ${(iface.hwaddr ?? '').padEnd(17)}    ${addr}\n`);
      else ctl.print(` ${'-'.padEnd(10)} ${'-'.padEnd(17)}    ${addr}\n`);
    });
  }
};

/** vshPrettyCapacity: the largest binary unit that keeps the value >= 1. */
export function prettyCapacity(bytes: number): { value: number; unit: string } {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return { value: v, unit: units[i]! };
}

function blockSizes(info: { capacity: number; allocation: number; physical: number }, human: boolean): string[] {
  const vals = [info.capacity, info.allocation, info.physical];
  if (vals.every((v) => v === 0)) return ['-', '-', '-'];
  if (!human) return vals.map(String);
  return vals.map((v) => {
    const p = prettyCapacity(v);
    return `${p.value.toFixed(3)} ${p.unit}`;
  });
}

const domblkinfo: Handler = async (ctl, cmd) => {
  if (cmd.bool('all') && cmd.string('device') !== undefined) throw new CommandError(['Options --all and --device are mutually exclusive']);
  const { dom } = await ctl.domain(cmd);
  const all = cmd.bool('all');
  const device = cmd.string('device');
  if (!all && !device) throw new CommandError(["command 'domblkinfo' requires <device> option"]);
  const human = cmd.bool('human');
  const getInfo = async (disk: string) => {
    const info = await dom.connection.invoke('domainGetBlockInfo', { dom: dom.ref, path: disk, flags: 0 });
    return { capacity: Number(info.capacity), allocation: Number(info.allocation), physical: Number(info.physical) };
  };
  if (!all) {
    const [cap, alloc, phy] = blockSizes(await getInfo(device!), human);
    ctl.print(`${'Capacity:'.padEnd(15)} ${cap}\n${'Allocation:'.padEnd(15)} ${alloc}\n${'Physical:'.padEnd(15)} ${phy}\n`);
    return;
  }
  const root = parseXml(await dom.getXMLDesc(0));
  const rows: string[][] = [];
  for (const disk of devices(root, 'disk')) {
    const target = child(disk, 'target')?.attrs.dev ?? '';
    const info = child(disk, 'source') ? await getInfo(target) : { capacity: 0, allocation: 0, physical: 0 };
    rows.push([target, ...blockSizes(info, human)]);
  }
  ctl.print(formatTable(['Target', 'Capacity', 'Allocation', 'Physical'], rows, !ctl.quiet));
};

const IO_ERRORS = ['no error', 'unspecified error', 'no space'];

const domblkerror: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { nerrors } = await dom.connection.invoke('domainGetDiskErrors', { dom: dom.ref, maxerrors: 0, flags: 0 });
  const { errors } = nerrors ? await dom.connection.invoke('domainGetDiskErrors', { dom: dom.ref, maxerrors: nerrors, flags: 0 }) : { errors: [] };
  if (errors.length === 0) ctl.print('No errors found\n');
  for (const e of errors) ctl.print(`${e.disk}: ${IO_ERRORS[e.error] ?? 'unknown error'}\n`);
};

/** virsh's domblkstat_output: the typed-parameter field, virsh's older spelling, the --human label. */
const BLOCK_STATS_OUTPUT: [field: string, legacy: string | undefined, human: string][] = [
  ['rd_operations', 'rd_req', 'number of read operations:'],
  ['rd_bytes', 'rd_bytes', 'number of bytes read:'],
  ['wr_operations', 'wr_req', 'number of write operations:'],
  ['wr_bytes', 'wr_bytes', 'number of bytes written:'],
  ['errs', 'errs', 'error count:'],
  ['flush_operations', undefined, 'number of flush operations:'],
  ['rd_total_times', undefined, 'total duration of reads (ns):'],
  ['wr_total_times', undefined, 'total duration of writes (ns):'],
  ['flush_total_times', undefined, 'total duration of flushes (ns):'],
];

/**
 * cmdDomblkstat's lines: the known counters in virsh's order and spelling,
 * then any others; with `human` a "Device:" header and aligned labels instead.
 */
export function formatBlockStats(device: string, params: PlainParam[], human: boolean): string {
  let out = human ? `Device: ${device}\n` : '';
  const prefix = human ? '' : device;
  const line = (field: string, value: string) => `${prefix} ${human ? field.padEnd(31) : field} ${value}\n`;
  const known = new Set<string>();
  for (const [field, legacy, label] of BLOCK_STATS_OUTPUT) {
    const p = params.find((q) => q.field === field);
    if (!p) continue;
    known.add(field);
    out += line(human ? label : (legacy ?? field), typedParamText(p));
  }
  for (const p of params) if (!known.has(p.field)) out += `${prefix} ${p.field} ${typedParamText(p)}\n`;
  return out;
}

const domblkstat: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  // no device: the sum over all disks
  const device = cmd.string('device') ?? '';
  let params: PlainParam[];
  try {
    params = await dom.blockStats(device);
  } catch (e) {
    if ((e as { code?: number }).code !== 3) throw e; // VIR_ERR_NO_SUPPORT: the older call
    const stats = await attempt(`Failed to get block stats ${name} ${device}`, dom.connection.invoke('domainBlockStats', { dom: dom.ref, path: device }));
    params = (['rd_req', 'rd_bytes', 'wr_req', 'wr_bytes', 'errs'] as const).flatMap((key, i) => (stats[key] >= 0 ? [{ field: BLOCK_STATS_OUTPUT[i]![0], value: stats[key] }] : []));
  }
  ctl.print(formatBlockStats(device, params, cmd.bool('human')));
};

const domifstat: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const device = cmd.required('interface');
  const stats = await attempt(`Failed to get interface stats ${name} ${device}`, dom.interfaceStats(device));
  const order: (keyof DomainInterfaceStats)[] = ['rx_bytes', 'rx_packets', 'rx_errs', 'rx_drop', 'tx_bytes', 'tx_packets', 'tx_errs', 'tx_drop'];
  ctl.print(order.filter((key) => stats[key] >= 0).map((key) => `${device} ${key} ${stats[key]}\n`).join(''));
};

const CONTROL_STATES = ['ok', 'background job', 'occupied', 'error'];
const CONTROL_ERRORS = ['', 'unknown', 'monitor failure', 'internal (locking) error'];

const domcontrol: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const info = await dom.connection.invoke('domainGetControlInfo', { dom: dom.ref, flags: 0 });
  const state = CONTROL_STATES[info.state] ?? 'unknown';
  if (info.state !== 0 && info.state !== 3) ctl.print(`${state} (${(Number(info.stateTime) / 1000).toFixed(3)}s)\n`);
  else if (info.state === 3 && info.details > 0) ctl.print(`${state}: ${CONTROL_ERRORS[info.details] ?? 'unknown'}\n`);
  else ctl.print(`${state}\n`);
};

const STATS_GROUPS: [string, number][] = [
  ['state', 1], ['cpu-total', 2], ['balloon', 4], ['vcpu', 8], ['interface', 16], ['block', 32],
  ['perf', 64], ['iothread', 128], ['memory', 256], ['dirtyrate', 512], ['vm', 1024],
];
const STATS_LIST_FLAGS: [string, number][] = [
  ['list-active', 1], ['list-inactive', 2], ['list-persistent', 4], ['list-transient', 8], ['list-running', 16],
  ['list-paused', 32], ['list-shutoff', 64], ['list-other', 128], ['nowait', 1 << 29], ['backing', 1 << 30], ['enforce', 2 ** 31],
];

/** vshGetTypedParamValue: numbers in decimal, doubles with 6 decimals, booleans as yes/no. */
function typedParamText(p: PlainParam): string {
  if (typeof p.value === 'boolean') return p.value ? 'yes' : 'no';
  return String(p.value);
}

const domstats: Handler = async (ctl, cmd) => {
  let stats = 0;
  for (const [opt, bit] of STATS_GROUPS) if (cmd.bool(opt)) stats |= bit;
  let flags = 0;
  for (const [opt, bit] of STATS_LIST_FLAGS) if (cmd.bool(opt)) flags += bit;
  const names = cmd.argv('domain');
  // named domains: virDomainListGetStats, which the protocol carries as the same call with a list
  const doms: DomainRef[] = [];
  for (const n of names) doms.push((await ctl.lookupDomain(n)).ref);
  const { retStats } = await ctl.c.invoke('connectGetAllDomainStats', { doms, stats, flags });
  ctl.print(
    retStats.map((r) => `Domain: '${r.dom.name}'\n` + plainParams(r.params).map((p) => `  ${p.field}=${typedParamText(p)}\n`).join('')).join('\n'),
  );
};

const domtime: Handler = async (ctl, cmd) => {
  cmd.exclusive('time', 'now');
  cmd.exclusive('time', 'sync');
  cmd.exclusive('now', 'sync');
  const { dom } = await ctl.domain(cmd);
  const time = cmd.number('time', -(2 ** 63), 2 ** 63);
  if (cmd.bool('sync') || cmd.bool('now') || time !== undefined) {
    // virsh sets whole seconds; --sync alone reads the guest's RTC and sends no time
    const seconds = cmd.bool('now') ? Math.floor(Date.now() / 1000) : time ?? 0;
    await dom.connection.invoke('domainSetTime', { dom: dom.ref, seconds: BigInt(seconds), nseconds: 0, flags: cmd.bool('sync') ? 1 : 0 });
    return;
  }
  const t = await dom.connection.invoke('domainGetTime', { dom: dom.ref, flags: 0 });
  if (cmd.bool('pretty')) {
    const d = new Date(Number(t.seconds) * 1000);
    const iso = d.toISOString().replace('T', ' ').slice(0, 19);
    ctl.print(`Time: ${iso}`);
  } else {
    ctl.print(`Time: ${t.seconds}`);
  }
};

const dommemstat: Handler = async (ctl, cmd) => {
  cmd.exclusive('current', 'live');
  cmd.exclusive('current', 'config');
  let flags = 0;
  if (cmd.bool('config')) flags |= 2;
  if (cmd.bool('live')) flags |= 1;
  const { dom, name } = await ctl.domain(cmd);
  if (!cmd.bool('current') && !cmd.bool('live') && !cmd.bool('config') && (await dom.isActive().catch(() => false))) flags |= 1;
  const period = cmd.number('period', -(2 ** 31), 2 ** 31 - 1);
  if (period !== undefined) {
    if (period < 0) throw new CommandError([`Invalid collection period value '${period}'`]);
    await attempt('Unable to change balloon collection period.', dom.connection.invoke('domainSetMemoryStatsPeriod', { dom: dom.ref, period, flags }));
    return;
  }
  const stats = await attempt(`Failed to get memory statistics for domain ${name}`, dom.memoryStats());
  for (const s of stats) {
    const field = MEMORY_STAT_NAMES[s.tag];
    if (field !== undefined) ctl.print(`${field} ${s.val}\n`);
  }
};

const domtopology: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const topology = await dom.getPciTopology(0);
  ctl.print(cmd.bool('json') ? `${JSON.stringify(topology, null, 2)}\n` : formatTopology(topology));
};

export const handlers: Record<string, Handler> = {
  domtopology,
  list,
  domstate,
  dominfo,
  domblklist,
  domiflist,
  'domif-getlink': domifGetlink,
  'domif-setlink': domifSetlink,
  domifaddr,
  domblkinfo,
  domblkerror,
  domcontrol,
  domstats,
  domblkstat,
  domifstat,
  domtime,
  dommemstat,
};
