// The qemu driver's running-domain API (virDomainCreate, Destroy, Shutdown,
// AttachDevice, ...): it connects the driver's domain objects and locks to the
// QEMU runtime (lifecycle.ts) and hotplug (hotplug.ts), which domain-processes.ts
// loads at the first call that needs them.
//
// The status files are the cross-process truth about what runs: sync() lays them
// over the domain objects the store read from the config files, so a running
// domain shows its live definition, id and state in every process.
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { DomainConsoleFlags, DomainState, ModificationImpact, ShutoffReason, StartFlags } from '../../driver/flags.js';
import { ErrorCode, ErrorDomain, virError, type VirError } from '../../util/error.js';
import type { LockOptions } from '../../util/file-lock.js';
import { child, childText, cloneElement, element, parseXml, type XmlElement } from '../../util/xml.js';
import type { QemuCommandLine } from './command-line/context.js';
import { DomainObject } from '../../conf/objects/domain-object.js';
import { checkFlags, refOf, type DomainRef, type QemuDriver } from './driver.js';
import type { DomainProcesses } from './domain-processes.js';
import type { DeviceHotplug } from './hotplug.js';
import type { QemuRuntime, RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';
import type { DomainSecurity } from './security/domain-security.js';
import type { StatsSource } from './domain-stats.js';
import { activeMemballoon, setMemballoonPeriod } from '../../conf/devices/memballoon.js';
import { loadShutoffReasons, loadStatuses, reportBrokenStatuses, shutoffReasonPath, type DomainStatus } from './status-file.js';
import { DirectoryWatch } from '../../util/file-stamp.js';
import { EventHub, type DriverEvent } from '../../driver/events.js';
// every open runs it, so it is no module the driver loads at first use
import { autostartOncePerBoot } from './autostart.js';

/** virDomainShutdownFlagValues / virDomainRebootFlagValues */
const SHUTDOWN_ACPI_POWER_BTN = 1 << 0;
const SHUTDOWN_GUEST_AGENT = 1 << 1;
const SHUTDOWN_ALL_MODES = 0x1f;
/** VIR_DOMAIN_START_VALIDATE */
const START_VALIDATE = 1 << 4;
/** VIR_DOMAIN_DESTROY_GRACEFUL */
const DESTROY_GRACEFUL = 1 << 0;
/** VIR_DOMAIN_DEVICE_MODIFY_FORCE */
const DEVICE_MODIFY_FORCE = 1 << 2;
/** The user alias that finds a device again after the define pipeline completed it. */
const PROBE_ALIAS = 'ua-tsvirt-hotplug-probe';

const notRunning = () => virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);

export class QemuDomainRuntime {
  /** The running-domain machinery (domain-processes.ts), once processes() loaded it. */
  private loaded?: DomainProcesses;
  private loading?: Promise<DomainProcesses>;
  /** The domain events of this driver (ConnectionDrivers.events). */
  readonly events = new EventHub();
  /** Set by open(): the driver lives as long as tsvirtd and watches its QEMUs (lifecycle.ts). */
  private longLived = false;
  private readonly stateWatch: DirectoryWatch;
  private stateSnapshot?: { statuses: Map<string, DomainStatus>; reasons: Map<string, number> };
  /** what the last overlay laid over which domains */
  private overlaid?: { snapshot: { reasons: Map<string, number> }; generation: number };

  constructor(private readonly driver: QemuDriver) {
    this.stateWatch = new DirectoryWatch(driver.paths.stateDir);
    // the store loads a domain when first asked for it: one loaded after an overlay gets its shut-off reason then
    driver.store.whenLoaded = (obj) => {
      if (obj.id === -1) obj.reason = this.overlaid?.snapshot.reasons.get(obj.uuid) ?? ShutoffReason.UNKNOWN;
    };
  }

  /**
   * Loads the running-domain machinery (QEMU processes, hotplug, security) at
   * the first call that may meet a running domain or start one: a query of
   * shut-off domains never loads, compiles or deserialises that code.
   */
  processes(): Promise<DomainProcesses> {
    this.loading ??= import('./domain-processes.js').then(({ domainProcesses }) => {
      this.loaded = domainProcesses(this.driver, {
        longLived: () => this.longLived,
        emit: (event: DriverEvent) => this.queueEvent(event),
        withDomainLock: <T>(uuid: string, fn: () => Promise<T>) => this.driver.withDomainLock(uuid, fn),
        domainStopped: (name: string, reason: ShutoffReason) => this.domainStopped(name, reason),
        blockJobChanged: (dom: RunningDomain) => void this.settleBlockJobs(dom),
        deviceDeleted: (dom: RunningDomain, alias: string) => void this.removeDeletedDevice(dom, alias),
      });
      return this.loaded;
    });
    return this.loading;
  }

