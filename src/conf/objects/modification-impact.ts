// Which definition a call with VIR_DOMAIN_AFFECT_* flags works on
// (virDomainObjUpdateModificationImpact, virDomainObjGetDefs, virDomainObjGetOneDefState).

import { ErrorCode, ErrorDomain, VirError, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import { ModificationImpact } from './domain-enums.js';

/** What the choice looks at: any driver's domain object has these. */
export interface DefinedDomain {
  /** -1 while inactive (virDomainObjIsActive) */
  readonly id: number;
  readonly persistent: boolean;
  readonly def: XmlElement;
  readonly newDef?: XmlElement;
}

/**
 * Resolves CURRENT to LIVE or CONFIG by the domain's state and refuses what the
 * domain cannot do: LIVE on an inactive domain, CONFIG on a transient one.
 * Returns the flags with at least one of LIVE/CONFIG set.
 */
export function updateModificationImpact(obj: DefinedDomain, flags: number): number {
  const active = obj.id !== -1;
  if ((flags & (ModificationImpact.LIVE | ModificationImpact.CONFIG)) === 0) flags |= active ? ModificationImpact.LIVE : ModificationImpact.CONFIG;
  if (!active && flags & ModificationImpact.LIVE) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.DOMAIN);
  if (!obj.persistent && flags & ModificationImpact.CONFIG) {
    throw virError(ErrorCode.OPERATION_INVALID, 'transient domains do not have any persistent config', ErrorDomain.DOMAIN);
  }
  return flags;
}

/** The definitions `flags` selects: live (running domains only) and/or persistent. */
export function definitionsFor(obj: DefinedDomain, flags: number): { live?: XmlElement; config?: XmlElement } {
  flags = updateModificationImpact(obj, flags);
  if (obj.id === -1) return { config: obj.def };
  return {
    live: flags & ModificationImpact.LIVE ? obj.def : undefined,
    config: flags & ModificationImpact.CONFIG ? (obj.newDef ?? obj.def) : undefined,
  };
}

/** Exactly one definition: LIVE and CONFIG together are refused. */
export function oneDefinition(obj: DefinedDomain, flags: number): { def: XmlElement; live: boolean } {
  if (flags & ModificationImpact.LIVE && flags & ModificationImpact.CONFIG) {
    // virReportInvalidArg: the message as is, without the "invalid argument" prefix
    throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive");
  }
  flags = updateModificationImpact(obj, flags);
  const live = (flags & ModificationImpact.LIVE) !== 0;
  return { def: obj.id !== -1 && !live ? (obj.newDef ?? obj.def) : obj.def, live };
}
