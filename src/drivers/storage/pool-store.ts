// The storage driver's files, in libvirt's layout: persistent configs
// (etc/storage/NAME.xml, written with libvirt's header), autostart links
// (etc/storage/autostart/NAME.xml -> ../NAME.xml) and the live state of
// active pools (run/storage/NAME.xml, <poolstate>). libvirtd keeps a pool's
// volume list in memory; tsvirt's connections may live in separate processes,
// so the list goes to run/storage/NAME.volumes.xml next to the pool state.
import { mkdir, open, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { formatStoragePoolXML, parseStoragePoolElement, parseStoragePoolXML, type StoragePoolDef } from '../../conf/storage-pool.js';
import { formatStorageVolXML, parseStorageVolElement, type StorageVolDef } from '../../conf/storage-vol.js';
import { unlinkDurable, writeFileAtomic } from '../../util/atomic-file.js';
import { configFileHeader } from '../../util/config-header.js';
import { child, childrenNamed, childText, parseXml } from '../../util/xml.js';
import { VolumeList } from '../../conf/objects/object-list.js';
import type { StoragePaths } from './paths.js';
import { systemError } from './probe.js';

/** A pool as the driver holds it (virStoragePoolObj). */
export interface PoolObj {
  /** the live definition; its sizes and target permissions come from the last refresh */
  def: StoragePoolDef;
  /** the definition a restart will use, when a define replaced it while the pool ran (newDef) */
  nextDef?: StoragePoolDef;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  volumes: VolumeList<StorageVolDef>;
}

const indentBy = (text: string, pad: string) => text.replace(/^(?=.)/gm, pad);

export class PoolStore {
  constructor(readonly paths: StoragePaths) {}

  async prepare(): Promise<void> {
    for (const dir of [this.paths.configDir, this.paths.stateDir]) await mkdir(dir, { recursive: true });
  }

  /** Every pool the files describe: configs first, then the live state of the active ones. */
  async load(): Promise<PoolObj[]> {
    const pools = new Map<string, PoolObj>();
    const autostarted = new Set((await listXml(this.paths.autostartDir)).map((f) => f.slice(0, -4)));
    for (const file of await listXml(this.paths.configDir)) {
      try {
        const def = parseStoragePoolXML(await readFile(join(this.paths.configDir, file), 'utf8'));
        pools.set(def.name, { def, active: false, persistent: true, autostart: autostarted.has(def.name), volumes: new VolumeList() });
      } catch {
        // libvirt skips a config it cannot parse and loads the others
      }
    }
    for (const file of await listXml(this.paths.stateDir)) {
      if (file.endsWith('.volumes.xml')) continue;
      try {
        const state = parseXml(await readFile(join(this.paths.stateDir, file), 'utf8'));
        const poolEl = child(state, 'pool');
        if (state.name !== 'poolstate' || !poolEl) continue;
        const def = parseStoragePoolElement(poolEl);
        // the pool parser leaves sizes to the driver: the state keeps those of the last refresh
        for (const size of ['capacity', 'allocation', 'available'] as const) def[size] = BigInt(childText(poolEl, size) ?? '0');
        const obj = pools.get(def.name) ?? { def, active: false, persistent: false, autostart: false, volumes: new VolumeList() };
        if (obj.persistent && obj.def.uuid !== def.uuid) continue;
        if (obj.persistent) obj.nextDef = obj.def;
        obj.def = def;
        obj.active = true;
        obj.volumes = await this.loadVolumes(def);
        pools.set(def.name, obj);
      } catch {
        // a state file that does not parse leaves its pool inactive
      }
    }
    for (const obj of pools.values()) if (obj.nextDef && sameDefinition(obj.nextDef, obj.def)) delete obj.nextDef;
    return [...pools.values()];
  }

  private async loadVolumes(def: StoragePoolDef): Promise<VolumeList<StorageVolDef>> {
    const list = new VolumeList<StorageVolDef>();
    let text: string;
    try {
      text = await readFile(this.volumesFile(def.name), 'utf8');
    } catch {
      return list;
    }
    for (const el of childrenNamed(parseXml(text), 'volume')) list.add(parseStorageVolElement(el, def.type));
    return list;
  }

  private configFile(name: string): string {
    return join(this.paths.configDir, `${name}.xml`);
  }
  private autostartLink(name: string): string {
    return join(this.paths.autostartDir, `${name}.xml`);
  }
  private stateFile(name: string): string {
    return join(this.paths.stateDir, `${name}.xml`);
  }
  private volumesFile(name: string): string {
    return join(this.paths.stateDir, `${name}.volumes.xml`);
  }

  /** virStoragePoolObjSaveDef */
  async saveConfig(def: StoragePoolDef): Promise<void> {
    await writeFileAtomic(this.configFile(def.name), configFileHeader(`virsh pool-edit ${def.name}`) + formatStoragePoolXML(def));
  }

  async removeConfig(name: string): Promise<void> {
    await unlinkDurable(this.configFile(name));
    await this.setAutostart(name, false);
  }

  /** virStoragePoolObjSaveStatus, plus the volume list. */
  async saveState(obj: PoolObj): Promise<void> {
    const pool = indentBy(formatStoragePoolXML(obj.def), '  ');
    await writeFileAtomic(this.stateFile(obj.def.name), `${configFileHeader(`virsh pool-edit ${obj.def.name}`)}<poolstate>\n${pool}</poolstate>\n`);
    await this.saveVolumes(obj);
  }

  async saveVolumes(obj: PoolObj): Promise<void> {
    const vols = obj.volumes.all().map((v) => indentBy(formatStorageVolXML({ ...v, timestamps: undefined, physical: undefined }), '  ')).join('');
    await writeFileAtomic(this.volumesFile(obj.def.name), `<volumes>\n${vols}</volumes>\n`);
  }

  async removeState(name: string): Promise<void> {
    await unlinkDurable(this.stateFile(name));
    await unlinkDurable(this.volumesFile(name));
  }

  /** storagePoolSetAutostart's link, made or removed. */
  async setAutostart(name: string, on: boolean): Promise<void> {
    const link = this.autostartLink(name);
    if (!on) {
      await unlinkDurable(link);
      return;
    }
    try {
      await mkdir(this.paths.autostartDir, { recursive: true });
    } catch (e) {
      throw systemError(`cannot create autostart directory ${this.paths.autostartDir}`, e);
    }
    try {
      if ((await readlink(link).catch(() => undefined)) === this.configFile(name)) return;
      await symlink(this.configFile(name), link);
    } catch (e) {
      throw systemError(`Failed to create symlink '${link}' to '${this.configFile(name)}'`, e);
    }
  }

  /**
   * virDriverShouldAutostart: true for the first driver start since boot (run/ is
   * emptied at boot), which leaves run/storage/autostarted behind for the next ones.
   */
  async shouldAutostart(): Promise<boolean> {
    try {
      await (await open(join(this.paths.stateDir, 'autostarted'), 'wx', 0o600)).close();
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw systemError(`Failed to create '${join(this.paths.stateDir, 'autostarted')}'`, e);
    }
  }
}

/** A config and a live definition differ only by what a refresh fills in (sizes, target permissions)? */
function sameDefinition(config: StoragePoolDef, live: StoragePoolDef): boolean {
  const refreshed = { ...live, capacity: config.capacity, allocation: config.allocation, available: config.available, targetPerms: config.targetPerms };
  return formatStoragePoolXML(refreshed) === formatStoragePoolXML(config);
}

async function listXml(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.xml') && !f.startsWith('.')).sort();
  } catch {
    return [];
  }
}