  /** The machinery's parts, for calls that went through processes() (withDomain and the starts do). */
  private get machinery(): DomainProcesses {
    if (!this.loaded) throw virError(ErrorCode.INTERNAL_ERROR, 'the QEMU runtime was used before it was loaded', ErrorDomain.QEMU);
    return this.loaded;
  }

  get runtime(): QemuRuntime {
    return this.machinery.runtime;
  }

  get hotplug(): DeviceHotplug {
    return this.machinery.hotplug;
  }

  get security(): DomainSecurity {
    return this.machinery.security;
  }

  /** The QEMU this process follows for a domain, if any (none before the machinery is loaded: nothing adopted one). */
  running(name: string): RunningDomain | undefined {
    return this.loaded?.runtime.get(name);
  }

  /**
   * Driver open: takes over the domains other processes started. A long-lived
   * driver connects their monitors now to hear their events; otherwise every
   * API call refreshes (see syncDomains()).
   */
  async open(warn: (message: string) => void, options: { longLived: boolean } = { longLived: false }): Promise<void> {
    this.longLived = options.longLived;
    // tsvirtd's driver watches its QEMUs from the start
    if (options.longLived) await this.processes();
    await reportBrokenStatuses(this.driver.paths.stateDir, warn);
    await this.sync({ refresh: options.longLived });
  }

  close(): void {
    this.loaded?.runtime.close();
  }

  /**
   * virObjectEventStateQueue: subscribers hear of a change after the call that
   * made it has returned, and a subscriber's failure never fails the call.
   */
  queueEvent(event: DriverEvent): void {
    setImmediate(() => this.events.emit(event));
  }

  /**
   * A long-lived driver hears QEMU's job events: under the domain's lock, the
   * block jobs take in what QEMU finished and report it (block-jobs.ts).
   * Failures leave the job to the next API call that settles it.
   */
  private async settleBlockJobs(dom: RunningDomain): Promise<void> {
    await this.driver.withDomainLock(dom.uuid, async () => {
      if (this.runtime.get(dom.name) !== dom || !dom.qmp || dom.qmp.closed) return;
      const { QemuBlockJobs } = await import('./block-jobs.js');
      await new QemuBlockJobs(this.driver).settle(dom, dom.qmp);
    }).catch(() => undefined);
  }

  private async removeDeletedDevice(dom: RunningDomain, alias: string): Promise<void> {
    await this.driver.withDomainLock(dom.uuid, async () => {
      if (this.runtime.get(dom.name) !== dom || !dom.qmp || dom.qmp.closed) return;
      await this.hotplug.finishRemoval(dom, alias);
      await this.sync({ refresh: false });
    }).catch(() => undefined);
  }

  /** Starts the autostart domains once per host boot (autostart.ts has the rule); problems are reported, never fatal. */
  async autostart(warn: (message: string) => void): Promise<void> {
    await autostartOncePerBoot({
      stateDir: this.driver.paths.stateDir,
      lockDir: this.driver.paths.lockDir,
      pendingDomains: async () => {
        // after a reboot the status files name dead QEMUs: refresh turns them shut off first
        await this.driver.syncDomains();
        return this.driver.store.list().filter((obj) => obj.persistent && obj.autostart && obj.id === -1).map((obj) => obj.name);
      },
      start: async (name) => {
        const obj = this.driver.store.findByName(name);
        if (obj) await this.domainCreate(refOf(obj), 0);
      },
      warn,
    }).catch((e: Error) => warn(`autostart failed: ${e.message}`));
  }


  /** The command line of a running domain's QEMU (domain-processes.ts); `masterKey`: a new QEMU's. */
  async buildCommandLine(live: XmlElement, domainId: number, masterKey?: Buffer): Promise<QemuCommandLine> {
    const { buildCommandLine } = await import('./domain-processes.js');
    return buildCommandLine(this.driver, live, domainId, masterKey);
  }

