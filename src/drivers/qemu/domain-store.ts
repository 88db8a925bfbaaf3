// The qemu driver's domain object list (virDomainObjList) and its persistence:
// one config file CONFIG_DIR/NAME.xml per persistent domain, an autostart
// symlink AUTOSTART_DIR/NAME.xml -> CONFIG_DIR/NAME.xml, exactly as libvirt keeps them.
//
// Several tsvirsh processes may share one state folder, so the on-disk files are
// the truth: sync() re-reads whatever changed since the last look (by inode,
// size and mtime), and every mutation runs under the driver lock after a sync.
// Runtime state (ids, running/paused, status files) is added by the lifecycle
// modules through the same DomainObject records.

import { readdir, readFile, stat, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DomainState } from '../../api/types.js';
import { unlinkDurable, writeFileAtomic, fsyncDir } from '../../util/atomic-file.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import { domainName, domainUUID } from '../../conf/domain.js';

/** One domain known to the driver (virDomainObj). */
export interface DomainObject {
  name: string;
  uuid: string;
  /** the current definition: the persistent one while inactive, the live one while running */
  def: XmlElement;
  /** the persistent definition to use at next start, when changed while running */
  newDef?: XmlElement;
  persistent: boolean;
  autostart: boolean;
  /** -1 while inactive */
  id: number;
  state: DomainState;
  reason: number;
}

/** How the store turns a config file into a definition (parse + post-parse, no ABI update). */
export type ConfigParser = (text: string, file: string) => XmlElement;
/** How a definition is written to its config file. */
export type ConfigFormatter = (def: XmlElement) => string;
/** Receives config files that could not be loaded; the rest still load. */
export type LoadErrorReporter = (file: string, error: Error) => void;

interface FileStamp {
  ino: number;
  size: number;
  mtimeNs: bigint;
}

const sameStamp = (a: FileStamp | undefined, b: FileStamp) => a !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;

/** libvirt's header on every config file it writes (virDomainDefSave -> virXMLSaveFile). */
function configHeader(name: string): string {
  return (
    '<!--\n' +
    'WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n' +
    'OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n' +
    `  virsh edit ${name}\n` +
    'or other application using the libvirt API.\n' +
    '-->\n\n'
  );
}

/**
 * Longest domain name, in UTF-8 bytes, whose files (NAME.xml, its atomic-write
 * temporary, NAME.log) still fit the 255-byte file-name limit of Linux file systems.
 */
export const MAX_DOMAIN_NAME_BYTES = 200;

/**
 * Names the driver refuses because they become file names: libvirt checks only
 * '/'; a leading '.' would hide the config file (and '.'/'..' are not files),
 * and a name too long fails half-way through define with ENAMETOOLONG.
 */
export function checkDomainNameStorable(name: string): void {
  if (name.startsWith('.')) throw virError(ErrorCode.XML_ERROR, `name ${name} cannot start with '.'`);
  if (Buffer.byteLength(name, 'utf8') > MAX_DOMAIN_NAME_BYTES) {
    throw virError(ErrorCode.XML_ERROR, `name ${name.slice(0, 32)}... is too long (at most ${MAX_DOMAIN_NAME_BYTES} bytes)`);
  }
}

/** The UUID a definition is keyed by (lowercase, as libvirt formats it). */
const uuidOf = (def: XmlElement): string => (domainUUID(def) ?? '').toLowerCase();

export class DomainStore {
  private readonly byUUID = new Map<string, DomainObject>();
  /** config files as last read: file name -> stamp (and the uuid it defined, if it loaded) */
  private readonly seen = new Map<string, { stamp: FileStamp; uuid?: string }>();

  constructor(
    readonly configDir: string,
    readonly autostartDir: string,
    private readonly parse: ConfigParser,
    private readonly format: ConfigFormatter,
    private readonly reportLoadError: LoadErrorReporter,
  ) {}

  configFile(name: string): string {
    return join(this.configDir, `${name}.xml`);
  }

