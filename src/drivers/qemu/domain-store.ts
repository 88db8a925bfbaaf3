// The qemu driver's domain object list (virDomainObjList) and its persistence:
// one config file CONFIG_DIR/NAME.xml per persistent domain, an autostart
// symlink AUTOSTART_DIR/NAME.xml -> CONFIG_DIR/NAME.xml, exactly as libvirt keeps them.
//
// Several tsvirsh processes may share one state folder, so the on-disk files are
// the truth: sync() re-reads whatever changed since the last look (by inode,
// size and mtime), and every mutation runs under the driver lock after a sync.
// Runtime state (ids, running/paused, status files) is added by the lifecycle
// modules through the same DomainObject records.
//
// Every tsvirsh call is a new process and every API call syncs, so a sync must
// not cost a stat per domain, nor a process a parse per domain: an unchanged
// folder (same mtime, not changed within the file system's clock granularity
// of our last look) is not re-read, and a file whose stamp matches the
// on-disk index (domain-index.ts) gives its name and UUID without being parsed;
// its definition is parsed when first used. A new process that finds the folder
// as the index recorded it takes the files' stamps from the index unstat'ed, and
// loads a domain into the list only when it is asked for (by name, by UUID through
// the index, or all of them to list): a query of one domain of a thousand makes
// one domain object, not a thousand.
//
// Inside tsvirtd the folder is the daemon's alone (state-owner.ts): an owned
// store reads it once and then keeps the list in memory, as libvirtd does.

import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { unlinkDurable, writeFileAtomic, fsyncDir } from '../../util/atomic-file.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { checkReadableBack, type XmlElement } from '../../util/xml.js';
import { domainName, domainUUID } from '../../conf/domain.js';
import { DomainObject } from '../../conf/objects/domain-object.js';
import { DomainObjectList } from '../../conf/objects/domain-list.js';
import { DirectoryWatch, sameStamp, stampOf, type FileStamp } from '../../util/file-stamp.js';
import { DomainIndex } from './domain-index.js';
import { configFileHeader } from '../../util/config-header.js';

/**
 * How the store turns a config file into a definition (parse + post-parse, no ABI update).
 * `vouched`: the index recorded this very version of the file as loaded before, so its
 * checks passed once and need not run again (libvirt checks no config file it loads).
 */
export type ConfigParser = (text: string, file: string, vouched: boolean) => XmlElement;
/** How a definition is written to its config file. */
export type ConfigFormatter = (def: XmlElement) => string;
/** Receives config files that could not be loaded; the rest still load. */
export type LoadErrorReporter = (file: string, error: Error) => void;

