// Domain snapshots of the qemu driver (libvirt 9.0's qemu_snapshot.c with QEMU 7.2):
// internal snapshots of qcow2 disks (running: HMP savevm/delvm, revert restarts
// QEMU with -loadvm; offline: qemu-img snapshot -c/-a/-d), offline external
// disk-only snapshots (new qcow2 overlays, libvirt's default names; running:
// blockdev-snapshot), memory to a file in libvirt's save image format, and the
// metadata of snapshot-metadata.ts. Every call holds the domain's lock.
import { existsSync, statSync } from 'node:fs';
import { DomainState, PausedReason, RunningReason, ShutoffReason } from '../../driver/flags.js';
import { DefinedDetail, DomainEventType, StoppedDetail } from '../../driver/event-numbers.js';
import { parseDocument } from '../../conf/document.js';
import { domainName } from '../../conf/domain.js';
import type { DomainObject } from '../../conf/objects/domain-object.js';
import { formatSnapshotXML, parseSnapshotRedefine, parseSnapshotRequest, snapshotIsExternal, SNAPSHOT_STATES, type Snapshot, type SnapshotList, type SnapshotRequest } from '../../conf/snapshot.js';
import type { SnapshotRef } from '../../driver/refs.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import { runCommand } from '../../util/run-command.js';
import { child, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { checkFlags, refOf, type DomainRef, type QemuDriver } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import { QemuSaveRestore, savedDefinition } from './save-restore.js';
import { SnapshotMetadata } from './snapshot-metadata.js';
import { findJsonArg } from './hotplug.js';
import { DomainView, type JsonProps } from './command-line/context.js';
import { recordStorageIds } from './command-line/disks.js';

/** virDomainSnapshotCreateFlags */
export const CreateFlags = {
  REDEFINE: 1 << 0, CURRENT: 1 << 1, NO_METADATA: 1 << 2, HALT: 1 << 3, DISK_ONLY: 1 << 4,
  REUSE_EXT: 1 << 5, QUIESCE: 1 << 6, ATOMIC: 1 << 7, LIVE: 1 << 8, VALIDATE: 1 << 9,
} as const;
const CREATE_ALL = (1 << 10) - 1;
/** virDomainSnapshotRevertFlags */
const RevertFlags = { RUNNING: 1 << 0, PAUSED: 1 << 1, FORCE: 1 << 2, RESET_NVRAM: 1 << 3 } as const;
/** virDomainSnapshotDeleteFlags */
const DeleteFlags = { CHILDREN: 1 << 0, METADATA_ONLY: 1 << 1, CHILDREN_ONLY: 1 << 2 } as const;
/** VIR_DOMAIN_SNAPSHOT_LIST_ROOTS | TOPOLOGICAL | every filter */
const LIST_ALL = (1 << 11) - 1;
/** VIR_DOMAIN_SNAPSHOT_XML_SECURE */
const XML_SECURE = 1 << 0;

const QEMU_IMG = 'qemu-img';
const qemuError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.QEMU);
const disksOf = (def: XmlElement) => child(def, 'devices')?.children.filter((d) => d.name === 'disk') ?? [];
const targetOf = (disk: XmlElement) => child(disk, 'target')?.attrs.dev ?? '';
const formatOf = (disk: XmlElement) => child(disk, 'driver')?.attrs.type;

/** The local file or device behind a disk, if it has one. */
function sourcePathOf(disk: XmlElement): string | undefined {
  const source = child(disk, 'source');
  return disk.attrs.type === 'block' ? source?.attrs.dev : (disk.attrs.type ?? 'file') === 'file' ? source?.attrs.file : undefined;
}

/** One disk of a snapshot's <disks> as libvirt aligned it. */
interface SnapshotDisk {
  name: string;
  snapshot: 'internal' | 'external' | 'no' | 'manual';
  /** external: the overlay file and its format */
  file?: string;
  format?: string;
  type?: string;
}

function diskElement(d: SnapshotDisk): XmlElement {
  if (d.snapshot !== 'external') return element('disk', { name: d.name, snapshot: d.snapshot });
  return element('disk', { name: d.name, snapshot: d.snapshot, type: d.type ?? 'file' }, [
    element('driver', { type: d.format ?? 'qcow2' }),
    element('source', { [d.type === 'block' ? 'dev' : 'file']: d.file }),
  ]);
}

function requestedDisks(req: SnapshotRequest): SnapshotDisk[] {
  return req.disks.map((el) => {
    const snapshot = el.attrs.snapshot as SnapshotDisk['snapshot'] | undefined;
    const source = child(el, 'source');
    const file = source?.attrs.file ?? source?.attrs.dev;
    return {
      name: el.attrs.name ?? '',
      // a disk given a file but no mode is external (virDomainSnapshotDiskDefParseXML)
      snapshot: snapshot ?? (file !== undefined ? 'external' : ('default' as SnapshotDisk['snapshot'])),
      ...(file !== undefined ? { file } : {}),
      ...(formatOf(el) !== undefined ? { format: formatOf(el) } : {}),
      ...(el.attrs.type !== undefined ? { type: el.attrs.type } : {}),
    };
  });
}

