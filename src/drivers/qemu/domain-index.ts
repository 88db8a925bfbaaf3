// The qemu driver's index of config files: for each file name the stamp it had
// when parsed and the UUID it defines. Every tsvirsh call is a new process; with
// the index, one that lists a thousand domains stats their files instead of
// parsing them. It is only a cache: an entry counts only while the file's stamp
// is unchanged, a lost or broken index costs parses, never correctness, so it
// is written without fsync and any process may overwrite it.

import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ATOMIC_TEMP_PREFIX } from '../../util/atomic-file.js';
import { sameStamp, type FileStamp } from '../../util/file-stamp.js';

const FORMAT = 1;

interface IndexEntry {
  stamp: FileStamp;
  uuid: string;
}

/** On disk: {format, files: {NAME.xml: [dev, ino, size, mtimeNs, uuid]}} */
type StoredEntry = [number, number, number, string, string];

export class DomainIndex {
  private entries?: Map<string, IndexEntry>;
  /** the text last read or written: an unchanged index is not rewritten */
  private text = '';

  constructor(readonly file: string) {}

  /** The UUID `file` defines, if the index knows this very version of it. */
  uuidFor(file: string, stamp: FileStamp): string | undefined {
    const entry = this.load().get(file);
    return entry && sameStamp(entry.stamp, stamp) ? entry.uuid : undefined;
  }

  /** Replaces the index with the files as the caller last read them. */
  save(files: ReadonlyMap<string, { stamp: FileStamp; uuid?: string }>): void {
    const stored: Record<string, StoredEntry> = {};
    const entries = new Map<string, IndexEntry>();
    for (const [file, { stamp, uuid }] of files) {
      if (!uuid) continue;
      stored[file] = [stamp.dev, stamp.ino, stamp.size, String(stamp.mtimeNs), uuid];
      entries.set(file, { stamp, uuid });
    }
    const text = JSON.stringify({ format: FORMAT, files: stored });
    this.entries = entries;
    if (text === this.text) return;
    const temp = join(dirname(this.file), `${ATOMIC_TEMP_PREFIX}${basename(this.file)}.${process.pid}`);
    try {
      writeFileSync(temp, text, { mode: 0o600 });
      renameSync(temp, this.file);
      this.text = text;
    } catch {
      // a cache that cannot be written only makes the next process parse
      try {
        unlinkSync(temp);
      } catch {
        /* never created */
      }
    }
  }

  private load(): Map<string, IndexEntry> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    try {
      this.text = readFileSync(this.file, 'utf8');
      const parsed = JSON.parse(this.text) as { format?: number; files?: Record<string, StoredEntry> };
      if (parsed.format !== FORMAT || typeof parsed.files !== 'object' || parsed.files === null) return this.entries;
      for (const [file, e] of Object.entries(parsed.files)) {
        if (!Array.isArray(e) || e.length !== 5 || typeof e[4] !== 'string') continue;
        const [dev, ino, size, mtimeNs, uuid] = e;
        this.entries.set(file, { stamp: { dev, ino, size, mtimeNs: BigInt(mtimeNs), isFile: true }, uuid });
      }
    } catch {
      // absent or unreadable: every file is parsed once and the index rewritten
    }
    return this.entries;
  }
}
