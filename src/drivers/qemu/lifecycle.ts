// Running QEMU for a domain: start (paused with -S, QMP, then cont), stop,
// power management over QMP, on_poweroff / on_reboot / on_crash, and taking
// over domains another process started.
//
// tsvirt is an embedded driver: every tsvirsh process is its own "daemon", and
// QEMU outlives the process that started it. What the next process needs to
// find it again lives in the status file (status-file.ts). QEMU accepts one
// monitor client at a time, so a process connects to a domain's QMP only while
// it works on the domain, holding the domain lock, and disconnects afterwards
// (release()). What happens while nobody is connected (a guest that powered off
// or panicked, a QEMU that died) is found and acted on by refresh(), which every
// operation and every look at the domain list runs first.
//
// Inside tsvirtd the driver lives as long as the daemon (`longLived`), as
// libvirtd's does: it keeps every running domain's monitor connected and acts on
// QEMU's events when they come (watch()). Both modes report what happened as
// libvirt's domain events through RuntimeHost.emit.
import { constants } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DomainState, PausedReason, RunningReason, ShutoffReason } from '../../driver/flags.js';
import { CrashedDetail, DomainEventType, ResumedDetail, ShutdownDetail, StartedDetail, StoppedDetail, SuspendedDetail } from '../../driver/event-numbers.js';
import type { DriverEvent } from '../../driver/events.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { withFileLock } from '../../util/file-lock.js';
import { isProcessAlive, spawnDetached, terminateProcess, waitForExit } from '../../util/process.js';
import { child, childText, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { QmpClient, type QmpEvent } from './qmp.js';
import { escapeOptionValue } from '../../util/qemu-option.js';
import { createMonitorAlias, fitsUnixSocket, removeMonitorAlias } from './monitor-alias.js';
import { fillPtyPaths, type QmpChardevInfo } from './pty-paths.js';
import { applyBalloonPeriod } from './domain-stats.js';
import { applyThreadPinning } from './cpu-pinning.js';
import { plugHotpluggableVcpus } from './vcpu-hotplug.js';
import { monitorEvent } from './monitor-passthrough.js';
import { blockThresholdEvents } from './block-threshold.js';
import { agentLifecycleEvents, AgentLifecycleReason, applyPortStates, prepareLiveChannels } from './agent-channel.js';
import { recordMachinePartition } from './security/cgroup.js';
import { setupGuestCgroup } from './cgroup-setup.js';
import { loadStatuses, removeShutoffReason, removeStatus, statusFilePath, writeShutoffReason, writeStatus, type DomainStatus } from './status-file.js';
import { matchQemuProcess } from './security/process-identity.js';
import { GraphicsPorts } from './graphics-ports.js';
import type { QemuPaths } from './paths.js';
import type { DomainSecurity } from './security/domain-security.js';
import { DomainView, domainRuntimePaths, type QemuCommandLine } from './command-line/context.js';
import { recordStorageIds } from './command-line/disks.js';
import { detectBackingChains } from './backing-chain.js';
import { fillGraphicsListen } from './graphics-listen.js';
import type { TapDevices } from './tap-devices.js';
import { applyLinkStates } from './link-state.js';
import { applyDiskThrottling } from './disk-throttle.js';
import { startTaints, taintDomain, type Taint, type TaintRecord } from './taint.js';

/** libvirt's virProcessKillPainfully waits 10 s after SIGTERM before SIGKILL. */
export const DESTROY_GRACE_MS = 10_000;
/** How long shutdown/reboot wait for the guest to react to the power button. */
const POWER_BUTTON_WAIT_MS = 10_000;
/** How long a start may take until QMP answers (QEMU's own init, not the guest boot). */
const MONITOR_CONNECT_TIMEOUT_MS = 30_000;
/** How long a closed monitor waits for QEMU to exit before it counts as a lost connection only. */
const MONITOR_EOF_EXIT_WAIT_MS = 5_000;

/** What the runtime needs from the driver that owns the domains. */
export interface RuntimeHost {
  readonly paths: QemuPaths;
  /** QEMU's identity, file labels and cgroup (security/). */
  readonly security: DomainSecurity;
  /** The host taps of the domain's interfaces (tap-devices.ts). */
  readonly taps: TapDevices;
  /** The command line for a live definition; ids and addresses are already in `def`. */
  /** `masterKey`: the key a new QEMU gets (a running domain's is read from its folder). */
  buildCommandLine(def: XmlElement, domainId: number, masterKey?: Buffer): Promise<QemuCommandLine> | QemuCommandLine;
  /**
   * The domain stopped (any cause, in this or a previous process); `reason` is a
   * ShutoffReason. A transient domain should now disappear.
   */
  domainStopped(name: string, reason: ShutoffReason): void;
  /** Keeps monitors connected and acts on QEMU's events as they come (the driver inside tsvirtd). */
  longLived(): boolean;
  /** Hands a domain event to the driver's subscribers. */
  emit(event: DriverEvent): void;
  /** Serialises work on one domain with the API's operations (the domain lock). */
  withDomainLock<T>(uuid: string, fn: () => Promise<T>): Promise<T>;
  /** A QEMU job of the domain changed its status: block jobs take the outcome in (block-jobs.ts). */
  blockJobChanged(dom: RunningDomain): void;
  /** The live <cpu> from what the started QEMU gives the guest (live-guest-cpu.ts); the CPU it started with when QEMU changed it. */
  updateLiveCpu(live: XmlElement, qmp: QmpClient): Promise<XmlElement | undefined>;
  /** QEMU deleted a device of the domain: it leaves the live XML if still there (hotplug.ts). */
  deviceDeleted(dom: RunningDomain, alias: string): void;
}

/** One running QEMU as this process knows it. */
export class RunningDomain {
  qmp: QmpClient | undefined;
  /** A reboot API call is in progress: the next SHUTDOWN resets instead of stopping. */
  fakeReboot = false;
  /** This process is stopping QEMU on purpose; EOF is not a crash. */
  stopping = false;
  /** QEMU reported the guest's SHUTDOWN (reported once; the STOP after it is no pause, its EOF no crash). */
  shutdownSeen = false;
  /** The guest agent timeout in seconds (AGENT_WAIT_* or positive): guest-agent-timeout sets it. */
  agentTimeout = -1;
  /** The last status file write; the next one waits for it. */
  statusWrite: Promise<void> = Promise.resolve();
  /** The block jobs not finished yet (block-jobs.ts), kept in the status file. */
  blockJobs: XmlElement | undefined;
  /** The highest storage id given to an image after start (0: none), kept in the status file. */
  nodenameIndex = 0;
  /** The guest CPU before QEMU's view was taken in, when that changed it (libvirt's origCPU): what save images carry. */
  origCpu: XmlElement | undefined;
  /** An outgoing migration runs: QEMU's STOP at its end is the migration's pause, which the migration reports. */
  migratingOut = false;
  /** Its taints and deprecations (taint.ts), kept in the status file. */
  taint: TaintRecord = { taints: new Set(), deprecations: [] };
  /** Storage ids whose block threshold was set as "vda[N]": their events name the chain element only (block-threshold.ts). */
  thresholdIndexed = new Set<number>();
  constructor(
    readonly name: string,
    readonly id: number,
    readonly pid: number,
    readonly startTime: number,
    readonly monitorPath: string,
    public live: XmlElement,
    public state: DomainState,
    public reason: number,
  ) {}

  get uuid(): string {
    return (childText(this.live, 'uuid') ?? '').toLowerCase();
  }

  status(): DomainStatus {
    return { state: this.state, reason: this.reason, pid: this.pid, startTime: this.startTime, monitorPath: this.monitorPath, fakeReboot: this.fakeReboot, ...(this.agentTimeout !== -1 ? { agentTimeout: this.agentTimeout } : {}), domain: this.live, blockJobs: this.blockJobs, nodenameIndex: this.nodenameIndex, ...(this.origCpu ? { origCpu: this.origCpu } : {}), taint: this.taint, thresholdIndexed: this.thresholdIndexed };
  }

  /** The domain handle events carry (virDomainEventLifecycleNewFromObj: a stopped one has id -1). */
  ref(stopped = false): { name: string; uuid: string; id: number } {
    return { name: this.name, uuid: this.uuid, id: stopped ? -1 : this.id };
  }
}

type LifecycleAction = 'destroy' | 'restart' | 'preserve' | 'rename-restart' | 'coredump-destroy' | 'coredump-restart';

function lifecycleAction(live: XmlElement, event: 'on_poweroff' | 'on_reboot' | 'on_crash'): LifecycleAction {
  const fallback = event === 'on_poweroff' ? 'destroy' : 'restart';
  return (child(live, event)?.text.trim() || fallback) as LifecycleAction;
}

const notRunning = () => virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);

