// Push-mode disk backups of the qemu driver (libvirt 9.0's qemu_backup.c with
// QEMU 7.2): each disk chosen is copied by a blockdev-backup job into a new
// image, whole (sync=full) or only what changed since a checkpoint
// (sync=incremental with a bitmap merged from the checkpoint's, libvirt's
// 'backup-DISK'), optionally creating a checkpoint in the same transaction.
// As every tsvirt operation, the backup runs to its end inside the call that
// starts it (holding the domain lock); then the job-completed event goes out.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { parseDocument } from '../../conf/document.js';
import { typedParam } from '../../driver/typed-params.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { runCommand } from '../../util/run-command.js';
import { child, element, type XmlElement } from '../../util/xml.js';
import { bitmapsByNode, formatNodeOf, QemuCheckpoints, type TransactionAction } from './checkpoint.js';
import { checkFlags, refOf, type DomainRef, type QemuDriver } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';

/** VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL */
const REUSE_EXTERNAL = 1 << 0;
/** virDomainJobOperation: VIR_DOMAIN_JOB_OPERATION_BACKUP */
const OPERATION_BACKUP = 9;
/** How long one backup may take (the images of a test guest take seconds; a large disk under TCG far longer). */
const BACKUP_TIMEOUT_MS = 60 * 60_000;

const qemuError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.QEMU);
const disksOf = (def: XmlElement) => child(def, 'devices')?.children.filter((d) => d.name === 'disk') ?? [];
const targetOf = (disk: XmlElement) => child(disk, 'target')?.attrs.dev ?? '';
const sourcePathOf = (disk: XmlElement) => child(disk, 'source')?.attrs.file ?? child(disk, 'source')?.attrs.dev;

/** One disk of a <domainbackup> request. */
interface BackupDisk {
  name: string;
  backup: boolean;
  incremental?: string;
  backupmode?: 'full' | 'incremental';
  type: 'file' | 'block';
  path?: string;
  format?: string;
}

interface BackupRequest {
  mode: 'push' | 'pull';
  incremental?: string;
  disks: BackupDisk[];
}

/** virDomainBackupDefParse (push and pull; only push runs). */
function parseBackupXML(text: string): BackupRequest {
  const root = parseDocument(text, '(domain_backup)', 'domainbackup');
  const mode = root.attrs.mode ?? 'push';
  if (mode !== 'push' && mode !== 'pull') throw virError(ErrorCode.XML_ERROR, `unknown backup mode '${mode}'`, ErrorDomain.DOMAIN);
  const incremental = child(root, 'incremental')?.text.trim();
  const disks = (child(root, 'disks')?.children ?? []).filter((d) => d.name === 'disk').map((el): BackupDisk => {
    const name = el.attrs.name;
    if (name === undefined) throw virError(ErrorCode.XML_ERROR, 'missing name from disk backup element', ErrorDomain.DOMAIN);
    const type = el.attrs.type ?? 'file';
    if (type !== 'file' && type !== 'block') throw virError(ErrorCode.XML_ERROR, `unsupported disk backup type '${type}'`, ErrorDomain.DOMAIN);
    const store = child(el, mode === 'push' ? 'target' : 'scratch');
    const path = type === 'block' ? store?.attrs.dev : store?.attrs.file;
    const backupmode = el.attrs.backupmode as BackupDisk['backupmode'];
    return {
      name, backup: el.attrs.backup !== 'no', type,
      ...(el.attrs.incremental !== undefined ? { incremental: el.attrs.incremental } : {}),
      ...(backupmode !== undefined ? { backupmode } : {}),
      ...(path !== undefined ? { path } : {}),
      ...(child(el, 'driver')?.attrs.type !== undefined ? { format: child(el, 'driver')!.attrs.type } : {}),
    };
  });
  return { mode, ...(incremental ? { incremental } : {}), disks };
}

/**
 * virDomainBackupAlignDisks: the disks asked for, or every writable one with
 * media when none is named; a disk without a target file gets the image's
 * path with `suffix` (the checkpoint's name, or the time).
 */
function alignBackupDisks(req: BackupRequest, def: XmlElement, suffix: string): BackupDisk[] {
  const domDisks = disksOf(def);
  if (domDisks.length === 0) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'domain must have at least one disk to perform backup');
  const assignStore = (d: BackupDisk, disk: XmlElement) => {
    const src = sourcePathOf(disk);
    if (src === undefined) {
      if (d.path !== undefined) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `disk '${d.name}' has no media`);
    } else if (d.path === undefined) {
      if ((disk.attrs.type ?? 'file') !== 'file') throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `refusing to generate file name for disk '${d.name}'`);
      d.path = `${src}.${suffix}`;
    }
  };
  const seen = new Set<string>();
  for (const d of req.disks) {
    const disk = domDisks.find((x) => targetOf(x) === d.name);
    if (!disk) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `no disk named '${d.name}'`);
    if (seen.has(d.name)) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `disk '${d.name}' specified twice`);
    seen.add(d.name);
    if (d.backupmode === 'incremental' && d.incremental === undefined && req.incremental === undefined) {
      throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, `'incremental' backup mode of disk '${d.name}' requires setting 'incremental' field for disk or backup`);
    }
    if (d.backup) assignStore(d, disk);
  }
  const all = req.disks.length === 0;
  const out = [...req.disks];
  for (const disk of domDisks) {
    if (seen.has(targetOf(disk))) continue;
    const d: BackupDisk = { name: targetOf(disk), backup: all && sourcePathOf(disk) !== undefined && !child(disk, 'readonly'), type: 'file' };
    if (d.backup) assignStore(d, disk);
    out.push(d);
  }
  for (const d of out) {
    d.backupmode ??= req.incremental !== undefined || d.incremental !== undefined ? 'incremental' : 'full';
    if (d.backupmode === 'incremental') d.incremental ??= req.incremental;
    else delete d.incremental;
  }
  return out.filter((d) => d.backup);
}