  /**
   * Refreshes every running domain nobody else is working on (QEMUs that died,
   * guests that powered off; skipped without `refresh`), then lays the status
   * files over the store's objects. Run after store.sync().
   */
  async sync(options: { refresh: boolean } = { refresh: true }): Promise<void> {
    let snapshot = await this.stateFiles();
    if (options.refresh && snapshot.statuses.size > 0) {
      await this.processes();
      for (const [name, status] of snapshot.statuses) {
        const uuid = (childText(status.domain, 'uuid') ?? '').toLowerCase();
        // A domain whose lock is held is being changed right now: its status file is current enough.
        await this.driver.withDomainLock(uuid, () => this.refreshAndRelease(name), { timeoutMs: 0 }).catch(() => undefined);
      }
      snapshot = await this.stateFiles();
    }
    // reasons: why each shut-off domain stopped, whichever process saw it stop
    const { statuses, reasons } = snapshot;
    // neither the state files nor the domains changed: the overlay is in place already
    if (this.overlaid?.snapshot === snapshot && this.overlaid.generation === this.driver.store.generation) return;
    // the domains not loaded yet are inactive and get their reason as they load (whenLoaded)
    for (const obj of this.driver.store.loadedObjects()) {
      const reason = reasons.get(obj.uuid) ?? ShutoffReason.UNKNOWN;
      if (obj.id !== -1 && !statuses.has(obj.name)) this.becomeInactive(obj, reason);
      else if (obj.id === -1) obj.reason = reason;
    }
    for (const [name, status] of statuses) {
      const uuid = (childText(status.domain, 'uuid') ?? '').toLowerCase();
      let obj = this.driver.store.findByUUID(uuid);
      if (!obj) {
        obj = new DomainObject(name, uuid, status.domain, false);
        this.driver.store.addTransient(obj);
      }
      if (obj.id === -1) obj.newDef = obj.def;
      obj.def = status.domain;
      obj.id = Number(status.domain.attrs.id ?? -1);
      obj.state = status.state;
      obj.reason = status.reason;
    }
    this.overlaid = { snapshot, generation: this.driver.store.generation };
  }

  /**
   * The status and shut-off reason files, re-read only when the state folder
   * changed (they are only ever replaced by rename or removed), so a call costs
   * the same however many domains stopped before.
   */
  private async stateFiles(): Promise<{ statuses: Map<string, DomainStatus>; reasons: Map<string, number> }> {
    if (this.stateWatch.changed() || !this.stateSnapshot) {
      const dir = this.driver.paths.stateDir;
      this.stateSnapshot = { statuses: (await loadStatuses(dir)).statuses, reasons: await loadShutoffReasons(dir) };
    }
    return this.stateSnapshot;
  }

  private becomeInactive(obj: DomainObject, reason: ShutoffReason): void {
    if (obj.newDef) obj.def = obj.newDef;
    delete obj.newDef;
    obj.id = -1;
    obj.state = DomainState.SHUTOFF;
    obj.reason = reason;
    if (!obj.persistent) {
      this.driver.store.removeInactive(obj);
      // qemuDomainRemoveInactive: a transient domain's snapshot and checkpoint metadata go with it
      this.driver.snapshotMetadata.discardAll(obj.name);
      this.driver.checkpointMetadata.discardAll(obj.name);
    }
  }

  private domainStopped(name: string, reason: ShutoffReason): void {
    const obj = this.driver.store.findByName(name);
    // a transient domain is gone with its QEMU: nothing asks for its reason later
    if (!obj?.persistent) rmSync(shutoffReasonPath(this.driver.paths.stateDir, name), { force: true });
    if (obj && obj.id !== -1) this.becomeInactive(obj, reason);
    else if (obj) obj.reason = reason;
  }

  private async refreshAndRelease(name: string): Promise<void> {
    const running = await this.runtime.refresh(name);
    if (!running) return;
    try {
      if (running.qmp) await this.hotplug.removeVanishedDevices(running);
    } finally {
      this.runtime.release(running);
    }
  }

