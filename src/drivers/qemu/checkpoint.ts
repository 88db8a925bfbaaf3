// Domain checkpoints of the qemu driver (libvirt 9.0's qemu_checkpoint.c with
// QEMU 7.2): a checkpoint is a persistent dirty bitmap, named as the
// checkpoint, on the top image of each qcow2 disk it covers, added in one
// QMP transaction while the domain runs; every bitmap keeps recording, so the
// bitmap of a checkpoint holds every write since it was taken. Deleting one
// removes its bitmaps. The metadata is checkpoint-metadata.ts's.
import { alignCheckpointDisks, CHECKPOINT_LIST_ALL, CHECKPOINT_LIST_TOPOLOGICAL, CheckpointXMLFlags, formatCheckpointXML, parseCheckpointXML, type Checkpoint, type CheckpointList } from '../../conf/checkpoint.js';
import type { DomainObject } from '../../conf/objects/domain-object.js';
import { CheckpointCreateFlags } from '../../driver/flags.js';
import type { CheckpointRef } from '../../driver/refs.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childText, type XmlElement } from '../../util/xml.js';
import { CheckpointMetadata } from './checkpoint-metadata.js';
import { checkFlags, refOf, type DomainRef, type QemuDriver } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';
import type { QemuJson } from '../../util/json.js';
import { snapshotDefinition } from './snapshot.js';

/** virDomainCheckpointDeleteFlags */
const DeleteFlags = { CHILDREN: 1 << 0, METADATA_ONLY: 1 << 1, CHILDREN_ONLY: 1 << 2 } as const;
/** The temporary bitmap the size of a checkpoint is measured in (libvirt's name). */
const SIZE_BITMAP = 'libvirt-tmp-size-xml';

const qemuError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.QEMU);
const disksOf = (def: XmlElement) => child(def, 'devices')?.children.filter((d) => d.name === 'disk') ?? [];
const targetOf = (disk: XmlElement) => child(disk, 'target')?.attrs.dev ?? '';

/** The format node QEMU knows a live disk's top image by (its storage id, libvirt's node names). */
export function formatNodeOf(disk: XmlElement): string | undefined {
  const index = child(disk, 'source')?.attrs.index;
  return index === undefined ? undefined : `libvirt-${index}-format`;
}

/** One action of a QMP transaction. */
export type TransactionAction = { type: string; data: { [key: string]: QemuJson } };

export interface NodeBitmap {
  name: string;
  /** dirty bytes */
  count: number;
}

/** query-named-block-nodes: every node's dirty bitmaps, by node name. */
export async function bitmapsByNode(qmp: QmpClient): Promise<Map<string, NodeBitmap[]>> {
  const nodes = await qmp.execute<{ 'node-name': string; 'dirty-bitmaps'?: NodeBitmap[] }[]>('query-named-block-nodes', { flat: true });
  return new Map(nodes.map((n) => [n['node-name'], n['dirty-bitmaps'] ?? []]));
}

export class QemuCheckpoints {
  readonly metadata: CheckpointMetadata;

  constructor(private readonly driver: QemuDriver, warn: (message: string) => void) {
    this.metadata = new CheckpointMetadata(driver.paths.checkpointDir, warn);
  }

  private refTo(obj: DomainObject, name: string): CheckpointRef {
    return { dom: refOf(obj), name };
  }

  /** Runs `fn` on a domain under its lock, with its checkpoint tree read from disk. */
  private withCheckpoints<T>(dom: DomainRef, fn: (obj: DomainObject, list: CheckpointList, running: RunningDomain | undefined) => Promise<T>): Promise<T> {
    return this.driver.runtime.withDomain(dom, async (obj, running) => fn(obj, await this.metadata.load(obj.name), running));
  }

  private async treeOf(dom: DomainRef): Promise<{ obj: DomainObject; list: CheckpointList }> {
    const obj = await this.driver.objectOf(dom);
    return { obj, list: await this.metadata.load(obj.name) };
  }

  private checkpointIn(list: CheckpointList, name: string): Checkpoint {
    const chk = list.find(name);
    if (!chk) throw virError(ErrorCode.NO_DOMAIN_CHECKPOINT, `no domain checkpoint with matching name '${name}'`, ErrorDomain.QEMU);
    return chk;
  }

  // ---- create ------------------------------------------------------------------