export class QemuRuntime {
  private readonly domains = new Map<string, RunningDomain>();
  private readonly ports: GraphicsPorts;

  constructor(private readonly host: RuntimeHost) {
    this.ports = new GraphicsPorts(host.paths.stateDir, host.paths.lockDir);
  }

  get(name: string): RunningDomain | undefined {
    return this.domains.get(name);
  }

  /**
   * Brings this process's view of one domain up to date with its status file
   * and QEMU itself, as libvirt's qemuProcessReconnect does: a dead QEMU makes
   * the domain shut off (crashed), a guest that powered off or panicked gets
   * its lifecycle action. Without `monitor`, only QEMU's pid is checked (enough
   * to destroy it). Call it holding the domain lock, and release() after.
   */
  async refresh(name: string, options: { monitor: boolean } = { monitor: true }): Promise<RunningDomain | undefined> {
    // what this process wrote last must be on disk before the file is read back
    await this.domains.get(name)?.statusWrite.catch(() => undefined);
    const { statuses } = await loadStatuses(this.host.paths.stateDir);
    const status = statuses.get(name);
    let dom = this.domains.get(name);
    if (dom && (!status || status.pid !== dom.pid)) {
      // Stopped (and maybe restarted) by another process.
      this.domains.delete(name);
      this.release(dom);
      dom = undefined;
    }
    if (!status) return undefined;
    const match = matchQemuProcess(status.pid, status.startTime, status.monitorPath);
    if (match === 'unverified') {
      // kept: whatever runs under that pid is nobody's to signal on this file's word
      this.domains.delete(name);
      throw virError(ErrorCode.OPERATION_FAILED, `status file '${statusFilePath(this.host.paths.stateDir, name)}' names process ${status.pid}, which is not a QEMU this driver started (start time or command line differ); it is left alone and so is the file`, ErrorDomain.QEMU);
    }
    const adopted = !dom;
    dom ??= this.adopt(name, status);
    dom.state = status.state;
    dom.reason = status.reason;
    dom.fakeReboot = status.fakeReboot;
    dom.agentTimeout = status.agentTimeout ?? -1;
    dom.live = status.domain;
    dom.blockJobs = status.blockJobs;
    dom.nodenameIndex = status.nodenameIndex ?? 0;
    dom.origCpu = status.origCpu;
    dom.taint = status.taint ?? { taints: new Set(), deprecations: [] };
    dom.thresholdIndexed = new Set(status.thresholdIndexed);
    if (match === 'gone') {
      await this.cleanup(dom);
      return undefined;
    }
    if (adopted && dom.state === DomainState.PAUSED && dom.reason === PausedReason.STARTING_UP) {
      // The process that started it died before `cont` (it held the domain lock this
      // process holds now): undone, as libvirt's reconnect stops a half-started QEMU.
      await this.cleanup(dom, ShutoffReason.FAILED);
      return undefined;
    }
    // qemuProcessReconnect: the daemon that takes over a running guest gives its network ports back
    if (adopted && this.host.longLived()) {
      await this.host.taps.reclaimAll(dom.live, (message) => process.stderr.write(`tsvirt: warning: domain '${name}': ${message}\n`));
    }
    if (!options.monitor) return dom;
    try {
      await this.ensureMonitor(dom);
      await this.syncWithQemu(dom);
    } catch (e) {
      // QEMU died meanwhile, or hangs: destroy must still work, other calls report the monitor error.
      if (!isProcessAlive(dom.pid, dom.startTime)) await this.cleanup(dom);
      else if (dom.qmp?.closed === false) throw e;
    }
    return this.domains.get(name);
  }

