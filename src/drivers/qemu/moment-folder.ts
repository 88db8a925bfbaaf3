// Where the qemu driver keeps the metadata of domain snapshots and
// checkpoints, in libvirt's layout: one file per moment, ROOT/DOMAIN/NAME.xml.
// What goes into a file is the kind's own (snapshot-metadata.ts,
// checkpoint-metadata.ts); the folder's bookkeeping is shared.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic, unlinkDurable } from '../../util/atomic-file.js';
import { configFileHeader } from '../../util/config-header.js';

export class MomentFolder {
  constructor(
    private readonly root: string,
    /** the command a header of the file names for editing (virsh snapshot-edit, checkpoint-edit) */
    private readonly editCommand: string,
  ) {}

  private folder(domain: string): string {
    return join(this.root, domain);
  }

  private fileOf(domain: string, name: string): string {
    return join(this.folder(domain), `${name}.xml`);
  }

  /** How many moments a domain has metadata for (the list filters' count; no parsing). */
  count(domain: string): number {
    const dir = this.folder(domain);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.xml')).length : 0;
  }

  /** Every file of the domain's folder, by name order, with its path. */
  protected async readAll(domain: string): Promise<{ path: string; text: string }[]> {
    const files = await readdir(this.folder(domain)).catch(() => [] as string[]);
    const out: { path: string; text: string }[] = [];
    for (const file of files.filter((f) => f.endsWith('.xml')).sort()) {
      const path = join(this.folder(domain), file);
      out.push({ path, text: await readFile(path, 'utf8') });
    }
    return out;
  }

  protected async writeOne(domain: string, name: string, xml: string): Promise<void> {
    await mkdir(this.folder(domain), { recursive: true, mode: 0o755 });
    await writeFileAtomic(this.fileOf(domain, name), configFileHeader(this.editCommand) + xml, 0o600);
  }

  async remove(domain: string, name: string): Promise<void> {
    if (existsSync(this.fileOf(domain, name))) await unlinkDurable(this.fileOf(domain, name));
  }

  /** The domain's whole folder (qemuSnapshotDiscardAllMetadata, qemuCheckpointDiscardAllMetadata). */
  async removeAll(domain: string): Promise<void> {
    await rm(this.folder(domain), { recursive: true, force: true });
  }

  /**
   * A renamed domain's moments go with it (qemuDomainRenameCallback rewrites
   * them under the new name and drops the old folder; their content names no
   * domain, so moving the folder is the same). A stale folder of the new name goes first.
   */
  async moveAll(from: string, to: string): Promise<void> {
    await rm(this.folder(to), { recursive: true, force: true });
    const moved = await rename(this.folder(from), this.folder(to)).then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    });
    if (moved) await fsyncDir(this.root);
  }

  /** removeAll for the synchronous bookkeeping of a domain that went away. */
  discardAll(domain: string): void {
    rmSync(this.folder(domain), { recursive: true, force: true });
  }
}
