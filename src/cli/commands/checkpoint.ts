// Checkpoint commands (checkpoint-*), as virsh-checkpoint.c prints them.
import type { Domain } from '../../api/connection.js';
import { CheckpointCreateFlags, type CheckpointRef } from '../../api/types.js';
import { child, parseXml } from '../../util/xml.js';
import { ErrorCode } from '../../util/error.js';
import { CommandError, attempt } from '../errors.js';
import type { Handler, Invocation, Shell } from '../shell.js';
import { compareNames } from '../order.js';
import { formatTable } from '../table.js';
import { readInputFile } from '../files.js';
import { editCycle } from '../edit.js';
import { xmlEscape } from './virsh.js';
import { dumpXml } from './domain.js';
import { localTime, treeText } from './snapshot.js';

/** virDomainCheckpointListFlags */
const LIST_ROOTS = 1;
const LIST_DESCENDANTS = 1;
const LIST_TOPOLOGICAL = 2;
const LIST_LEAVES = 4;
const LIST_NO_LEAVES = 8;

const checkpointXml = async (dom: Domain, checkpoint: CheckpointRef, flags: number) => (await dom.connection.invoke('domainCheckpointGetXMLDesc', { checkpoint, flags })).xml;

/** virshLookupCheckpoint: the checkpoint the option names (required). */
async function lookupCheckpoint(cmd: Invocation, option: string, dom: Domain): Promise<{ chk: CheckpointRef; name: string }> {
  const name = cmd.string(option);
  if (name === undefined) throw new CommandError([`--${option} is required`]);
  return { chk: (await dom.connection.invoke('domainCheckpointLookupByName', { dom: dom.ref, name, flags: 0 })).checkpoint, name };
}

/** virshGetCheckpointParent: the parent's name, or undefined for a root. */
async function parentName(dom: Domain, checkpoint: CheckpointRef): Promise<string | undefined> {
  try {
    return (await dom.connection.invoke('domainCheckpointGetParent', { checkpoint, flags: 0 })).parent.name;
  } catch (e) {
    if ((e as { code?: number }).code === ErrorCode.NO_DOMAIN_CHECKPOINT) return undefined;
    throw new CommandError(['unable to determine if checkpoint has parent'], e);
  }
}

/** virshCheckpointCreate */
async function createCheckpoint(ctl: Shell, dom: Domain, xml: string, flags: number, from?: string): Promise<void> {
  const { checkpoint } = await dom.connection.invoke('domainCheckpointCreateXML', { dom: dom.ref, xml_desc: xml, flags });
  ctl.printExtra(from ? `Domain checkpoint ${checkpoint.name} created from '${from}'` : `Domain checkpoint ${checkpoint.name} created`);
}

const checkpointCreate: Handler = async (ctl, cmd) => {
  let flags = 0;
  if (cmd.bool('redefine')) flags |= CheckpointCreateFlags.REDEFINE;
  if (cmd.bool('redefine-validate')) flags |= CheckpointCreateFlags.REDEFINE_VALIDATE;
  if (cmd.bool('quiesce')) flags |= CheckpointCreateFlags.QUIESCE;
  const { dom } = await ctl.domain(cmd);
  const from = cmd.string('xmlfile');
  await createCheckpoint(ctl, dom, from === undefined ? '<domaincheckpoint/>' : readInputFile(from), flags, from);
};

/** "disk[,checkpoint=type][,bitmap=name]" → <disk/> (virshParseCheckpointDiskspec). */
function diskspecXml(spec: string): string {
  const [name, ...rest] = spec.split(',');
  let checkpoint: string | undefined;
  let bitmap: string | undefined;
  for (const part of rest) {
    if (checkpoint === undefined && part.startsWith('checkpoint=')) checkpoint = part.slice('checkpoint='.length);
    else if (bitmap === undefined && part.startsWith('bitmap=')) bitmap = part.slice('bitmap='.length);
    else throw new CommandError([`unable to parse diskspec: ${spec}`]);
  }
  return `    <disk name='${xmlEscape(name ?? '')}'${checkpoint !== undefined ? ` checkpoint='${checkpoint}'` : ''}${bitmap !== undefined ? ` bitmap='${bitmap}'` : ''}/>\n`;
}

