// Domain snapshots (libvirt's snapshot_conf): the snapshot XML (<domainsnapshot>),
// the per-domain snapshot tree with its current snapshot, and libvirt's list filters.
// Shared by the test and qemu drivers; what a snapshot does to disks is theirs.

import { formatDomainXML } from './domain.js';
import { parseDocument } from './document.js';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { MomentTree } from './moment-tree.js';
import { child, childText, element, formatXml, type XmlElement } from '../util/xml.js';

/** virDomainSnapshotState names, indexed by value (running..pmsuspended follow virDomainState). */
export const SNAPSHOT_STATES = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'disk-snapshot'];

export interface Snapshot {
  name: string;
  description?: string;
  state: string;
  parent?: string;
  creationTime: number;
  /** <memory snapshot=...>: 'no' for offline snapshots, 'internal' otherwise. */
  memory: string;
  /** <memory file=...> of an external memory snapshot */
  memoryFile?: string;
  /** <disks> as libvirt aligned them, when there are any. */
  disks?: XmlElement;
  /** The domain definition captured by the snapshot. */
  dom?: XmlElement;
  /** <inactiveDomain>: the persistent definition of a running domain, when it differed from the live one */
  inactiveDom?: XmlElement;
  /** <cookie>: the hypervisor's own data (QEMU: the guest CPU as it ran) */
  cookie?: XmlElement;
}

/** virDomainSnapshotIsExternal: the memory or any disk went to a file of its own. */
export function snapshotIsExternal(snap: Snapshot): boolean {
  return snap.memory === 'external' || (snap.disks?.children.some((d) => d.name === 'disk' && d.attrs.snapshot === 'external') ?? false);
}

/** virDomainSnapshotListFlags */
export enum SnapshotListFlags {
  ROOTS = 1 << 0,
  DESCENDANTS = 1 << 0,
  METADATA = 1 << 1,
  LEAVES = 1 << 2,
  NO_LEAVES = 1 << 3,
  NO_METADATA = 1 << 4,
  INACTIVE = 1 << 5,
  ACTIVE = 1 << 6,
  DISK_ONLY = 1 << 7,
  INTERNAL = 1 << 8,
  EXTERNAL = 1 << 9,
  TOPOLOGICAL = 1 << 10,
}

/** The snapshots of one domain, in creation order, with the current one. */
export class SnapshotList extends MomentTree<Snapshot> {
  current?: string;

  get(name: string): Snapshot {
    const snap = this.find(name);
    if (!snap) throw virError(ErrorCode.NO_DOMAIN_SNAPSHOT, `no domain snapshot with matching name '${name}'`, ErrorDomain.DOMAIN_SNAPSHOT);
    return snap;
  }

  override add(snap: Snapshot): void {
    super.add(snap, ErrorDomain.DOMAIN_SNAPSHOT);
  }

  /** virDomainSnapshotUpdateRelations: every parent named must exist. */
  checkRelations(domainName: string): void {
    for (const s of this.all) {
      if (s.parent !== undefined && !this.find(s.parent)) {
        throw virError(ErrorCode.INTERNAL_ERROR, `Snapshots have inconsistent relations for domain ${domainName}`, ErrorDomain.DOMAIN_SNAPSHOT);
      }
    }
  }

  /** virDomainListSnapshots' filters; `from` restricts to children (or descendants) of a snapshot. */
  list(flags: number, from?: string): Snapshot[] {
    let set = this.select(flags, from);
    if (flags & SnapshotListFlags.NO_METADATA && !(flags & SnapshotListFlags.METADATA)) set = [];
    const stateMask = SnapshotListFlags.INACTIVE | SnapshotListFlags.ACTIVE | SnapshotListFlags.DISK_ONLY;
    if ((flags & stateMask) !== 0 && (flags & stateMask) !== stateMask) {
      set = set.filter(
        (s) =>
          (flags & SnapshotListFlags.INACTIVE && s.state === 'shutoff') ||
          (flags & SnapshotListFlags.DISK_ONLY && s.state === 'disk-snapshot') ||
          (flags & SnapshotListFlags.ACTIVE && s.state !== 'shutoff' && s.state !== 'disk-snapshot'),
      );
    }
    const locationMask = SnapshotListFlags.INTERNAL | SnapshotListFlags.EXTERNAL;
    if ((flags & locationMask) !== 0 && (flags & locationMask) !== locationMask) {
      set = set.filter((s) => (flags & SnapshotListFlags.INTERNAL ? !snapshotIsExternal(s) : snapshotIsExternal(s)));
    }
    return set;
  }

  /** testDomainSnapshotDelete: with `children`, the whole subtree goes; otherwise children move up. */
  remove(name: string, children: boolean, childrenOnly: boolean): void {
    const snap = this.get(name);
    if (children || childrenOnly) {
      const doomed = new Set(this.descendants(name).map((s) => s.name));
      if (this.current !== undefined && doomed.has(this.current)) this.current = snap.name;
      for (let i = this.all.length - 1; i >= 0; i--) if (doomed.has(this.all[i]!.name)) this.all.splice(i, 1);
    } else {
      for (const c of this.children(name)) c.parent = snap.parent;
    }
    if (childrenOnly) return;
    if (this.current === name) this.current = snap.parent;
    this.all.splice(this.all.indexOf(snap), 1);
  }
}

/**
 * virDomainSnapshotDefParse for a snapshot being created: name, description
 * and memory/disks requests; everything else the driver fills in.
 */
export interface SnapshotRequest {
  name?: string;
  description?: string;
  memory?: string;
  memoryFile?: string;
  /** the <disk> requests of <disks> */
  disks: XmlElement[];
}