  /**
   * Runs `fn` holding the domain's lock, with this process's view of the domain
   * current and, if it runs, its monitor connected (and released afterwards).
   */
  async withDomain<T>(dom: DomainRef, fn: (obj: DomainObject, running: RunningDomain | undefined) => Promise<T>, options: { monitor: boolean; lock?: LockOptions } = { monitor: true }): Promise<T> {
    const obj = await this.currentObject(dom);
    await this.processes();
    return this.driver.withDomainLock(obj.uuid, async () => {
      const running = await this.runtime.refresh(obj.name, options);
      try {
        // (a hung QEMU has no monitor: destroy must still work)
        if (running?.qmp) await this.hotplug.removeVanishedDevices(running);
        await this.sync({ refresh: false });
        return await fn(obj, running);
      } finally {
        const now = this.runtime.get(obj.name);
        if (now) this.runtime.release(now);
      }
    }, options.lock);
  }

  /** This process's view of one domain, current with the files (only this domain is refreshed, not every running one). */
  private async currentObject(dom: DomainRef): Promise<DomainObject> {
    await this.driver.store.sync();
    await this.sync({ refresh: false });
    return this.driver.store.findByUUID(dom.uuid) ?? (await this.driver.objectOf(dom));
  }

  /**
   * Runs `fn` on what a domain's statistics come from (domain-stats.ts). With
   * `monitor`, under the domain's lock with QEMU's monitor connected (libvirt's
   * query job); with `nowait` as well, a domain another operation holds is
   * read without them, as libvirt does for VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT.
   */
  async withStatsSource<T>(dom: DomainRef, fn: (src: StatsSource) => Promise<T>, options: { monitor: boolean; nowait?: boolean }): Promise<T> {
    const sourceOf = (obj: DomainObject, pid: number, qmp?: QmpClient): StatsSource => ({ def: obj.def, active: obj.id !== -1, state: obj.state, reason: obj.reason, pid, qmp });
    if (options.monitor) {
      try {
        return await this.withDomain(dom, (obj, running) => fn(sourceOf(obj, running?.pid ?? 0, running?.qmp)), { monitor: true, lock: options.nowait ? { timeoutMs: 0 } : {} });
      } catch (e) {
        if (!options.nowait || (e as VirError).code !== ErrorCode.OPERATION_TIMEOUT) throw e;
      }
    }
    const obj = await this.currentObject(dom);
    const status = obj.id === -1 ? undefined : (await loadStatuses(this.driver.paths.stateDir)).statuses.get(obj.name);
    return fn(sourceOf(obj, status?.pid ?? 0));
  }

  async withRunning<T>(dom: DomainRef, fn: (obj: DomainObject, running: RunningDomain) => Promise<T>, options = { monitor: true }): Promise<T> {
    return this.withDomain(dom, async (obj, running) => {
      if (!running) throw notRunning();
      const result = await fn(obj, running);
      await this.sync({ refresh: false });
      return result;
    }, options);
  }

  // ---- start ---------------------------------------------------------------

  async domainCreate(dom: DomainRef, flags: number): Promise<DomainRef> {
    checkFlags(flags, StartFlags.PAUSED | StartFlags.AUTODESTROY | StartFlags.BYPASS_CACHE | StartFlags.FORCE_BOOT, 'qemuDomainCreateWithFlags');
    return this.withDomain(dom, async (obj, running) => {
      if (running) throw virError(ErrorCode.OPERATION_INVALID, 'domain is already running', ErrorDomain.QEMU);
      const paused = (flags & StartFlags.PAUSED) !== 0;
      // a managed save image is restored instead of a boot, unless the caller forces one (qemuDomainObjStart)
      if (this.driver.hasManagedSave(obj.name) && flags & StartFlags.FORCE_BOOT) rmSync(this.driver.managedSavePath(obj.name));
      if (this.driver.hasManagedSave(obj.name)) {
        const { QemuSaveRestore } = await import('./save-restore.js');
        await new QemuSaveRestore(this.driver).restoreManaged(obj, paused);
      } else {
        await this.runtime.start(obj.name, obj.def, { paused });
      }
      await this.sync({ refresh: false });
      return refOf(obj);
    });
  }

