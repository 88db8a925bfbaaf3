// Snapshot commands (snapshot-*).
import type { Domain } from '../../api/connection.js';
import type { SnapshotRef } from '../../api/types.js';
import { child, parseXml, type XmlElement } from '../../util/xml.js';
import { ErrorCode } from '../../util/error.js';
import { CommandError, attempt } from '../errors.js';
import type { Handler, Invocation, Shell } from '../shell.js';
import { compareNames } from '../order.js';
import { formatTable } from '../table.js';
import { readInputFile } from '../files.js';
import { xmlEscape } from './virsh.js';
import { dumpXml } from './domain.js';
import { editCycle } from '../edit.js';


const LIST_DESCENDANTS = 1;
const LIST_ROOTS = 1;
const LIST_METADATA = 2;
const LIST_TOPOLOGICAL = 1 << 10;
const LIST_FILTERS: [string, number][] = [
  ['leaves', 1 << 2],
  ['no-leaves', 1 << 3],
  ['inactive', 1 << 5],
  ['active', 1 << 6],
  ['disk-only', 1 << 7],
  ['internal', 1 << 8],
  ['external', 1 << 9],
];

const lookupByName = async (dom: Domain, name: string) => (await dom.connection.invoke('domainSnapshotLookupByName', { dom: dom.ref, name, flags: 0 })).snap;
const currentOf = async (dom: Domain) => (await dom.connection.invoke('domainSnapshotCurrent', { dom: dom.ref, flags: 0 })).snap;
const snapshotXml = async (dom: Domain, snap: SnapshotRef, flags: number) => (await dom.connection.invoke('domainSnapshotGetXMLDesc', { snap, flags })).xml;
const numChildren = async (dom: Domain, snap: SnapshotRef, flags: number) => (await dom.connection.invoke('domainSnapshotNumChildren', { snap, flags })).num;

/** virshLookupSnapshot: the named snapshot, or the current one with --current. */
async function lookupSnapshot(cmd: Invocation, option: string, dom: Domain): Promise<{ snap: SnapshotRef; name: string }> {
  const current = cmd.bool('current');
  const name = cmd.string(option);
  if (current && name !== undefined) throw new CommandError([`--${option} and --current are mutually exclusive`]);
  if (name !== undefined) return { snap: await lookupByName(dom, name), name };
  if (current) {
    const snap = await currentOf(dom);
    return { snap, name: snap.name };
  }
  throw new CommandError([`--${option} or --current is required`]);
}

/** The parent's name, or undefined for a root snapshot (virshGetSnapshotParent). */
async function parentName(dom: Domain, snap: SnapshotRef): Promise<string | undefined> {
  try {
    return (await dom.connection.invoke('domainSnapshotGetParent', { snap, flags: 0 })).snap.name;
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === ErrorCode.NO_DOMAIN_SNAPSHOT) return undefined;
    if (code !== ErrorCode.NO_SUPPORT) throw e;
  }
  const xml = parseXml(await snapshotXml(dom, snap, 0));
  const parent = child(xml, 'parent');
  return parent ? child(parent, 'name')?.text : undefined;
}

function xmlString(root: XmlElement, ...path: string[]): string | undefined {
  let el: XmlElement | undefined = root;
  for (const p of path) el = el ? child(el, p) : undefined;
  return el?.text;
}

/** g_date_time_format(local, "%Y-%m-%d %H:%M:%S %z"). */
export function localTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = `${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zone}`;
}

/** vshTreePrint: the snapshot forest drawn with '|' and '+-' connectors. */
export function treeText(nodes: { name: string; parent?: string }[], rootIndex: number): string {
  let out = '';
  let indent = '';
  const walk = (i: number, last: number, root: boolean): void => {
    const name = nodes[i]!.name;
    out += `${indent}${root ? '' : '+- '}${name}\n`;
    if (!root) indent += `${i === last ? ' ' : '|'} `;
    let nextLast = -1;
    nodes.forEach((n, j) => {
      if (n.parent === name) nextLast = j;
    });
    if (nextLast !== -1) out += `${indent}  |\n`;
    indent += '  ';
    nodes.forEach((n, j) => {
      if (n.parent === name) walk(j, nextLast, false);
    });
    indent = indent.slice(0, -2);
    if (nextLast === -1 && i === last) out += `${indent}\n`;
    if (!root) indent = indent.slice(0, -2);
  };
  walk(rootIndex, rootIndex, true);
  return out;
}

