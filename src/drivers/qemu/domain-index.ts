// The qemu driver's index of config files: for each file name the stamp it had
// when parsed and the UUID it defines. Every tsvirsh call is a new process; with
// the index, one that lists a thousand domains stats their files instead of
// parsing them. It is only a cache: an entry counts only while the file's stamp
// is unchanged, a lost or broken index costs parses, never correctness, so it
// is written without fsync and any process may overwrite it.
//
// An index written right after a full read of the folder also records the
// folder's stamp (when that read proved it, see DirectoryWatch.provenStamp): a
// process that finds the folder with that very stamp takes the files' stamps
// from the index instead of stat'ing each file, just as one process does not
// re-read a folder that did not change. A file rewritten in place is still seen
// when its domain is used (DomainStore.refreshConfig).

import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ATOMIC_TEMP_PREFIX } from '../../util/atomic-file.js';
import { sameStamp, stampOf, type FileStamp } from '../../util/file-stamp.js';

const FORMAT = 2;

export interface IndexEntry {
  stamp: FileStamp;
  uuid: string;
}

/** On disk: {format, folder: [dev, ino, size, mtimeNs] | null, files: {NAME.xml: [dev, ino, size, mtimeNs, uuid]}} */
type StoredEntry = [number, number, number, string, string];
type StoredStamp = [number, number, number, string];

const storedStamp = (s: FileStamp): StoredStamp => [s.dev, s.ino, s.size, String(s.mtimeNs)];
// indexed, not destructured: a new process runs this in V8's interpreter, where
// array destructuring goes through an iterator object
const stampFrom = (s: StoredStamp | StoredEntry, isFile: boolean): FileStamp => ({ dev: s[0], ino: s[1], size: s[2], mtimeNs: BigInt(s[3]), isFile });
const isStoredEntry = (e: unknown): e is StoredEntry =>
  Array.isArray(e) && e.length === 5 && typeof e[0] === 'number' && typeof e[1] === 'number' && typeof e[2] === 'number' && typeof e[3] === 'string' && /^\d+$/.test(e[3]) && typeof e[4] === 'string';
/** Whether a stored entry records `stamp`, compared as stored (no entry decoded). */
const storedStampIs = (e: StoredEntry, stamp: FileStamp): boolean => e[0] === stamp.dev && e[1] === stamp.ino && e[2] === stamp.size && e[3] === String(stamp.mtimeNs);

export class DomainIndex {
  /**
   * The entries as stored: a process that looks at one domain of a thousand
   * decodes one entry (its stamp's BigInt, its object), not a thousand.
   */
  private entries?: Map<string, StoredEntry>;
  /** file name by UUID, built on the first lookup by UUID */
  private byUUID?: Map<string, string>;
  /** the config folder's stamp when the entries were complete, if it was proven then */
  private folder?: FileStamp;
  /** the text last read or written: an unchanged index is not rewritten */
  private text = '';
  /** the index file as last read or written by this process */
  private fileStamp?: FileStamp;

  constructor(readonly file: string) {}

  /**
   * Forgets the entries if another process rewrote the index since: a process
   * that waited for the driver lock while others defined domains finds their
   * files there instead of parsing them.
   */
  reloadIfRewritten(): void {
    if (this.entries && !sameStamp(stampOf(this.file), this.fileStamp)) this.forget();
  }

  /** The UUID `file` defines, if the index knows this very version of it. */
  uuidFor(file: string, stamp: FileStamp): string | undefined {
    const entry = this.load().get(file);
    return entry && storedStampIs(entry, stamp) ? entry[4] : undefined;
  }

  /** Whether the entries describe the config folder as it is now, stamped `folder`. */
  describesFolder(folder: FileStamp | undefined): boolean {
    this.load();
    return sameStamp(this.folder, folder);
  }

  /** Calls `fn` with each indexed file name. */
  forEachFile(fn: (file: string) => void): void {
    this.load().forEach((_entry, file) => fn(file));
  }