const checkpointCreateAs: Handler = async (ctl, cmd) => {
  const flags = cmd.bool('quiesce') ? CheckpointCreateFlags.QUIESCE : 0;
  const { dom } = await ctl.domain(cmd);
  const name = cmd.string('name');
  const description = cmd.string('description');
  let xml = '<domaincheckpoint>\n';
  if (name !== undefined) xml += `  <name>${xmlEscape(name)}</name>\n`;
  if (description !== undefined) xml += `  <description>${xmlEscape(description)}</description>\n`;
  const diskspecs = cmd.argv('diskspec');
  if (diskspecs.length) xml += `  <disks>\n${diskspecs.map(diskspecXml).join('')}  </disks>\n`;
  xml += '</domaincheckpoint>\n';
  if (cmd.bool('print-xml')) {
    ctl.print(`${xml}\n`);
    return;
  }
  await createCheckpoint(ctl, dom, xml, flags);
};

const checkpointList: Handler = async (ctl, cmd) => {
  const tree = cmd.bool('tree');
  const from = cmd.string('from') !== undefined;
  const parent = cmd.bool('parent');
  const roots = cmd.bool('roots');
  for (const [a, b] of [['tree', 'name'], ['parent', 'roots'], ['parent', 'tree'], ['roots', 'tree'], ['roots', 'from']] as const) {
    const has = (o: string) => (o === 'from' ? from : cmd.bool(o));
    if (has(a) && has(b)) throw new CommandError([`Options --${a} and --${b} are mutually exclusive`]);
  }
  let flags = 0;
  for (const [opt, bit] of [['leaves', LIST_LEAVES], ['no-leaves', LIST_NO_LEAVES]] as const) {
    if (!cmd.bool(opt)) continue;
    if (tree) throw new CommandError([`--${opt} and --tree are mutually exclusive`]);
    flags |= bit;
  }
  if (cmd.bool('topological')) flags |= LIST_TOPOLOGICAL;
  if (roots) flags |= LIST_ROOTS;
  if (cmd.bool('descendants')) {
    if (!from) throw new CommandError(['--descendants requires --from']);
    flags |= LIST_DESCENDANTS;
  }
  const { dom } = await ctl.domain(cmd);
  const start = from ? (await lookupCheckpoint(cmd, 'from', dom)).chk : undefined;
  let chks = start
    ? (await dom.connection.invoke('domainCheckpointListAllChildren', { checkpoint: start, need_results: 1, flags })).checkpoints
    : (await dom.connection.invoke('domainListAllCheckpoints', { dom: dom.ref, need_results: 1, flags })).checkpoints;
  if (!(flags & LIST_TOPOLOGICAL)) chks = [...chks].sort(compareNames);
  if (tree) {
    const nodes: { name: string; parent?: string }[] = [];
    for (const c of chks) nodes.push({ name: c.name, parent: await parentName(dom, c) });
    if (start) nodes.push({ name: start.name });
    if (!(flags & LIST_TOPOLOGICAL)) nodes.sort(compareNames);
    nodes.forEach((n, i) => {
      if (n.parent === undefined) ctl.print(treeText(nodes, i));
    });
    return;
  }
  if (cmd.bool('name')) {
    for (const c of chks) ctl.print(`${c.name}\n`);
    return;
  }
  const rows: string[][] = [];
  for (const c of chks) {
    const doc = parseXml(await checkpointXml(dom, c, 0));
    const created = child(doc, 'creationTime')?.text;
    if (created === undefined || !/^-?\d+$/.test(created.trim())) continue;
    const row = [c.name, localTime(Number(created))];
    if (parent) {
      const p = child(doc, 'parent');
      row.push((p && child(p, 'name')?.text) ?? '');
    }
    rows.push(row);
  }
  ctl.print(formatTable(['Name', 'Creation Time', ...(parent ? ['Parent'] : [])], rows, !ctl.quiet));
};

