// virDomainObjListFilter: which domains virConnectListAllDomains returns.

import { DomainState, ListDomainsFlags as F } from './domain-enums.js';
import { filterPairAllows as pairAllows } from './list-filter.js';

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

export function matchesDomainListFilter<T extends ListedDomain>(obj: T, flags: number, probes: ListFilterProbes<T>): boolean {
  if (!pairAllows(flags, F.ACTIVE, F.INACTIVE, () => obj.id !== -1)) return false;
  if (!pairAllows(flags, F.PERSISTENT, F.TRANSIENT, () => obj.persistent)) return false;
  if (flags & (F.RUNNING | F.PAUSED | F.SHUTOFF | F.OTHER)) {
    const s = obj.state;
    const known = s === DomainState.RUNNING || s === DomainState.PAUSED || s === DomainState.SHUTOFF;
    const ok =
      (flags & F.RUNNING && s === DomainState.RUNNING) ||
      (flags & F.PAUSED && s === DomainState.PAUSED) ||
      (flags & F.SHUTOFF && s === DomainState.SHUTOFF) ||
      (flags & F.OTHER && !known);
    if (!ok) return false;
  }
  if (!pairAllows(flags, F.MANAGEDSAVE, F.NO_MANAGEDSAVE, () => probes.hasManagedSave(obj))) return false;
  if (!pairAllows(flags, F.AUTOSTART, F.NO_AUTOSTART, () => obj.autostart)) return false;
  if (!pairAllows(flags, F.HAS_SNAPSHOT, F.NO_SNAPSHOT, () => probes.snapshotCount(obj) > 0)) return false;
  if (!pairAllows(flags, F.HAS_CHECKPOINT, F.NO_CHECKPOINT, () => probes.checkpointCount(obj) > 0)) return false;
  return true;
}