  autostartLink(name: string): string {
    return join(this.autostartDir, `${name}.xml`);
  }

  /**
   * Brings the in-memory list in line with the config folder: new or changed
   * files are (re)parsed, removed files drop their inactive domain, autostart
   * links are re-read. A file that fails to load is reported once per version.
   */
  async sync(): Promise<void> {
    // temporary files of atomic writes never end in .xml, so they are never read
    const names = (await readdir(this.configDir).catch(() => [] as string[])).filter((f) => f.endsWith('.xml'));
    const present = new Set(names);
    for (const [file, entry] of this.seen) {
      if (present.has(file)) continue;
      this.seen.delete(file);
      if (entry.uuid) this.dropPersistent(entry.uuid);
    }
    for (const file of names) {
      const path = join(this.configDir, file);
      let st;
      try {
        st = await stat(path, { bigint: true });
      } catch {
        continue; // removed meanwhile
      }
      if (!st.isFile()) continue;
      const stamp: FileStamp = { ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs };
      const previous = this.seen.get(file);
      if (sameStamp(previous?.stamp, stamp)) continue;
      if (previous?.uuid) this.dropPersistent(previous.uuid);
      this.seen.set(file, { stamp, ...this.loadConfig(file, await readFile(path, 'utf8').catch((e: Error) => e)) });
    }
    for (const obj of this.byUUID.values()) {
      if (obj.persistent) obj.autostart = await this.linkPointsToConfig(obj.name);
    }
  }

  private loadConfig(file: string, text: string | Error): { uuid?: string } {
    const path = join(this.configDir, file);
    try {
      if (text instanceof Error) throw text;
      const def = this.parse(text, path);
      const name = domainName(def);
      const uuid = uuidOf(def);
      if (`${name}.xml` !== file) {
        throw virError(ErrorCode.INTERNAL_ERROR, `Domain config filename '${path}' does not match domain name '${name}'`, ErrorDomain.DOMAIN);
      }
      const existing = this.byUUID.get(uuid);
      if (existing && existing.name !== name) {
        throw virError(ErrorCode.OPERATION_FAILED, `domain '${existing.name}' is already defined with uuid ${uuid}`, ErrorDomain.DOMAIN);
      }
      if (existing) {
        // the domain is running: the file is its next-start definition
        if (existing.id !== -1) existing.newDef = def;
        else existing.def = def;
        existing.persistent = true;
      } else {
        this.byUUID.set(uuid, { name, uuid, def, persistent: true, autostart: false, id: -1, state: DomainState.SHUTOFF, reason: 0 });
      }
      return { uuid };
    } catch (e) {
      this.reportLoadError(path, e as Error);
      return {};
    }
  }

  /** The config file of `uuid` is gone: an inactive domain goes away, a running one becomes transient. */
  private dropPersistent(uuid: string): void {
    const obj = this.byUUID.get(uuid);
    if (!obj) return;
    if (obj.id === -1) this.byUUID.delete(uuid);
    else {
      obj.persistent = false;
      obj.autostart = false;
      delete obj.newDef;
    }
  }

  private async linkPointsToConfig(name: string): Promise<boolean> {
    try {
      const [a, b] = await Promise.all([stat(this.autostartLink(name)), stat(this.configFile(name))]);
      return a.ino === b.ino && a.dev === b.dev;
    } catch {
      return false;
    }
  }

  list(): DomainObject[] {
    return [...this.byUUID.values()];
  }

  findByUUID(uuid: string): DomainObject | undefined {
    return this.byUUID.get(uuid.toLowerCase());
  }

  findByName(name: string): DomainObject | undefined {
    for (const obj of this.byUUID.values()) if (obj.name === name) return obj;
    return undefined;
  }

  findByID(id: number): DomainObject | undefined {
    if (id < 0) return undefined;
    for (const obj of this.byUUID.values()) if (obj.id === id) return obj;
    return undefined;
  }

