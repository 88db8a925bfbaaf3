// The secret driver's files, in libvirt's layout (virsecretobj.c): a persistent
// secret is configDir/UUID.xml (no header, mode 0600) and its value, when it
// has one, configDir/UUID.base64 (the bytes in base64, no newline, 0600).
// libvirtd keeps ephemeral secrets in memory only; a tsvirt driver that does
// not outlive its connection keeps them the same way under the runtime folder
// (a tmpfs on a host), so that the next connection of the same root sees them.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatSecretXML, parseSecretXML, type SecretDef } from '../../conf/secret.js';
import { unlinkDurable, writeFileAtomic } from '../../util/atomic-file.js';
import { systemError } from '../../util/errno-text.js';
import { ErrorDomain } from '../../util/error.js';
import type { SecretPaths } from './paths.js';

/** A secret as the driver holds it (virSecretObj). */
export interface SecretObj {
  def: SecretDef;
  value?: Buffer;
}

const SECRET_FILE_MODE = 0o600;

export class SecretStore {
  constructor(
    private readonly paths: SecretPaths,
    /** ephemeral secrets go to the runtime folder (a driver that does not outlive its connection) */
    private readonly keepEphemeral: boolean,
  ) {}

  /** secretStateInitialize: both folders, 0700 when created. */
  async prepare(): Promise<void> {
    for (const dir of [this.paths.configDir, this.paths.stateDir]) {
      await mkdir(dir, { recursive: true, mode: 0o700 }).catch((e: unknown) => {
        throw systemError(`cannot create ${dir === this.paths.configDir ? 'config' : 'state'} directory '${dir}'`, e, ErrorDomain.SECRET);
      });
    }
  }

  /** Where a secret's files live, or undefined for one that lives in memory only. */
  private folderOf(def: SecretDef): string | undefined {
    if (!def.ephemeral) return this.paths.configDir;
    return this.keepEphemeral ? this.paths.stateDir : undefined;
  }

  /** virSecretLoadAllConfigs: files that do not parse, or whose name is not their UUID, are skipped as libvirt skips them. */
  async load(): Promise<SecretObj[]> {
    const folders = this.keepEphemeral ? [this.paths.configDir, this.paths.stateDir] : [this.paths.configDir];
    const secrets = new Map<string, SecretObj>();
    for (const folder of folders) {
      for (const file of (await readdir(folder).catch(() => [] as string[])).filter((f) => f.endsWith('.xml')).sort()) {
        try {
          const def = parseSecretXML(await readFile(join(folder, file), 'utf8'));
          if (file !== `${def.uuid}.xml` || secrets.has(def.uuid) || this.folderOf(def) !== folder) continue;
          const base64 = await readFile(join(folder, `${def.uuid}.base64`), 'utf8').catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT') return undefined;
            throw e;
          });
          secrets.set(def.uuid, { def, ...(base64 !== undefined ? { value: Buffer.from(base64, 'base64') } : {}) });
        } catch {
          // libvirt logs "Error reading secret" and goes on with the others
        }
      }
    }
    return [...secrets.values()];
  }

  /**
   * Writes a secret's definition and value where its kind keeps them, and removes
   * those an earlier definition of another kind left elsewhere (secretDefineXML's
   * ephemeral <-> persistent switch).
   */
  async save(obj: SecretObj, previous?: SecretDef): Promise<void> {
    const folder = this.folderOf(obj.def);
    if (folder !== undefined) {
      await writeFileAtomic(join(folder, `${obj.def.uuid}.xml`), formatSecretXML(obj.def), SECRET_FILE_MODE);
      await this.saveValue(obj);
    }
    const old = previous && this.folderOf(previous);
    if (old !== undefined && old !== folder) await this.removeFrom(old, obj.def.uuid);
  }

  /** virSecretObjSaveData: the value in base64, when there is one and the secret has files. */
  async saveValue(obj: SecretObj): Promise<void> {
    const folder = this.folderOf(obj.def);
    if (folder === undefined || obj.value === undefined) return;
    await writeFileAtomic(join(folder, `${obj.def.uuid}.base64`), obj.value.toString('base64'), SECRET_FILE_MODE);
  }

  /** virSecretObjDeleteConfig + virSecretObjDeleteData */
  async remove(def: SecretDef): Promise<void> {
    const folder = this.folderOf(def);
    if (folder !== undefined) await this.removeFrom(folder, def.uuid);
  }

  private async removeFrom(folder: string, uuid: string): Promise<void> {
    const config = join(folder, `${uuid}.xml`);
    await unlinkDurable(config).catch((e: unknown) => {
      throw systemError(`cannot unlink '${config}'`, e, ErrorDomain.SECRET);
    });
    // with the definition gone the value is never loaded again: a failure here is harmless
    await unlinkDurable(join(folder, `${uuid}.base64`)).catch(() => undefined);
  }
}