  private adopt(name: string, status: DomainStatus): RunningDomain {
    const id = Number(status.domain.attrs.id ?? -1);
    const dom = new RunningDomain(name, id, status.pid, status.startTime, status.monitorPath, status.domain, status.state, status.reason);
    dom.fakeReboot = status.fakeReboot;
    dom.agentTimeout = status.agentTimeout ?? -1;
    this.domains.set(name, dom);
    return dom;
  }

  /** qemuDomainObjTaint: records a taint of a running domain, logs it and keeps it in the status file. */
  async taint(dom: RunningDomain, taint: Taint): Promise<void> {
    if (await taintDomain(dom.taint, { id: dom.id, logPath: path.join(this.host.paths.logDir, `${dom.name}.log`) }, taint)) await this.saveStatus(dom);
  }

  /** Connects QMP if this process has no connection to the domain yet. */
  async ensureMonitor(dom: RunningDomain): Promise<QmpClient> {
    if (dom.qmp && !dom.qmp.closed) return dom.qmp;
    const qmp = await QmpClient.connect(dom.monitorPath, { timeoutMs: 10_000, domainName: dom.name }).catch((e: Error) => {
      throw virError(ErrorCode.OPERATION_FAILED, `cannot connect to the QEMU monitor of domain '${dom.name}': ${e.message}`, ErrorDomain.QEMU);
    });
    dom.qmp = qmp;
    this.watch(dom, qmp);
    return qmp;
  }

  /**
   * Disconnects from a domain's QMP so that other processes can use it; a
   * long-lived driver keeps the monitors of the domains it runs.
   */
  release(dom: RunningDomain): void {
    if (this.host.longLived() && this.domains.get(dom.name) === dom) return;
    dom.qmp?.close();
    dom.qmp = undefined;
  }

  // ---- QEMU's events (long-lived driver) ------------------------------------

  /** Acts on the monitor's events as they come, as libvirt's qemuProcessHandle* callbacks do. */
  private watch(dom: RunningDomain, qmp: QmpClient): void {
    if (!this.host.longLived()) return;
    qmp.on('event', (event: QmpEvent) => this.onQemuEvent(dom, event));
    qmp.on('close', () => this.onMonitorClosed(dom, qmp));
  }

  /** Still the QEMU this process runs, and nobody is stopping it on purpose. */
  private current(dom: RunningDomain): boolean {
    return this.domains.get(dom.name) === dom && !dom.stopping;
  }

  private onQemuEvent(dom: RunningDomain, event: QmpEvent): void {
    // every event reaches libvirt-qemu's monitor event callbacks, also while the domain is being stopped
    if (this.domains.get(dom.name) === dom) this.host.emit(monitorEvent(dom.ref(), event));
    if (!this.current(dom)) return;
    switch (event.event) {
      case 'SHUTDOWN':
        this.noteShutdown(dom, event.data.guest);
        // unless an operation (reboot, shutdown) or a refresh acted on it meanwhile
        this.actLater(dom, async () => {
          if (dom.shutdownSeen) await this.afterShutdown(dom, event);
        });
        break;
      case 'STOP':
        // a pause this process asked for set the state before; the STOP after a SHUTDOWN is no pause
        if (dom.state === DomainState.RUNNING && !dom.shutdownSeen && !dom.migratingOut) {
          void this.changeState(dom, DomainState.PAUSED, PausedReason.UNKNOWN, DomainEventType.SUSPENDED, SuspendedDetail.PAUSED);
        }
        break;
      case 'RESUME':
        if (dom.state !== DomainState.RUNNING) {
          void this.changeState(dom, DomainState.RUNNING, RunningReason.UNPAUSED, DomainEventType.RESUMED, ResumedDetail.UNPAUSED);
        }
        break;
      case 'RESET':
        this.host.emit({ key: 'domainEventCallbackReboot', body: { msg: { dom: dom.ref() } } });
        break;
      case 'GUEST_PANICKED':
        this.lifecycleEvent(dom, DomainEventType.CRASHED, CrashedDetail.PANICKED);
        this.actLater(dom, () => this.applyLifecycle(dom, 'on_crash'));
        break;
      case 'DEVICE_DELETED':
        // backend-only deletions name no device
        if (typeof event.data.device === 'string') {
          this.host.emit({ key: 'domainEventCallbackDeviceRemoved', body: { msg: { dom: dom.ref(), devAlias: event.data.device } } });
          // a guest that released the device after the unplug call returned (libvirt: qemuProcessHandleDeviceDeleted);
          // an embedded process hears only what its own call waits for
          if (this.host.longLived()) this.host.deviceDeleted(dom, event.data.device);
        }
        break;
      case 'VSERPORT_CHANGE':
        // the guest opened or closed a virtio channel port (for the agent: its lifecycle event)
        if (typeof event.data.id === 'string' && typeof event.data.open === 'boolean') {
          const changes = applyPortStates(dom.live, new Map([[event.data.id, event.data.open]]));
          if (changes.length > 0) {
            for (const e of agentLifecycleEvents(dom.ref(), changes, AgentLifecycleReason.CHANNEL)) this.host.emit(e);
            void this.saveStatus(dom);
          }
        }
        break;
      case 'BALLOON_CHANGE':
        // QEMU counts bytes, libvirt's event KiB
        if (typeof event.data.actual === 'number') {
          this.host.emit({ key: 'domainEventCallbackBalloonChange', body: { msg: { dom: dom.ref(), actual: BigInt(Math.floor(event.data.actual / 1024)) } } });
        }
        break;
      case 'JOB_STATUS_CHANGE':
        // libvirt's block jobs report through the generic job events (qemuProcessHandleJobStatusChange)
        this.host.blockJobChanged(dom);
        break;
      case 'BLOCK_WRITE_THRESHOLD':
        for (const e of blockThresholdEvents(dom, event.data)) this.host.emit(e);
        break;
    }
  }

