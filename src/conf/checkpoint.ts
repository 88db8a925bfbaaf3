// Domain checkpoints (libvirt's checkpoint_conf): the <domaincheckpoint> XML,
// its disks aligned with the domain's, and the per-domain checkpoint tree.
// What a checkpoint does to images (dirty bitmaps) is the driver's.
import { parseDocument } from './document.js';
import { formatDomainXML } from './domain.js';
import { MomentTree } from './moment-tree.js';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { child, childText, element, formatXml, type XmlElement } from '../util/xml.js';

export interface CheckpointDisk {
  name: string;
  /** virDomainCheckpointType: bitmap, or no for a disk left out */
  checkpoint: 'bitmap' | 'no';
  bitmap?: string;
  /** bytes a backup since this checkpoint would copy (XML_SIZE only) */
  size?: number;
}

export interface Checkpoint {
  name: string;
  description?: string;
  parent?: string;
  creationTime: number;
  disks: CheckpointDisk[];
  /** the domain definition when the checkpoint was taken */
  dom?: XmlElement;
}

/** virDomainCheckpointListFlags: ROOTS/DESCENDANTS, LEAVES, NO_LEAVES as for snapshots, and TOPOLOGICAL. */
export const CHECKPOINT_LIST_ALL = 0xf;
export const CHECKPOINT_LIST_TOPOLOGICAL = 1 << 1;
/** virDomainCheckpointXMLFlags */
export const CheckpointXMLFlags = { SECURE: 1 << 0, NO_DOMAIN: 1 << 1, SIZE: 1 << 2 } as const;

const checkpointError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.DOMAIN_CHECKPOINT);

function parseDisk(el: XmlElement): CheckpointDisk {
  const type = el.attrs.checkpoint ?? 'bitmap';
  if (type !== 'bitmap' && type !== 'no') {
    throw checkpointError(ErrorCode.XML_ERROR, `Invalid value for attribute 'checkpoint' in element 'disk': '${type}'.`);
  }
  return { name: el.attrs.name ?? '', checkpoint: type, ...(el.attrs.bitmap !== undefined ? { bitmap: el.attrs.bitmap } : {}) };
}

/**
 * virDomainCheckpointDefParse: a request (name, description, disks) or, with
 * `redefine`, a full checkpoint with its creation time, parent and <domain>.
 */
export function parseCheckpointXML(text: string, redefine: boolean): Checkpoint {
  const root = parseDocument(text, '(domain_checkpoint)', 'domaincheckpoint');
  const name = childText(root, 'name');
  if (name === undefined && redefine) throw checkpointError(ErrorCode.XML_ERROR, 'a redefined checkpoint must have a name');
  const chk: Checkpoint = { name: name ?? '', creationTime: 0, disks: [] };
  const description = childText(root, 'description');
  if (description !== undefined) chk.description = description;
  if (redefine) {
    const creation = childText(root, 'creationTime');
    if (creation === undefined || !/^-?\d+$/.test(creation.trim())) throw checkpointError(ErrorCode.INTERNAL_ERROR, 'missing creationTime from existing checkpoint');
    chk.creationTime = Number(creation);
    const parent = child(root, 'parent');
    const parentName = parent ? childText(parent, 'name') : undefined;
    if (parentName !== undefined) chk.parent = parentName;
    const dom = child(root, 'domain');
    if (dom) chk.dom = dom;
  }
  chk.disks = (child(root, 'disks')?.children ?? []).filter((d) => d.name === 'disk').map(parseDisk);
  return chk;
}

/** The domain's disks as a checkpoint sees them: target, and whether it has an image to track. */
export interface CheckpointableDisk {
  target: string;
  /** the source path, for a request naming the disk by it */
  path?: string;
  /** empty or read-only: no bitmap */
  skip: boolean;
}

/**
 * virDomainCheckpointAlignDisks: one entry per domain disk in its order; with
 * no <disks> asked every writable disk gets a bitmap, otherwise the disks not
 * named are left out. Bitmaps default to the checkpoint's name.
 */
export function alignCheckpointDisks(chk: Checkpoint, disks: CheckpointableDisk[]): void {
  if (chk.disks.length > disks.length) throw checkpointError(ErrorCode.CONFIG_UNSUPPORTED, 'too many disk checkpoint requests for domain');
  if (disks.length === 0) throw checkpointError(ErrorCode.CONFIG_UNSUPPORTED, 'domain must have at least one disk to perform checkpoints');
  const byTarget = new Map<string, CheckpointDisk>();
  for (const req of chk.disks) {
    const disk = disks.find((d) => d.target === req.name || (d.path !== undefined && d.path === req.name));
    if (!disk) throw checkpointError(ErrorCode.CONFIG_UNSUPPORTED, `no disk named '${req.name}'`);
    if (byTarget.has(disk.target)) throw checkpointError(ErrorCode.CONFIG_UNSUPPORTED, `disk '${req.name}' specified twice`);
    if (disk.skip && req.checkpoint !== 'no') throw checkpointError(ErrorCode.CONFIG_UNSUPPORTED, `disk '${req.name}' is empty or readonly`);
    byTarget.set(disk.target, { ...req, name: disk.target });
  }
  const fallback: CheckpointDisk['checkpoint'] = chk.disks.length === 0 ? 'bitmap' : 'no';
  chk.disks = disks.map((d) => byTarget.get(d.target) ?? { name: d.target, checkpoint: d.skip ? 'no' : fallback });
  for (const d of chk.disks) if (d.checkpoint === 'bitmap' && d.bitmap === undefined) d.bitmap = chk.name;
}

/** virDomainCheckpointDefFormat: with SIZE the disks' sizes, without NO_DOMAIN the <domain>. */
export function formatCheckpointXML(chk: Checkpoint, flags: number): string {
  const children: XmlElement[] = [element('name', {}, [], chk.name)];
  if (chk.description !== undefined) children.push(element('description', {}, [], chk.description));
  if (chk.parent !== undefined) children.push(element('parent', {}, [element('name', {}, [], chk.parent)]));
  if (chk.creationTime) children.push(element('creationTime', {}, [], String(chk.creationTime)));
  if (chk.disks.length) {
    children.push(element('disks', {}, chk.disks.map((d) => {
      const attrs: Record<string, string> = { name: d.name, checkpoint: d.checkpoint };
      if (d.bitmap !== undefined) {
        attrs.bitmap = d.bitmap;
        if (flags & CheckpointXMLFlags.SIZE && d.size !== undefined) attrs.size = String(d.size);
      }
      return element('disk', attrs);
    })));
  }
  const head = formatXml(element('domaincheckpoint', {}, children)).replace(/<\/domaincheckpoint>\n$/, '');
  const domain = chk.dom && !(flags & CheckpointXMLFlags.NO_DOMAIN)
    ? formatDomainXML(chk.dom, { inactive: true, secure: (flags & CheckpointXMLFlags.SECURE) !== 0 }).replace(/^(?=.)/gm, '  ')
    : '';
  return `${head}${domain}</domaincheckpoint>\n`;
}

/** The checkpoints of one domain; the current one is where the next checkpoint hangs. */
export class CheckpointList extends MomentTree<Checkpoint> {
  current?: string;

  override add(chk: Checkpoint): void {
    super.add(chk, ErrorDomain.DOMAIN_CHECKPOINT);
  }
}