const snapshotList: Handler = async (ctl, cmd) => {
  const tree = cmd.bool('tree');
  const name = cmd.bool('name');
  const from = cmd.string('from') !== undefined;
  const parent = cmd.bool('parent');
  const roots = cmd.bool('roots');
  const current = cmd.bool('current');
  for (const [a, b] of [['tree', 'name'], ['parent', 'roots'], ['parent', 'tree'], ['roots', 'tree'], ['roots', 'from'], ['roots', 'current']] as const) {
    const has = (o: string) => (o === 'from' ? from : cmd.bool(o));
    if (has(a) && has(b)) throw new CommandError([`Options --${a} and --${b} are mutually exclusive`]);
  }
  let flags = 0;
  for (const [opt, bit] of LIST_FILTERS) {
    if (!cmd.bool(opt)) continue;
    if (tree) throw new CommandError([`--${opt} and --tree are mutually exclusive`]);
    flags |= bit;
  }
  if (cmd.bool('topological')) flags |= LIST_TOPOLOGICAL;
  if (roots) flags |= LIST_ROOTS;
  if (cmd.bool('metadata')) flags |= LIST_METADATA;
  if (cmd.bool('no-metadata')) flags |= 1 << 4;
  if (cmd.bool('descendants')) {
    if (!from && !current) throw new CommandError(['--descendants requires either --from or --current']);
    flags |= LIST_DESCENDANTS;
  }
  const { dom } = await ctl.domain(cmd);
  let start: SnapshotRef | undefined;
  if (from || current) start = (await lookupSnapshot(cmd, 'from', dom)).snap;
  let snaps = start
    ? (await dom.connection.invoke('domainSnapshotListAllChildren', { snapshot: start, need_results: 1, flags })).snapshots
    : (await dom.connection.invoke('domainListAllSnapshots', { dom: dom.ref, need_results: 1, flags })).snapshots;
  if (!(flags & LIST_TOPOLOGICAL)) snaps = [...snaps].sort(compareNames);
  if (tree) {
    const nodes: { name: string; parent?: string }[] = [];
    for (const s of snaps) nodes.push({ name: s.name, parent: await parentName(dom, s) });
    if (start) nodes.push({ name: start.name });
    if (!(flags & LIST_TOPOLOGICAL)) nodes.sort(compareNames);
    nodes.forEach((n, i) => {
      if (n.parent === undefined) ctl.print(treeText(nodes, i));
    });
    return;
  }
  if (name) {
    for (const s of snaps) ctl.print(`${s.name}\n`);
    return;
  }
  const rows: string[][] = [];
  for (const s of snaps) {
    let doc: XmlElement;
    try {
      doc = parseXml(await snapshotXml(dom, s, 0));
    } catch {
      continue;
    }
    const state = xmlString(doc, 'state');
    const created = xmlString(doc, 'creationTime');
    if (state === undefined || created === undefined || !/^-?\d+$/.test(created.trim())) continue;
    const row = [s.name, localTime(Number(created)), state];
    if (parent) row.push(xmlString(doc, 'parent', 'name') ?? '');
    rows.push(row);
  }
  ctl.print(formatTable(['Name', 'Creation Time', 'State', ...(parent ? ['Parent'] : [])], rows, !ctl.quiet));
};

/** virDomainSnapshotCreateFlags shared by snapshot-create and snapshot-create-as. */
const CREATE_FLAGS: [string, number][] = [
  ['no-metadata', 4], ['halt', 8], ['disk-only', 16], ['reuse-external', 32], ['quiesce', 64], ['atomic', 128], ['live', 256], ['validate', 512],
];

function createFlags(cmd: Invocation): number {
  let flags = 0;
  for (const [opt, bit] of CREATE_FLAGS) if (cmd.bool(opt)) flags |= bit;
  return flags;
}

