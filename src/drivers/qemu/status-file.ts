// The status file of a running domain: STATE_DIR/NAME.xml in libvirt's
// <domstatus> format, holding what a later process needs to take the domain
// over again: the live XML, QEMU's pid and the QMP socket. It is written
// atomically (temp + fsync + rename), so a crash leaves the old or the new one.
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { DomainState } from '../../driver/flags.js';
import { ATOMIC_TEMP_PREFIX, fsyncDir, unlinkDurable, writeFileAtomic } from '../../util/atomic-file.js';
import { checkReadableBack, child, childText, element, formatXml, parseXml, type XmlElement } from '../../util/xml.js';
import { isTaint, TAINTS, type TaintRecord } from './taint.js';

export interface DomainStatus {
  state: DomainState;
  reason: number;
  pid: number;
  /** /proc start time of the pid, so that a reused pid is not mistaken for QEMU. */
  startTime: number;
  monitorPath: string;
  /** A reboot is in progress: the guest's next power-off resets it instead (libvirt's <fakereboot/>). */
  fakeReboot: boolean;
  /** The guest agent timeout set by guest-agent-timeout (libvirt's <agentTimeout>), absent for the default. */
  agentTimeout?: number;
  /** The live definition, <domain ... id='N'>. */
  domain: XmlElement;
  /** The block jobs tsvirt started and has not finished yet (block-jobs.ts), libvirt's <blockjobs> of the private data. */
  blockJobs?: XmlElement;
  /** The highest storage id (libvirt-N-*) given to an image after start, never reused (libvirt's <nodename index>). */
  nodenameIndex?: number;
  /** The guest CPU before QEMU's view was taken in, when that changed it (libvirt's private <cpu>). */
  origCpu?: XmlElement;
  /** Its taints and deprecations (libvirt's <taint flag=...> and <deprecation>), absent when none. */
  taint?: TaintRecord;
  /** Storage ids whose block threshold was set by index (libvirt's <thresholdEvent indexUsed='yes'/> of a source). */
  thresholdIndexed?: ReadonlySet<number>;
}

/** virDomainStateTypeToString */
const STATE_NAMES = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'];

/** virDomain*ReasonTypeToString, indexed by state. */
const REASON_NAMES: Partial<Record<DomainState, string[]>> = {
  [DomainState.RUNNING]: ['unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled', 'save canceled', 'wakeup', 'crashed', 'post-copy', 'post-copy failed'],
  [DomainState.PAUSED]: ['unknown', 'user', 'migration', 'save', 'dump', 'ioerror', 'watchdog', 'from snapshot', 'shutdown', 'snapshot', 'panicked', 'starting up', 'post-copy', 'post-copy failed', 'api error'],
  [DomainState.SHUTDOWN]: ['unknown', 'user'],
  [DomainState.SHUTOFF]: ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  [DomainState.CRASHED]: ['unknown', 'panicked'],
  [DomainState.PMSUSPENDED]: ['unknown'],
};

export function statusFilePath(stateDir: string, name: string): string {
  return path.join(stateDir, `${name}.xml`);
}

export function formatStatus(status: DomainStatus): string {
  const root = element('domstatus', {
    state: STATE_NAMES[status.state],
    reason: REASON_NAMES[status.state]?.[status.reason] ?? 'unknown',
    pid: String(status.pid),
    starttime: String(status.startTime),
  }, [
    ...TAINTS.filter(([name]) => status.taint?.taints.has(name)).map(([name]) => element('taint', { flag: name })),
    ...(status.taint?.deprecations ?? []).map((text) => element('deprecation', {}, [], text)),
    element('monitor', { path: status.monitorPath, type: 'unix' }),
    ...(status.fakeReboot ? [element('fakereboot')] : []),
    ...(status.blockJobs && status.blockJobs.children.length > 0 ? [status.blockJobs] : []),
    ...(status.agentTimeout !== undefined ? [element('agentTimeout', {}, [], String(status.agentTimeout))] : []),
    ...(status.nodenameIndex ? [element('nodename', { index: String(status.nodenameIndex) })] : []),
    ...(status.origCpu ? [status.origCpu] : []),
    ...[...(status.thresholdIndexed ?? [])].map((index) => element('thresholdEvent', { index: String(index), indexUsed: 'yes' })),
    status.domain,
  ]);
  return formatXml(root);
}

export function parseStatus(text: string): DomainStatus {
  const root = parseXml(text);
  const monitor = child(root, 'monitor');
  const domain = child(root, 'domain');
  const state = STATE_NAMES.indexOf(root.attrs.state ?? '');
  const pid = Number(root.attrs.pid);
  if (root.name !== 'domstatus' || !monitor?.attrs.path || !domain || state < 0 || !Number.isInteger(pid) || pid <= 0) {
    throw new Error('malformed domain status file');
  }
  const reason = REASON_NAMES[state as DomainState]?.indexOf(root.attrs.reason ?? '') ?? -1;
  return {
    state,
    reason: Math.max(reason, 0),
    pid,
    startTime: Number(root.attrs.starttime ?? 0) || 0,
    monitorPath: monitor.attrs.path,
    fakeReboot: child(root, 'fakereboot') !== undefined,
    ...agentTimeoutOf(root),
    domain,
    ...(child(root, 'blockjobs') ? { blockJobs: child(root, 'blockjobs') } : {}),
    ...(Number(child(root, 'nodename')?.attrs.index) > 0 ? { nodenameIndex: Number(child(root, 'nodename')!.attrs.index) } : {}),
    ...(child(root, 'cpu') ? { origCpu: child(root, 'cpu') } : {}),
    ...taintOf(root),
    ...thresholdIndexedOf(root),
  };
}