const checkpointInfo: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { chk, name } = await lookupCheckpoint(cmd, 'checkpointname', dom);
  const line = (label: string, value: string | number) => ctl.print(`${label.padEnd(15)} ${value}\n`);
  line('Name:', name);
  line('Domain:', dom.name);
  line('Parent:', (await parentName(dom, chk)) ?? '-');
  const count = async (f: number) => (await dom.connection.invoke('domainCheckpointListAllChildren', { checkpoint: chk, need_results: 0, flags: f })).ret;
  line('Children:', await count(0));
  line('Descendants:', await count(LIST_DESCENDANTS));
};

const checkpointParent: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { chk, name } = await lookupCheckpoint(cmd, 'checkpointname', dom);
  const parent = await parentName(dom, chk);
  if (parent === undefined) throw new CommandError([`checkpoint '${name}' has no parent`]);
  ctl.print(parent);
};

const checkpointDelete: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { chk, name } = await lookupCheckpoint(cmd, 'checkpointname', dom);
  let flags = 0;
  if (cmd.bool('children')) flags |= 1;
  if (cmd.bool('children-only')) flags |= 4;
  if (cmd.bool('metadata')) flags |= 2;
  await attempt(`Failed to delete checkpoint ${name}`, dom.connection.invoke('domainCheckpointDelete', { checkpoint: chk, flags }));
  ctl.printExtra(flags & 4 ? `Domain checkpoint ${name} children deleted\n` : `Domain checkpoint ${name} deleted\n`);
};

const checkpointDumpxml: Handler = async (ctl, cmd) => {
  let flags = 0;
  if (cmd.bool('security-info')) flags |= 1;
  if (cmd.bool('no-domain')) flags |= 2;
  if (cmd.bool('size')) flags |= 4;
  const { dom } = await ctl.domain(cmd);
  const { chk } = await lookupCheckpoint(cmd, 'checkpointname', dom);
  const xpath = cmd.opts.find((o) => o.def.name === 'xpath')?.value;
  dumpXml(ctl, await checkpointXml(dom, chk, flags), xpath || undefined, cmd.bool('wrap'));
};

/** checkpoint-edit (cmdCheckpointEdit): the secure XML through the editor, redefined; its name may not change. */
const checkpointEdit: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { chk, name } = await lookupCheckpoint(cmd, 'checkpointname', dom);
  let edited: CheckpointRef | undefined;
  try {
    await editCycle(ctl, {
      get: () => checkpointXml(dom, chk, 1),
      define: async (text) => {
        edited = (await dom.connection.invoke('domainCheckpointCreateXML', { dom: dom.ref, xml_desc: text, flags: CheckpointCreateFlags.REDEFINE })).checkpoint;
      },
      notChanged: `Checkpoint ${name} XML configuration not changed.\n`,
    });
  } catch (e) {
    throw new CommandError([`Failed to update ${name}`], e);
  }
  if (!edited) return;
  if (edited.name === name) {
    ctl.printExtra(`Checkpoint ${name} edited.\n`);
    return;
  }
  await attempt(`Failed to clean up ${edited.name}`, dom.connection.invoke('domainCheckpointDelete', { checkpoint: edited, flags: 2 }));
  throw new CommandError([`Cannot rename checkpoint ${name} to ${edited.name}`, `Failed to update ${name}`]);
};

export const handlers: Record<string, Handler> = {
  'checkpoint-create': checkpointCreate,
  'checkpoint-create-as': checkpointCreateAs,
  'checkpoint-list': checkpointList,
  'checkpoint-info': checkpointInfo,
  'checkpoint-parent': checkpointParent,
  'checkpoint-delete': checkpointDelete,
  'checkpoint-dumpxml': checkpointDumpxml,
  'checkpoint-edit': checkpointEdit,
};