  /**
   * Refuses a definition that clashes with another domain (virDomainObjListAdd):
   * same UUID under another name, or same name under another UUID.
   * Returns the domain it would replace, if any.
   */
  checkAddable(def: XmlElement): DomainObject | undefined {
    const name = domainName(def);
    const uuid = uuidOf(def);
    const sameUUID = this.byUUID.get(uuid);
    if (sameUUID) {
      if (sameUUID.name !== name) {
        throw virError(ErrorCode.OPERATION_FAILED, `domain '${sameUUID.name}' is already defined with uuid ${uuid}`, ErrorDomain.DOMAIN);
      }
      return sameUUID;
    }
    const sameName = this.findByName(name);
    if (sameName) {
      throw virError(ErrorCode.OPERATION_FAILED, `domain '${name}' already exists with uuid ${sameName.uuid}`, ErrorDomain.DOMAIN);
    }
    return undefined;
  }

  /**
   * Makes `def` a persistent definition (virDomainDefSave + virDomainObjListAdd):
   * the config file is replaced atomically first, so a failure changes nothing.
   * Callers hold the driver lock and have synced. Returns the object and whether it is new.
   */
  async savePersistent(def: XmlElement): Promise<{ obj: DomainObject; added: boolean }> {
    const existing = this.checkAddable(def);
    const name = domainName(def);
    const uuid = uuidOf(def);
    const file = this.configFile(name);
    await writeFileAtomic(file, configHeader(name) + this.format(def));
    await this.remember(`${name}.xml`, uuid);
    if (existing) {
      if (existing.id !== -1) existing.newDef = def;
      else existing.def = def;
      existing.persistent = true;
      return { obj: existing, added: false };
    }
    const obj: DomainObject = { name, uuid, def, persistent: true, autostart: false, id: -1, state: DomainState.SHUTOFF, reason: 0 };
    this.byUUID.set(uuid, obj);
    return { obj, added: true };
  }

  /** Adds a transient (running, never persisted) domain; the caller checked addability. */
  addTransient(obj: DomainObject): void {
    this.byUUID.set(obj.uuid, obj);
  }

  /** Removes an inactive domain object from the list (its files must already be gone). */
  removeInactive(obj: DomainObject): void {
    if (this.byUUID.get(obj.uuid) === obj) this.byUUID.delete(obj.uuid);
  }

  /**
   * Deletes the config file and autostart link (virDomainDeleteConfig) and makes the
   * domain transient; an inactive domain leaves the list.
   */
  async deleteConfig(obj: DomainObject): Promise<void> {
    await unlinkDurable(this.autostartLink(obj.name));
    await unlinkDurable(this.configFile(obj.name));
    this.seen.delete(`${obj.name}.xml`);
    obj.autostart = false;
    obj.persistent = false;
    delete obj.newDef;
    if (obj.id === -1) this.removeInactive(obj);
  }

  /** Creates or removes the autostart symlink (qemuDomainSetAutostart). */
  async setAutostart(obj: DomainObject, autostart: boolean): Promise<void> {
    if (obj.autostart === autostart) return;
    const link = this.autostartLink(obj.name);
    if (autostart) {
      const target = resolve(this.configFile(obj.name));
      // a stale link left at our path (pointing elsewhere) is replaced
      await unlinkDurable(link);
      try {
        await symlink(target, link);
      } catch (e) {
        throw virError(ErrorCode.SYSTEM_ERROR, `Failed to create symlink '${link} to '${target}': ${(e as Error).message}`, ErrorDomain.QEMU);
      }
      await fsyncDir(this.autostartDir);
    } else {
      await unlinkDurable(link);
    }
    obj.autostart = autostart;
  }

  /** Records the stamp of a file we just wrote, so the next sync does not re-read it. */
  private async remember(file: string, uuid: string): Promise<void> {
    const st = await stat(join(this.configDir, file), { bigint: true });
    this.seen.set(file, { stamp: { ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs }, uuid });
  }
}
