// Block jobs (virDomainBlockCopy/Rebase/Pull/Commit, virDomainGetBlockJobInfo,
// virDomainBlockJobAbort/SetSpeed) as libvirt 9.0 drives them with -blockdev:
// QEMU runs blockdev-mirror, block-commit and block-stream jobs named
// "copy|commit|pull-<dst>-libvirt-N-format", finalized automatically and
// dismissed by tsvirt once it has taken their outcome into the live XML.
//
// A job's record (what it commits into, whether the copy is shallow, whether
// a pivot or an abort was asked for) lives in the status file, so that any
// later process (every tsvirsh call, or tsvirtd) can finish it: settle() reads
// QEMU's jobs, and for every job that reached "ready" or "concluded" updates
// the disk (<mirror ready=...>, the chain after a pivot, commit or pull), drops
// the nodes no longer used, and emits libvirt's block job events.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, element, parseXml, type XmlElement } from '../../util/xml.js';
import { TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { backingOf, diskChain, lookupChainLayer, setBackingStore, type ChainLayer } from './backing-chain.js';
import { blockdevChain } from './hotplug.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';

const run = promisify(execFile);

/** virDomainBlockJobType */
export enum BlockJobType { PULL = 1, COPY = 2, COMMIT = 3, ACTIVE_COMMIT = 4 }
/** virConnectDomainEventBlockJobStatus */
export enum BlockJobStatus { COMPLETED = 0, FAILED = 1, CANCELED = 2, READY = 3 }

/** virDomainBlockJobAbortFlags */
const ABORT_ASYNC = 1 << 0;
const ABORT_PIVOT = 1 << 1;
/** VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES == VIR_DOMAIN_BLOCK_JOB_SPEED_BANDWIDTH_BYTES */
const JOB_BANDWIDTH_BYTES = 1 << 0;
/** virDomainBlockPullFlags */
const PULL_BANDWIDTH_BYTES = 1 << 6;
/** virDomainBlockRebaseFlags */
const REBASE_SHALLOW = 1 << 0;
const REBASE_REUSE_EXT = 1 << 1;
const REBASE_COPY_RAW = 1 << 2;
const REBASE_COPY = 1 << 3;
const REBASE_RELATIVE = 1 << 4;
const REBASE_COPY_DEV = 1 << 5;
const REBASE_BANDWIDTH_BYTES = 1 << 6;
/** virDomainBlockCopyFlags */
const COPY_SHALLOW = 1 << 0;
const COPY_REUSE_EXT = 1 << 1;
const COPY_TRANSIENT_JOB = 1 << 2;
const COPY_SYNCHRONOUS_WRITES = 1 << 3;
/** virDomainBlockCommitFlags */
const COMMIT_SHALLOW = 1 << 0;
const COMMIT_DELETE = 1 << 1;
const COMMIT_ACTIVE = 1 << 2;
const COMMIT_RELATIVE = 1 << 3;
const COMMIT_BANDWIDTH_BYTES = 1 << 4;

/** LLONG_MAX >> 20: the largest MiB/s bandwidth that fits in bytes/s */
const MAX_MIB_BANDWIDTH = (2n ** 63n - 1n) >> 20n;
/** How long an abort or pivot waits for QEMU to end the job. */
const JOB_END_TIMEOUT_MS = 60_000;

const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);
const invalid = (message: string) => virError(ErrorCode.OPERATION_INVALID, message, ErrorDomain.QEMU);

type JobKind = 'pull' | 'copy' | 'commit' | 'active-commit';
/** what was asked of a job beyond running (libvirt's qemuBlockjobState) */
type JobState = 'running' | 'ready' | 'pivoting' | 'aborting';

/** A job tsvirt started, as its status file keeps it. */
interface JobRecord {
  name: string;
  kind: JobKind;
  dst: string;
  state: JobState;
  /** storage id of the image the job works on (the disk's top; commit: the image committed) */
  top: number;
  /** commit, pull: the storage id of the base, if any */
  base?: number;
  /** copy: the copy shares the backing chain */
  shallow?: boolean;
  /** commit: the committed images' files go once the commit completed (VIR_DOMAIN_BLOCK_COMMIT_DELETE) */
  deleteImages?: boolean;
}

const TYPE_OF: Record<JobKind, BlockJobType> = { pull: BlockJobType.PULL, copy: BlockJobType.COPY, commit: BlockJobType.COMMIT, 'active-commit': BlockJobType.ACTIVE_COMMIT };