  /** `file`'s stamp when indexed and the UUID it defines. */
  entry(file: string): IndexEntry | undefined {
    const stored = this.load().get(file);
    return stored && { stamp: stampFrom(stored, true), uuid: stored[4] };
  }

  /** The indexed file that defines `uuid` (lowercase). */
  fileOf(uuid: string): string | undefined {
    if (!this.byUUID) {
      this.byUUID = new Map();
      for (const [file, stored] of this.load()) this.byUUID.set(stored[4], file);
    }
    return this.byUUID.get(uuid);
  }

  /** The stamp `file` had when indexed. */
  stampOf(file: string): FileStamp | undefined {
    const stored = this.load().get(file);
    return stored && stampFrom(stored, true);
  }

  /**
   * Replaces the index with the files as the caller last read them; `folder` is
   * the folder's proven stamp when `files` is a full read of it made under that stamp.
   */
  save(files: ReadonlyMap<string, { stamp: FileStamp; uuid?: string }>, folder?: FileStamp): void {
    if (this.holds(files, folder)) return;
    const stored: Record<string, StoredEntry> = {};
    const entries = new Map<string, StoredEntry>();
    // stored in name order: a process that lists the domains finds them (nearly) sorted,
    // which makes its two sorts by name a pass each instead of n log n comparator calls
    for (const file of [...files.keys()].sort()) {
      const { stamp, uuid } = files.get(file)!;
      if (!uuid) continue;
      const entry: StoredEntry = [...storedStamp(stamp), uuid];
      stored[file] = entry;
      entries.set(file, entry);
    }
    // a folder with a file that did not load is not described by the entries: that file is read (and reported) again
    if (entries.size !== files.size) folder = undefined;
    const text = JSON.stringify({ format: FORMAT, folder: folder ? storedStamp(folder) : null, files: stored });
    this.entries = entries;
    this.byUUID = undefined;
    this.folder = folder;
    if (text === this.text) return;
    const temp = join(dirname(this.file), `${ATOMIC_TEMP_PREFIX}${basename(this.file)}.${process.pid}`);
    try {
      writeFileSync(temp, text, { mode: 0o600 });
      renameSync(temp, this.file);
      this.text = text;
      this.fileStamp = stampOf(this.file);
    } catch {
      // a cache that cannot be written only makes the next process parse
      try {
        unlinkSync(temp);
      } catch {
        /* never created */
      }
    }
  }

  /**
   * Whether the index already says exactly this: a process that took every file
   * from the index (the usual start-up) neither formats nor rewrites it.
   */
  private holds(files: ReadonlyMap<string, { stamp: FileStamp; uuid?: string }>, folder: FileStamp | undefined): boolean {
    if (!this.entries || this.entries.size !== files.size || !(folder === this.folder || sameStamp(folder, this.folder))) return false;
    for (const [file, { stamp, uuid }] of files) {
      const entry = this.entries.get(file);
      if (!entry || entry[4] !== uuid || !storedStampIs(entry, stamp)) return false;
    }
    return true;
  }

  private forget(): void {
    this.entries = undefined;
    this.byUUID = undefined;
    this.folder = undefined;
  }

  private load(): Map<string, StoredEntry> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    try {
      // stamped before reading: a rewrite in between is read again next time
      this.fileStamp = stampOf(this.file);
      this.text = readFileSync(this.file, 'utf8');
      const parsed = JSON.parse(this.text) as { format?: number; folder?: StoredStamp | null; files?: Record<string, unknown> };
      if (parsed.format !== FORMAT || typeof parsed.files !== 'object' || parsed.files === null) return this.entries;
      let stored = 0;
      for (const file in parsed.files) {
        const e = parsed.files[file];
        stored++;
        if (isStoredEntry(e)) this.entries.set(file, e);
      }
      // only an index read whole vouches for the folder
      if (Array.isArray(parsed.folder) && parsed.folder.length === 4 && this.entries.size === stored) this.folder = stampFrom(parsed.folder, false);
    } catch {
      // absent or unreadable: every file is parsed once and the index rewritten
    }
    return this.entries;
  }
}