  /**
   * The monitor closed without this process stopping QEMU: once QEMU is gone,
   * a guest that had shut down stopped normally, anything else failed
   * (libvirt's processMonitorEOFEvent). A QEMU that still runs is reconnected
   * by the next refresh().
   */
  private onMonitorClosed(dom: RunningDomain, qmp: QmpClient): void {
    if (dom.qmp !== qmp || !this.current(dom)) return;
    this.actLater(dom, async () => {
      if (dom.qmp === qmp) dom.qmp = undefined;
      if (!(await waitForExit(dom.pid, MONITOR_EOF_EXIT_WAIT_MS, dom.startTime))) return;
      await this.cleanup(dom, dom.shutdownSeen ? ShutoffReason.SHUTDOWN : ShutoffReason.CRASHED);
    });
  }

  /** Runs `fn` under the domain's lock, after any operation in progress, if the domain is still this QEMU. */
  private actLater(dom: RunningDomain, fn: () => Promise<void>): void {
    void this.host.withDomainLock(dom.uuid, async () => {
      if (this.current(dom)) await fn();
    }).catch((e: Error) => process.stderr.write(`tsvirt: warning: domain '${dom.name}': ${e.message}\n`));
  }

  private lifecycleEvent(dom: RunningDomain, event: DomainEventType, detail: number, stopped = false): void {
    this.host.emit({ key: 'domainEventCallbackLifecycle', body: { msg: { dom: dom.ref(stopped), event, detail } } });
  }

  /** qemuProcessHandleShutdown: QEMU stopped the guest (its own poweroff: guest=true); reported once. */
  private noteShutdown(dom: RunningDomain, guest: unknown): void {
    if (dom.shutdownSeen) return;
    dom.shutdownSeen = true;
    const detail = guest === true ? ShutdownDetail.GUEST : guest === false ? ShutdownDetail.HOST : ShutdownDetail.FINISHED;
    this.lifecycleEvent(dom, DomainEventType.SHUTDOWN, detail);
  }

  /** After SHUTDOWN: the reset of a reboot, or the domain's on_poweroff / on_reboot action. */
  private async afterShutdown(dom: RunningDomain, event: QmpEvent): Promise<void> {
    if (dom.fakeReboot) await this.restartGuest(dom);
    else await this.applyLifecycle(dom, event.data.reason === 'guest-reset' ? 'on_reboot' : 'on_poweroff');
  }

  private async changeState(dom: RunningDomain, state: DomainState, reason: number, event: DomainEventType, detail: number): Promise<void> {
    this.lifecycleEvent(dom, event, detail);
    await this.setState(dom, state, reason);
  }

  /** Applies what happened while nobody watched: a guest that shut down or panicked. */
  private async syncWithQemu(dom: RunningDomain): Promise<void> {
    const qmp = dom.qmp!;
    const st = await qmp.execute<{ running: boolean; status: string }>('query-status');
    if (st.status === 'shutdown') {
      this.noteShutdown(dom, undefined);
      if (dom.fakeReboot) await this.restartGuest(dom);
      else await this.applyLifecycle(dom, 'on_poweroff');
    } else if (st.status === 'guest-panicked') {
      this.lifecycleEvent(dom, DomainEventType.CRASHED, CrashedDetail.PANICKED);
      await this.applyLifecycle(dom, 'on_crash');
    } else if (st.running && dom.state !== DomainState.RUNNING) {
      await this.changeState(dom, DomainState.RUNNING, RunningReason.UNPAUSED, DomainEventType.RESUMED, ResumedDetail.UNPAUSED);
    } else if (!st.running && dom.state === DomainState.RUNNING && !dom.shutdownSeen) {
      await this.changeState(dom, DomainState.PAUSED, PausedReason.UNKNOWN, DomainEventType.SUSPENDED, SuspendedDetail.PAUSED);
    }
  }

  /** The next domain id: unique across processes, growing like a long-lived libvirtd's. */
  private async allocateId(): Promise<number> {
    const { lockDir, stateDir } = this.host.paths;
    const counter = path.join(stateDir, 'tsvirt-last-domain-id');
    return withFileLock(path.join(lockDir, 'domain-id.lock'), async () => {
      const last = Number((await readFile(counter, 'utf8').catch(() => '0')).trim()) || 0;
      const { statuses } = await loadStatuses(stateDir);
      const maxRunning = Math.max(0, ...[...statuses.values()].map((s) => Number(s.domain.attrs.id ?? 0)));
      const id = Math.max(last, maxRunning) + 1;
      await writeFileAtomic(counter, `${id}\n`);
      return id;
    }, { what: 'domain id lock' });
  }