function recordsOf(dom: RunningDomain): JobRecord[] {
  return childrenNamed(dom.blockJobs ?? element('blockjobs'), 'blockjob').map((el) => ({
    name: el.attrs.name ?? '',
    kind: el.attrs.type as JobKind,
    dst: el.attrs.dst ?? '',
    state: (el.attrs.state ?? 'running') as JobState,
    top: Number(el.attrs.top),
    ...(el.attrs.base !== undefined ? { base: Number(el.attrs.base) } : {}),
    ...(el.attrs.shallow === 'yes' ? { shallow: true } : {}),
    ...(el.attrs.delete === 'yes' ? { deleteImages: true } : {}),
  }));
}

function saveRecords(dom: RunningDomain, records: JobRecord[]): void {
  dom.blockJobs = element('blockjobs', { active: 'yes' }, records.map((r) => element('blockjob', {
    name: r.name, type: r.kind, state: r.state, dst: r.dst, top: String(r.top),
    base: r.base === undefined ? undefined : String(r.base), shallow: r.shallow ? 'yes' : undefined, delete: r.deleteImages ? 'yes' : undefined,
  })));
}

/** QEMU's view of a job (query-jobs). */
interface QemuJob {
  id: string;
  status: string;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

/** QEMU's view of a block job (query-block-jobs). */
interface QemuBlockJob {
  device: string;
  len: number;
  offset: number;
  speed: number;
  ready: boolean;
}

/** qemuDomainDiskByName: by target name or by the path of its top image. */
function diskByName(live: XmlElement, name: string): XmlElement {
  const disks = childrenNamed(child(live, 'devices') ?? live, 'disk');
  const found = disks.find((d) => child(d, 'target')?.attrs.dev === name) ?? disks.find((d) => diskChain(d)[0]?.path === name);
  if (!found) throw invalidArg(`disk '${name}' not found in domain`);
  return found;
}

const dstOf = (disk: XmlElement) => child(disk, 'target')?.attrs.dev ?? '';
const nodeOf = (index: number) => `libvirt-${index}-format`;

/** Bandwidth in bytes/s from an API's MiB/s unless the call says bytes. */
function bandwidthBytes(bandwidth: bigint, bytes: boolean): bigint {
  if (bytes) return bandwidth;
  if (bandwidth > MAX_MIB_BANDWIDTH) throw virError(ErrorCode.OVERFLOW, `bandwidth must be less than ${MAX_MIB_BANDWIDTH}`, ErrorDomain.QEMU);
  return bandwidth << 20n;
}

/** The copy destination of virDomainBlockCopy's XML: <disk type=file|block><source file|dev/><driver type/></disk>. */
interface MirrorSpec {
  type: 'file' | 'block';
  path: string;
  format: string | undefined;
}

function parseDestination(xml: string): MirrorSpec {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    throw virError(ErrorCode.XML_ERROR, (e as Error).message, ErrorDomain.QEMU);
  }
  const type = root.attrs.type ?? 'file';
  const source = child(root, 'source');
  const file = type === 'block' ? source?.attrs.dev : source?.attrs.file;
  if (root.name !== 'disk' || (type !== 'file' && type !== 'block')) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported disk type '${type}' for block copy destination`, ErrorDomain.QEMU);
  if (!file) throw invalidArg('block copy destination has no source path');
  return { type, path: file, format: child(root, 'driver')?.attrs.type };
}

export class QemuBlockJobs {
  constructor(private readonly driver: QemuDriver) {}

  private get rt() {
    return this.driver.runtime;
  }

  /** Runs `fn` on the running domain with its monitor and its jobs settled first. */
  private withJobs<T>(dom: DomainRef, fn: (running: RunningDomain, qmp: QmpClient) => Promise<T>): Promise<T> {
    return this.rt.withRunning(dom, async (_obj, running) => {
      const qmp = await this.rt.runtime.ensureMonitor(running);
      await this.settle(running, qmp);
      return fn(running, qmp);
    });
  }

  private async save(running: RunningDomain): Promise<void> {
    await this.rt.runtime.saveStatus(running);
  }

  private event(running: RunningDomain, disk: XmlElement, type: BlockJobType, status: BlockJobStatus): void {
    const dom = running.ref();
    const path = diskChain(disk)[0]?.path ?? dstOf(disk);
    this.rt.queueEvent({ key: 'domainEventCallbackBlockJob', body: { msg: { dom, path, type, status } } });
    this.rt.queueEvent({ key: 'domainEventBlockJob2', body: { dom, dst: dstOf(disk), type, status } });
  }

  /** qemuDomainDiskBlockJobIsActive */
  private checkIdle(running: RunningDomain, disk: XmlElement): void {
    const dst = dstOf(disk);
    if (child(disk, 'mirror') || recordsOf(running).some((r) => r.dst === dst)) {
      throw virError(ErrorCode.BLOCK_COPY_ACTIVE, `disk '${dst}' already in active block job`, ErrorDomain.QEMU);
    }
  }

  private jobOf(running: RunningDomain, disk: XmlElement): JobRecord {
    const job = recordsOf(running).find((r) => r.dst === dstOf(disk));
    if (!job) throw invalidArg(`disk ${dstOf(disk)} does not have an active block job`);
    return job;
  }

  private setRecord(running: RunningDomain, job: JobRecord): void {
    saveRecords(running, [...recordsOf(running).filter((r) => r.name !== job.name), job]);
  }

  // ---- finishing jobs ---------------------------------------------------------

  /**
   * Takes the outcome of every job QEMU has made ready or concluded into the
   * live XML (qemuBlockJobUpdate): a ready mirror is marked, a concluded job
   * rewrites the chain (or drops its mirror), is dismissed and reported.
   */
  async settle(running: RunningDomain, qmp: QmpClient): Promise<void> {
    const records = recordsOf(running);
    if (records.length === 0) return;
    const jobs = new Map((await qmp.execute<QemuJob[]>('query-jobs')).map((j) => [j.id, j]));
    let changed = false;
    for (const job of records) {
      const disk = childrenNamed(child(running.live, 'devices')!, 'disk').find((d) => dstOf(d) === job.dst);
      const qemuJob = jobs.get(job.name);
      if (!disk) {
        saveRecords(running, recordsOf(running).filter((r) => r.name !== job.name));
        changed = true;
        continue;
      }
      if (qemuJob?.status === 'ready' && job.state === 'running') {
        job.state = 'ready';
        this.setRecord(running, job);
        const mirror = child(disk, 'mirror');
        if (mirror) mirror.attrs = { ...mirror.attrs, ready: 'yes' };
        this.event(running, disk, TYPE_OF[job.kind], BlockJobStatus.READY);
        changed = true;
      } else if (!qemuJob || qemuJob.status === 'concluded' || qemuJob.status === 'null') {
        await this.conclude(running, qmp, disk, job, qemuJob);
        changed = true;
      }
    }
    if (changed) await this.save(running);
  }

  private async conclude(running: RunningDomain, qmp: QmpClient, disk: XmlElement, job: JobRecord, qemuJob: QemuJob | undefined): Promise<void> {
    const failed = !qemuJob || qemuJob.error !== undefined;
    let status: BlockJobStatus;
    let dropped: ChainLayer[] = [];
    const chain = diskChain(disk);
    const layer = (index: number | undefined) => chain.find((l) => l.index === index);
    if (job.state === 'aborting' || (failed && job.state !== 'pivoting' && qemuJob?.error === 'Operation canceled')) {
      status = BlockJobStatus.CANCELED;
    } else if (failed) {
      status = BlockJobStatus.FAILED;
    } else {
      status = BlockJobStatus.COMPLETED;
    }
    const mirror = child(disk, 'mirror');
    if (status === BlockJobStatus.COMPLETED) {
      const top = layer(job.top);
      const base = layer(job.base);
      if (job.kind === 'pull' && top) {
        dropped = chain.slice(chain.indexOf(top) + 1, base ? chain.indexOf(base) : chain.length);
        setBackingStore(top.holder, base ? base.holder : element('backingStore'));
      } else if (job.kind === 'commit' && top && base) {
        const above = chain[chain.indexOf(top) - 1]!;
        dropped = chain.slice(chain.indexOf(top), chain.indexOf(base));
        setBackingStore(above.holder, base.holder);
      } else if (job.kind === 'active-commit' && base) {
        dropped = chain.slice(0, chain.indexOf(base));
        await this.rewriteConfigSource(running, job.dst, chain[0]!.path, base.holder, base.format);
        this.pivotTo(disk, base.holder, base.format);
      } else if (job.kind === 'copy' && mirror && job.state === 'pivoting') {
        const newTop = child(mirror, 'source')!;
        const format = child(mirror, 'format')?.attrs.type ?? 'raw';
        const path = mirror.attrs.type === 'block' ? newTop.attrs.dev! : newTop.attrs.file!;
        const below = job.shallow && backingOf(path, format) !== null ? child(disk, 'backingStore') : element('backingStore');
        dropped = job.shallow ? chain.slice(0, 1) : chain;
        const holder = element('backingStore', { type: mirror.attrs.type ?? 'file' }, [element('format', { type: format }), newTop, ...(below ? [below] : [])]);
        await this.rewriteConfigSource(running, job.dst, chain[0]!.path, holder, format);
        this.pivotTo(disk, holder, format);
      } else if (job.kind === 'copy' && mirror) {
        // a finished copy that was not pivoted: the destination is let go
        status = BlockJobStatus.CANCELED;
      }
    }
    // a copy that did not become the disk leaves its nodes behind
    const mirrorIndex = Number(child(mirror ?? element('x'), 'source')?.attrs.index);
    const mirrorKept = job.kind === 'copy' && status === BlockJobStatus.COMPLETED;
    if (mirror) disk.children.splice(disk.children.indexOf(mirror), 1);
    if (qemuJob) await qmp.execute('job-dismiss', { id: job.name }).catch(() => undefined);
    for (const index of [...dropped.map((l) => l.index), ...(job.kind === 'copy' && !mirrorKept && mirrorIndex > 0 ? [mirrorIndex] : [])]) {
      if (index === undefined) continue;
      await qmp.execute('blockdev-del', { 'node-name': nodeOf(index) }).catch(() => undefined);
      await qmp.execute('blockdev-del', { 'node-name': `libvirt-${index}-storage` }).catch(() => undefined);
    }
    // qemuBlockJobDeleteImages: the local files of what a commit merged away
    if (job.deleteImages && status === BlockJobStatus.COMPLETED) {
      for (const layer of dropped) if ((layer.holder.attrs.type ?? 'file') === 'file' && layer.path) await rm(layer.path, { force: true }).catch(() => undefined);
    }
    saveRecords(running, recordsOf(running).filter((r) => r.name !== job.name));
    this.event(running, disk, TYPE_OF[job.kind], status);
  }

  /**
   * qemuBlockJobRewriteConfigDiskSource: when the persistent definition's disk
   * still names the image the running disk had on top (`oldTop`), it names the
   * image of `holder` instead. Images detected below it are not written there,
   * the end of a chain (<backingStore/>) is.
   */
  private async rewriteConfigSource(running: RunningDomain, dst: string, oldTop: string | undefined, holder: XmlElement, format: string): Promise<void> {
    const obj = this.driver.store.findByName(running.name);
    if (!obj?.persistent) return;
    const persistent = cloneElement(obj.newDef ?? obj.def);
    const disk = childrenNamed(child(persistent, 'devices')!, 'disk').find((d) => dstOf(d) === dst);
    if (!disk || oldTop === undefined || diskChain(disk)[0]?.path !== oldTop) return;
    const { index: _runtimeId, ...attrs } = child(holder, 'source')!.attrs;
    disk.attrs = { ...disk.attrs, type: holder.attrs.type ?? 'file' };
    const driver = child(disk, 'driver');
    if (driver) driver.attrs = { ...driver.attrs, type: format };
    disk.children.splice(disk.children.indexOf(child(disk, 'source')!), 1, element('source', attrs));
    const below = child(holder, 'backingStore');
    setBackingStore(disk, below && below.attrs.type === undefined ? element('backingStore') : undefined);
    await this.rt.savePersistent(persistent);
  }

  /** Makes the image of `holder` (a <backingStore> with its chain below) the disk's top image. */
  private pivotTo(disk: XmlElement, holder: XmlElement, format: string): void {
    // a top image's storage id goes on its <source>
    const { index, ...attrs } = child(holder, 'source')!.attrs;
    const storageId = holder.attrs.index ?? index;
    const source = element('source', { ...attrs, ...(storageId === undefined ? {} : { index: storageId }) }, child(holder, 'source')!.children);
    disk.attrs = { ...disk.attrs, type: holder.attrs.type ?? 'file' };
    const driver = child(disk, 'driver');
    if (driver) driver.attrs = { ...driver.attrs, type: format };
    disk.children.splice(disk.children.indexOf(child(disk, 'source')!), 1, source);
    setBackingStore(disk, child(holder, 'backingStore') ?? element('backingStore'));
  }

  /** Waits until QEMU has ended `job` (concluded, or gone). */
  private async waitJobEnd(qmp: QmpClient, job: string): Promise<void> {
    const deadline = Date.now() + JOB_END_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const state = (await qmp.execute<QemuJob[]>('query-jobs')).find((j) => j.id === job);
      if (!state || state.status === 'concluded' || state.status === 'null') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw virError(ErrorCode.OPERATION_TIMEOUT, `block job '${job}' did not end within ${JOB_END_TIMEOUT_MS / 1000} s`, ErrorDomain.QEMU);
  }

  // ---- the API ------------------------------------------------------------------

  /** qemuDomainGetBlockJobInfo: found 0 when the disk has no job. */
  async info(dom: DomainRef, path: string, flags: number) {
    checkFlags(flags, JOB_BANDWIDTH_BYTES, 'qemuDomainGetBlockJobInfo');
    return this.withJobs(dom, async (running, qmp) => {
      const disk = diskByName(running.live, path);
      const job = recordsOf(running).find((r) => r.dst === dstOf(disk));
      if (!job) return { found: 0, type: 0, bandwidth: 0n, cur: 0n, end: 0n };
      const raw = (await qmp.execute<QemuBlockJob[]>('query-block-jobs')).find((j) => j.device === job.name);
      let [cur, end] = raw ? [BigInt(raw.offset), BigInt(raw.len)] : [0n, 1n];
      // qemuBlockJobInfoTranslate: a job QEMU has not sized yet, and one not ready at 100 %
      if (raw && cur === 0n && end === 0n) [cur, end] = [raw.ready ? 1n : 0n, 1n];
      if (raw && !raw.ready && (job.kind === 'copy' || job.kind === 'active-commit') && cur === end && cur > 0n) cur -= 1n;
      let bandwidth = BigInt(raw?.speed ?? 0);
      if (!(flags & JOB_BANDWIDTH_BYTES) && bandwidth > 0n) bandwidth = (bandwidth + (1n << 20n) - 1n) >> 20n;
      return { found: 1, type: TYPE_OF[job.kind], bandwidth, cur, end };
    });
  }

  /** qemuDomainBlockJobSetSpeed */
  async setSpeed(dom: DomainRef, path: string, bandwidth: bigint, flags: number): Promise<void> {
    checkFlags(flags, JOB_BANDWIDTH_BYTES, 'qemuDomainBlockJobSetSpeed');
    const speed = bandwidthBytes(bandwidth, (flags & JOB_BANDWIDTH_BYTES) !== 0);
    await this.withJobs(dom, async (running, qmp) => {
      const job = this.jobOf(running, diskByName(running.live, path));
      await qmp.execute('block-job-set-speed', { device: job.name, speed: Number(speed) });
    });
  }

  /** qemuDomainBlockJobAbort: cancels a job, or with PIVOT switches the disk to a ready copy or commit base. */
  async abort(dom: DomainRef, path: string, flags: number): Promise<void> {
    checkFlags(flags, ABORT_ASYNC | ABORT_PIVOT, 'qemuDomainBlockJobAbort');
    await this.withJobs(dom, async (running, qmp) => {
      const disk = diskByName(running.live, path);
      const job = this.jobOf(running, disk);
      if (job.state === 'aborting' || job.state === 'pivoting') throw invalid(`block job on disk '${job.dst}' is still being ended`);
      const mirror = child(disk, 'mirror');
      if (flags & ABORT_PIVOT) {
        if (job.kind !== 'copy' && job.kind !== 'active-commit') throw invalid(`job type '${job.kind}' does not support pivot`);
        if (job.state !== 'ready') throw invalid(`block job '${job.name}' not ready for pivot yet`);
        await qmp.execute('job-complete', { id: job.name });
        job.state = 'pivoting';
        if (mirror) mirror.attrs = { ...mirror.attrs, ready: 'pivot' };
      } else {
        await qmp.execute('block-job-cancel', { device: job.name, force: false });
        job.state = 'aborting';
        if (mirror) mirror.attrs = { ...mirror.attrs, ready: 'abort' };
      }
      this.setRecord(running, job);
      await this.save(running);
      if (flags & ABORT_ASYNC) return;
      await this.waitJobEnd(qmp, job.name);
      const ended = (await qmp.execute<QemuJob[]>('query-jobs')).find((j) => j.id === job.name);
      await this.settle(running, qmp);
      if (flags & ABORT_PIVOT && ended?.error !== undefined) {
        throw virError(ErrorCode.OPERATION_FAILED, `block job '${job.name}' failed while pivoting: ${ended.error}`, ErrorDomain.QEMU);
      }
    });
  }

  /** qemuDomainBlockPull / qemuDomainBlockRebase without COPY: block-stream into the top image. */
  async pull(dom: DomainRef, path: string, base: string | null, bandwidth: bigint, flags: number, api: string): Promise<void> {
    const bytesFlag = api === 'qemuDomainBlockPull' ? PULL_BANDWIDTH_BYTES : REBASE_BANDWIDTH_BYTES;
    checkFlags(flags, bytesFlag | (api === 'qemuDomainBlockPull' ? 0 : REBASE_RELATIVE), api);
    if (flags & REBASE_RELATIVE && base === null && api !== 'qemuDomainBlockPull') throw invalidArg('flag VIR_DOMAIN_BLOCK_REBASE_RELATIVE is valid only with non-null base');
    await this.withJobs(dom, async (running, qmp) => {
      const disk = diskByName(running.live, path);
      this.checkIdle(running, disk);
      const top = diskChain(disk)[0]!;
      const baseLayer = base === null ? undefined : lookupChainLayer(disk, base, top);
      const speed = bandwidthBytes(bandwidth, (flags & bytesFlag) !== 0);
      const job: JobRecord = { name: `pull-${dstOf(disk)}-${nodeOf(top.index!)}`, kind: 'pull', dst: dstOf(disk), state: 'running', top: top.index!, ...(baseLayer ? { base: baseLayer.index! } : {}) };
      await qmp.execute('block-stream', {
        device: nodeOf(top.index!), 'job-id': job.name, ...(speed > 0n ? { speed: Number(speed) } : {}),
        ...(baseLayer ? { 'base-node': nodeOf(baseLayer.index!), 'backing-file': baseLayer.path } : {}),
        'auto-finalize': true, 'auto-dismiss': false,
      });
      this.setRecord(running, job);
      await this.save(running);
    });
  }

  /** qemuDomainBlockCommit: block-commit of `top` (default: the disk's top, which needs ACTIVE) into `base`. */
  async commit(dom: DomainRef, path: string, base: string | null, top: string | null, bandwidth: bigint, flags: number): Promise<void> {
    checkFlags(flags, COMMIT_SHALLOW | COMMIT_DELETE | COMMIT_ACTIVE | COMMIT_RELATIVE | COMMIT_BANDWIDTH_BYTES, 'qemuDomainBlockCommit');
    if (flags & COMMIT_RELATIVE) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'keeping relative backing paths (VIR_DOMAIN_BLOCK_COMMIT_RELATIVE) is not supported by tsvirt', ErrorDomain.QEMU);
    const speed = bandwidthBytes(bandwidth, (flags & COMMIT_BANDWIDTH_BYTES) !== 0);
    await this.withJobs(dom, async (running, qmp) => {
      const disk = diskByName(running.live, path);
      const chain = diskChain(disk);
      // the layers as this chain has them (lookups read the chain afresh)
      const inChain = (layer: ChainLayer) => chain.find((l) => l.holder === layer.holder)!;
      const topLayer = top === null || top === dstOf(disk) ? chain[0]! : inChain(lookupChainLayer(disk, top));
      const below = chain[chain.indexOf(topLayer) + 1];
      let baseLayer: ChainLayer | undefined;
      if (base === null && flags & COMMIT_SHALLOW) baseLayer = below;
      else if (base === null) {
        // the bottom of the chain (virStorageSourceChainLookup without a name)
        if (chain.at(-1) === topLayer) throw invalidArg(`could not find base image in chain for '${dstOf(disk)}'`);
        baseLayer = chain.at(-1);
      }
      else baseLayer = inChain(lookupChainLayer(disk, base, topLayer));
      if (chain[0]!.path === undefined) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `disk ${dstOf(disk)} has no source file to be committed`, ErrorDomain.QEMU);
      this.checkIdle(running, disk);
      const active = topLayer === chain[0];
      if (active && !(flags & COMMIT_ACTIVE)) throw invalidArg(`commit of '${dstOf(disk)}' active layer requires active flag`);
      if (!active && flags & COMMIT_ACTIVE) throw invalidArg(`active commit requested but '${topLayer.path ?? ''}' is not active`);
      if (!below || !baseLayer) throw invalidArg(`top '${topLayer.path ?? ''}' in chain for '${chain[0]!.path ?? ''}' has no backing file`);
      if (flags & COMMIT_SHALLOW && baseLayer !== below) {
        throw invalidArg(`base '${baseLayer.path ?? ''}' is not immediately below '${topLayer.path ?? ''}' in chain for '${chain[0]!.path ?? ''}'`);
      }
      const job: JobRecord = {
        name: `commit-${dstOf(disk)}-${nodeOf(topLayer.index!)}`, kind: active ? 'active-commit' : 'commit', dst: dstOf(disk), state: 'running',
        top: topLayer.index!, base: baseLayer.index!, ...(flags & COMMIT_DELETE ? { deleteImages: true } : {}),
      };
      await this.rt.security.labelDevice(running.name, running.live, disk);
      await qmp.execute('block-commit', {
        device: nodeOf(chain[0]!.index!), 'job-id': job.name, ...(speed > 0n ? { speed: Number(speed) } : {}),
        ...(active ? {} : { 'top-node': nodeOf(topLayer.index!) }), 'base-node': nodeOf(baseLayer.index!),
        ...(active || !baseLayer.path ? {} : { 'backing-file': baseLayer.path }),
        'auto-finalize': true, 'auto-dismiss': false,
      });
      if (active) {
        // the base is the mirror an active commit pivots to (libvirt's <mirror job='active-commit'>)
        const format = baseLayer.format;
        const source = cloneElement(child(baseLayer.holder, 'source')!);
        disk.children.splice(disk.children.indexOf(child(disk, 'backingStore') ?? child(disk, 'source')!) + 1, 0,
          element('mirror', { type: baseLayer.holder.attrs.type ?? 'file', job: 'active-commit' }, [element('format', { type: format }), source]));
      }
      this.setRecord(running, job);
      await this.save(running);
    });
  }

  /** qemuDomainBlockRebase: a pull, or with COPY a copy to `base` (the destination path). */
  async rebase(dom: DomainRef, path: string, base: string | null, bandwidth: bigint, flags: number): Promise<void> {
    if (!(flags & REBASE_COPY)) return this.pull(dom, path, base, bandwidth, flags, 'qemuDomainBlockRebase');
    checkFlags(flags, REBASE_SHALLOW | REBASE_REUSE_EXT | REBASE_COPY_RAW | REBASE_COPY | REBASE_COPY_DEV | REBASE_BANDWIDTH_BYTES | REBASE_RELATIVE, 'qemuDomainBlockRebase');
    if (flags & REBASE_RELATIVE) throw invalidArg('flag VIR_DOMAIN_BLOCK_REBASE_RELATIVE is valid only with non-null base');
    if (base === null) throw invalidArg('destination must not be NULL');
    const spec: MirrorSpec = { type: flags & REBASE_COPY_DEV ? 'block' : 'file', path: base, format: flags & REBASE_COPY_RAW ? 'raw' : undefined };
    const speed = bandwidthBytes(bandwidth, (flags & REBASE_BANDWIDTH_BYTES) !== 0);
    await this.startCopy(dom, path, spec, { speed }, (flags & REBASE_SHALLOW ? COPY_SHALLOW : 0) | (flags & REBASE_REUSE_EXT ? COPY_REUSE_EXT : 0));
  }

  /** qemuDomainBlockCopy: the destination as disk XML, the tuning as typed parameters. */
  async copy(dom: DomainRef, path: string, destxml: string, params: TypedParam[], flags: number): Promise<void> {
    checkFlags(flags, COPY_SHALLOW | COPY_REUSE_EXT | COPY_TRANSIENT_JOB | COPY_SYNCHRONOUS_WRITES, 'qemuDomainBlockCopy');
    const tuning: CopyTuning = { speed: 0n };
    for (const p of params) {
      const value = p.value.type === TypedParamType.ULLONG ? p.value.ul : p.value.type === TypedParamType.UINT ? BigInt(p.value.ui) : undefined;
      if (value === undefined || !['bandwidth', 'granularity', 'buf-size'].includes(p.field)) throw invalidArg(`parameter '${p.field}' is not supported or has the wrong type`);
      if (p.field === 'bandwidth') tuning.speed = value;
      if (p.field === 'granularity') {
        if (value < 512n || value > 64n << 20n || (value & (value - 1n)) !== 0n) throw invalidArg('granularity must be power of 2 between 512 bytes and 64 MiB');
        tuning.granularity = Number(value);
      }
      if (p.field === 'buf-size') tuning.bufSize = value;
    }
    if (flags & COPY_SYNCHRONOUS_WRITES) tuning.syncWrites = true;
    await this.startCopy(dom, path, parseDestination(destxml), tuning, flags);
  }

  /** qemuDomainBlockCopyCommon: creates (or reuses) the destination, opens it in QEMU and starts blockdev-mirror. */
  private async startCopy(dom: DomainRef, path: string, spec: MirrorSpec, tuning: CopyTuning, flags: number): Promise<void> {
    if (!spec.path.startsWith('/')) throw invalidArg('absolute path must be used as block copy target');
    await this.withJobs(dom, async (running, qmp) => {
      const disk = diskByName(running.live, path);
      this.checkIdle(running, disk);
      // a persistent domain restarted (managedsave) would come back without the mirror
      if (!(flags & COPY_TRANSIENT_JOB) && this.driver.store.findByName(running.name)?.persistent) throw invalid('domain is not transient');
      const chain = diskChain(disk);
      const top = chain[0]!;
      const reuse = (flags & COPY_REUSE_EXT) !== 0;
      const shallow = (flags & COPY_SHALLOW) !== 0 && chain.length > 1;
      const exists = existsSync(spec.path);
      if (shallow && !exists && spec.format === 'raw') throw virError(ErrorCode.CONFIG_UNSUPPORTED, `shallow copy of disk '${dstOf(disk)}' into a raw file is not possible`, ErrorDomain.QEMU);
      const isBlock = exists && statSync(spec.path).isBlockDevice();
      if (spec.type === 'block' && exists && !isBlock) throw invalidArg(`blockdev flag requested for disk ${dstOf(disk)}, but file '${spec.path}' is not a block device`);
      if (!reuse && spec.type === 'file' && exists && statSync(spec.path).size > 0) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, `external destination file for disk ${dstOf(disk)} already exists and is not a block device: ${spec.path}`, ErrorDomain.QEMU);
      }
      const format = spec.format ?? (reuse ? undefined : top.format) ?? 'raw';
      if (!reuse && spec.type === 'file') await this.createDestination(qmp, spec.path, format, top, shallow ? chain[1] : undefined);
      // the destination as the disk's new top, so that the command line names its nodes as it would at start;
      // its storage id is a new one, also after images were dropped (libvirt's node name counter)
      const index = Math.max(running.nodenameIndex, ...childrenNamed(child(running.live, 'devices')!, 'disk').flatMap((d) => diskChain(d).map((l) => l.index ?? 0))) + 1;
      running.nodenameIndex = index;
      const mirrorSource = element('source', spec.type === 'block' ? { dev: spec.path, index: String(index) } : { file: spec.path, index: String(index) });
      const probe = cloneElement(running.live);
      const probeDisk = childrenNamed(child(probe, 'devices')!, 'disk').find((d) => dstOf(d) === dstOf(disk))!;
      this.pivotTo(probeDisk, element('backingStore', { type: spec.type }, [element('format', { type: format }), mirrorSource,
        ...(shallow ? [cloneElement(child(disk, 'backingStore')!)] : [element('backingStore')])]), format);
      for (const c of [...probeDisk.children]) if (c.name === 'mirror') probeDisk.children.splice(probeDisk.children.indexOf(c), 1);
      const cmd = await this.rt.buildCommandLine(probe, running.id);
      const nodes = blockdevChain(cmd.args, nodeOf(index));
      if (nodes.length === 0) throw virError(ErrorCode.INTERNAL_ERROR, `no -blockdev for the copy of '${dstOf(disk)}'`, ErrorDomain.QEMU);
      // a reused image's own chain is what libvirt probes; one it created shares the disk's or has none
      const reusedEnd = reuse && backingOf(spec.path, format) === null ? [element('backingStore')] : [];
      const mirror = element('mirror', { type: spec.type, file: spec.path, format, job: 'copy' },
        [element('format', { type: format }), mirrorSource, ...reusedEnd]);
      await this.rt.security.labelDevice(running.name, running.live, element('disk', { type: spec.type }, [element('driver', { type: format }), element('source', spec.type === 'block' ? { dev: spec.path } : { file: spec.path })]));
      const added: string[] = [];
      try {
        for (const node of nodes) {
          await qmp.execute('blockdev-add', node);
          added.unshift(String(node['node-name']));
        }
        const job: JobRecord = { name: `copy-${dstOf(disk)}-${nodeOf(top.index!)}`, kind: 'copy', dst: dstOf(disk), state: 'running', top: top.index!, ...(shallow ? { shallow: true } : {}) };
        await qmp.execute('blockdev-mirror', {
          'job-id': job.name, device: nodeOf(top.index!), target: nodeOf(index),
          ...(tuning.speed > 0n ? { speed: Number(tuning.speed) } : {}),
          ...(tuning.granularity ? { granularity: tuning.granularity } : {}),
          ...(tuning.bufSize ? { 'buf-size': Number(tuning.bufSize) } : {}),
          sync: shallow ? 'top' : 'full', ...(tuning.syncWrites ? { 'copy-mode': 'write-blocking' } : {}),
          'auto-finalize': true, 'auto-dismiss': false,
        });
        this.setRecord(running, job);
      } catch (e) {
        for (const node of added) await qmp.execute('blockdev-del', { 'node-name': node }).catch(() => undefined);
        throw e;
      }
      disk.children.splice(disk.children.indexOf(child(disk, 'backingStore') ?? child(disk, 'source')!) + 1, 0, mirror);
      await this.save(running);
    });
  }

  /** Creates the copy's image as libvirt does when it is not reused: the disk's size, or on the shared backing image when shallow. */
  private async createDestination(qmp: QmpClient, path: string, format: string, top: ChainLayer, backing: ChainLayer | undefined): Promise<void> {
    const nodes = await qmp.execute<Array<{ 'node-name': string; image: { 'virtual-size': number } }>>('query-named-block-nodes', { flat: true });
    const size = nodes.find((n) => n['node-name'] === nodeOf(top.index!))?.image['virtual-size'];
    if (size === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `cannot find the size of '${top.path ?? ''}'`, ErrorDomain.QEMU);
    const backingArgs = backing?.path && format !== 'raw' ? ['-b', backing.path, '-F', backing.format] : [];
    try {
      await run('qemu-img', ['create', '-q', '-f', format, ...backingArgs, path, String(size)]);
    } catch (e) {
      throw virError(ErrorCode.OPERATION_FAILED, `cannot create '${path}': ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, ErrorDomain.QEMU);
    }
  }
}

interface CopyTuning {
  /** bytes/s, 0 for none */
  speed: bigint;
  granularity?: number;
  bufSize?: bigint;
  syncWrites?: boolean;
}