/** snapshot-create: from an XML file, or an empty <domainsnapshot/> without one. */
const snapshotCreate: Handler = async (ctl, cmd) => {
  const flags = createFlags(cmd) | (cmd.bool('redefine') ? 1 : 0) | (cmd.bool('current') ? 2 : 0);
  const { dom } = await ctl.domain(cmd);
  const from = cmd.string('xmlfile');
  const xml = from === undefined ? '<domainsnapshot/>' : readInputFile(from);
  await createSnapshot(ctl, dom, xml, flags, from);
};

const snapshotCreateAs: Handler = async (ctl, cmd) => {
  const flags = createFlags(cmd);
  const { dom } = await ctl.domain(cmd);
  const name = cmd.string('name');
  const description = cmd.string('description');
  let xml = '<domainsnapshot>\n';
  if (name !== undefined) xml += `  <name>${xmlEscape(name)}</name>\n`;
  if (description !== undefined) xml += `  <description>${xmlEscape(description)}</description>\n`;
  const memspec = cmd.string('memspec');
  if (memspec !== undefined) xml += memspecXml(memspec);
  const diskspecs = cmd.argv('diskspec');
  if (diskspecs.length) xml += `  <disks>\n${diskspecs.map(diskspecXml).join('')}  </disks>\n`;
  xml += '</domainsnapshot>\n';
  if (cmd.bool('print-xml')) {
    ctl.print(`${xml}\n`);
    return;
  }
  await createSnapshot(ctl, dom, xml, flags);
};

/** "[file=]name[,snapshot=type]" → <memory .../> (virshParseSnapshotMemspec). */
function memspecXml(spec: string): string {
  let file: string | undefined;
  let snapshot: string | undefined;
  spec.split(',').forEach((part, i) => {
    if (part.startsWith('file=')) file = part.slice(5);
    else if (part.startsWith('snapshot=')) snapshot = part.slice(9);
    else if (i === 0) file = part;
    else throw new CommandError([`unable to parse memspec: ${spec}`]);
  });
  return `  <memory${snapshot ? ` snapshot='${xmlEscape(snapshot)}'` : ''}${file ? ` file='${xmlEscape(file)}'` : ''}/>\n`;
}

/** "disk[,snapshot=type][,driver=type][,stype=type][,file=name]" → <disk> (virshParseSnapshotDiskspec). */
function diskspecXml(spec: string): string {
  const [disk, ...rest] = spec.split(',');
  const fields: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0 || !['snapshot', 'driver', 'stype', 'file'].includes(part.slice(0, eq))) throw new CommandError([`unable to parse diskspec: ${spec}`]);
    fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const stype = fields.stype ?? 'file';
  let out = `    <disk name='${xmlEscape(disk ?? '')}'${fields.snapshot ? ` snapshot='${xmlEscape(fields.snapshot)}'` : ''}${fields.stype ? ` type='${xmlEscape(stype)}'` : ''}`;
  if (!fields.driver && !fields.file) return `${out}/>\n`;
  out += '>\n';
  if (fields.driver) out += `      <driver type='${xmlEscape(fields.driver)}'/>\n`;
  if (fields.file) out += `      <source ${stype === 'block' ? 'dev' : 'file'}='${xmlEscape(fields.file)}'/>\n`;
  return `${out}    </disk>\n`;
}

/** virshSnapshotCreate, with its fallbacks for --validate and --halt. */
async function createSnapshot(ctl: Shell, dom: Domain, xml: string, flags: number, from?: string): Promise<void> {
  const create = async (f: number) => (await dom.connection.invoke('domainSnapshotCreateXML', { dom: dom.ref, xml_desc: xml, flags: f })).snap;
  let halt = false;
  let snap: SnapshotRef;
  try {
    snap = await create(flags);
  } catch (e) {
    let err = e;
    const code = () => (err as { code?: number }).code;
    let result: SnapshotRef | undefined;
    if (code() === ErrorCode.NO_SUPPORT && !from) {
      flags &= ~512;
      result = await create(flags).catch((e2) => {
        err = e2;
        return undefined;
      });
    }
    if (!result && code() === ErrorCode.INVALID_ARG && flags & 8) {
      if (!(await dom.isPersistent())) throw new CommandError(['cannot halt after snapshot of transient domain']);
      halt = await dom.isActive();
      flags &= ~8;
      result = await create(flags);
    }
    if (!result) throw err;
    snap = result;
  }
  if (halt) await dom.destroy(0);
  ctl.printExtra(from ? `Domain snapshot ${snap.name} created from '${from}'` : `Domain snapshot ${snap.name} created`);
}

