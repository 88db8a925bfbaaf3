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

/** virDomainMigrateFlags */
export enum MigrateFlags {
  LIVE = 1 << 0,
  PEER2PEER = 1 << 1,
  TUNNELLED = 1 << 2,
  PERSIST_DEST = 1 << 3,
  UNDEFINE_SOURCE = 1 << 4,
  PAUSED = 1 << 5,
  NON_SHARED_DISK = 1 << 6,
  NON_SHARED_INC = 1 << 7,
  CHANGE_PROTECTION = 1 << 8,
  UNSAFE = 1 << 9,
  OFFLINE = 1 << 10,
  COMPRESSED = 1 << 11,
  ABORT_ON_ERROR = 1 << 12,
  AUTO_CONVERGE = 1 << 13,
  RDMA_PIN_ALL = 1 << 14,
  POSTCOPY = 1 << 15,
  TLS = 1 << 16,
  PARALLEL = 1 << 17,
  NON_SHARED_SYNCHRONOUS_WRITES = 1 << 18,
  POSTCOPY_RESUME = 1 << 19,
  ZEROCOPY = 1 << 20,
}

// the domain enums the object lists in conf work with, for the API and drivers alike
export { DomainState, ListDomainsFlags, ModificationImpact } from '../conf/objects/domain-enums.js';