/**
 * virDomainSnapshotAlignDisks: one entry per disk of the domain, in its order;
 * disks not asked for get the default location (no for empty drives), and
 * external ones without a file get libvirt's name: the image's, its suffix
 * replaced by the snapshot's name.
 */
function alignDisks(def: XmlElement, requests: SnapshotDisk[], location: 'internal' | 'external', snapName: string): SnapshotDisk[] {
  const disks = disksOf(def);
  if (requests.length > disks.length) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'too many disk snapshot requests for domain');
  const requireMatch = location === 'internal';
  const byTarget = new Map<string, SnapshotDisk>();
  for (const req of requests) {
    const disk = disks.find((d) => targetOf(d) === req.name || sourcePathOf(d) === req.name);
    if (!disk) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `no disk named '${req.name}'`);
    if (byTarget.has(targetOf(disk))) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `disk '${req.name}' specified twice`);
    const own = disk.attrs.snapshot as SnapshotDisk['snapshot'] | undefined;
    if ((req.snapshot as string) === 'default') req.snapshot = own !== undefined && (!requireMatch || own === 'no') ? own : location;
    else if (requireMatch && req.snapshot !== location && !(req.snapshot === 'no' && own === 'no')) {
      throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `disk '${req.name}' must use snapshot mode '${location}'`);
    }
    if (req.file !== undefined && req.snapshot !== 'external') {
      throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `file '${req.file}' for disk '${req.name}' requires use of external snapshot mode`);
    }
    req.name = targetOf(disk);
    byTarget.set(req.name, req);
  }
  const aligned = disks.map((disk): SnapshotDisk => {
    const asked = byTarget.get(targetOf(disk));
    if (asked) return asked;
    const empty = sourcePathOf(disk) === undefined && child(disk, 'source') === undefined;
    const own = disk.attrs.snapshot as SnapshotDisk['snapshot'] | undefined;
    return { name: targetOf(disk), snapshot: empty ? 'no' : own ?? (child(disk, 'readonly') ? 'no' : location) };
  });
  aligned.forEach((d, i) => {
    if (d.snapshot !== 'external' || d.file !== undefined) return;
    const disk = disks[i]!;
    if ((d.type ?? 'file') !== 'file') throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `cannot generate external snapshot name for disk '${d.name}' on a '${d.type}' device`);
    const orig = sourcePathOf(disk);
    if (orig === undefined) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `cannot generate external snapshot name for disk '${d.name}' without source`);
    if (!existsSync(orig) || !statSync(orig).isFile()) {
      throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `source for disk '${d.name}' is not a regular file; refusing to generate external snapshot name`);
    }
    const dot = orig.lastIndexOf('.');
    d.file = `${dot > orig.lastIndexOf('/') ? orig.slice(0, dot) : orig}.${snapName}`;
    const clash = aligned.slice(0, i).find((o) => o.file === d.file);
    if (clash) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `cannot generate external snapshot name for disk '${d.name}': collision with disk '${clash.name}'`);
  });
  return aligned;
}

/** A disk now written to the overlay `d` names: its old image becomes the overlay's <backingStore>. */
function pushOverlay(disk: XmlElement, d: SnapshotDisk): void {
  const source = child(disk, 'source');
  const format = formatOf(disk) ?? 'raw';
  const oldSource = source ? cloneElement(source) : element('source');
  const below = child(disk, 'backingStore');
  const backing = element('backingStore', { type: disk.attrs.type ?? 'file' }, [element('format', { type: format }), oldSource, ...(below ? [below] : [])]);
  const newSource = element('source', { [disk.attrs.type === 'block' ? 'dev' : 'file']: d.file });
  disk.children = disk.children.filter((c) => c.name !== 'backingStore').map((c) => (c === source ? newSource : c));
  disk.children.splice(disk.children.indexOf(newSource) + 1, 0, backing);
  const driverEl = child(disk, 'driver');
  if (driverEl) driverEl.attrs = { ...driverEl.attrs, type: d.format ?? 'qcow2' };
}

/** The -blockdev JSON of a node in a command line. */
function blockdevArg(args: string[], nodeName: string): JsonProps {
  const props = findJsonArg(args, '-blockdev', 'node-name', nodeName);
  if (!props) throw qemuError(ErrorCode.INTERNAL_ERROR, `no -blockdev '${nodeName}' in the command line`);
  return props;
}

function parseAligned(snap: Snapshot): SnapshotDisk[] {
  return (snap.disks?.children ?? []).filter((d) => d.name === 'disk').map((d) => ({
    name: d.attrs.name ?? '',
    snapshot: (d.attrs.snapshot ?? 'no') as SnapshotDisk['snapshot'],
    file: child(d, 'source')?.attrs.file ?? child(d, 'source')?.attrs.dev,
    format: formatOf(d),
  }));
}

/**
 * The <domain> of a running domain's snapshot: its live definition as libvirt
 * formats it inactive and migratable, which leaves out the DAC label the
 * driver generated when the persistent definition has none of its own.
 */