const snapshotCurrent: Handler = async (ctl, cmd) => {
  const flags = cmd.bool('security-info') ? 1 : 0;
  if (cmd.bool('name') && cmd.string('snapshotname') !== undefined) throw new CommandError(['Options --name and --snapshotname are mutually exclusive']);
  const { dom, name: domName } = await ctl.domain(cmd);
  const target = cmd.string('snapshotname');
  if (target !== undefined) {
    const xml = await snapshotXml(dom, await lookupByName(dom, target), 1);
    let redefine = 1 | 2; // REDEFINE | CURRENT
    if (xml.includes('<state>disk-snapshot</state>')) redefine |= 16;
    await dom.connection.invoke('domainSnapshotCreateXML', { dom: dom.ref, xml_desc: xml, flags: redefine });
    ctl.printExtra(`Snapshot ${target} set as current`);
    return;
  }
  if (!(await dom.connection.invoke('domainHasCurrentSnapshot', { dom: dom.ref, flags: 0 })).result) throw new CommandError([`domain '${domName}' has no current snapshot`]);
  const snap = await currentOf(dom);
  if (cmd.bool('name')) ctl.print(snap.name);
  else ctl.print(await snapshotXml(dom, snap, flags));
};

const snapshotInfo: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { snap, name } = await lookupSnapshot(cmd, 'snapshotname', dom);
  const line = (label: string, value: string | number) => ctl.print(`${label.padEnd(15)} ${value}\n`);
  line('Name:', name);
  line('Domain:', dom.name);
  const current = await dom.connection.invoke('domainSnapshotIsCurrent', { snap, flags: 0 }).then((r) => r.current !== 0, () => false);
  line('Current:', current ? 'yes' : 'no');
  const doc = parseXml(await snapshotXml(dom, snap, 0));
  const state = xmlString(doc, 'state');
  if (state === undefined) throw new CommandError(['unexpected problem reading snapshot xml']);
  line('State:', state);
  const memory = child(doc, 'memory');
  const disks = child(doc, 'disks');
  const external = memory
    ? memory.attrs.snapshot === 'external' || (disks?.children.some((d) => d.name === 'disk' && d.attrs.snapshot === 'external') ?? false)
    : state === 'disk-snapshot';
  line('Location:', external ? 'external' : 'internal');
  line('Parent:', xmlString(doc, 'parent', 'name') ?? '-');
  let children: number;
  try {
    children = await numChildren(dom, snap, 0);
  } catch (e) {
    if ((e as { code?: number }).code === ErrorCode.NO_SUPPORT) return;
    throw e;
  }
  line('Children:', children);
  line('Descendants:', await numChildren(dom, snap, LIST_DESCENDANTS));
  let metadata: number | undefined = await dom.connection.invoke('domainSnapshotHasMetadata', { snap, flags: 0 }).then((r) => r.metadata, () => undefined);
  if (metadata === undefined) metadata = await dom.connection.invoke('domainSnapshotNum', { dom: dom.ref, flags: LIST_METADATA }).then((r) => r.num, () => undefined);
  if (metadata !== undefined) line('Metadata:', metadata ? 'yes' : 'no');
};

const snapshotParent: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { snap, name } = await lookupSnapshot(cmd, 'snapshotname', dom);
  const parent = await parentName(dom, snap);
  if (parent === undefined) throw new CommandError([`snapshot '${name}' has no parent`]);
  ctl.print(parent);
};

const snapshotRevert: Handler = async (ctl, cmd) => {
  let flags = 0;
  if (cmd.bool('running')) flags |= 1;
  if (cmd.bool('paused')) flags |= 2;
  if (cmd.bool('reset-nvram')) flags |= 8;
  const force = cmd.bool('force');
  const { dom } = await ctl.domain(cmd);
  const { snap, name } = await lookupSnapshot(cmd, 'snapshotname', dom);
  const revert = (f: number) => dom.connection.invoke('domainRevertToSnapshot', { snap, flags: f });
  await attempt(`Failed to revert snapshot ${name}`, async () => {
    try {
      await revert(flags);
    } catch (e) {
      // VIR_ERR_SNAPSHOT_REVERT_RISKY: retry with --force only when asked to
      if (!force || (e as { code?: number }).code !== ErrorCode.SNAPSHOT_REVERT_RISKY) throw e;
      await revert(flags | 4);
    }
  });
  ctl.printExtra(`Domain snapshot ${name} reverted\n`);
};