  /**
   * Starts QEMU for `def` (call holding the domain lock, after refresh() found it
   * not running). QEMU starts paused (-S); `cont` follows unless `paused`.
   * With `incoming`, QEMU first loads the guest's state from that migration
   * stream (a restore: libvirt's -incoming defer, then migrate-incoming).
   */
  async start(name: string, def: XmlElement, options: { paused: boolean; incoming?: IncomingState; fromSnapshot?: SnapshotStart }): Promise<RunningDomain> {
    if (this.domains.has(name)) throw virError(ErrorCode.OPERATION_INVALID, 'domain is already running', ErrorDomain.QEMU);
    const id = await this.allocateId();
    const live = cloneElement(def);
    live.attrs = { ...live.attrs, id: String(id) };
    // The live XML names every device as QEMU knows it (libvirt's <alias>), so
    // that later commands (hotplug, detach) can address them.
    const view = new DomainView(live);
    for (const [device, alias] of view.aliases) setDeviceAlias(device, alias);
    fillGraphicsListen(live);
    prepareLiveChannels(live, this.host.paths.channelTargetDir, domainRuntimePaths(this.host.paths, id, name).channelTargetDir);
    detectBackingChains(view.deviceList('disk'));
    recordStorageIds(view.deviceList('disk'));
    const label = this.host.security.liveLabel(live);
    const reserved = await this.ports.allocate(name, live);
    const releasePorts = () => (reserved ? this.ports.release(name) : Promise.resolve());
    // the taps exist before QEMU, which opens them by the names they got in the live XML
    await this.host.taps.plugAll(live, this.host.security.qemuOwner(live)).catch(async (e: Error) => {
      await releasePorts();
      throw e;
    });
    // created now: the command line carries the disk passphrases encrypted under it
    // crypto is loaded by a start, not by every query that imports the driver
    const masterKey = process.getBuiltinModule('node:crypto').randomBytes(32);
    let cmd = await (async () => this.host.buildCommandLine(live, id, masterKey))().catch(async (e: Error) => {
      await this.host.taps.unplugAll(live);
      await releasePorts();
      throw e;
    });
    const socketPath = monitorSocketOf(cmd);
    // a deep root: QEMU binds and clients connect through a short alias (monitor-alias.ts)
    const monitorPath = fitsUnixSocket(socketPath) ? socketPath : await createMonitorAlias(socketPath);
    if (monitorPath !== socketPath) {
      const [from, to] = [`path=${escapeOptionValue(socketPath)},`, `path=${escapeOptionValue(monitorPath)},`];
      cmd = { ...cmd, args: cmd.args.map((a) => (a.startsWith('socket,id=charmonitor,') ? a.replace(from, to) : a)) };
    }
    const loadvm = options.fromSnapshot?.loadvm;
    const args = [...(cmd.args.includes('-S') ? cmd.args : ['-S', ...cmd.args]), ...(options.incoming ? ['-incoming', 'defer'] : []), ...(loadvm !== undefined ? ['-loadvm', loadvm] : [])];
    await rm(monitorPath, { force: true });
    await removeShutoffReason(this.host.paths.stateDir, name);
    const logPath = path.join(this.host.paths.logDir, `${name}.log`);
    const proc = await this.prepareRuntimeFolders(name, id, masterKey)
      .then((runtimeFiles) => this.host.security.prepare(name, live, label, runtimeFiles))
      .then(() => spawnDetached({ binary: cmd.binary, args, env: Object.fromEntries(cmd.env), logPath, execPrefix: this.host.security.execPrefix(label) }))
      .catch(async (e: Error) => {
        await this.host.taps.unplugAll(live);
        await this.host.security.release(id, name);
        await removeMonitorAlias(monitorPath);
        await releasePorts();
        throw e;
      });
    const dom = new RunningDomain(name, id, proc.pid, proc.startTime, monitorPath, live, DomainState.PAUSED, PausedReason.STARTING_UP);
    this.domains.set(name, dom);
    // qemuDomainObjCheckTaint: recorded before the first status write below
    for (const taint of startTaints(live)) await taintDomain(dom.taint, { id, logPath }, taint);
    try {
      if (await this.host.security.attachCgroup(id, name, proc.pid)) recordMachinePartition(live);
      // The status file names the pid before QEMU runs under it: a crash of this
      // process at any moment can never leave a QEMU that no status file names.
      await this.saveStatus(dom);
      // the status file names the graphics ports now
      await releasePorts();
      proc.release();
      const qmp = await connectWhenListening(monitorPath, proc.pid, name);
      if (qmp === undefined) {
        throw await startError(logPath, proc.logOffset, 'process exited while connecting to monitor');
      }
      dom.qmp = qmp;
      this.watch(dom, qmp);
      fillPtyPaths(live, await qmp.execute<QmpChardevInfo[]>('query-chardev'));
      await setupGuestCgroup(this.host.security, qmp, id, name, proc.pid, live);
      dom.origCpu = await this.host.updateLiveCpu(live, qmp);
      await applyBalloonPeriod(qmp, live);
      await applyLinkStates(qmp, live);
      await applyDiskThrottling(qmp, live);
      await plugHotpluggableVcpus(qmp, live);
      await applyThreadPinning(proc.pid, qmp, live);
      const { incoming } = options;
      if (incoming?.migration) await qmp.execute('migrate-incoming', { uri: incoming.uri });
      else if (incoming) await receiveMigration(qmp, incoming);
      if (!options.paused) {
        // Written while `cont` runs: this process holds the domain lock, and a failed cont kills QEMU.
        [dom.state, dom.reason] = [DomainState.RUNNING, incoming ? RunningReason.RESTORED : loadvm !== undefined ? RunningReason.FROM_SNAPSHOT : RunningReason.BOOTED];
        const cont = qmp.execute('cont').catch(async (e: Error) => {
          throw isProcessAlive(proc.pid, proc.startTime) ? e : await startError(logPath, proc.logOffset, 'qemu unexpectedly closed the monitor');
        });
        await Promise.all([cont, this.saveStatus(dom)]);
      } else {
        dom.reason = incoming ? PausedReason.MIGRATION : loadvm !== undefined ? PausedReason.FROM_SNAPSHOT : PausedReason.USER;
        await this.saveStatus(dom);
      }
      // qemuProcessStart, and qemuDomainObjStart for a start --paused (qemuSaveImageStartVM for a restore, qemuSnapshotRevert*)
      this.lifecycleEvent(dom, DomainEventType.STARTED, incoming?.migration ? StartedDetail.MIGRATED : incoming ? StartedDetail.RESTORED : options.fromSnapshot ? StartedDetail.FROM_SNAPSHOT : StartedDetail.BOOTED);
      if (options.paused && !incoming?.migration) {
        const detail = options.fromSnapshot ? SuspendedDetail.FROM_SNAPSHOT : !incoming || incoming.pausedByUser ? SuspendedDetail.PAUSED : SuspendedDetail.RESTORED;
        this.lifecycleEvent(dom, DomainEventType.SUSPENDED, detail);
      }
      return dom;
    } catch (e) {
      dom.stopping = true;
      await this.stopProcess(dom, { graceMs: 0 }).catch(() => undefined);
      await releasePorts().catch(() => undefined);
      this.domains.delete(name);
      throw e;
    }
  }