export function snapshotDefinition(live: XmlElement, persistent: XmlElement | undefined): XmlElement {
  const def = savedDefinition(live);
  const isDac = (el: XmlElement) => el.name === 'seclabel' && el.attrs.model === 'dac';
  if (persistent && !persistent.children.some(isDac)) def.children = def.children.filter((c) => !isDac(c));
  return def;
}

export class QemuSnapshots {
  readonly metadata: SnapshotMetadata;

  constructor(private readonly driver: QemuDriver, warn: (message: string) => void) {
    this.metadata = new SnapshotMetadata(driver.paths.snapshotDir, warn);
  }

  /** Runs `fn` on a domain under its lock, with its snapshot tree read from disk. */
  private withSnapshots<T>(dom: DomainRef, fn: (obj: DomainObject, list: SnapshotList, running: RunningDomain | undefined) => Promise<T>, monitor = true): Promise<T> {
    return this.driver.runtime.withDomain(dom, async (obj, running) => fn(obj, await this.metadata.load(obj.name), running), { monitor });
  }

  /** The named snapshot's tree, read without the domain lock (the lookups and lists). */
  private async treeOf(dom: DomainRef): Promise<{ obj: DomainObject; list: SnapshotList }> {
    const obj = await this.driver.objectOf(dom);
    return { obj, list: await this.metadata.load(obj.name) };
  }

  private refTo(obj: DomainObject, name: string): SnapshotRef {
    return { dom: refOf(obj), name };
  }

  /** Writes the snapshots whose files changed; `current` is the tree's current one. */
  private async writeAll(obj: DomainObject, list: SnapshotList, names: Iterable<string>): Promise<void> {
    for (const name of new Set(names)) {
      const snap = list.find(name);
      if (snap) await this.metadata.write(obj.name, obj.uuid, snap, list.current === name);
    }
  }

  /** qemuSnapshotSetCurrent: the old current snapshot's file loses its <active>1. */
  private async setCurrent(obj: DomainObject, list: SnapshotList, name: string): Promise<void> {
    const old = list.current;
    list.current = name;
    await this.writeAll(obj, list, [name, ...(old !== undefined && old !== name ? [old] : [])]);
  }

  // ---- create ------------------------------------------------------------------

