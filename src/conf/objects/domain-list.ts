// A driver's domains (virDomainObjList): O(1) lookup by UUID and name, and the
// rules a new definition must obey against the domains already there.

import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { DomainObject } from './domain-object.js';

/**
 * virDomainObjListAdd's clash rules: a UUID may only come back under its own
 * name, a name only with its own UUID. `sameUUID`/`sameName` are the domains
 * found under the new definition's UUID and name.
 */
export function checkNoDomainClash(name: string, uuid: string, sameUUID: { name: string } | undefined, sameName: { uuid: string } | undefined): void {
  if (sameUUID && sameUUID.name !== name) {
    throw virError(ErrorCode.OPERATION_FAILED, `domain '${sameUUID.name}' is already defined with uuid ${uuid}`, ErrorDomain.DOMAIN);
  }
  if (!sameUUID && sameName) {
    throw virError(ErrorCode.OPERATION_FAILED, `domain '${name}' already exists with uuid ${sameName.uuid}`, ErrorDomain.DOMAIN);
  }
}

const HAS_UPPERCASE = /[A-Z]/;

export class DomainObjectList<T extends DomainObject = DomainObject> {
  private readonly byUUID = new Map<string, T>();
  private readonly byName = new Map<string, T>();

  get size(): number {
    return this.byUUID.size;
  }

  /** Every domain, in no particular order. */
  all(): T[] {
    return [...this.byUUID.values()];
  }

  findByUUID(uuid: string): T | undefined {
    // the keys are lowercase, as are the UUIDs of handles: lowering each asked UUID
    // made a new string per call (four per domain when list loads a thousand)
    const found = this.byUUID.get(uuid);
    return found !== undefined || !HAS_UPPERCASE.test(uuid) ? found : this.byUUID.get(uuid.toLowerCase());
  }

  findByName(name: string): T | undefined {
    return this.byName.get(name);
  }

  /** Only running domains have ids, and few domains run: a walk is cheaper than an index kept in step. */
  findByID(id: number): T | undefined {
    if (id < 0) return undefined;
    for (const obj of this.byUUID.values()) if (obj.id === id) return obj;
    return undefined;
  }

  /** The domain a definition named `name` with `uuid` would replace; throws on a clash. */
  checkAddable(name: string, uuid: string): T | undefined {
    const sameUUID = this.findByUUID(uuid);
    checkNoDomainClash(name, uuid, sameUUID, this.byName.get(name));
    return sameUUID;
  }

  add(obj: T): void {
    checkNoDomainClash(obj.name, obj.uuid, this.byUUID.get(obj.uuid), this.byName.get(obj.name));
    this.byUUID.set(obj.uuid, obj);
    this.byName.set(obj.name, obj);
  }

  /** Gives `obj` a new name; the caller checked the name is free (virDomainObjListRename). */
  rename(obj: T, newName: string): void {
    if (this.byName.get(obj.name) === obj) this.byName.delete(obj.name);
    obj.name = newName;
    this.byName.set(newName, obj);
  }

  /** Removes `obj` itself (not another object that took its UUID meanwhile). */
  remove(obj: T): void {
    if (this.byUUID.get(obj.uuid) !== obj) return;
    this.byUUID.delete(obj.uuid);
    this.byName.delete(obj.name);
  }
}