  /**
   * The per-domain folders QEMU uses (qemuProcessMakeDir) and the master key
   * its secrets are encrypted with (qemuDomainMasterKeyCreate), which the
   * command line's masterKey0 object reads. Returns what QEMU must own.
   */
  private async prepareRuntimeFolders(name: string, id: number, masterKeyBytes: Buffer): Promise<string[]> {
    const folders = domainRuntimePaths(this.host.paths, id, name);
    await mkdir(folders.libDir, { recursive: true, mode: 0o750 });
    // channel/ and channel/target/ are root's and shared: QEMU, run as its own user,
    // may only pass through them to its domain's folder, where it binds channel sockets
    const channelTarget = path.dirname(folders.channelTargetDir);
    for (const shared of [path.dirname(channelTarget), channelTarget]) {
      await mkdir(shared, { recursive: true, mode: 0o711 });
      await chmod(shared, 0o711);
    }
    await mkdir(folders.channelTargetDir, { mode: 0o750 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    const masterKey = path.join(folders.libDir, 'master-key.aes');
    // a key left by an interrupted start goes; a new one is created, never written through a planted link
    await rm(masterKey, { force: true });
    await writeFile(masterKey, masterKeyBytes, { mode: 0o600, flag: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW });
    return [folders.libDir, folders.channelTargetDir, masterKey];
  }

  /** virDomainDestroy: SIGTERM, SIGKILL after the grace period, then clean up. */
  async destroy(name: string, options: { graceful?: boolean } = {}): Promise<void> {
    const dom = this.requireRunning(name);
    dom.stopping = true;
    await this.stopProcess(dom, { graceMs: options.graceful === false ? 0 : DESTROY_GRACE_MS, reason: ShutoffReason.DESTROYED });
    await this.finish(dom, ShutoffReason.DESTROYED, StoppedDetail.DESTROYED);
  }

  /** virDomainShutdown (ACPI mode): presses the power button. */
  async shutdown(name: string): Promise<void> {
    await this.pressPowerButton(this.requireRunning(name), false);
  }

  /** virDomainReboot (ACPI mode): power button, then reset instead of stopping. */
  async reboot(name: string): Promise<void> {
    await this.pressPowerButton(this.requireRunning(name), true);
  }

  /**
   * Presses the ACPI power button. libvirt returns at once and its daemon acts
   * when the guest powers off; here nobody may be watching by then, so this
   * waits a bounded time for the guest and acts itself (stop, or reset for a
   * reboot). A slower guest is handled by the next refresh(): the reboot intent
   * is in the status file for that.
   */
  private async pressPowerButton(dom: RunningDomain, reboot: boolean): Promise<void> {
    const qmp = await this.ensureMonitor(dom);
    if (dom.fakeReboot !== reboot) {
      dom.fakeReboot = reboot;
      await this.saveStatus(dom);
    }
    const poweredOff = qmp.waitEvent('SHUTDOWN', POWER_BUTTON_WAIT_MS, (e) => e.data.guest === true).then((e) => e, () => undefined);
    await qmp.execute('system_powerdown');
    const event = await poweredOff;
    if (!event || !this.current(dom)) return;
    this.noteShutdown(dom, event.data.guest);
    await this.afterShutdown(dom, event);
  }

  async reset(name: string): Promise<void> {
    const dom = this.requireRunning(name);
    await (await this.ensureMonitor(dom)).execute('system_reset');
  }

  async suspend(name: string): Promise<void> {
    const dom = this.requireRunning(name);
    await this.runChangingState(dom, 'stop', DomainState.PAUSED, PausedReason.USER);
    this.lifecycleEvent(dom, DomainEventType.SUSPENDED, SuspendedDetail.PAUSED);
  }

  /** Pauses the guest for a job of the driver (save): `reason` tells why. */
  async pauseFor(name: string, reason: PausedReason): Promise<void> {
    const dom = this.requireRunning(name);
    await this.runChangingState(dom, 'stop', DomainState.PAUSED, reason);
    this.lifecycleEvent(dom, DomainEventType.SUSPENDED, SuspendedDetail.PAUSED);
  }

  /** Runs the guest again after a job that paused it failed (qemuProcessStartCPUs with a *_CANCELED reason). */
  async resumeAfter(name: string, reason: RunningReason, detail = ResumedDetail.UNPAUSED): Promise<void> {
    const dom = this.requireRunning(name);
    await this.runChangingState(dom, 'cont', DomainState.RUNNING, reason);
    this.lifecycleEvent(dom, DomainEventType.RESUMED, detail);
  }

  /** QEMU paused the guest at the end of its outgoing migration (qemuProcessHandleStop during a migration out). */
  async pausedByMigration(name: string): Promise<void> {
    const dom = this.requireRunning(name);
    if (dom.state !== DomainState.RUNNING) return;
    await this.changeState(dom, DomainState.PAUSED, PausedReason.MIGRATION, DomainEventType.SUSPENDED, SuspendedDetail.MIGRATED);
  }

  /** Ends QEMU once the guest's state is saved: the domain is shut off (saved). */
  stopSaved(name: string): Promise<void> {
    return this.stopFor(name, ShutoffReason.SAVED, StoppedDetail.SAVED);
  }

  /** Ends QEMU for a job of the driver (save, snapshot halt or revert, dump --crash, migration): the domain is shut off for `reason`. */
  async stopFor(name: string, reason: ShutoffReason.SAVED | ShutoffReason.FROM_SNAPSHOT | ShutoffReason.CRASHED | ShutoffReason.MIGRATED | ShutoffReason.FAILED, detail: StoppedDetail): Promise<void> {
    const dom = this.requireRunning(name);
    dom.stopping = true;
    await this.stopProcess(dom, { graceMs: 0, reason });
    await this.finish(dom, reason, detail);
  }

  async resume(name: string): Promise<void> {
    const dom = this.requireRunning(name);
    await this.runChangingState(dom, 'cont', DomainState.RUNNING, RunningReason.UNPAUSED);
    this.lifecycleEvent(dom, DomainEventType.RESUMED, ResumedDetail.UNPAUSED);
  }

  /**
   * Runs a command that makes QEMU emit STOP/RESUME. The new state is set first
   * so the event, which may arrive before the reply, finds nothing to change.
   */
  private async runChangingState(dom: RunningDomain, command: string, state: DomainState, reason: number): Promise<void> {
    const qmp = await this.ensureMonitor(dom);
    const before = [dom.state, dom.reason] as const;
    [dom.state, dom.reason] = [state, reason];
    try {
      await qmp.execute(command);
    } catch (e) {
      [dom.state, dom.reason] = before;
      throw e;
    }
    await this.saveStatus(dom);
  }

  /** Disconnects from every QEMU; they keep running. */
  close(): void {
    const doms = [...this.domains.values()];
    // forgotten first: the monitors' closing is then no event to act on
    this.domains.clear();
    for (const dom of doms) this.release(dom);
  }

  private requireRunning(name: string): RunningDomain {
    const dom = this.domains.get(name);
    if (!dom) throw notRunning();
    return dom;
  }

  private async setState(dom: RunningDomain, state: DomainState, reason: number): Promise<void> {
    dom.state = state;
    dom.reason = reason;
    await this.saveStatus(dom);
  }

  /**
   * Writes the status file of a domain that is still running. Writes of one
   * domain are chained so that an older state never lands after a newer one.
   */
  saveStatus(dom: RunningDomain): Promise<void> {
    dom.statusWrite = dom.statusWrite.then(() => {
      if (this.domains.get(dom.name) !== dom || dom.stopping) return;
      return writeStatus(this.host.paths.stateDir, dom.name, dom.status());
    });
    return dom.statusWrite;
  }

  /** Runs the domain's configured reaction (on_poweroff, on_reboot, on_crash). */
  private async applyLifecycle(dom: RunningDomain, event: 'on_poweroff' | 'on_reboot' | 'on_crash'): Promise<void> {
    const action = lifecycleAction(dom.live, event);
    if (action === 'restart' || action === 'rename-restart' || action === 'coredump-restart') {
      return this.restartGuest(dom);
    }
    if (action === 'preserve') {
      if (event === 'on_crash') await this.setState(dom, DomainState.CRASHED, 1);
      return;
    }
    dom.stopping = true;
    const reason = event === 'on_crash' ? ShutoffReason.CRASHED : ShutoffReason.SHUTDOWN;
    await this.stopProcess(dom, { graceMs: DESTROY_GRACE_MS, reason });
    await this.finish(dom, reason, event === 'on_crash' ? StoppedDetail.CRASHED : StoppedDetail.SHUTDOWN);
  }

  private async restartGuest(dom: RunningDomain): Promise<void> {
    const qmp = await this.ensureMonitor(dom);
    await qmp.execute('system_reset');
    await qmp.execute('cont');
    dom.fakeReboot = false;
    dom.shutdownSeen = false;
    await this.setState(dom, DomainState.RUNNING, RunningReason.BOOTED);
  }

  /**
   * Ends QEMU and removes what it left behind (socket, runtime folder, status
   * file); `reason` is recorded first, so no crash can lose it.
   */
  private async stopProcess(dom: RunningDomain, options: { graceMs: number; reason?: ShutoffReason }): Promise<void> {
    dom.qmp?.close();
    await terminateProcess(dom.pid, { graceMs: options.graceMs, startTime: dom.startTime, force: options.graceMs === 0 });
    await this.host.taps.unplugAll(dom.live);
    await this.host.security.release(dom.id, dom.name);
    await dom.statusWrite.catch(() => undefined); // a write in flight must not land after the removal
    const folders = domainRuntimePaths(this.host.paths, dom.id, dom.name);
    await rm(folders.libDir, { recursive: true, force: true });
    await rm(folders.channelTargetDir, { recursive: true, force: true });
    if (options.reason !== undefined) await writeShutoffReason(this.host.paths.stateDir, dom.name, dom.uuid, options.reason);
    await removeStatus(this.host.paths.stateDir, dom.name);
    await removeMonitorAlias(dom.monitorPath);
  }

  /** Cleans up after a QEMU that is gone: crashed, unless the guest had shut down. */
  private async cleanup(dom: RunningDomain, reason: ShutoffReason.CRASHED | ShutoffReason.SHUTDOWN | ShutoffReason.FAILED = ShutoffReason.CRASHED): Promise<void> {
    dom.stopping = true;
    await this.stopProcess(dom, { graceMs: 0, reason });
    await this.finish(dom, reason, reason === ShutoffReason.SHUTDOWN ? StoppedDetail.SHUTDOWN : StoppedDetail.FAILED);
  }

  private async finish(dom: RunningDomain, reason: ShutoffReason, detail: StoppedDetail): Promise<void> {
    if (this.domains.get(dom.name) === dom) this.domains.delete(dom.name);
    this.host.domainStopped(dom.name, reason);
    this.lifecycleEvent(dom, DomainEventType.STOPPED, detail, true);
  }
}

/** A start that reverts to a snapshot (qemuSnapshotRevert*): with `loadvm`, QEMU loads that internal snapshot (-loadvm). */
export interface SnapshotStart {
  loadvm?: string;
}

/** Where a restored guest's state comes from. */
export interface IncomingState {
  /** QEMU's migration URI to listen on */
  uri: string;
  /** sends the stream once QEMU listens */
  send(): Promise<void>;
  /** the caller asked for a paused guest (else it stays paused because it was paused when saved) */
  pausedByUser: boolean;
  /** a migration's destination: start() returns once QEMU listens; the migration's Finish step waits for the stream */
  migration?: boolean;
}

/** How often the state of a migration is polled. */
const MIGRATION_POLL_MS = 50;

/** Waits until QEMU's migration (in or out) has completed; QEMU's reason when it failed, named by libvirt's job name. */
export async function waitForMigration(qmp: QmpClient, job: 'migration in' | 'migration out' | 'domain save' | 'snapshot' | 'domain core dump'): Promise<void> {
  for (;;) {
    const info = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw virError(ErrorCode.OPERATION_FAILED, `job '${job}' failed${info['error-desc'] ? `: ${info['error-desc']}` : ''}`, ErrorDomain.QEMU);
    }
    await new Promise((r) => setTimeout(r, MIGRATION_POLL_MS));
  }
}

/** What the sender of a guest's state sees when QEMU closed the connection. */
const CLOSED_BY_QEMU: ReadonlySet<string | undefined> = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'EPIPE', 'ECONNRESET']);