  async domainCreateXML(xml: string, flags: number): Promise<DomainRef> {
    checkFlags(flags, StartFlags.PAUSED | StartFlags.AUTODESTROY | START_VALIDATE, 'qemuDomainCreateXML');
    const def = await this.driver.xml.parseNew(xml, { validateSchema: (flags & START_VALIDATE) !== 0 });
    const name = childText(def, 'name') ?? '';
    return this.driver.withDriverLock(async () => {
      await this.driver.syncDomains();
      const existing = this.driver.store.checkAddable(def);
      if (existing && existing.id !== -1) {
        throw virError(ErrorCode.OPERATION_INVALID, `domain '${name}' is already active`, ErrorDomain.DOMAIN);
      }
      const uuid = (childText(def, 'uuid') ?? '').toLowerCase();
      await this.processes();
      await this.driver.withDomainLock(uuid, async () => this.runtime.release(await this.runtime.start(name, def, { paused: (flags & StartFlags.PAUSED) !== 0 })));
      await this.sync({ refresh: false });
      const obj = this.driver.store.findByUUID(uuid);
      if (!obj) throw virError(ErrorCode.INTERNAL_ERROR, `domain '${name}' vanished while starting`, ErrorDomain.QEMU);
      return refOf(obj);
    });
  }

  // ---- stop and power ------------------------------------------------------

