// Lists of networks and storage pools (virNetworkObjList, virStoragePoolObjList)
// with O(1) lookup by name and UUID, and a pool's volumes with O(1) lookup by
// name, key and path (the keys virStorageVolLookupBy* use).

/** Objects keyed by name and UUID; the keys are taken when an object is added. */
export class NamedObjectList<T> {
  private readonly byName = new Map<string, T>();
  private readonly byUUID = new Map<string, T>();
  private readonly keys = new Map<T, { name: string; uuid: string }>();

  constructor(
    private readonly nameOf: (obj: T) => string,
    private readonly uuidOf: (obj: T) => string,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /** Every object, in the order they were added. */
  all(): T[] {
    return [...this.keys.keys()];
  }

  findByName(name: string): T | undefined {
    return this.byName.get(name);
  }

  findByUUID(uuid: string): T | undefined {
    return this.byUUID.get(uuid.toLowerCase());
  }

  /** Adds `obj`; the caller checked that neither its name nor its UUID is taken. */
  add(obj: T): void {
    const keys = { name: this.nameOf(obj), uuid: this.uuidOf(obj).toLowerCase() };
    this.keys.set(obj, keys);
    this.byName.set(keys.name, obj);
    this.byUUID.set(keys.uuid, obj);
  }

  remove(obj: T): void {
    const keys = this.keys.get(obj);
    if (!keys) return;
    this.keys.delete(obj);
    this.byName.delete(keys.name);
    this.byUUID.delete(keys.uuid);
  }
}

/** What a volume is found by. */
export interface KeyedVolume {
  readonly name: string;
  readonly key?: string;
  readonly targetPath?: string;
}

/** One pool's volumes; key and path must be set before a volume is added. */
export class VolumeList<V extends KeyedVolume> {
  private readonly byName = new Map<string, V>();
  private readonly byKey = new Map<string, V>();
  private readonly byPath = new Map<string, V>();

  get size(): number {
    return this.byName.size;
  }

  all(): V[] {
    return [...this.byName.values()];
  }

  findByName(name: string): V | undefined {
    return this.byName.get(name);
  }

  findByKey(key: string): V | undefined {
    return this.byKey.get(key);
  }

  findByPath(path: string): V | undefined {
    return this.byPath.get(path);
  }

  add(vol: V): void {
    this.byName.set(vol.name, vol);
    if (vol.key !== undefined) this.byKey.set(vol.key, vol);
    if (vol.targetPath !== undefined) this.byPath.set(vol.targetPath, vol);
  }

  remove(vol: V): void {
    if (this.byName.get(vol.name) !== vol) return;
    this.byName.delete(vol.name);
    if (vol.key !== undefined && this.byKey.get(vol.key) === vol) this.byKey.delete(vol.key);
    if (vol.targetPath !== undefined && this.byPath.get(vol.targetPath) === vol) this.byPath.delete(vol.targetPath);
  }
}
