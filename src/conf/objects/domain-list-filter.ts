// virDomainObjListFilter: which domains virConnectListAllDomains returns.

import { DomainState, ListDomainsFlags as F } from './domain-enums.js';
import { filterPairSide } from './list-filter.js';

/** Every filter flag virConnectListAllDomains knows (VIR_CONNECT_LIST_DOMAINS_FILTERS_ALL). */
export const LIST_DOMAINS_FILTERS_ALL = (1 << 16) - 1;

/** The facts about a domain the filter needs, from any driver's object. */
export interface ListedDomain {
  /** -1 while inactive */
  readonly id: number;
  readonly persistent: boolean;
  readonly state: DomainState;
  readonly autostart: boolean;
}

/**
 * What a driver knows beside the object; asked only when a flag needs the
 * answer (a managed-save probe may touch the disk).
 */
export interface ListFilterProbes<T> {
  hasManagedSave(obj: T): boolean;
  snapshotCount(obj: T): number;
  checkpointCount(obj: T): number;
}

/**
 * virDomainObjListFilter as a predicate made once per list: per domain only the
 * checks the flags ask for run (`list --all` of a thousand domains runs none), in
 * libvirt's order, so a probe is asked only of the domains the cheaper checks kept.
 */
export function domainListFilter<T extends ListedDomain>(flags: number, probes: ListFilterProbes<T>): (obj: T) => boolean {
  const checks: ((obj: T) => boolean)[] = [];
  const pair = (yes: number, no: number, value: (obj: T) => boolean) => {
    const side = filterPairSide(flags, yes, no);
    if (side !== undefined) checks.push((obj) => value(obj) === side);
  };
  pair(F.ACTIVE, F.INACTIVE, (obj) => obj.id !== -1);
  pair(F.PERSISTENT, F.TRANSIENT, (obj) => obj.persistent);
  if (flags & (F.RUNNING | F.PAUSED | F.SHUTOFF | F.OTHER)) {
    checks.push((obj) => {
      const s = obj.state;
      const known = s === DomainState.RUNNING || s === DomainState.PAUSED || s === DomainState.SHUTOFF;
      return Boolean(
        (flags & F.RUNNING && s === DomainState.RUNNING) ||
          (flags & F.PAUSED && s === DomainState.PAUSED) ||
          (flags & F.SHUTOFF && s === DomainState.SHUTOFF) ||
          (flags & F.OTHER && !known),
      );
    });
  }
  pair(F.MANAGEDSAVE, F.NO_MANAGEDSAVE, (obj) => probes.hasManagedSave(obj));
  pair(F.AUTOSTART, F.NO_AUTOSTART, (obj) => obj.autostart);
  pair(F.HAS_SNAPSHOT, F.NO_SNAPSHOT, (obj) => probes.snapshotCount(obj) > 0);
  pair(F.HAS_CHECKPOINT, F.NO_CHECKPOINT, (obj) => probes.checkpointCount(obj) > 0);
  // indexed: a new process runs this in V8's interpreter, where for-of makes an iterator result per step
  return (obj) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i]!(obj)) return false;
    return true;
  };
}
