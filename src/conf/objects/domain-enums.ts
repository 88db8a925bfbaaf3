// The domain enums the object lists work with (libvirt-domain.h). They live in
// conf because the list filter and the live/config choice are conf logic; the
// public API re-exports them unchanged.

/** virDomainState */
export enum DomainState {
  NOSTATE = 0,
  RUNNING = 1,
  BLOCKED = 2,
  PAUSED = 3,
  SHUTDOWN = 4,
  SHUTOFF = 5,
  CRASHED = 6,
  PMSUSPENDED = 7,
}

/** Flags of virConnectListAllDomains. */
export enum ListDomainsFlags {
  ACTIVE = 1 << 0,
  INACTIVE = 1 << 1,
  PERSISTENT = 1 << 2,
  TRANSIENT = 1 << 3,
  RUNNING = 1 << 4,
  PAUSED = 1 << 5,
  SHUTOFF = 1 << 6,
  OTHER = 1 << 7,
  MANAGEDSAVE = 1 << 8,
  NO_MANAGEDSAVE = 1 << 9,
  AUTOSTART = 1 << 10,
  NO_AUTOSTART = 1 << 11,
  HAS_SNAPSHOT = 1 << 12,
  NO_SNAPSHOT = 1 << 13,
  HAS_CHECKPOINT = 1 << 14,
  NO_CHECKPOINT = 1 << 15,
}

/** virDomainModificationImpact, shared by setters and device attach/detach. */
export enum ModificationImpact {
  CURRENT = 0,
  LIVE = 1 << 0,
  CONFIG = 1 << 1,
}