  async domainDestroy(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, DESTROY_GRACEFUL, 'qemuDomainDestroyFlags');
    // no monitor needed: destroy works on a hung QEMU too
    await this.withRunning(dom, (obj) => this.runtime.destroy(obj.name), { monitor: false });
  }

  async domainShutdown(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, SHUTDOWN_ALL_MODES, 'qemuDomainShutdownFlags');
    await this.withRunning(dom, async (obj, running) => {
      this.checkPowerMode(flags, running);
      await this.runtime.shutdown(obj.name);
    });
  }

  async domainReboot(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, SHUTDOWN_ALL_MODES, 'qemuDomainReboot');
    await this.withRunning(dom, async (obj, running) => {
      this.checkPowerMode(flags, running);
      await this.runtime.reboot(obj.name);
    });
  }

  /** ACPI is the only mode without a guest agent; it needs running vCPUs. */
  private checkPowerMode(flags: number, running: RunningDomain): void {
    if (flags & SHUTDOWN_GUEST_AGENT && !(flags & SHUTDOWN_ACPI_POWER_BTN)) {
      throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'QEMU guest agent is not configured', ErrorDomain.QEMU);
    }
    if (flags & ~(SHUTDOWN_ACPI_POWER_BTN | SHUTDOWN_GUEST_AGENT)) {
      throw virError(ErrorCode.INVALID_ARG, 'Unsupported shutdown/reboot mode', ErrorDomain.QEMU);
    }
    if (running.state !== DomainState.RUNNING) throw notRunning();
  }

  async domainReset(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, 0, 'qemuDomainReset');
    await this.withRunning(dom, (obj) => this.runtime.reset(obj.name));
  }

  async domainSuspend(dom: DomainRef): Promise<void> {
    await this.withRunning(dom, async (obj, running) => {
      if (running.state === DomainState.PMSUSPENDED) throw virError(ErrorCode.OPERATION_INVALID, 'domain is pmsuspended', ErrorDomain.QEMU);
      if (running.state !== DomainState.PAUSED) await this.runtime.suspend(obj.name);
    });
  }

  async domainResume(dom: DomainRef): Promise<void> {
    await this.withRunning(dom, async (obj, running) => {
      if (running.state === DomainState.PMSUSPENDED) throw virError(ErrorCode.OPERATION_INVALID, 'domain is pmsuspended', ErrorDomain.QEMU);
      if (running.state === DomainState.RUNNING) throw virError(ErrorCode.OPERATION_INVALID, 'domain is already running', ErrorDomain.QEMU);
      await this.runtime.resume(obj.name);
    });
  }

  // ---- libvirt-qemu pass-through (monitor-passthrough.ts) ------------------

  /** qemuDomainQemuMonitorCommandWithFiles without files: QEMU's reply to the client's own command. */
  async domainMonitorCommand(dom: DomainRef, cmd: string, flags: number): Promise<string> {
    const { arbitraryMonitorCommand, MONITOR_COMMAND_HMP } = await import('./monitor-passthrough.js');
    checkFlags(flags, MONITOR_COMMAND_HMP, 'qemuDomainQemuMonitorCommandWithFiles');
    return this.withRunning(dom, async (_obj, running) => {
      await this.runtime.taint(running, 'custom-monitor');
      return arbitraryMonitorCommand(await this.runtime.ensureMonitor(running), cmd, (flags & MONITOR_COMMAND_HMP) !== 0);
    });
  }

  // ---- console -------------------------------------------------------------

  /** virDomainOpenConsole for pty devices (qemuDomainOpenConsole). */
  async domainOpenConsole(dom: DomainRef, devName: string | null, flags: number): Promise<Duplex> {
    checkFlags(flags, DomainConsoleFlags.FORCE | DomainConsoleFlags.SAFE, 'qemuDomainOpenConsole');
    const [{ consoleDevice, openConsoleSession }, { ptyPathOf }] = await Promise.all([import('./console.js'), import('./pty-paths.js')]);
    // no monitor needed: the pty path is in the live XML since start
    return this.withRunning(dom, async (obj, running) => {
      const chr = consoleDevice(running.live, devName);
      const pty = ptyPathOf(chr);
      if (pty === undefined) throw virError(ErrorCode.OPERATION_FAILED, `character device ${devName ?? child(chr, 'alias')?.attrs.name ?? '<null>'} has no pty path`, ErrorDomain.QEMU);
      return openConsoleSession(pty, path.join(this.driver.paths.stateDir, `${obj.name}.console`), (flags & DomainConsoleFlags.FORCE) !== 0);
    }, { monitor: false });
  }

  // ---- devices -------------------------------------------------------------

  /** virDomainObjUpdateModificationImpact: CURRENT means LIVE when running, else CONFIG. */
  impact(flags: number, obj: DomainObject, running: RunningDomain | undefined): { live: boolean; config: boolean } {
    let live = (flags & ModificationImpact.LIVE) !== 0;
    let config = (flags & ModificationImpact.CONFIG) !== 0;
    if (!live && !config) {
      live = running !== undefined;
      config = !live;
    }
    if (live && !running) throw notRunning();
    if (config && !obj.persistent) {
      throw virError(ErrorCode.OPERATION_INVALID, 'transient domains do not have any persistent config', ErrorDomain.QEMU);
    }
    return { live, config };
  }

  async domainAttachDeviceFlags(dom: DomainRef, xml: string, flags: number): Promise<void> {
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainAttachDeviceFlags');
    await this.withDomain(dom, async (obj, running) => {
      const { live, config } = this.impact(flags, obj, running);
      const request = parseXml(xml);
      const persistent = config ? (await this.definitionWithDevice(obj.newDef ?? obj.def, request)).domain : undefined;
      if (live) {
        const device = await this.completeDevice(running!.live, request);
        const alias = child(await this.hotplug.attach(running!, device), 'alias')?.attrs.name;
        // qemuDomainAttachDeviceLive
        if (alias) this.queueEvent({ key: 'domainEventCallbackDeviceAdded', body: { dom: running!.ref(), devAlias: alias } });
      }
      if (persistent) await this.savePersistent(persistent);
      await this.sync({ refresh: false });
    });
  }

  async domainDetachDeviceFlags(dom: DomainRef, xml: string, flags: number): Promise<void> {
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainDetachDeviceFlags');
    const { findLiveDevice } = await import('./hotplug.js');
    await this.withDomain(dom, async (obj, running) => {
      const { live, config } = this.impact(flags, obj, running);
      const request = parseXml(xml);
      let persistent: XmlElement | undefined;
      if (config) {
        persistent = cloneElement(obj.newDef ?? obj.def);
        const gone = findLiveDevice(persistent, request);
        const devices = child(persistent, 'devices')!;
        devices.children = devices.children.filter((d) => d !== gone);
      }
      if (live) await this.hotplug.detach(running!, request);
      if (persistent) await this.savePersistent(persistent);
      await this.sync({ refresh: false });
    });
  }

  /** qemuDomainUpdateDeviceFlags for what tsvirt can change: a NIC's link state (link-state.ts), live over QMP set_link. */
  async domainUpdateDeviceFlags(dom: DomainRef, xml: string, flags: number): Promise<void> {
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG | DEVICE_MODIFY_FORCE, 'qemuDomainUpdateDeviceFlags');
    const request = parseXml(xml);
    if (request.name !== 'interface') {
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, `live update of device '${request.name}' is not supported`, ErrorDomain.QEMU);
    }
    const [{ findLiveDevice }, { requestedLinkState, setLinkState }] = await Promise.all([import('./hotplug.js'), import('./link-state.js')]);
    await this.withDomain(dom, async (obj, running) => {
      const { live, config } = this.impact(flags, obj, running);
      let persistent: XmlElement | undefined;
      if (config) {
        persistent = cloneElement(obj.newDef ?? obj.def);
        const net = findLiveDevice(persistent, request);
        setLinkState(net, requestedLinkState(net, request));
      }
      if (live) {
        const net = findLiveDevice(running!.live, request);
        const state = requestedLinkState(net, request);
        const alias = child(net, 'alias')?.attrs.name;
        if (!alias) throw virError(ErrorCode.OPERATION_FAILED, "can't change link state: device alias not found", ErrorDomain.QEMU);
        const qmp = await this.runtime.ensureMonitor(running!);
        await qmp.execute('set_link', { name: alias, up: state === 'up' });
        setLinkState(net, state);
        await this.runtime.saveStatus(running!);
      }
      if (persistent) await this.savePersistent(persistent);
      await this.sync({ refresh: false });
    });
  }

  // ---- balloon statistics period -------------------------------------------

  /** qemuDomainSetMemoryStatsPeriod: QEMU polls the guest every `period` seconds (0: never); kept in <stats period>. */
  async domainSetMemoryStatsPeriod(dom: DomainRef, period: number, flags: number): Promise<void> {
    checkFlags(flags, ModificationImpact.LIVE | ModificationImpact.CONFIG, 'qemuDomainSetMemoryStatsPeriod');
    const noBalloon = () => virError(ErrorCode.INTERNAL_ERROR, 'No memory balloon device configured, can not set the collection period', ErrorDomain.QEMU);
    const { balloonQomPath } = await import('./domain-stats.js');
    await this.withDomain(dom, async (obj, running) => {
      const { live, config } = this.impact(flags, obj, running);
      if (live) {
        const balloon = activeMemballoon(running!.live);
        if (!balloon) throw noBalloon();
        const qomPath = balloonQomPath(balloon);
        const set = qomPath && running!.qmp?.execute('qom-set', { path: qomPath, property: 'guest-stats-polling-interval', value: period });
        if (!set || !(await set.then(() => true, () => false))) {
          throw virError(ErrorCode.OPERATION_INVALID, 'unable to set balloon driver collection period', ErrorDomain.QEMU);
        }
        setMemballoonPeriod(balloon, period);
        await this.runtime.saveStatus(running!);
      }
      if (config) {
        const persistent = cloneElement(obj.newDef ?? obj.def);
        const balloon = activeMemballoon(persistent);
        if (!balloon) throw noBalloon();
        setMemballoonPeriod(balloon, period);
        await this.savePersistent(persistent);
      }
      await this.sync({ refresh: false });
    });
  }

  async savePersistent(def: XmlElement): Promise<void> {
    await this.driver.withDriverLock(async () => {
      await this.driver.store.sync();
      await this.driver.store.savePersistent(def);
    });
  }

  /**
   * `def` with the device added, through the define pipeline, so the device
   * gets libvirt's defaults (MAC, models, drivers) exactly as if it had been in
   * the XML from the start. Returns the completed domain and the device in it.
   */
  private async definitionWithDevice(def: XmlElement, request: XmlElement): Promise<{ domain: XmlElement; device: XmlElement }> {
    const probe = cloneElement(request);
    const userAlias = child(probe, 'alias')?.attrs.name;
    if (!userAlias) probe.children.push(element('alias', { name: PROBE_ALIAS }));
    const base = cloneElement(def);
    const devices = child(base, 'devices');
    if (!devices) throw virError(ErrorCode.INTERNAL_ERROR, 'domain has no <devices>', ErrorDomain.QEMU);
    devices.children.push(probe);
    const domain = await this.driver.xml.parseNew(this.driver.xml.format(base, { inactive: true }), { validateSchema: false });
    const device = child(domain, 'devices')?.children.find((d) => child(d, 'alias')?.attrs.name === (userAlias ?? PROBE_ALIAS));
    if (!device) throw virError(ErrorCode.INTERNAL_ERROR, 'the attached device was lost while completing it', ErrorDomain.QEMU);
    if (!userAlias) device.children = device.children.filter((c) => c.name !== 'alias');
    return { domain, device };
  }

  /** The device to hotplug: completed like a defined one, but placed by hotplug's own address search. */
  private async completeDevice(live: XmlElement, request: XmlElement): Promise<XmlElement> {
    const { device } = await this.definitionWithDevice(live, request);
    if (!child(request, 'address')) device.children = device.children.filter((c) => c.name !== 'address');
    return device;
  }
}