/**
 * Loads a guest's state into a QEMU started with -incoming defer. QEMU's verdict
 * decides: it closes the connection once it has read the state, which can reach
 * the sender before its own end of the stream is done ("Premature close"). When
 * the load fails, a sender that broke on this side (an unreadable image) says more
 * than QEMU's end of input.
 */
export async function receiveMigration(qmp: QmpClient, incoming: IncomingState): Promise<void> {
  await qmp.execute('migrate-incoming', { uri: incoming.uri });
  const sending = incoming.send().then(() => undefined, (e: NodeJS.ErrnoException) => e);
  try {
    await waitForMigration(qmp, 'migration in');
  } catch (e) {
    const failure = await sending;
    throw failure && !CLOSED_BY_QEMU.has(failure.code) ? failure : e;
  }
}

/** The QMP socket a command line listens on (-chardev socket,id=charmonitor,path=...). */
function monitorSocketOf(cmd: QemuCommandLine): string {
  for (let i = 0; i < cmd.args.length - 1; i++) {
    if (cmd.args[i] !== '-chardev') continue;
    const m = /^socket,id=charmonitor,path=((?:[^,]|,,)+)/.exec(cmd.args[i + 1]);
    if (m) return m[1].replace(/,,/g, ',');
  }
  throw virError(ErrorCode.INTERNAL_ERROR, 'the QEMU command line has no QMP monitor socket', ErrorDomain.QEMU);
}