const snapshotDelete: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { snap, name } = await lookupSnapshot(cmd, 'snapshotname', dom);
  let flags = 0;
  if (cmd.bool('children')) flags |= 1;
  if (cmd.bool('children-only')) flags |= 4;
  if (cmd.bool('metadata')) flags |= 2;
  await attempt(`Failed to delete snapshot ${name}`, dom.connection.invoke('domainSnapshotDelete', { snap, flags }));
  ctl.printExtra(flags & 4 ? `Domain snapshot ${name} children deleted\n` : `Domain snapshot ${name} deleted\n`);
};

const snapshotDumpxml: Handler = async (ctl, cmd) => {
  const flags = cmd.bool('security-info') ? 1 : 0;
  const name = cmd.required('snapshotname');
  const { dom } = await ctl.domain(cmd);
  const snap = await lookupByName(dom, name);
  const xpath = cmd.opts.find((o) => o.def.name === 'xpath')?.value;
  dumpXml(ctl, await snapshotXml(dom, snap, flags), xpath || undefined, cmd.bool('wrap'));
};

/**
 * snapshot-edit (cmdSnapshotEdit): the snapshot's secure XML through the
 * editor, redefined; a new name is a rename (the old metadata goes) or a clone.
 */
const snapshotEdit: Handler = async (ctl, cmd) => {
  const renameOkay = cmd.bool('rename');
  const cloneOkay = cmd.bool('clone');
  if (renameOkay && cloneOkay) throw new CommandError(['Options --rename and --clone are mutually exclusive']);
  const byName = cmd.string('snapshotname');
  let defineFlags = 1; // REDEFINE
  if (cmd.bool('current') && byName !== undefined) defineFlags |= 2; // CURRENT
  const { dom } = await ctl.domain(cmd);
  const { snap, name } = byName !== undefined ? { snap: await lookupByName(dom, byName), name: byName } : await lookupSnapshot(cmd, 'snapshotname', dom);
  const failed = [`Failed to update ${name}`];
  let edited: SnapshotRef | undefined;
  const define = async (text: string) => {
    const flags = defineFlags | (text.includes('<state>disk-snapshot</state>') ? 16 : 0);
    edited = (await dom.connection.invoke('domainSnapshotCreateXML', { dom: dom.ref, xml_desc: text, flags })).snap;
  };
  const get = () => snapshotXml(dom, snap, 1);
  let changed: boolean;
  try {
    // with --current the snapshot is redefined (made current) even when unchanged
    changed = await editCycle(ctl, { get, define, notChanged: defineFlags & 2 ? '' : `Snapshot ${name} XML configuration not changed.\n` });
    if (!changed && defineFlags & 2) await define(await get());
  } catch (e) {
    throw new CommandError(failed, e);
  }
  if (!edited) return;
  if (edited.name === name) ctl.printExtra(`Snapshot ${name} edited.\n`);
  else if (cloneOkay) ctl.printExtra(`Snapshot ${name} cloned to ${edited.name}.\n`);
  else {
    await attempt(`Failed to clean up ${renameOkay ? name : edited.name}`, dom.connection.invoke('domainSnapshotDelete', { snap: renameOkay ? snap : edited, flags: 2 }));
    if (!renameOkay) throw new CommandError([`Must use --rename or --clone to change ${name} to ${edited.name}`, ...failed]);
  }
};

export const handlers: Record<string, Handler> = {
  'snapshot-edit': snapshotEdit,
  'snapshot-list': snapshotList,
  'snapshot-create-as': snapshotCreateAs,
  'snapshot-create': snapshotCreate,
  'snapshot-current': snapshotCurrent,
  'snapshot-info': snapshotInfo,
  'snapshot-parent': snapshotParent,
  'snapshot-revert': snapshotRevert,
  'snapshot-delete': snapshotDelete,
  'snapshot-dumpxml': snapshotDumpxml,
};
