// libvirt's public enums and flag values (include/libvirt/libvirt-*.h) that the API,
// the drivers and tsvirsh share: part of the contract, as their numbers travel on the wire.

/** virDomainStatsTypes: the groups virConnectGetAllDomainStats reports. */
export enum DomainStatsTypes {
  STATE = 1 << 0,
  CPU_TOTAL = 1 << 1,
  BALLOON = 1 << 2,
  VCPU = 1 << 3,
  INTERFACE = 1 << 4,
  BLOCK = 1 << 5,
  PERF = 1 << 6,
  IOTHREAD = 1 << 7,
  MEMORY = 1 << 8,
  DIRTYRATE = 1 << 9,
  VM = 1 << 10,
}

/** virDomainRunningReason */
export enum RunningReason { UNKNOWN, BOOTED, MIGRATED, RESTORED, FROM_SNAPSHOT, UNPAUSED, MIGRATION_CANCELED, SAVE_CANCELED, WAKEUP, CRASHED, POSTCOPY, POSTCOPY_FAILED }

/** virDomainPausedReason */
export enum PausedReason { UNKNOWN, USER, MIGRATION, SAVE, DUMP, IOERROR, WATCHDOG, FROM_SNAPSHOT, SHUTTING_DOWN, SNAPSHOT, CRASHED, STARTING_UP, POSTCOPY, POSTCOPY_FAILED, API_ERROR }

/** virDomainShutdownReason */
export enum ShutdownReason { UNKNOWN, USER }

/** virDomainShutoffReason */
export enum ShutoffReason { UNKNOWN, SHUTDOWN, DESTROYED, CRASHED, MIGRATED, SAVED, FAILED, FROM_SNAPSHOT, DAEMON }

/** virDomainCrashedReason */
export enum CrashedReason { UNKNOWN, PANICKED }

/** Flags of virDomainGetXMLDesc. */
export enum DomainXMLFlags {
  SECURE = 1 << 0,
  INACTIVE = 1 << 1,
  UPDATE_CPU = 1 << 2,
  MIGRATABLE = 1 << 3,
}

/** Flags of virDomainDefineXMLFlags / virDomainCreateXML. */
export enum DefineFlags {
  VALIDATE = 1 << 0,
}

/** Flags of virDomainCreate / virDomainCreateXML. */
export enum StartFlags {
  PAUSED = 1 << 0,
  AUTODESTROY = 1 << 1,
  BYPASS_CACHE = 1 << 2,
  FORCE_BOOT = 1 << 3,
}

/** virDomainMessageType: which messages virDomainGetMessages lists (none: all). */
export enum DomainMessageType {
  DEPRECATION = 1 << 0,
  TAINTING = 1 << 1,
}

/** virDomainCheckpointCreateFlags */
export enum CheckpointCreateFlags {
  REDEFINE = 1 << 0,
  QUIESCE = 1 << 1,
  REDEFINE_VALIDATE = 1 << 2,
}

/** virDomainChannelFlags */
export enum DomainChannelFlags {
  /** take the channel over from a session that holds it */
  FORCE = 1 << 0,
}

/** virDomainConsoleFlags */
export enum DomainConsoleFlags {
  /** take the console over from a session that holds it */
  FORCE = 1 << 0,
  /** only connect when sessions are mutually exclusive (always true here) */
  SAFE = 1 << 1,
}

// the domain enums the object lists in conf work with, for the API and drivers alike
export { DomainState, ListDomainsFlags, ModificationImpact } from '../conf/objects/domain-enums.js';
