// The qemu driver's snapshot metadata on disk, in libvirt's layout: one file
// per snapshot, SNAPSHOTDIR/DOMAIN/NAME.xml, holding the <domainsnapshot> with
// its embedded <domain> and <active>1</active> on the current snapshot
// (qemuDomainSnapshotWriteMetadata, qemuDomainSnapshotLoad). There is no
// daemon holding the tree in memory: every call reads the folder again.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from '../../conf/document.js';
import { formatSnapshotXML, parseSnapshotRedefine, SnapshotList, type Snapshot } from '../../conf/snapshot.js';
import { fsyncDir, writeFileAtomic, unlinkDurable } from '../../util/atomic-file.js';
import { configFileHeader } from '../../util/config-header.js';

export class SnapshotMetadata {
  constructor(
    private readonly snapshotDir: string,
    private readonly warn: (message: string) => void,
  ) {}

  private folder(domain: string): string {
    return join(this.snapshotDir, domain);
  }

  private fileOf(domain: string, name: string): string {
    return join(this.folder(domain), `${name}.xml`);
  }

  /** How many snapshots a domain has metadata for (the list filters' count; no parsing). */
  count(domain: string): number {
    const dir = this.folder(domain);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.xml')).length : 0;
  }

  /** The domain's snapshot tree; a file that does not parse is reported and skipped, as libvirtd does at startup. */
  async load(domain: string): Promise<SnapshotList> {
    const list = new SnapshotList();
    const files = await readdir(this.folder(domain)).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.xml')).sort()) {
      const path = join(this.folder(domain), file);
      try {
        const root = parseDocument(await readFile(path, 'utf8'), path, 'domainsnapshot');
        const { snap, current } = parseSnapshotRedefine(root, (el) => el);
        list.add(snap);
        if (current) list.current = snap.name;
      } catch (e) {
        this.warn(`Failed to parse snapshot XML from file '${path}': ${(e as Error).message}`);
      }
    }
    return list;
  }

  /** Writes one snapshot's file, with <active> telling whether it is the current one. */
  async write(domain: string, uuid: string, snap: Snapshot, current: boolean): Promise<void> {
    await mkdir(this.folder(domain), { recursive: true, mode: 0o755 });
    const xml = formatSnapshotXML(snap, uuid, true, current);
    await writeFileAtomic(this.fileOf(domain, snap.name), configFileHeader('virsh snapshot-edit') + xml, 0o600);
  }

  async remove(domain: string, name: string): Promise<void> {
    if (existsSync(this.fileOf(domain, name))) await unlinkDurable(this.fileOf(domain, name));
  }

  /** qemuSnapshotDiscardAllMetadata: the domain's whole folder. */
  async removeAll(domain: string): Promise<void> {
    await rm(this.folder(domain), { recursive: true, force: true });
  }

  /**
   * A renamed domain's snapshots go with it (qemuDomainRenameCallback rewrites
   * them under the new name and drops the old folder; their content names no
   * domain, so moving the folder is the same). A stale folder of the new name goes first.
   */
  async moveAll(from: string, to: string): Promise<void> {
    await rm(this.folder(to), { recursive: true, force: true });
    const moved = await rename(this.folder(from), this.folder(to)).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    });
    if (moved) await fsyncDir(this.snapshotDir);
  }

  /** removeAll for the synchronous bookkeeping of a domain that went away. */
  discardAll(domain: string): void {
    rmSync(this.folder(domain), { recursive: true, force: true });
  }
}