export function parseSnapshotRequest(text: string): SnapshotRequest {
  const root = parseDocument(text, '(domain_snapshot)', 'domainsnapshot');
  const memory = child(root, 'memory')?.attrs.snapshot;
  if (memory !== undefined && !['no', 'internal', 'external', 'manual'].includes(memory)) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute 'snapshot' in element 'memory': '${memory}'.`, ErrorDomain.DOMAIN_SNAPSHOT);
  }
  if (memory === 'manual') throw virError(ErrorCode.XML_ERROR, "'manual' memory snapshot mode not supported", ErrorDomain.DOMAIN_SNAPSHOT);
  const memoryFile = child(root, 'memory')?.attrs.file;
  if (memoryFile !== undefined && memory !== undefined && memory !== 'external') {
    throw virError(ErrorCode.XML_DETAIL, `memory filename '${memoryFile}' requires external snapshot`, ErrorDomain.DOMAIN_SNAPSHOT);
  }
  if (memoryFile !== undefined && !memoryFile.startsWith('/')) {
    throw virError(ErrorCode.XML_ERROR, `memory snapshot file path (${memoryFile}) must be absolute`, ErrorDomain.DOMAIN_SNAPSHOT);
  }
  const disks = child(root, 'disks')?.children.filter((d) => d.name === 'disk') ?? [];
  return { name: childText(root, 'name'), description: childText(root, 'description'), memory: memory ?? (memoryFile !== undefined ? 'external' : undefined), memoryFile, disks };
}

/**
 * A snapshot redefined from its full XML (node files' <test:domainsnapshot>),
 * returning it with whether it claims to be the current one (<active>).
 */
export function parseSnapshotRedefine(
  root: XmlElement,
  parseDomain: (el: XmlElement) => XmlElement,
  requireActive = true,
): { snap: Snapshot; current: boolean } {
  const name = childText(root, 'name');
  if (name === undefined) throw virError(ErrorCode.XML_ERROR, 'a redefined snapshot must have a name', ErrorDomain.DOMAIN_SNAPSHOT);
  const creation = childText(root, 'creationTime');
  if (creation === undefined || !/^-?\d+$/.test(creation)) {
    throw virError(ErrorCode.INTERNAL_ERROR, 'missing creationTime from existing snapshot', ErrorDomain.DOMAIN_SNAPSHOT);
  }
  const state = childText(root, 'state');
  if (state === undefined) throw virError(ErrorCode.XML_ERROR, 'missing state from existing snapshot', ErrorDomain.DOMAIN_SNAPSHOT);
  if (SNAPSHOT_STATES.indexOf(state) <= 0) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Invalid state '${state}' in domain snapshot XML`, ErrorDomain.DOMAIN_SNAPSHOT);
  }
  const offline = state === 'shutoff' || state === 'disk-snapshot';
  const domEl = child(root, 'domain');
  const active = childText(root, 'active');
  // <active> is internal state: only node files (VIR_DOMAIN_SNAPSHOT_PARSE_INTERNAL) must carry it.
  if (requireActive && (active === undefined || !/^-?\d+$/.test(active))) throw virError(ErrorCode.INTERNAL_ERROR, "Could not find 'active' element", ErrorDomain.DOMAIN_SNAPSHOT);
  const parentEl = child(root, 'parent');
  const snap: Snapshot = {
    name,
    description: childText(root, 'description'),
    state,
    parent: parentEl ? childText(parentEl, 'name') : undefined,
    creationTime: Number(creation),
    memory: child(root, 'memory')?.attrs.snapshot ?? (offline ? 'no' : 'internal'),
    memoryFile: child(root, 'memory')?.attrs.file,
    disks: child(root, 'disks'),
    dom: domEl && domEl.attrs.type !== undefined ? parseDomain(domEl) : undefined,
  };
  const inactive = child(root, 'inactiveDomain');
  if (inactive) snap.inactiveDom = parseDomain({ ...inactive, name: 'domain' });
  const cookie = child(root, 'cookie');
  if (cookie) snap.cookie = cookie;
  return { snap, current: active !== undefined && Number(active) !== 0 };
}

/**
 * virDomainSnapshotDefFormat: the public form, or with `current` the form of
 * the metadata file, whose <active> says whether it is the current snapshot.
 */
export function formatSnapshotXML(snap: Snapshot, domainUUID: string, secure: boolean, current?: boolean): string {
  const children: XmlElement[] = [element('name', {}, [], snap.name)];
  if (snap.description !== undefined) children.push(element('description', {}, [], snap.description));
  children.push(element('state', {}, [], snap.state));
  if (snap.parent !== undefined) children.push(element('parent', {}, [element('name', {}, [], snap.parent)]));
  children.push(element('creationTime', {}, [], String(snap.creationTime)));
  children.push(element('memory', { snapshot: snap.memory, ...(snap.memoryFile !== undefined ? { file: snap.memoryFile } : {}) }));
  if (snap.disks) children.push(snap.disks);
  const head = formatXml(element('domainsnapshot', {}, children)).replace(/<\/domainsnapshot>\n$/, '');
  const domain = snap.dom
    ? formatDomainXML(snap.dom, { inactive: true, secure })
    : formatXml(element('domain', {}, [element('uuid', {}, [], domainUUID)]));
  const inactive = snap.inactiveDom
    ? formatDomainXML(snap.inactiveDom, { inactive: true, secure }).replace(/^<domain\b/, '<inactiveDomain').replace(/<\/domain>\n$/, '</inactiveDomain>\n')
    : '';
  const tail = [snap.cookie ? formatXml(snap.cookie) : '', current === undefined ? '' : formatXml(element('active', {}, [], current ? '1' : '0'))];
  return `${head}${indent(domain)}${indent(inactive)}${tail.map(indent).join('')}</domainsnapshot>\n`;
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