  /** qemuCheckpointCreateXML: a new checkpoint of a running domain, or (REDEFINE) metadata given back. */
  async create(dom: DomainRef, xml: string, flags: number): Promise<CheckpointRef> {
    checkFlags(flags, CheckpointCreateFlags.REDEFINE | CheckpointCreateFlags.REDEFINE_VALIDATE, 'qemuDomainCheckpointCreateXML');
    const redefine = (flags & CheckpointCreateFlags.REDEFINE) !== 0;
    const obj = await this.driver.objectOf(dom);
    if (!redefine && obj.id === -1) throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, 'cannot create checkpoint for inactive domain');
    const chk = parseCheckpointXML(xml, redefine);
    return this.withCheckpoints(dom, async (obj, list, running) => {
      if (redefine) await this.redefine(obj, list, running, chk, (flags & CheckpointCreateFlags.REDEFINE_VALIDATE) !== 0);
      else {
        if (!running) throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, 'cannot create checkpoint for inactive domain');
        await this.createNew(obj, list, running, chk);
      }
      return this.refTo(obj, chk.name);
    });
  }

  /** The domain's disks as the checkpoint aligns them. */
  private alignable(def: XmlElement) {
    return disksOf(def).map((disk) => {
      const source = child(disk, 'source');
      const path = source?.attrs.file ?? source?.attrs.dev;
      return { target: targetOf(disk), ...(path !== undefined ? { path } : {}), skip: path === undefined || child(disk, 'readonly') !== undefined };
    });
  }

  /** virDomainCheckpointDefParseString for a new checkpoint (backup-begin's second document). */
  parseRequest(xml: string): Checkpoint {
    return parseCheckpointXML(xml, false);
  }

  /**
   * qemuCheckpointCreateCommon: the checkpoint's definition and disks
   * (bitmaps on qcow2 images only, named as the checkpoint), entered in the
   * tree under the current one, with the bitmap-add actions of its transaction.
   */
  async prepareCreate(obj: DomainObject, list: CheckpointList, running: RunningDomain, chk: Checkpoint, actions: TransactionAction[]): Promise<Checkpoint> {
    chk.creationTime = Math.floor(Date.now() / 1000);
    if (chk.name === '') chk.name = String(chk.creationTime);
    chk.dom = snapshotDefinition(running.live, obj.newDef);
    alignCheckpointDisks(chk, this.alignable(chk.dom));
    const liveDisks = disksOf(running.live);
    for (const d of chk.disks) {
      if (d.checkpoint !== 'bitmap') continue;
      if (d.bitmap !== chk.name) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `bitmap for disk '${d.name}' must match checkpoint name '${chk.name}'`);
      const disk = liveDisks.find((l) => targetOf(l) === d.name)!;
      const format = child(disk, 'driver')?.attrs.type ?? 'raw';
      if (format !== 'qcow2') throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `checkpoint for disk ${d.name} unsupported for storage type ${format}`);
      const node = formatNodeOf(disk);
      if (node === undefined) throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, `block jobs are not supported on disk '${d.name}'`);
      actions.push({ type: 'block-dirty-bitmap-add', data: { node, name: d.bitmap, persistent: true } });
    }
    if (list.current !== undefined) chk.parent = list.current;
    list.add(chk);
    return chk;
  }

  /** qemuCheckpointCreate: the bitmaps added in one transaction, then the metadata written. */
  private async createNew(obj: DomainObject, list: CheckpointList, running: RunningDomain, chk: Checkpoint): Promise<void> {
    const actions: TransactionAction[] = [];
    await this.prepareCreate(obj, list, running, chk, actions);
    const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
    await qmp.execute('transaction', { actions });
    await this.metadata.write(obj.name, chk);
  }

  /** qemuCheckpointRedefine: the checkpoint's XML, checked against the tree (and with VALIDATE, the bitmaps). */
  private async redefine(obj: DomainObject, list: CheckpointList, running: RunningDomain | undefined, chk: Checkpoint, validate: boolean): Promise<void> {
    if (chk.parent === chk.name) throw virError(ErrorCode.INVALID_ARG, `cannot set moment ${chk.name} as its own parent`, ErrorDomain.DOMAIN_CHECKPOINT);
    if (chk.parent !== undefined) {
      if (!list.find(chk.parent)) throw virError(ErrorCode.INVALID_ARG, `parent ${chk.parent} for moment ${chk.name} not found`, ErrorDomain.DOMAIN_CHECKPOINT);
      for (let p: string | undefined = chk.parent; p !== undefined; p = list.find(p)?.parent) {
        if (p === chk.name) throw virError(ErrorCode.INVALID_ARG, `parent ${chk.parent} would create cycle to ${chk.name}`, ErrorDomain.DOMAIN_CHECKPOINT);
      }
    }
    if (chk.dom) {
      const uuid = (childText(chk.dom, 'uuid') ?? '').toLowerCase();
      if (uuid !== obj.uuid) throw virError(ErrorCode.INVALID_ARG, `definition for checkpoint ${chk.name} must use uuid ${obj.uuid}`, ErrorDomain.DOMAIN_CHECKPOINT);
      alignCheckpointDisks(chk, this.alignable(chk.dom));
    } else {
      for (const d of chk.disks) if (d.checkpoint === 'bitmap' && d.bitmap === undefined) d.bitmap = chk.name;
    }
    if (validate) {
      if (!running) throw qemuError(ErrorCode.OPERATION_INVALID, 'domain is not running');
      const bitmaps = await bitmapsByNode(await this.driver.runtime.runtime.ensureMonitor(running));
      for (const d of chk.disks) {
        const disk = disksOf(running.live).find((l) => targetOf(l) === d.name);
        if (d.checkpoint !== 'bitmap' || !disk) continue;
        const node = formatNodeOf(disk);
        if (!(bitmaps.get(node ?? '') ?? []).some((b) => b.name === chk.name)) {
          throw virError(ErrorCode.CHECKPOINT_INCONSISTENT, `missing or broken bitmap '${chk.name}' for disk '${d.name}'`, ErrorDomain.QEMU);
        }
      }
    }
    const old = list.find(chk.name);
    if (old) Object.assign(old, chk);
    else list.add(chk);
    await this.metadata.write(obj.name, chk);
  }

  // ---- delete --------------------------------------------------------------------

  /**
   * qemuCheckpointDelete: the checkpoint (or only its descendants, or both);
   * unless only the metadata goes, each one's bitmaps are removed from the
   * running domain's images in one transaction. Children of a deleted
   * checkpoint move up to its parent.
   */
  async delete(ref: CheckpointRef, flags: number): Promise<void> {
    checkFlags(flags, DeleteFlags.CHILDREN | DeleteFlags.METADATA_ONLY | DeleteFlags.CHILDREN_ONLY, 'qemuDomainCheckpointDelete');
    const metadataOnly = (flags & DeleteFlags.METADATA_ONLY) !== 0;
    await this.withCheckpoints(ref.dom, async (obj, list, running) => {
      if (!metadataOnly && !running) throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, 'cannot delete checkpoint for inactive domain');
      const chk = this.checkpointIn(list, ref.name);
      const doomed = [...(flags & (DeleteFlags.CHILDREN | DeleteFlags.CHILDREN_ONLY) ? list.descendants(chk.name) : []), ...(flags & DeleteFlags.CHILDREN_ONLY ? [] : [chk])];
      if (!metadataOnly && running) {
        for (const gone of doomed) await this.discardBitmaps(running, gone);
      }
      const reparented = flags & (DeleteFlags.CHILDREN | DeleteFlags.CHILDREN_ONLY) ? [] : list.children(chk.name);
      for (const c of reparented) {
        if (chk.parent === undefined) delete c.parent;
        else c.parent = chk.parent;
        await this.metadata.write(obj.name, c);
      }
      for (const gone of doomed) await this.metadata.remove(obj.name, gone.name);
    });
  }

  /** qemuCheckpointDiscardBitmaps: the checkpoint's bitmaps on the disks still there. */
  private async discardBitmaps(running: RunningDomain, chk: Checkpoint): Promise<void> {
    const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
    const bitmaps = await bitmapsByNode(qmp);
    const actions: TransactionAction[] = [];
    for (const d of chk.disks) {
      const disk = disksOf(running.live).find((l) => targetOf(l) === d.name);
      if (!disk || d.checkpoint !== 'bitmap') continue;
      if (d.bitmap === undefined) throw virError(ErrorCode.INVALID_ARG, `missing bitmap name for disk '${d.name}' of checkpoint '${chk.name}'`, ErrorDomain.QEMU);
      const node = formatNodeOf(disk);
      if (node === undefined || !(bitmaps.get(node) ?? []).some((b) => b.name === d.bitmap)) {
        throw qemuError(ErrorCode.INTERNAL_ERROR, `bitmap '${d.bitmap}' not found in backing chain of '${d.name}'`);
      }
      actions.push({ type: 'block-dirty-bitmap-remove', data: { node, name: d.bitmap } });
    }
    if (actions.length) await qmp.execute('transaction', { actions });
  }

  // ---- XML, lookups and lists -----------------------------------------------------

  /** qemuCheckpointGetXMLDesc; SIZE measures each disk's bitmap in a temporary copy, as libvirt does. */
  async xml(ref: CheckpointRef, flags: number): Promise<string> {
    checkFlags(flags, CheckpointXMLFlags.SECURE | CheckpointXMLFlags.NO_DOMAIN | CheckpointXMLFlags.SIZE, 'qemuDomainCheckpointGetXMLDesc');
    if (!(flags & CheckpointXMLFlags.SIZE)) {
      const { list } = await this.treeOf(ref.dom);
      return formatCheckpointXML(this.checkpointIn(list, ref.name), flags);
    }
    return this.withCheckpoints(ref.dom, async (_obj, list, running) => {
      const chk = this.checkpointIn(list, ref.name);
      if (!running) throw qemuError(ErrorCode.OPERATION_INVALID, 'domain is not running');
      await this.measure(running, chk);
      return formatCheckpointXML(chk, flags);
    });
  }

  /** qemuCheckpointGetXMLDescUpdateSize: the dirty bytes since the checkpoint, per disk with its bitmap. */
  private async measure(running: RunningDomain, chk: Checkpoint): Promise<void> {
    const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
    const before = await bitmapsByNode(qmp);
    const measured: { disk: (typeof chk.disks)[number]; node: string }[] = [];
    const merge: TransactionAction[] = [];
    const cleanup: TransactionAction[] = [];
    for (const d of chk.disks) {
      delete d.size;
      const disk = disksOf(running.live).find((l) => targetOf(l) === d.name);
      const node = disk && formatNodeOf(disk);
      if (d.checkpoint !== 'bitmap' || node === undefined) continue;
      const present = before.get(node) ?? [];
      if (!present.some((b) => b.name === chk.name)) continue;
      // a leftover of an earlier measurement goes first
      if (present.some((b) => b.name === SIZE_BITMAP)) await qmp.execute('block-dirty-bitmap-remove', { node, name: SIZE_BITMAP });
      merge.push({ type: 'block-dirty-bitmap-add', data: { node, name: SIZE_BITMAP, persistent: false, disabled: true } });
      merge.push({ type: 'block-dirty-bitmap-merge', data: { node, target: SIZE_BITMAP, bitmaps: [{ node, name: chk.name }] } });
      cleanup.push({ type: 'block-dirty-bitmap-remove', data: { node, name: SIZE_BITMAP } });
      measured.push({ disk: d, node });
    }
    if (!measured.length) return;
    await qmp.execute('transaction', { actions: merge });
    const after = await bitmapsByNode(qmp);
    await qmp.execute('transaction', { actions: cleanup });
    for (const { disk, node } of measured) {
      const bitmap = (after.get(node) ?? []).find((b) => b.name === SIZE_BITMAP);
      if (bitmap) disk.size = bitmap.count;
    }
  }

  /** VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL: parents before their children. */
  private ordered(list: CheckpointList, flags: number, set: Checkpoint[]): Checkpoint[] {
    return flags & CHECKPOINT_LIST_TOPOLOGICAL ? list.topological(set) : set;
  }

  async lookup(dom: DomainRef, name: string): Promise<CheckpointRef> {
    const { obj, list } = await this.treeOf(dom);
    return this.refTo(obj, this.checkpointIn(list, name).name);
  }

  async list(dom: DomainRef, flags: number): Promise<CheckpointRef[]> {
    checkFlags(flags, CHECKPOINT_LIST_ALL, 'qemuDomainListAllCheckpoints');
    const { obj, list } = await this.treeOf(dom);
    return this.ordered(list, flags, list.select(flags)).map((c) => this.refTo(obj, c.name));
  }

  async children(ref: CheckpointRef, flags: number): Promise<CheckpointRef[]> {
    checkFlags(flags, CHECKPOINT_LIST_ALL, 'qemuDomainCheckpointListAllChildren');
    const { obj, list } = await this.treeOf(ref.dom);
    return this.ordered(list, flags, list.select(flags, this.checkpointIn(list, ref.name).name)).map((c) => this.refTo(obj, c.name));
  }

  async parent(ref: CheckpointRef): Promise<CheckpointRef> {
    const { obj, list } = await this.treeOf(ref.dom);
    const chk = this.checkpointIn(list, ref.name);
    if (chk.parent === undefined) throw virError(ErrorCode.NO_DOMAIN_CHECKPOINT, `checkpoint '${chk.name}' does not have a parent`, ErrorDomain.QEMU);
    return this.refTo(obj, chk.parent);
  }
}