  async create(dom: DomainRef, xml: string, flags: number): Promise<SnapshotRef> {
    checkFlags(flags, CREATE_ALL, 'qemuSnapshotCreateXML');
    // virReportInvalidArg: the text without the code's prefix
    if (flags & CreateFlags.QUIESCE && !(flags & CreateFlags.DISK_ONLY)) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
    }
    if (flags & CreateFlags.LIVE && flags & CreateFlags.REDEFINE) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_LIVE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' are mutually exclusive");
    }
    return this.withSnapshots(dom, async (obj, list, running) => {
      if (!obj.persistent && flags & CreateFlags.HALT) throw qemuError(ErrorCode.OPERATION_INVALID, 'cannot halt after transient domain snapshot');
      if (flags & CreateFlags.REDEFINE) return this.redefine(obj, list, xml, flags);
      return this.createNew(obj, list, running, xml, flags);
    });
  }

  /** qemuSnapshotRedefine: a snapshot's full XML adds it, or replaces the one of its name. */
  private async redefine(obj: DomainObject, list: SnapshotList, xml: string, flags: number): Promise<SnapshotRef> {
    const { snap } = parseSnapshotRedefine(parseDocument(xml, '(domain_snapshot)', 'domainsnapshot'), (el) => el, false);
    const uuid = snap.dom ? (child(snap.dom, 'uuid')?.text ?? '').toLowerCase() : obj.uuid;
    if (uuid !== obj.uuid) throw qemuError(ErrorCode.INVALID_ARG, `definition for snapshot ${snap.name} must use uuid ${obj.uuid}`);
    if (snap.parent !== undefined) {
      if (!list.find(snap.parent)) throw qemuError(ErrorCode.INVALID_ARG, `parent ${snap.parent} for snapshot ${snap.name} not found`);
      for (let p: string | undefined = snap.parent; p !== undefined; p = list.find(p)?.parent) {
        if (p === snap.name) throw qemuError(ErrorCode.INVALID_ARG, `parent ${snap.parent} would create cycle to ${snap.name}`);
      }
    }
    if (flags & CreateFlags.DISK_ONLY && snap.state !== 'disk-snapshot') {
      throw qemuError(ErrorCode.INVALID_ARG, `disk-only flag for snapshot ${snap.name} requires disk-snapshot state`);
    }
    const old = list.find(snap.name);
    if (old) {
      const offline = (s: Snapshot) => s.state === 'shutoff' || s.state === 'disk-snapshot';
      if (offline(old) !== offline(snap)) throw qemuError(ErrorCode.INVALID_ARG, `cannot change between online and offline snapshot state in snapshot ${snap.name}`);
      Object.assign(old, snap);
    } else {
      list.add(snap);
    }
    if (flags & CreateFlags.CURRENT) await this.setCurrent(obj, list, snap.name);
    else await this.writeAll(obj, list, [snap.name]);
    return this.refTo(obj, snap.name);
  }

  /** qemuSnapshotCreate: the snapshot is taken, then (unless NO_METADATA) recorded as the current one. */
  private async createNew(obj: DomainObject, list: SnapshotList, running: RunningDomain | undefined, xml: string, flags: number): Promise<SnapshotRef> {
    const active = running !== undefined;
    const req = parseSnapshotRequest(xml);
    const offline = !active || (flags & CreateFlags.DISK_ONLY) !== 0;
    if (offline && req.memory !== undefined && req.memory !== 'no') {
      throw virError(ErrorCode.XML_ERROR, 'memory state cannot be saved with offline or disk-only snapshot', ErrorDomain.DOMAIN_SNAPSHOT);
    }
    if (req.memory === 'external' && req.memoryFile === undefined) {
      throw virError(ErrorCode.XML_ERROR, 'external memory snapshots require a filename', ErrorDomain.DOMAIN_SNAPSHOT);
    }
    const now = Math.floor(Date.now() / 1000);
    const name = req.name ?? String(now);
    if (!(flags & CreateFlags.NO_METADATA)) {
      if (name.includes('/')) throw qemuError(ErrorCode.XML_DETAIL, `invalid snapshot name '${name}': name can't contain '/'`);
      if (name.startsWith('.')) throw qemuError(ErrorCode.XML_DETAIL, `invalid snapshot name '${name}': name can't start with '.'`);
    }
    if (flags & CreateFlags.LIVE && (!active || req.memory !== 'external')) {
      throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, 'live snapshot creation is supported only during full system snapshots');
    }
    if (obj.state === DomainState.PMSUSPENDED) throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, "qemu doesn't support taking snapshots of PMSUSPENDED guests");

    // qemuSnapshotCreateAlignDisks: the definitions as they are now, state, memory and disks
    const domainState = SNAPSHOT_STATES[obj.state]!;
    let state = domainState;
    let memory: string;
    let location: 'internal' | 'external';
    if (flags & CreateFlags.DISK_ONLY) {
      [state, memory, location] = [active ? 'disk-snapshot' : 'shutoff', 'no', 'external'];
    } else if (req.memory === 'external') {
      [memory, location] = ['external', 'external'];
    } else {
      if (active && req.memory === 'no') throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, 'internal snapshot of a running VM must include the memory state');
      [memory, location] = [state === 'shutoff' ? 'no' : 'internal', 'internal'];
    }
    const disks = alignDisks(obj.def, requestedDisks(req), location, name);
    const external = this.prepare(obj, disks, memory, state, active, flags);
    if (external && !active) flags |= CreateFlags.DISK_ONLY;

    if (!(flags & CreateFlags.NO_METADATA) && list.find(name)) throw virError(ErrorCode.OPERATION_FAILED, `domain moment ${name} already exists`, ErrorDomain.DOMAIN_SNAPSHOT);
    const snap: Snapshot = {
      name,
      ...(req.description !== undefined ? { description: req.description } : {}),
      state,
      ...(list.current !== undefined ? { parent: list.current } : {}),
      creationTime: now,
      memory,
      ...(req.memoryFile !== undefined ? { memoryFile: req.memoryFile } : {}),
      ...(disks.length ? { disks: element('disks', {}, disks.map(diskElement)) } : {}),
      dom: active ? snapshotDefinition(obj.def, obj.newDef) : cloneElement(obj.def),
      ...(active && obj.newDef ? { inactiveDom: cloneElement(obj.newDef) } : {}),
    };

    if (running && (flags & CreateFlags.DISK_ONLY || memory === 'external')) await this.createActiveExternal(obj, running, snap, disks, flags);
    else if (running) await this.createActiveInternal(obj, running, name, flags);
    else if (flags & CreateFlags.DISK_ONLY) await this.createInactiveExternal(obj, disks, (flags & CreateFlags.REUSE_EXT) !== 0);
    else await this.forEachInternalDisk(snap.dom!, disks, '-c', false, name);

    if (!(flags & CreateFlags.NO_METADATA)) {
      list.add(snap);
      await this.setCurrent(obj, list, name);
    }
    return this.refTo(obj, name);
  }

  /** qemuSnapshotPrepare: what each disk asks for is possible; returns whether any disk is external. */
  private prepare(obj: DomainObject, disks: SnapshotDisk[], memory: string, state: string, active: boolean, flags: number): boolean {
    const domDisks = disksOf(obj.def);
    let foundInternal = false;
    let forbidInternal = false;
    let external = 0;
    disks.forEach((d, i) => {
      const disk = domDisks[i]!;
      const format = formatOf(disk);
      switch (d.snapshot) {
        case 'internal':
          foundInternal = true;
          if (state === 'disk-snapshot' && active) {
            throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `active qemu domains require external disk snapshots; disk ${d.name} requested internal`);
          }
          if (!active && !['file', 'block'].includes(disk.attrs.type ?? 'file')) {
            throw qemuError(ErrorCode.INTERNAL_ERROR, `internal inactive snapshots are not supported on '${disk.attrs.type}' disks`);
          }
          if (format !== undefined && format !== 'qcow2') {
            throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `internal snapshot for disk ${d.name} unsupported for storage type ${format}`);
          }
          break;
        case 'external': {
          d.format ??= 'qcow2';
          if (d.format !== 'qcow2' && d.format !== 'qed') throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `external snapshot format for disk ${d.name} is unsupported: ${d.format}`);
          const exists = existsSync(d.file!);
          if (!(flags & CreateFlags.REUSE_EXT) && exists && !statSync(d.file!).isBlockDevice()) {
            throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `external snapshot file for disk ${d.name} already exists and is not a block device: ${d.file}`);
          }
          if (flags & CreateFlags.REUSE_EXT && !exists) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `missing existing file for disk ${d.name}: ${d.file}`);
          external++;
          break;
        }
        case 'manual':
          forbidInternal = true;
          break;
        case 'no':
          if (sourcePathOf(disk) !== undefined && !child(disk, 'readonly')) forbidInternal = true;
          break;
      }
    });
    if (!foundInternal && !external && memory === 'no') throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'nothing selected for snapshot');
    if ((memory === 'internal' && !foundInternal) || (foundInternal && forbidInternal)) {
      throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'internal and full system snapshots require all disks to be selected for snapshot');
    }
    if (state === 'disk-snapshot' && !external) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'disk-only snapshots require at least one disk to be selected for snapshot');
    if ((foundInternal && external) || (memory === 'internal' && external) || (memory === 'external' && foundInternal)) {
      throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'mixing internal and external targets for a snapshot is not yet supported');
    }
    return external > 0;
  }

  /** qemuSnapshotCreateActiveInternal: savevm with the CPUs stopped by the driver, then resumed (or QEMU ended with HALT). */
  private async createActiveInternal(obj: DomainObject, running: RunningDomain, name: string, flags: number): Promise<void> {
    const runtime = this.driver.runtime.runtime;
    const resume = running.state === DomainState.RUNNING;
    if (resume) await runtime.pauseFor(obj.name, PausedReason.SAVE);
    try {
      const reply = await this.humanCommand(running, `savevm "${name}"`);
      if (/Error while creating snapshot|Could not open VM state file|State blocked by non-migratable device|Error: /.test(reply) || (reply.includes('Error') && reply.includes('while writing VM'))) {
        throw qemuError(ErrorCode.OPERATION_FAILED, `Failed to take snapshot: ${reply}`);
      }
      if (reply.includes('No block device can accept snapshots')) throw qemuError(ErrorCode.OPERATION_INVALID, 'this domain does not have a device to take snapshots');
    } catch (e) {
      if (resume) await runtime.resumeAfter(obj.name, RunningReason.UNPAUSED).catch(() => undefined);
      throw e;
    }
    if (flags & CreateFlags.HALT) await runtime.stopFor(obj.name, ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT);
    else if (resume) await runtime.resumeAfter(obj.name, RunningReason.UNPAUSED);
  }

  /**
   * qemuSnapshotCreateActiveExternal: QUIESCE needs the guest agent (tsvirt has
   * none: libvirt's refusal). With memory, the guest is paused (unless LIVE) and
   * its state written to the memory file in libvirt's save image format; then
   * the external disks get their overlays. The guest runs on unless HALT.
   */
  private async createActiveExternal(obj: DomainObject, running: RunningDomain, snap: Snapshot, disks: SnapshotDisk[], flags: number): Promise<void> {
    if (flags & CreateFlags.QUIESCE) throw qemuError(ErrorCode.ARGUMENT_UNSUPPORTED, 'QEMU guest agent is not configured');
    const runtime = this.driver.runtime.runtime;
    const memory = snap.memory === 'external';
    const resume = memory && running.state === DomainState.RUNNING;
    if (resume && !(flags & CreateFlags.LIVE)) await runtime.pauseFor(obj.name, PausedReason.SNAPSHOT);
    try {
      if (memory) {
        await new QemuSaveRestore(this.driver).writeImage(running, snap.memoryFile!, snap.dom!, resume);
      }
      if (disks.some((d) => d.snapshot === 'external')) await this.overlayDisks(obj, running, disks, flags);
    } catch (e) {
      if (resume) await runtime.resumeAfter(obj.name, RunningReason.UNPAUSED).catch(() => undefined);
      throw e;
    }
    if (flags & CreateFlags.HALT) await runtime.stopFor(obj.name, ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT);
    else if (resume) await runtime.resumeAfter(obj.name, RunningReason.UNPAUSED);
  }

  /**
   * qemuSnapshotCreateActiveExternalDisks: every external disk gets a new qcow2
   * overlay (unless reused), opened as new block nodes and made the top of its
   * chain in one transaction (blockdev-snapshot). The live disk then names the
   * overlay with the old image as its <backingStore>, and so does the
   * persistent one.
   */
  private async overlayDisks(obj: DomainObject, running: RunningDomain, disks: SnapshotDisk[], flags: number): Promise<void> {
    const live = cloneElement(running.live);
    const persistent = obj.newDef ? cloneElement(obj.newDef) : undefined;
    const liveDisks = disksOf(live);
    const tops = new Map<XmlElement, string>();
    const created: string[] = [];
    try {
      for (const [i, d] of disks.entries()) {
        if (d.snapshot !== 'external') continue;
        const disk = liveDisks[i]!;
        const top = child(disk, 'source')?.attrs.index;
        if (top === undefined) throw qemuError(ErrorCode.OPERATION_INVALID, `disk '${d.name}' has no block node to snapshot`);
        tops.set(disk, `libvirt-${top}-format`);
        if (!(flags & CreateFlags.REUSE_EXT)) {
          await this.createOverlay(d, disk);
          created.push(d.file!);
        }
        pushOverlay(disk, d);
        const persistentDisk = persistent && disksOf(persistent).find((p) => targetOf(p) === d.name);
        if (persistentDisk) pushOverlay(persistentDisk, d);
      }
      recordStorageIds(new DomainView(live).deviceList('disk'));
      const cmd = await this.driver.runtime.buildCommandLine(live, running.id);
      const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
      const added: string[] = [];
      const actions: { type: string; data: { node: string; overlay: string } }[] = [];
      try {
        for (const [disk, oldTop] of tops) {
          const index = child(disk, 'source')!.attrs.index!;
          await this.driver.runtime.security.labelDevice(obj.name, running.live, disk);
          for (const node of [`libvirt-${index}-storage`, `libvirt-${index}-format`]) {
            const props = blockdevArg(cmd.args, node);
            // the overlay is opened on its own: blockdev-snapshot attaches the old top as its backing
            if (node.endsWith('-format')) props.backing = null;
            await qmp.execute('blockdev-add', props);
            added.unshift(node);
          }
          actions.push({ type: 'blockdev-snapshot', data: { node: oldTop, overlay: `libvirt-${index}-format` } });
        }
        await qmp.execute('transaction', { actions });
      } catch (e) {
        for (const node of added) await qmp.execute('blockdev-del', { 'node-name': node }).catch(() => undefined);
        throw e;
      }
    } catch (e) {
      const { rm } = await import('node:fs/promises');
      for (const file of created) await rm(file, { force: true });
      throw e;
    }
    running.live = live;
    await this.driver.runtime.runtime.saveStatus(running);
    if (persistent) await this.driver.runtime.savePersistent(persistent);
  }

  /** A new qcow2 overlay on a disk's image, left unopened (-u): QEMU holds the image. */
  private async createOverlay(d: SnapshotDisk, disk: XmlElement): Promise<void> {
    const backing = sourcePathOf(disk);
    const format = formatOf(disk) ?? 'raw';
    if (backing === undefined) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `cannot create external snapshot of disk '${d.name}' without source`);
    const info = JSON.parse(await runCommand([QEMU_IMG, 'info', '-U', '--output=json', '-f', format, backing], ErrorDomain.QEMU)) as { 'virtual-size': number };
    await runCommand([QEMU_IMG, 'create', '-q', '-f', d.format!, '-F', format, '-b', backing, '-u', d.file!, String(info['virtual-size'])], ErrorDomain.QEMU);
  }

  /**
   * qemuSnapshotCreateInactiveExternal: every external disk gets a new qcow2
   * overlay on its image (unless reused), and the definition's disk then
   * names the overlay.
   */
  private async createInactiveExternal(obj: DomainObject, disks: SnapshotDisk[], reuse: boolean): Promise<void> {
    const def = cloneElement(obj.def);
    const domDisks = disksOf(def);
    const created: string[] = [];
    try {
      for (const [i, d] of disks.entries()) {
        if (d.snapshot !== 'external') continue;
        const disk = domDisks[i]!;
        const backing = sourcePathOf(disk);
        if (!reuse) {
          const backingOpts = backing !== undefined ? `backing_file=${backing},backing_fmt=${formatOf(disk) ?? 'raw'}` : undefined;
          await runCommand([QEMU_IMG, 'create', '-f', d.format!, ...(backingOpts ? ['-o', backingOpts] : []), d.file!], ErrorDomain.QEMU);
          created.push(d.file!);
        }
        const source = child(disk, 'source');
        if (source) source.attrs = { ...source.attrs, [disk.attrs.type === 'block' ? 'dev' : 'file']: d.file! };
        const driverEl = child(disk, 'driver');
        if (driverEl) driverEl.attrs = { ...driverEl.attrs, type: d.format! };
        disk.children = disk.children.filter((c) => c.name !== 'backingStore');
      }
    } catch (e) {
      const { rm } = await import('node:fs/promises');
      for (const file of created) await rm(file, { force: true });
      throw e;
    }
    if (obj.persistent) await this.driver.runtime.savePersistent(def);
  }

  /**
   * qemuDomainSnapshotForEachQcow2: `qemu-img snapshot OP NAME` on every disk
   * the snapshot holds internally. With `tryAll` (revert, delete) a disk that
   * fails is skipped; a create that fails deletes what it made on earlier disks.
   */
  private async forEachInternalDisk(def: XmlElement, disks: SnapshotDisk[], op: '-c' | '-a' | '-d', tryAll: boolean, name: string): Promise<boolean> {
    let skipped = false;
    const done: string[] = [];
    for (const [i, disk] of disksOf(def).entries()) {
      if ((disk.attrs.device ?? 'disk') !== 'disk' || disks[i]?.snapshot !== 'internal') continue;
      const path = sourcePathOf(disk);
      if (path === undefined) throw qemuError(ErrorCode.OPERATION_INVALID, `can't manipulate inactive snapshots of disk '${targetOf(disk)}'`);
      const format = formatOf(disk);
      try {
        if (format !== undefined && format !== 'qcow2') throw qemuError(ErrorCode.OPERATION_INVALID, `Disk device '${targetOf(disk)}' does not support snapshotting`);
        await runCommand([QEMU_IMG, 'snapshot', op, name, path], ErrorDomain.QEMU);
        done.push(path);
      } catch (e) {
        if (tryAll) {
          skipped = true;
          continue;
        }
        if (op === '-c') for (const made of done) await runCommand([QEMU_IMG, 'snapshot', '-d', name, made], ErrorDomain.QEMU).catch(() => undefined);
        throw e;
      }
    }
    return skipped;
  }

  private async humanCommand(running: RunningDomain, cmd: string): Promise<string> {
    const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
    // savevm writes the whole guest RAM: as long as a save may take
    const reply = await qmp.execute<unknown>('human-monitor-command', { 'command-line': cmd }, 10 * 60_000);
    return typeof reply === 'string' ? reply : '';
  }

  // ---- revert --------------------------------------------------------------------

  /**
   * qemuSnapshotRevert: a snapshot with memory restarts QEMU on the snapshot's
   * definition, loading its state (-loadvm), running or paused as it was (or as
   * the flags say); a snapshot without memory stops the domain, reverts the disks
   * with qemu-img, and starts it again only when asked.
   */
  async revert(ref: SnapshotRef, flags: number): Promise<void> {
    checkFlags(flags, RevertFlags.RUNNING | RevertFlags.PAUSED | RevertFlags.FORCE | RevertFlags.RESET_NVRAM, 'qemuSnapshotRevert');
    await this.withSnapshots(ref.dom, async (obj, list, running) => {
      const snap = this.snapshotIn(list, ref.name);
      const withMemory = snap.state === 'running' || snap.state === 'paused';
      if (!obj.persistent && !withMemory && !(flags & (RevertFlags.RUNNING | RevertFlags.PAUSED))) {
        throw qemuError(ErrorCode.OPERATION_INVALID, 'transient domain needs to request run or pause to revert to inactive snapshot');
      }
      if (snapshotIsExternal(snap)) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'revert to external snapshot not supported yet');
      if (!snap.dom) throw qemuError(ErrorCode.SNAPSHOT_REVERT_RISKY, `snapshot '${snap.name}' lacks domain '${obj.name}' rollback info`);
      if (!(flags & RevertFlags.FORCE) && this.driver.hasManagedSave(obj.name) && !withMemory) {
        throw qemuError(ErrorCode.SNAPSHOT_REVERT_RISKY, 'snapshot without memory state, removal of existing managed saved state strongly recommended to avoid corruption');
      }
      if (snap.state === 'pmsuspended') throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, "qemu doesn't support reversion of snapshot taken in PMSUSPENDED state");
      if (snap.state === 'disk-snapshot' || snap.state === 'nostate' || snap.state === 'blocked') {
        throw qemuError(ErrorCode.INTERNAL_ERROR, `Invalid target domain state '${snap.state}'. Refusing snapshot reversion`);
      }
      const { runtime } = await this.driver.runtime.processes();
      const config = this.named(snap.dom, obj.name);
      const inactiveConfig = snap.inactiveDom ? this.named(snap.inactiveDom, obj.name) : config;
      if (running) await runtime.stopFor(obj.name, ShutoffReason.FROM_SNAPSHOT, StoppedDetail.FROM_SNAPSHOT);
      if (!withMemory) await this.forEachInternalDisk(config, parseAligned(snap), '-a', true, snap.name);
      if (obj.persistent) {
        await this.driver.runtime.savePersistent(inactiveConfig);
        this.driver.runtime.queueEvent({ key: 'domainEventCallbackLifecycle', body: { msg: { dom: refOf(obj), event: DomainEventType.DEFINED, detail: DefinedDetail.FROM_SNAPSHOT } } });
      }
      if (withMemory) {
        const paused = !(flags & RevertFlags.RUNNING) && (snap.state === 'paused' || (flags & RevertFlags.PAUSED) !== 0);
        runtime.release(await runtime.start(obj.name, config, { paused, fromSnapshot: { loadvm: snap.name } }));
      } else if (flags & (RevertFlags.RUNNING | RevertFlags.PAUSED)) {
        runtime.release(await runtime.start(obj.name, config, { paused: (flags & RevertFlags.PAUSED) !== 0, fromSnapshot: {} }));
      }
      // a transient domain's metadata went when its QEMU stopped: the tree is written back whole
      if (obj.persistent) await this.setCurrent(obj, list, snap.name);
      else {
        list.current = snap.name;
        await this.writeAll(obj, list, list.all.map((s) => s.name));
      }
      await this.driver.runtime.sync({ refresh: false });
    });
  }

  /** A copy of a snapshot's definition under the domain's current name (a renamed domain). */
  private named(def: XmlElement, name: string): XmlElement {
    const copy = cloneElement(def);
    const nameEl = child(copy, 'name');
    if (nameEl && domainName(copy) !== name) nameEl.text = name;
    return copy;
  }

  // ---- delete --------------------------------------------------------------------

  /**
   * qemuSnapshotDelete: the snapshot (or only its descendants, or both), each
   * removed from the images (delvm while running, qemu-img snapshot -d while
   * not) unless only the metadata goes; children of a removed snapshot move up
   * to its parent, which becomes current when the current one goes.
   */
  async delete(ref: SnapshotRef, flags: number): Promise<void> {
    checkFlags(flags, DeleteFlags.CHILDREN | DeleteFlags.METADATA_ONLY | DeleteFlags.CHILDREN_ONLY, 'qemuSnapshotDelete');
    await this.withSnapshots(ref.dom, async (obj, list, running) => {
      const snap = this.snapshotIn(list, ref.name);
      const children = (flags & (DeleteFlags.CHILDREN | DeleteFlags.CHILDREN_ONLY)) !== 0;
      const doomed = [...(children ? list.descendants(snap.name) : []), ...(flags & DeleteFlags.CHILDREN_ONLY ? [] : [snap])];
      if (!(flags & DeleteFlags.METADATA_ONLY)) {
        const external = doomed.filter(snapshotIsExternal);
        if (external.length > 0) {
          throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, `deletion of ${external.length} external disk snapshots not supported yet`);
        }
        for (const gone of doomed) {
          if (running) await this.humanCommand(running, `delvm "${gone.name}"`).catch(() => undefined);
          else await this.forEachInternalDisk(gone.dom ?? obj.def, parseAligned(gone), '-d', true, gone.name);
        }
      }
      const before = new Map(list.all.map((s) => [s.name, s.parent]));
      const oldCurrent = list.current;
      list.remove(snap.name, (flags & DeleteFlags.CHILDREN) !== 0, (flags & DeleteFlags.CHILDREN_ONLY) !== 0);
      for (const name of before.keys()) if (!list.find(name)) await this.metadata.remove(obj.name, name);
      const changed = list.all.filter((s) => before.get(s.name) !== s.parent || s.name === oldCurrent || s.name === list.current).map((s) => s.name);
      await this.writeAll(obj, list, changed);
    });
  }

  // ---- lookups and lists -------------------------------------------------------------

  private snapshotIn(list: SnapshotList, name: string): Snapshot {
    const snap = list.find(name);
    if (!snap) throw qemuError(ErrorCode.NO_DOMAIN_SNAPSHOT, `no domain snapshot with matching name '${name}'`);
    return snap;
  }

  async lookup(dom: DomainRef, name: string): Promise<SnapshotRef> {
    const { obj, list } = await this.treeOf(dom);
    return this.refTo(obj, this.snapshotIn(list, name).name);
  }

  async list(dom: DomainRef, flags: number, fn: string): Promise<SnapshotRef[]> {
    checkFlags(flags, LIST_ALL, fn);
    const { obj, list } = await this.treeOf(dom);
    return list.list(flags).map((s) => this.refTo(obj, s.name));
  }

  async children(ref: SnapshotRef, flags: number, fn: string): Promise<SnapshotRef[]> {
    checkFlags(flags, LIST_ALL, fn);
    const { obj, list } = await this.treeOf(ref.dom);
    return list.list(flags, this.snapshotIn(list, ref.name).name).map((s) => this.refTo(obj, s.name));
  }

  async current(dom: DomainRef): Promise<SnapshotRef | undefined> {
    const { obj, list } = await this.treeOf(dom);
    return list.current === undefined ? undefined : this.refTo(obj, list.current);
  }

  async parent(ref: SnapshotRef): Promise<SnapshotRef> {
    const { obj, list } = await this.treeOf(ref.dom);
    const snap = this.snapshotIn(list, ref.name);
    if (snap.parent === undefined) throw qemuError(ErrorCode.NO_DOMAIN_SNAPSHOT, `snapshot '${snap.name}' does not have a parent`);
    return this.refTo(obj, snap.parent);
  }

  async isCurrent(ref: SnapshotRef): Promise<boolean> {
    const { list } = await this.treeOf(ref.dom);
    return list.current === this.snapshotIn(list, ref.name).name;
  }

  /** Every snapshot tsvirt lists has its metadata (NO_METADATA ones are never listed). */
  async hasMetadata(ref: SnapshotRef): Promise<boolean> {
    const { list } = await this.treeOf(ref.dom);
    this.snapshotIn(list, ref.name);
    return true;
  }

  async xml(ref: SnapshotRef, flags: number): Promise<string> {
    checkFlags(flags, XML_SECURE, 'qemuDomainSnapshotGetXMLDesc');
    const { obj, list } = await this.treeOf(ref.dom);
    return formatSnapshotXML(this.snapshotIn(list, ref.name), obj.uuid, (flags & XML_SECURE) !== 0);
  }
}
