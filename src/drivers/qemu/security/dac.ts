// libvirt's DAC security driver with dynamic_ownership=1 and remember_owner=1:
// while a guest runs, every host file its QEMU opens belongs to the QEMU user,
// and each gets its original owner back when the last guest using it stops.
//
// libvirt remembers owners in trusted.libvirt.security.* xattrs with a
// reference count. Node has no xattr call and not every filesystem keeps
// trusted xattrs (tmpfs of older kernels, NFS), so tsvirt keeps the same facts
// in a file of the driver's state folder (STATE/tsvirt-dac-owners.json, under a
// lock): per path, the original owner and the domains holding the label. The
// record is written (atomically) before a chown, so a crash at any point leaves
// a record of every file tsvirt changed; a record whose chown never happened
// restores the owner the file already has.
import { constants } from 'node:fs';
import { chown, lstat, open, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import { writeFileAtomic } from '../../../util/atomic-file.js';
import { withFileLock } from '../../../util/file-lock.js';
import { child, type XmlElement } from '../../../util/xml.js';
import { backingOf, localImagePath as localSource, MAX_CHAIN_DEPTH } from '../backing-chain.js';

interface OwnerRecord {
  uid: number;
  gid: number;
  /** the domains whose QEMU uses the file now */
  holders: string[];
}

type OwnerTable = Record<string, OwnerRecord>;

/** A host file QEMU opens, and whether tsvirt creates it when missing (chardev output). */
export interface LabelTarget {
  path: string;
  create: boolean;
}

/** The backing file a qcow2 image names, resolved against the image's folder. */
const qcow2BackingFile = (file: string): string | undefined => backingOf(file, 'qcow2')?.path;

/** A disk's local images: its <backingStore> chain as written, then what the last qcow2 image names. */
function diskImages(disk: XmlElement): string[] {
  const out: string[] = [];
  let holder: XmlElement | undefined = disk;
  let last: XmlElement = disk;
  while (holder && out.length < MAX_CHAIN_DEPTH) {
    if (holder !== disk && holder.attrs.type === undefined) return out; // <backingStore/>: the chain ends here
    const file = localSource(holder);
    if (file === undefined) return out;
    out.push(file);
    last = holder;
    holder = child(holder, 'backingStore');
  }
  if (last !== disk || child(disk, 'backingStore') === undefined) {
    for (let next = qcow2BackingFile(out[out.length - 1] ?? ''); next && out.length < MAX_CHAIN_DEPTH && !out.includes(next); next = qcow2BackingFile(next)) {
      out.push(next);
    }
  }
  return out;
}

const CHARDEV_KINDS = ['serial', 'parallel', 'console', 'channel'];

/** What one device makes QEMU open: disk images with their backing chains, file and unix-socket (connect) chardevs with their logs. */
export function deviceLabelTargets(device: XmlElement): LabelTarget[] {
  if (device.name === 'disk') return diskImages(device).map((p) => ({ path: p, create: false }));
  if (!CHARDEV_KINDS.includes(device.name)) return [];
  const out: LabelTarget[] = [];
  const source = child(device, 'source');
  if (device.attrs.type === 'file' && source?.attrs.path) out.push({ path: source.attrs.path, create: true });
  if (device.attrs.type === 'unix' && source?.attrs.mode !== 'bind' && source?.attrs.path) out.push({ path: source.attrs.path, create: false });
  const log = child(device, 'log')?.attrs.file;
  if (log) out.push({ path: log, create: true });
  return out;
}

/** What virSecurityDACSetAllLabel labels: every device's files, and kernel, initrd, dtb and NVRAM. */
export function labelTargets(live: XmlElement): LabelTarget[] {
  const out: LabelTarget[] = [];
  const add = (t: LabelTarget) => {
    if (!out.some((o) => o.path === t.path)) out.push(t);
  };
  for (const device of child(live, 'devices')?.children ?? []) deviceLabelTargets(device).forEach(add);
  const os = child(live, 'os');
  for (const name of ['kernel', 'initrd', 'dtb', 'nvram']) {
    const file = os ? child(os, name)?.text.trim() : undefined;
    if (file) add({ path: file, create: false });
  }
  return out;
}

/**
 * Creates a chardev output file as libvirt does (virFileOpenAs with 0600):
 * never through a symlink, readable by its owner only (the QEMU user, once labelled).
 */
async function createOutputFile(file: string): Promise<void> {
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600).catch((e: NodeJS.ErrnoException) => {
    throw virError(ErrorCode.SYSTEM_ERROR, `failed to create file '${file}': ${e.code === 'ELOOP' ? 'refusing to follow a symbolic link' : e.message}`, ErrorDomain.SECURITY);
  });
  await handle.close();
}

export class DacLabels {
  constructor(
    private readonly stateDir: string,
    private readonly lockDir: string,
  ) {}

  private get tableFile(): string {
    return path.join(this.stateDir, 'tsvirt-dac-owners.json');
  }

  private async locked<T>(fn: (table: OwnerTable) => Promise<T>): Promise<T> {
    return withFileLock(path.join(this.lockDir, 'dac.lock'), async () => {
      const table = JSON.parse(await readFile(this.tableFile, 'utf8').catch(() => '{}')) as OwnerTable;
      return fn(table);
    }, { what: 'DAC owner lock' });
  }

  private save(table: OwnerTable): Promise<void> {
    return writeFileAtomic(this.tableFile, JSON.stringify(table, null, 1));
  }

  /**
   * Gives every target to uid:gid for domain `holder`, remembering the original
   * owners; a target other domains hold already keeps its first record.
   */
  async label(holder: string, targets: LabelTarget[], uid: number, gid: number): Promise<void> {
    await this.locked(async (table) => {
      for (const target of targets) {
        if (target.create) await createOutputFile(target.path);
        // libvirt labels what a symlink points to (virFileResolveLink)
        const file = await realpath(target.path).catch(() => undefined);
        if (file === undefined) continue; // QEMU reports the missing file with its own words
        const known = table[file];
        if (known) {
          if (!known.holders.includes(holder)) known.holders.push(holder);
        } else {
          const st = await stat(file);
          table[file] = { uid: st.uid, gid: st.gid, holders: [holder] };
        }
        await this.save(table);
        await chown(file, uid, gid).catch((e: Error) => {
          throw virError(ErrorCode.SYSTEM_ERROR, `unable to set user and group to '${uid}:${gid}' on '${file}': ${e.message}`, ErrorDomain.SECURITY);
        });
      }
    });
  }

  /**
   * Gives back what `holder` labelled (only `targets` of it, for an unplugged
   * device) once no other domain holds it (virSecurityDACRestoreAllLabel).
   */
  async restore(holder: string, targets?: LabelTarget[]): Promise<void> {
    const only = targets && new Set(await Promise.all(targets.map((t) => realpath(t.path).catch(() => t.path))));
    await this.locked(async (table) => {
      let changed = false;
      for (const [file, record] of Object.entries(table)) {
        if (!record.holders.includes(holder) || (only && !only.has(file))) continue;
        record.holders = record.holders.filter((h) => h !== holder);
        changed = true;
        if (record.holders.length > 0) continue;
        delete table[file];
        // a file replaced by a symlink meanwhile is not followed
        const st = await lstat(file).catch(() => undefined);
        if (st && !st.isSymbolicLink()) await chown(file, record.uid, record.gid).catch(() => undefined);
      }
      if (changed) await this.save(table);
    });
  }
}