/** A new storage id for an image opened after start (libvirt's node name counter). */
function nextNodeIndex(running: RunningDomain): number {
  let max = running.nodenameIndex;
  const walk = (el: XmlElement) => {
    const index = Number(el.attrs.index);
    if (el.name === 'source' || el.name === 'backingStore') if (index > max) max = index;
    el.children.forEach(walk);
  };
  disksOf(running.live).forEach(walk);
  running.nodenameIndex = max + 1;
  return max + 1;
}

export class QemuBackup {
  constructor(private readonly driver: QemuDriver) {}

  /** qemuBackupBegin (push mode): the backup, and the checkpoint if one is asked for, in one transaction. */
  async begin(dom: DomainRef, backupXml: string, checkpointXml: string | undefined, flags: number): Promise<void> {
    checkFlags(flags, REUSE_EXTERNAL, 'qemuDomainBackupBegin');
    const req = parseBackupXML(backupXml);
    const checkpoints = new QemuCheckpoints(this.driver, () => undefined);
    const chk = checkpointXml !== undefined ? checkpoints.parseRequest(checkpointXml) : undefined;
    const suffix = chk?.name || String(Math.floor(Date.now() / 1000));
    const started = Date.now();
    const totals = await this.driver.runtime.withDomain(dom, async (obj, running) => {
      if (!running) throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, 'cannot perform disk backup for inactive domain');
      const disks = alignBackupDisks(req, running.live, suffix);
      if (req.mode === 'pull') throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, 'pull mode backup is not supported by tsvirt');
      const list = await checkpoints.metadata.load(obj.name);
      const actions: TransactionAction[] = [];
      const created = chk ? await checkpoints.prepareCreate(obj, list, running, chk, actions) : undefined;
      if (disks.length === 0) throw qemuError(ErrorCode.CONFIG_UNSUPPORTED, 'no disks selected for backup');
      const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
      const bitmaps = await bitmapsByNode(qmp);
      const sizes = new Map((await qmp.execute<{ 'node-name': string; image: { 'virtual-size': number } }[]>('query-named-block-nodes', { flat: true })).map((n) => [n['node-name'], n.image['virtual-size']]));
      const jobs: { job: string; added: string[]; tempBitmap?: { node: string; name: string } }[] = [];
      const made: string[] = [];
      try {
        for (const d of disks) {
          const disk = disksOf(running.live).find((x) => targetOf(x) === d.name)!;
          const device = formatNodeOf(disk);
          if (device === undefined) throw qemuError(ErrorCode.OPERATION_UNSUPPORTED, `block jobs are not supported on disk '${d.name}'`);
          d.format ??= 'qcow2';
          let bitmap: string | undefined;
          if (d.incremental !== undefined) {
            if (!list.find(d.incremental)) throw virError(ErrorCode.NO_DOMAIN_CHECKPOINT, `Checkpoint '${d.incremental}' for incremental backup of disk '${d.name}' not found`, ErrorDomain.QEMU);
            if (!(bitmaps.get(device) ?? []).some((b) => b.name === d.incremental)) {
              throw virError(ErrorCode.CHECKPOINT_INCONSISTENT, `missing or broken bitmap '${d.incremental}' for disk '${d.name}'`, ErrorDomain.QEMU);
            }
            // the checkpoint's bitmap copied into the one the job consumes (qemuBlockGetBitmapMergeActions)
            bitmap = `backup-${d.name}`;
            actions.push({ type: 'block-dirty-bitmap-add', data: { node: device, name: bitmap, persistent: false, disabled: true } });
            actions.push({ type: 'block-dirty-bitmap-merge', data: { node: device, target: bitmap, bitmaps: [{ node: device, name: d.incremental }] } });
          }
          const target = await this.openTarget(running, qmp, d, disk, sizes.get(device), (flags & REUSE_EXTERNAL) !== 0, made);
          const job = `backup-${d.name}-${device}`;
          jobs.push({ job, added: target, ...(bitmap ? { tempBitmap: { node: device, name: bitmap } } : {}) });
          actions.push({ type: 'blockdev-backup', data: { device, 'job-id': job, target: target[0]!, sync: bitmap ? 'incremental' : 'full', ...(bitmap ? { bitmap } : {}), 'auto-finalize': true, 'auto-dismiss': false } });
        }
        await qmp.execute('transaction', { actions });
        if (created) await checkpoints.metadata.write(obj.name, created);
        return { total: await this.conclude(qmp, jobs), dom: refOf(obj) };
      } catch (e) {
        for (const file of made) await rm(file, { force: true });
        throw e;
      } finally {
        for (const { added, tempBitmap } of jobs) {
          for (const node of added) await qmp.execute('blockdev-del', { 'node-name': node }).catch(() => undefined);
          if (tempBitmap) await qmp.execute('block-dirty-bitmap-remove', tempBitmap).catch(() => undefined);
        }
      }
    });
    this.driver.runtime.queueEvent({
      key: 'domainEventCallbackJobCompleted',
      body: {
        dom: totals.dom,
        // qemuDomainBackupJobDataToParams: the disk figures only once there are some
        params: [
          typedParam.int('operation', OPERATION_BACKUP),
          typedParam.ullong('time_elapsed', Date.now() - started),
          ...(totals.total > 0 ? [typedParam.ullong('disk_total', totals.total), typedParam.ullong('disk_processed', totals.total), typedParam.ullong('disk_remaining', 0)] : []),
          typedParam.boolean('success', true),
        ],
      },
    });
  }

  /**
   * The target image, created as libvirt does unless reused (qcow2 of the
   * disk's size; an incremental one on the disk's image as its backing),
   * labelled for QEMU and opened as new nodes; returns them format node first.
   */
  private async openTarget(running: RunningDomain, qmp: QmpClient, d: BackupDisk, disk: XmlElement, size: number | undefined, reuse: boolean, made: string[]): Promise<string[]> {
    const path = d.path!;
    if (!reuse && d.type === 'file') {
      if (existsSync(path)) throw virError(ErrorCode.INVALID_ARG, `store '${path}' for backup of '${d.name}' exists`, ErrorDomain.QEMU);
      if (size === undefined) throw qemuError(ErrorCode.INTERNAL_ERROR, `cannot find the size of disk '${d.name}'`);
      const src = sourcePathOf(disk);
      const backing = d.incremental !== undefined && d.format === 'qcow2' && src !== undefined ? ['-F', child(disk, 'driver')?.attrs.type ?? 'raw', '-b', src, '-u'] : [];
      await runCommand(['qemu-img', 'create', '-q', '-f', d.format!, ...backing, path, String(size)], ErrorDomain.QEMU);
      made.push(path);
    }
    const store = element('disk', { type: d.type }, [element('driver', { type: d.format! }), element('source', d.type === 'block' ? { dev: path } : { file: path })]);
    await this.driver.runtime.security.labelDevice(running.name, running.live, store);
    const index = nextNodeIndex(running);
    const storage = `libvirt-${index}-storage`;
    const format = `libvirt-${index}-format`;
    await qmp.execute('blockdev-add', { driver: d.type === 'block' ? 'host_device' : 'file', filename: path, 'node-name': storage, 'auto-read-only': true, discard: 'unmap' });
    try {
      // a full backup has no backing; an incremental one reads unchanged clusters from the disk itself
      await qmp.execute('blockdev-add', { 'node-name': format, 'read-only': false, driver: d.format!, file: storage, ...(d.format === 'qcow2' ? { backing: d.incremental !== undefined ? formatNodeOf(disk)! : null } : {}) });
    } catch (e) {
      await qmp.execute('blockdev-del', { 'node-name': storage }).catch(() => undefined);
      throw e;
    }
    return [format, storage];
  }

  /** Waits for the jobs to conclude: their errors fail the call (libvirt's job failure), their totals go to the event. */
  private async conclude(qmp: QmpClient, jobs: { job: string }[]): Promise<number> {
    type JobInfo = { id: string; status: string; 'total-progress': number; error?: string };
    const deadline = Date.now() + BACKUP_TIMEOUT_MS;
    let states: JobInfo[];
    for (;;) {
      states = await qmp.execute<JobInfo[]>('query-jobs');
      // auto-dismiss is off: a job stays listed, 'concluded', until dismissed below
      if (jobs.every(({ job }) => (states.find((s) => s.id === job)?.status ?? 'concluded') === 'concluded')) break;
      if (Date.now() > deadline) throw qemuError(ErrorCode.OPERATION_TIMEOUT, 'backup did not finish in time');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let total = 0;
    for (const { job } of jobs) {
      const state = states.find((s) => s.id === job);
      await qmp.execute('job-dismiss', { id: job }).catch(() => undefined);
      if (state?.error) throw qemuError(ErrorCode.OPERATION_FAILED, `backup of disk failed: ${state.error}`);
      total += state?.['total-progress'] ?? 0;
    }
    return total;
  }

  /** qemuBackupGetXMLDesc: the backup job running; tsvirt's end inside backup-begin leaves none to show. */
  async xml(dom: DomainRef, flags: number): Promise<string> {
    checkFlags(flags, 0, 'qemuDomainBackupGetXMLDesc');
    await this.driver.objectOf(dom);
    throw virError(ErrorCode.NO_DOMAIN_BACKUP, 'no domain backup job present', ErrorDomain.QEMU);
  }
}