/** libvirt's header on every config file it writes (virDomainDefSave -> virXMLSaveFile). */
function configHeader(name: string): string {
  return configFileHeader(`virsh edit ${name}`);
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

/** Synchronous: an unlink waits on no disk, and a thread-pool round trip costs more than the call. */
function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** The UUID a definition is keyed by (lowercase, as libvirt formats it). */
const uuidOf = (def: XmlElement): string => (domainUUID(def) ?? '').toLowerCase();

const CONFIG_SUFFIX = '.xml';

export class DomainStore {
  private readonly domains = new DomainObjectList();
  /** config files as last read: file name -> stamp (and the uuid it defined, if it loaded) */
  private readonly seen = new Map<string, { stamp: FileStamp; uuid?: string }>();
  private readonly configWatch: DirectoryWatch;
  private readonly autostartWatch: DirectoryWatch;
  private readonly index: DomainIndex;
  private changes = 0;
  /**
   * The folder was first read as the index describes it, and the indexed files not in
   * `seen` are not loaded into the list yet; any rescan, removal or index write loads them all first.
   */
  private indexHoldsUnloaded = false;
  /** the autostart folder's entries as last read, for domains loaded after */
  private autostartLinks = new Set<string>();
  /** Hears of each domain loaded into the list after the sync that found it (the runtime lays its state over it). */
  whenLoaded?: (obj: DomainObject) => void;
  /** only this object changes the folder (own()) */
  private owned = false;
  private loaded = false;

  constructor(
    readonly configDir: string,
    readonly autostartDir: string,
    indexFile: string,
    private readonly parse: ConfigParser,
    private readonly format: ConfigFormatter,
    private readonly reportLoadError: LoadErrorReporter,
  ) {
    this.configWatch = new DirectoryWatch(configDir);
    this.autostartWatch = new DirectoryWatch(autostartDir);
    this.index = new DomainIndex(indexFile);
  }

  /** Moves whenever domains come, go or change persistence: an unchanged generation needs no re-overlay. */
  get generation(): number {
    return this.changes;
  }

  configFile(name: string): string {
    return join(this.configDir, `${name}${CONFIG_SUFFIX}`);
  }

  autostartLink(name: string): string {
    return join(this.autostartDir, `${name}${CONFIG_SUFFIX}`);
  }

  /**
   * Brings the in-memory list in line with the config folder: new or changed
   * files are (re)read, removed files drop their inactive domain, autostart
   * links are re-read (unless `autostart` is false and no config changed: the
   * caller does not read it). A file that fails to load is reported once per
   * version. Costs two stats when neither folder changed.
   */
  async sync(options: { autostart: boolean } = { autostart: true }): Promise<void> {
    if (this.owned && this.loaded) return;
    this.loaded = true;
    const configsChanged = this.configWatch.changed();
    if (configsChanged) this.rescanConfigs();
    if (configsChanged || (options.autostart && this.autostartWatch.changed())) this.rescanAutostart();
  }

  /**
   * Re-reads the folder if `name`'s config file changed in place: a folder's
   * mtime does not move when a file is rewritten without a rename.
   */
  refreshConfig(name: string): void {
    if (this.owned) return;
    const file = `${name}${CONFIG_SUFFIX}`;
    this.loadIndexed(file);
    const previous = this.seen.get(file)?.stamp;
    const stamp = stampOf(this.configFile(name));
    if (previous === undefined && stamp === undefined) return;
    if (sameStamp(previous, stamp)) return;
    this.configWatch.forget();
    this.rescanConfigs();
    this.rescanAutostart();
  }

  private rescanConfigs(): void {
    this.loadAllIndexed();
    this.changes++;
    // a folder as the index last saw it: its files need no stat either
    this.index.reloadIfRewritten();
    const indexed = this.index.describesFolder(this.configWatch.stamp);
    if (indexed && this.seen.size === 0) {
      // a first read of a folder exactly as indexed (a new process): its files are taken
      // from the index, neither listed, stat'ed, parsed nor indexed again, and each is
      // loaded when first asked for
      this.indexHoldsUnloaded = true;
      return;
    }
    // temporary files of atomic writes never end in .xml, so they are never read
    let names: string[];
    try {
      names = readdirSync(this.configDir).filter((f) => f.endsWith(CONFIG_SUFFIX));
    } catch {
      names = [];
    }
    const present = new Set(names);
    for (const [file, entry] of this.seen) {
      if (present.has(file)) continue;
      this.seen.delete(file);
      if (entry.uuid) this.dropPersistent(entry.uuid);
    }
    for (const file of names) {
      const stamp = (indexed ? this.index.stampOf(file) : undefined) ?? stampOf(join(this.configDir, file));
      if (!stamp?.isFile) continue; // removed meanwhile, or not a file
      const previous = this.seen.get(file);
      if (sameStamp(previous?.stamp, stamp)) continue;
      if (previous?.uuid) this.dropPersistent(previous.uuid);
      this.seen.set(file, { stamp, uuid: this.loadConfig(file, stamp)?.uuid });
    }
    this.index.save(this.seen, this.configWatch.provenStamp());
  }

  /** Loads `file` into the list if the index holds it unloaded. */
  private loadIndexed(file: string): void {
    if (!this.indexHoldsUnloaded || this.seen.has(file)) return;
    const entry = this.index.entry(file);
    if (!entry) return;
    const obj = this.loadConfig(file, entry.stamp, entry.uuid);
    this.seen.set(file, obj ? entry : { stamp: entry.stamp });
    if (!obj) return;
    obj.autostart = this.autostartOf(obj.name);
    this.whenLoaded?.(obj);
  }

  private loadAllIndexed(): void {
    if (!this.indexHoldsUnloaded) return;
    // forEach: a thousand steps of a for-of each made an iterator result in V8's interpreter
    this.index.forEachFile((file) => this.loadIndexed(file));
    this.indexHoldsUnloaded = false;
  }

  /**
   * Recognises a config file by its index entry (`indexedUUID` when the caller took
   * the stamp from the index), or parses it; the domain it defines, undefined when it did not load.
   */
  private loadConfig(file: string, stamp: FileStamp, indexedUUID = this.index.uuidFor(file, stamp)): DomainObject | undefined {
    // paths joined only when read: a thousand path.join calls were a third of a cold
    // start-up's rescan; one closure per domain, the lazy definition, is all list keeps
    const name = file.slice(0, -CONFIG_SUFFIX.length);
    try {
      let def: XmlElement | (() => XmlElement);
      let uuid: string;
      if (indexedUUID) {
        uuid = indexedUUID;
        // vouched for only while the file keeps the indexed stamp (writers replace it by rename)
        def = () => {
          const path = join(this.configDir, file);
          return this.parseConfigFile(path, name, sameStamp(stampOf(path), stamp));
        };
      } else {
        def = this.parseConfigFile(join(this.configDir, file), name, false);
        uuid = uuidOf(def);
      }
      const existing = this.domains.findByUUID(uuid);
      if (existing && existing.name !== name) {
        throw virError(ErrorCode.OPERATION_FAILED, `domain '${existing.name}' is already defined with uuid ${uuid}`, ErrorDomain.DOMAIN);
      }
      if (existing) {
        // the domain is running: the file is its next-start definition
        if (existing.id !== -1) existing.newDef = typeof def === 'function' ? def() : def;
        else existing.def = def;
        existing.persistent = true;
        return existing;
      }
      const obj = new DomainObject(name, uuid, def, true);
      this.domains.add(obj);
      return obj;
    } catch (e) {
      this.reportLoadError(join(this.configDir, file), e as Error);
      return undefined;
    }
  }

  private parseConfigFile(path: string, name: string, vouched: boolean): XmlElement {
    const def = this.parse(readFileSync(path, 'utf8'), path, vouched);
    const defName = domainName(def);
    if (defName !== name) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Domain config filename '${path}' does not match domain name '${defName}'`, ErrorDomain.DOMAIN);
    }
    return def;
  }

  /** The config file of `uuid` is gone: an inactive domain goes away, a running one becomes transient. */
  private dropPersistent(uuid: string): void {
    const obj = this.domains.findByUUID(uuid);
    if (!obj) return;
    if (obj.id === -1) this.domains.remove(obj);
    else {
      obj.persistent = false;
      obj.autostart = false;
      delete obj.newDef;
    }
  }

  /** A domain autostarts when its link resolves to its own config file. */
  private rescanAutostart(): void {
    try {
      this.autostartLinks = new Set(readdirSync(this.autostartDir));
    } catch {
      this.autostartLinks = new Set();
    }
    for (const obj of this.domains.all()) if (obj.persistent) obj.autostart = this.autostartOf(obj.name);
  }

  private autostartOf(name: string): boolean {
    // most folders have no link: no file name is built per domain then
    return this.autostartLinks.size > 0 && this.autostartLinks.has(`${name}${CONFIG_SUFFIX}`) && this.linkPointsToConfig(name);
  }

  private linkPointsToConfig(name: string): boolean {
    const link = stampOf(this.autostartLink(name));
    const config = stampOf(this.configFile(name));
    return link !== undefined && config !== undefined && link.ino === config.ino && link.dev === config.dev;
  }

  list(): DomainObject[] {
    this.loadAllIndexed();
    return this.domains.all();
  }

  /** The domains loaded into the list so far (the rest are inactive, persistent and known only to the index). */
  loadedObjects(): DomainObject[] {
    return this.domains.all();
  }

  findByUUID(uuid: string): DomainObject | undefined {
    const found = this.domains.findByUUID(uuid);
    if (found || !this.indexHoldsUnloaded) return found;
    const file = this.index.fileOf(uuid.toLowerCase());
    if (file === undefined) return undefined;
    this.loadIndexed(file);
    return this.domains.findByUUID(uuid);
  }

  findByName(name: string): DomainObject | undefined {
    this.loadIndexed(`${name}${CONFIG_SUFFIX}`);
    return this.domains.findByName(name);
  }

  /** Only running domains have ids, and they are all loaded (their status files named them). */
  findByID(id: number): DomainObject | undefined {
    return this.domains.findByID(id);
  }

  /**
   * Refuses a definition that clashes with another domain (virDomainObjListAdd):
   * same UUID under another name, or same name under another UUID.
   * Returns the domain it would replace, if any.
   */
  checkAddable(def: XmlElement): DomainObject | undefined {
    const name = domainName(def);
    const uuid = uuidOf(def);
    this.loadClashing(name, uuid);
    return this.domains.checkAddable(name, uuid);
  }

  /** Loads the domains a new one named `name` with `uuid` could clash with. */
  private loadClashing(name: string, uuid: string): void {
    this.findByName(name);
    this.findByUUID(uuid);
  }

  /**
   * Makes `def` a persistent definition (virDomainDefSave + virDomainObjListAdd):
   * the config file is replaced atomically first, so a failure changes nothing.
   * Callers hold the driver lock and have synced. Returns the object and whether it is new.
   */
  async savePersistent(def: XmlElement): Promise<{ obj: DomainObject; added: boolean }> {
    const existing = this.checkAddable(def);
    this.changes++;
    const name = domainName(def);
    const uuid = uuidOf(def);
    const file = this.configFile(name);
    const text = configHeader(name) + this.format(def);
    checkReadableBack(text, `the configuration of domain '${name}'`);
    // fsynced and renamed, the folder not fsynced: libvirt's virDomainDefSave (virFileRewrite) does the same
    await writeFileAtomic(file, text, 0o600, false);
    this.remember(`${name}${CONFIG_SUFFIX}`, uuid);
    if (existing) {
      if (existing.id !== -1) existing.newDef = def;
      else existing.def = def;
      existing.persistent = true;
      return { obj: existing, added: false };
    }
    const obj = new DomainObject(name, uuid, def, true);
    this.domains.add(obj);
    return { obj, added: true };
  }

  /** Adds a transient (running, never persisted) domain; the caller checked addability. */
  addTransient(obj: DomainObject): void {
    this.loadClashing(obj.name, obj.uuid);
    this.changes++;
    this.domains.add(obj);
  }

  /** Removes an inactive domain object from the list (its files must already be gone). */
  removeInactive(obj: DomainObject): void {
    this.changes++;
    this.domains.remove(obj);
  }

  /**
   * Deletes the config file and autostart link (virDomainDeleteConfig) and makes the
   * domain transient; an inactive domain leaves the list. As libvirt's, the
   * removals are not fsynced: an undefine lost to a power cut leaves the domain defined.
   */
  async deleteConfig(obj: DomainObject): Promise<void> {
    // `seen` forgets the file below: the index must not load it back
    this.loadAllIndexed();
    unlinkIfPresent(this.autostartLink(obj.name));
    unlinkIfPresent(this.configFile(obj.name));
    this.seen.delete(`${obj.name}${CONFIG_SUFFIX}`);
    this.changes++;
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

  /**
   * From now on only this object changes the folder (the caller claimed it):
   * the in-memory list is the truth from its first read on, and the index,
   * which only spares other processes' parses, is no longer kept.
   */
  own(): void {
    this.owned = true;
  }

  /**
   * Gives an inactive persistent domain the name of `def` (qemuDomainRenameCallback):
   * the new config file and autostart link are written before the old ones go,
   * so an interruption leaves the domain defined under a name, never under none.
   * Callers hold the driver lock, have synced and checked the new name is free.
   */
  async rename(obj: DomainObject, def: XmlElement): Promise<void> {
    this.loadAllIndexed();
    const oldName = obj.name;
    const newName = domainName(def);
    const text = configHeader(newName) + this.format(def);
    checkReadableBack(text, `the configuration of domain '${newName}'`);
    this.changes++;
    await writeFileAtomic(this.configFile(newName), text);
    if (obj.autostart) {
      const target = resolve(this.configFile(newName));
      try {
        await symlink(target, this.autostartLink(newName));
      } catch (e) {
        await unlinkDurable(this.configFile(newName));
        throw virError(ErrorCode.SYSTEM_ERROR, `Failed to create symlink '${this.autostartLink(newName)} to '${target}': ${(e as Error).message}`, ErrorDomain.QEMU);
      }
      await fsyncDir(this.autostartDir);
    }
    await unlinkDurable(this.autostartLink(oldName));
    await unlinkDurable(this.configFile(oldName));
    this.seen.delete(`${oldName}${CONFIG_SUFFIX}`);
    this.remember(`${newName}${CONFIG_SUFFIX}`, obj.uuid);
    obj.def = def;
    this.domains.rename(obj, newName);
  }

  /** Records the stamp of a file we just wrote, so the next sync does not re-read it. */
  private remember(file: string, uuid: string): void {
    if (this.owned) return;
    // the index is rewritten from `seen`, which must hold every file then
    this.loadAllIndexed();
    const stamp = stampOf(join(this.configDir, file));
    if (stamp) this.seen.set(file, { stamp, uuid });
    this.index.save(this.seen);
  }
}
