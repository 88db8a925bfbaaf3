// libvirt's lifecycle event numbers (include/libvirt/libvirt-*.h): the `event`
// and `detail` fields of the lifecycle messages, shared by every driver that
// emits events (src/driver/events.ts) and by tsvirsh, which prints them.

/** virDomainEventType */
export enum DomainEventType { DEFINED, UNDEFINED, STARTED, SUSPENDED, RESUMED, STOPPED, SHUTDOWN, PMSUSPENDED, CRASHED }

/** virDomainEventDefinedDetailType */
export enum DefinedDetail { ADDED, UPDATED, RENAMED, FROM_SNAPSHOT }
/** virDomainEventUndefinedDetailType */
export enum UndefinedDetail { REMOVED, RENAMED }
/** virDomainEventStartedDetailType */
export enum StartedDetail { BOOTED, MIGRATED, RESTORED, FROM_SNAPSHOT, WAKEUP }
/** virDomainEventSuspendedDetailType */
export enum SuspendedDetail { PAUSED, MIGRATED, IOERROR, WATCHDOG, RESTORED, FROM_SNAPSHOT, API_ERROR, POSTCOPY, POSTCOPY_FAILED }
/** virDomainEventResumedDetailType */
export enum ResumedDetail { UNPAUSED, MIGRATED, FROM_SNAPSHOT, POSTCOPY, POSTCOPY_FAILED }
/** virDomainEventStoppedDetailType */
export enum StoppedDetail { SHUTDOWN, DESTROYED, CRASHED, MIGRATED, SAVED, FAILED, FROM_SNAPSHOT }
/** virDomainEventShutdownDetailType */
export enum ShutdownDetail { FINISHED, GUEST, HOST }
/** virDomainEventPMSuspendedDetailType */
export enum PMSuspendedDetail { MEMORY, DISK }
/** virDomainEventCrashedDetailType */
export enum CrashedDetail { PANICKED, CRASHLOADED }

/** virNetworkEventLifecycleType */
export enum NetworkEventType { DEFINED, UNDEFINED, STARTED, STOPPED }
/** virStoragePoolEventLifecycleType */
export enum StoragePoolEventType { DEFINED, UNDEFINED, STARTED, STOPPED, CREATED, DELETED }
/** virNodeDeviceEventLifecycleType */
export enum NodeDeviceEventType { CREATED, DELETED, DEFINED, UNDEFINED }
/** virSecretEventLifecycleType */
export enum SecretEventType { DEFINED, UNDEFINED }