/**
 * Connects to QEMU's QMP socket as soon as it listens. Undefined when QEMU exits
 * first; QEMU creates the socket early in its start-up, so this polls briefly.
 */
async function connectWhenListening(socketPath: string, pid: number, name: string): Promise<QmpClient | undefined> {
  const deadline = Date.now() + MONITOR_CONNECT_TIMEOUT_MS;
  let delay = 1;
  for (;;) {
    try {
      return await QmpClient.connect(socketPath, { domainName: name });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // QEMU may exit between creating its socket and answering on it.
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') {
        if (await waitForExit(pid, 1000)) return undefined;
        throw e;
      }
    }
    if (!isProcessAlive(pid)) return undefined;
    if (Date.now() > deadline) {
      throw virError(ErrorCode.INTERNAL_ERROR, `monitor socket did not show up: ${socketPath}`, ErrorDomain.QEMU);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 4);
  }
}

/** libvirt's qemuProcessReportLogError: the message plus what QEMU logged during this start. */
async function startError(logPath: string, logStart: number, prefix: string) {
  const text = await readFile(logPath).then((t) => t.subarray(logStart).toString('utf8'), () => '');
  const detail = text.trim().slice(-1024);
  return virError(ErrorCode.INTERNAL_ERROR, detail ? `${prefix}: ${detail}` : prefix, ErrorDomain.QEMU);
}

/** Puts libvirt's <alias name='...'/> into a device of the live XML, before its <address>. */
export function setDeviceAlias(device: XmlElement, alias: string): void {
  device.children = device.children.filter((c) => c.name !== 'alias');
  const at = device.children.findIndex((c) => c.name === 'address');
  const el = element('alias', { name: alias });
  if (at < 0) device.children.push(el);
  else device.children.splice(at, 0, el);
}
