// virDomainSave / Restore / ManagedSave and the save image XML calls of the
// qemu driver (libvirt's qemuDomainSaveInternal, qemuDomainRestoreFlags,
// qemuDomainObjRestore). The image is libvirt's (save-image.ts): QEMU pauses,
// writes its migration stream behind the header and the domain XML, and the
// domain is shut off (saved); a restore starts QEMU with -incoming and loads it.
//
// The stream passes through this process (migration-stream.ts).
import { mkdir, open, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { DomainState, PausedReason, RunningReason } from '../../driver/flags.js';
import { dropGeneratedAlias } from '../../conf/devices/common.js';
import { domainName } from '../../conf/domain.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childText, cloneElement, type XmlElement } from '../../util/xml.js';
import type { DomainObject } from '../../conf/objects/domain-object.js';
import type { QemuDriver, DomainRef } from './driver.js';
import { checkFlags } from './driver.js';
import { waitForMigration, type RunningDomain } from './lifecycle.js';
import { finishImage, formatImageStart, readSaveImage, rewriteSaveImage, type SaveImage } from './save-image.js';
import { streamFromFile, streamToFile } from './migration-stream.js';
import { asOutgoingMigration, DOMAIN_SAVE } from './migration-jobs.js';

/** virDomainSaveRestoreFlags */
export const SaveFlags = { BYPASS_CACHE: 1 << 0, RUNNING: 1 << 1, PAUSED: 1 << 2, RESET_NVRAM: 1 << 3 } as const;
/** VIR_DOMAIN_XML_SECURE, the only flag the image XML calls take */
const XML_SECURE = 1 << 0;
/** QEMU's max-bandwidth is bytes/s: a save goes as fast as QEMU can write (libvirt: QEMU_DOMAIN_MIG_BANDWIDTH_MAX). */
const UNLIMITED_BANDWIDTH = Number.MAX_SAFE_INTEGER;

const invalid = (message: string) => virError(ErrorCode.OPERATION_INVALID, message, ErrorDomain.QEMU);

function checkRunningPaused(flags: number): void {
  if (flags & SaveFlags.RUNNING && flags & SaveFlags.PAUSED) {
    throw virError(ErrorCode.INVALID_ARG, "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive", ErrorDomain.QEMU);
  }
}

/** was_running as the flags override it. */
function wantRunning(flags: number, wasRunning: boolean): boolean {
  return flags & SaveFlags.RUNNING ? true : flags & SaveFlags.PAUSED ? false : wasRunning;
}

/**
 * The definition a save image carries: the live one as an inactive, migratable
 * definition (no id, generated aliases, node indexes or pty paths), with the
 * CPU the guest was started with where QEMU's view changed it (origCpu).
 */
export function savedDefinition(live: XmlElement, origCpu?: XmlElement): XmlElement {
  const def = cloneElement(live);
  delete def.attrs.id;
  const cpu = child(def, 'cpu');
  if (cpu && origCpu) def.children[def.children.indexOf(cpu)] = cloneElement(origCpu);
  for (const device of child(def, 'devices')?.children ?? []) {
    dropGeneratedAlias(device);
    // the status file's indentation stays behind in a device left without children
    if (device.children.length === 0) device.text = device.text.trim();
    if (device.name === 'disk') {
      // storage ids: the top image's on its <source>, the backing images' on their <backingStore>
      for (let holder: XmlElement | undefined = device; holder; holder = child(holder, 'backingStore')) {
        const source = child(holder, 'source');
        if (source) delete source.attrs.index;
        if (holder !== device) delete holder.attrs.index;
      }
    }
    if (device.attrs.type === 'pty') {
      delete device.attrs.tty;
      device.children = device.children.filter((c) => c.name !== 'source');
    }
  }
  return def;
}

export class QemuSaveRestore {
  constructor(private readonly driver: QemuDriver) {}

  /** Parses an image's (or a user's replacement) XML for the domain it restores. */
  private definitionOf(text: string, file: string): XmlElement {
    return this.driver.xml.parseConfig(text, file);
  }

  /** A replacement XML must describe the same domain (the part of virDomainDefCheckABIStability that names it). */
  private checkSameDomain(original: XmlElement, replacement: XmlElement): void {
    const [a, b] = [(childText(original, 'uuid') ?? '').toLowerCase(), (childText(replacement, 'uuid') ?? '').toLowerCase()];
    if (a !== b) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Target domain uuid ${b} does not match source ${a}`, ErrorDomain.DOMAIN);
    if (domainName(original) !== domainName(replacement)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Target domain name '${domainName(replacement)}' does not match source '${domainName(original)}'`, ErrorDomain.DOMAIN);
    }
  }

  // ---- save ------------------------------------------------------------------

  async save(dom: DomainRef, to: string, dxml: string | null, flags: number): Promise<void> {
    checkFlags(flags, SaveFlags.BYPASS_CACHE | SaveFlags.RUNNING | SaveFlags.PAUSED, 'qemuDomainSaveFlags');
    checkRunningPaused(flags);
    await this.driver.runtime.withRunning(dom, (obj, running) => this.saveRunning(obj, running, to, dxml, flags));
  }

  /** qemuDomainManagedSaveHelper; `dxml` replaces the saved definition (virDomainSaveParams without a file). */
  async managedSave(dom: DomainRef, flags: number, dxml: string | null = null): Promise<void> {
    checkFlags(flags, SaveFlags.BYPASS_CACHE | SaveFlags.RUNNING | SaveFlags.PAUSED, 'qemuDomainManagedSave');
    checkRunningPaused(flags);
    await this.driver.runtime.withRunning(dom, async (obj, running) => {
      if (!obj.persistent) throw invalid('cannot do managed save for transient domain');
      const path = this.driver.managedSavePath(obj.name);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await this.saveRunning(obj, running, path, dxml, flags);
    });
  }

  private async saveRunning(obj: DomainObject, running: RunningDomain, path: string, dxml: string | null, flags: number): Promise<void> {
    const runtime = this.driver.runtime.runtime;
    let def = savedDefinition(running.live, running.origCpu);
    if (dxml !== null) {
      const replacement = this.definitionOf(dxml, path);
      this.checkSameDomain(def, replacement);
      def = replacement;
    }
    const wasRunning = running.state === DomainState.RUNNING;
    if (wasRunning) await runtime.pauseFor(obj.name, PausedReason.SAVE);
    try {
      await this.writeImage(running, path, def, wantRunning(flags, wasRunning), obj.uuid);
    } catch (e) {
      if (wasRunning) await runtime.resumeAfter(obj.name, RunningReason.SAVE_CANCELED).catch(() => undefined);
      throw e;
    }
    await runtime.stopSaved(obj.name);
  }

  /**
   * qemuSaveImageCreate: the header with `def`, then QEMU's migration stream, in
   * `path` (removed again when anything fails). A save and an external memory
   * snapshot write the same image; a save (`saveOf`: the domain's uuid) is the
   * domain's job, which job info reports and an abort cancels.
   */
  async writeImage(running: RunningDomain, path: string, def: XmlElement, wasRunning: boolean, saveOf?: string): Promise<void> {
    const xml = this.driver.xml.format(def, { secure: true, inactive: true });
    try {
      const fh = await open(path, 'w', 0o600);
      try {
        await fh.write(formatImageStart(xml, wasRunning));
      } finally {
        await fh.close();
      }
      const qmp = await this.driver.runtime.runtime.ensureMonitor(running);
      await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED_BANDWIDTH });
      const stream = await streamToFile(path, this.driver.runtime.security.qemuOwner(running.live));
      const transfer = async () => {
        await qmp.execute('migrate', { uri: stream.uri });
        await waitForMigration(qmp, 'domain save');
        await stream.written;
      };
      try {
        await (saveOf === undefined ? transfer() : asOutgoingMigration(this.driver, saveOf, qmp, transfer, DOMAIN_SAVE));
      } finally {
        await stream.close();
      }
      await finishImage(path);
    } catch (e) {
      await unlink(path).catch(() => undefined);
      throw e;
    }
  }

  // ---- restore ---------------------------------------------------------------

  async restore(from: string, dxml: string | null, flags: number): Promise<void> {
    checkFlags(flags, SaveFlags.BYPASS_CACHE | SaveFlags.RUNNING | SaveFlags.PAUSED | SaveFlags.RESET_NVRAM, 'qemuDomainRestoreFlags');
    checkRunningPaused(flags);
    const image = await readSaveImage(from);
    let def = this.definitionOf(image.xml, from);
    if (dxml !== null) {
      const replacement = this.definitionOf(dxml, from);
      this.checkSameDomain(def, replacement);
      def = replacement;
    }
    const name = domainName(def);
    await this.driver.withDriverLock(async () => {
      await this.driver.syncDomains();
      const existing = this.driver.store.checkAddable(def);
      if (existing && existing.id !== -1) throw invalid(`domain '${name}' is already active`);
      const uuid = (childText(def, 'uuid') ?? '').toLowerCase();
      await this.driver.withDomainLock(uuid, () => this.startFrom(name, def, from, image, flags));
      await this.driver.runtime.sync({ refresh: false });
    });
  }

  /** qemuDomainObjRestore: a start finds the managed save image and restores it; the image goes once restored. */
  async restoreManaged(obj: DomainObject, paused: boolean): Promise<void> {
    const path = this.driver.managedSavePath(obj.name);
    const image = await readSaveImage(path);
    await this.startFrom(obj.name, this.definitionOf(image.xml, path), path, image, paused ? SaveFlags.PAUSED : 0);
    await unlink(path);
  }

  private async startFrom(name: string, def: XmlElement, path: string, image: SaveImage, flags: number): Promise<void> {
    const { runtime } = await this.driver.runtime.processes();
    const pausedByUser = (flags & SaveFlags.PAUSED) !== 0;
    const paused = !wantRunning(flags, image.header.wasRunning) || pausedByUser;
    const stream = await streamFromFile(path, image.streamOffset, image.header.compressed, this.driver.runtime.security.qemuOwner(def));
    try {
      runtime.release(await runtime.start(name, def, { paused, incoming: { uri: stream.uri, send: stream.send, pausedByUser } }));
    } finally {
      await stream.close();
    }
  }

  // ---- the XML inside an image --------------------------------------------------

  async imageXML(file: string, flags: number): Promise<string> {
    checkFlags(flags, XML_SECURE, 'qemuDomainSaveImageGetXMLDesc');
    const image = await readSaveImage(file);
    return this.driver.xml.format(this.definitionOf(image.xml, file), { secure: (flags & XML_SECURE) !== 0, inactive: true });
  }

  async defineImageXML(file: string, dxml: string, flags: number): Promise<void> {
    checkFlags(flags, SaveFlags.RUNNING | SaveFlags.PAUSED, 'qemuDomainSaveImageDefineXML');
    checkRunningPaused(flags);
    const image = await readSaveImage(file);
    const replacement = this.definitionOf(dxml, file);
    this.checkSameDomain(this.definitionOf(image.xml, file), replacement);
    const xml = this.driver.xml.format(replacement, { secure: true, inactive: true });
    await rewriteSaveImage(file, image, xml, wantRunning(flags, image.header.wasRunning));
  }

  /** The managed save image of a domain, or libvirt's error when it has none. */
  async managedImagePath(dom: DomainRef): Promise<string> {
    const obj = await this.driver.objectOf(dom);
    const path = this.driver.managedSavePath(obj.name);
    if (!existsSync(path)) throw invalid('domain does not have managed save image');
    return path;
  }
}