function thresholdIndexedOf(root: XmlElement): { thresholdIndexed?: Set<number> } {
  const ids = root.children.filter((c) => c.name === 'thresholdEvent' && c.attrs.indexUsed === 'yes').map((c) => Number(c.attrs.index)).filter((n) => Number.isInteger(n) && n > 0);
  return ids.length > 0 ? { thresholdIndexed: new Set(ids) } : {};
}

/** virDomainObjParseXML: unknown taint names are skipped, as libvirt skips them. */
function taintOf(root: XmlElement): { taint?: TaintRecord } {
  const taints = root.children.filter((c) => c.name === 'taint').map((c) => c.attrs.flag ?? '').filter(isTaint);
  const deprecations = root.children.filter((c) => c.name === 'deprecation').map((c) => c.text);
  return taints.length + deprecations.length > 0 ? { taint: { taints: new Set(taints), deprecations } } : {};
}

function agentTimeoutOf(root: XmlElement): { agentTimeout?: number } {
  const value = childText(root, 'agentTimeout')?.trim();
  return value !== undefined && /^-?\d+$/.test(value) ? { agentTimeout: Number(value) } : {};
}

export async function writeStatus(stateDir: string, name: string, status: DomainStatus): Promise<void> {
  const text = formatStatus(status);
  checkReadableBack(text, `the status of domain '${name}'`);
  await writeFileAtomic(statusFilePath(stateDir, name), text);
}

export async function removeStatus(stateDir: string, name: string): Promise<void> {
  await unlinkDurable(statusFilePath(stateDir, name));
}

/**
 * Reports status files that cannot be read (a half-written file cannot
 * exist: writes are atomic; this is damage from outside). They are kept:
 * the QEMU they name may still run, and deleting the file would lose it.
 */
export async function reportBrokenStatuses(stateDir: string, warn: (message: string) => void): Promise<void> {
  const { broken } = await loadStatuses(stateDir);
  for (const name of broken) {
    warn(`Failed to load status file '${statusFilePath(stateDir, name)}': domain '${name}' is treated as shut off`);
  }
}

/**
 * Every status file in `stateDir`, by domain name. Unreadable or malformed
 * files are reported separately so the caller can log and remove them.
 */
export async function loadStatuses(stateDir: string): Promise<{ statuses: Map<string, DomainStatus>; broken: string[] }> {
  const statuses = new Map<string, DomainStatus>();
  const broken: string[] = [];
  let names: string[];
  try {
    // every driver open reads the folder: synchronously, a few small files cost less than thread-pool round trips
    names = readdirSync(stateDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { statuses, broken };
    throw e;
  }
  for (const file of names.sort()) {
    if (!file.endsWith('.xml') || file.startsWith(ATOMIC_TEMP_PREFIX)) continue;
    const name = file.slice(0, -'.xml'.length);
    try {
      statuses.set(name, parseStatus(readFileSync(path.join(stateDir, file), 'utf8')));
    } catch {
      broken.push(name);
    }
  }
  return { statuses, broken };
}

// A shut-off domain has no status file, yet `domstate --reason` in a later
// process must still say why it stopped (libvirt's daemon keeps that in
// memory). STATE_DIR/NAME.shutoff holds the reason and the domain's UUID (a
// later domain of the same name does not inherit it); written atomically when
// QEMU stops, removed when the domain starts again.

export function shutoffReasonPath(stateDir: string, name: string): string {
  return path.join(stateDir, `${name}.shutoff`);
}

export async function writeShutoffReason(stateDir: string, name: string, uuid: string, reason: number): Promise<void> {
  await writeFileAtomic(shutoffReasonPath(stateDir, name), `${REASON_NAMES[DomainState.SHUTOFF]![reason] ?? 'unknown'} ${uuid}\n`);
}

export async function removeShutoffReason(stateDir: string, name: string): Promise<void> {
  // most domains have none (undefine asks every time): a plain unlink answers that without a thread-pool round trip
  try {
    unlinkSync(shutoffReasonPath(stateDir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await fsyncDir(stateDir);
}

/** What `read` returns, or `fallback` when it throws. */
function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** The recorded shutoff reasons (ShutoffReason values) by domain UUID. */
export async function loadShutoffReasons(stateDir: string): Promise<Map<string, number>> {
  const reasons = new Map<string, number>();
  // synchronous for the reason loadStatuses is
  for (const file of readOr(() => readdirSync(stateDir), [] as string[])) {
    if (!file.endsWith('.shutoff') || file.startsWith(ATOMIC_TEMP_PREFIX)) continue;
    const [reason, uuid] = readOr(() => readFileSync(path.join(stateDir, file), 'utf8'), '').trim().split(/ (?=[^ ]+$)/);
    const value = REASON_NAMES[DomainState.SHUTOFF]!.indexOf(reason ?? '');
    if (uuid && value >= 0) reasons.set(uuid.toLowerCase(), value);
  }
  return reasons;
}
