// Events in the typed contract: a driver that can report what happens to its
// objects offers an EventSource on its connection; each event names the .x
// message procedure that carries it and its body without the callbackID, which
// the daemon (or the public API) adds for every registration that matches.
import type { ProcArgs } from './procedures.js';

/** The callback message of each virDomainEventID, indexed by the ID (libvirt 9.0: 0..26). */
export const DOMAIN_EVENT_MESSAGES = [
  'domainEventCallbackLifecycle',
  'domainEventCallbackReboot',
  'domainEventCallbackRtcChange',
  'domainEventCallbackWatchdog',
  'domainEventCallbackIoError',
  'domainEventCallbackGraphics',
  'domainEventCallbackIoErrorReason',
  'domainEventCallbackControlError',
  'domainEventCallbackBlockJob',
  'domainEventCallbackDiskChange',
  'domainEventCallbackTrayChange',
  'domainEventCallbackPMwakeup',
  'domainEventCallbackPMsuspend',
  'domainEventCallbackBalloonChange',
  'domainEventCallbackPMsuspendDisk',
  'domainEventCallbackDeviceRemoved',
  'domainEventBlockJob2',
  'domainEventCallbackTunable',
  'domainEventCallbackAgentLifecycle',
  'domainEventCallbackDeviceAdded',
  'domainEventCallbackMigrationIteration',
  'domainEventCallbackJobCompleted',
  'domainEventCallbackDeviceRemovalFailed',
  'domainEventCallbackMetadataChange',
  'domainEventBlockThreshold',
  'domainEventMemoryFailure',
  'domainEventMemoryDeviceSizeChange',
] as const;

/** virNetworkEventID -> message (9.0 has lifecycle only). */
export const NETWORK_EVENT_MESSAGES = ['networkEventLifecycle'] as const;
/** virStoragePoolEventID -> message. */
export const STORAGE_POOL_EVENT_MESSAGES = ['storagePoolEventLifecycle', 'storagePoolEventRefresh'] as const;
/** virNodeDeviceEventID -> message. */
export const NODE_DEVICE_EVENT_MESSAGES = ['nodeDeviceEventLifecycle', 'nodeDeviceEventUpdate'] as const;
/** virSecretEventID -> message. */
export const SECRET_EVENT_MESSAGES = ['secretEventLifecycle', 'secretEventValueChanged'] as const;

/** Every QMP event of a domain (libvirt-qemu's virConnectDomainQemuMonitorEventRegister), in the QEMU program. */
export const QEMU_MONITOR_EVENT_MESSAGE = 'domainQemuMonitorEvent';

export type EventKey =
  | (typeof DOMAIN_EVENT_MESSAGES)[number]
  | typeof QEMU_MONITOR_EVENT_MESSAGE
  | (typeof NETWORK_EVENT_MESSAGES)[number]
  | (typeof STORAGE_POOL_EVENT_MESSAGES)[number]
  | (typeof NODE_DEVICE_EVENT_MESSAGES)[number]
  | (typeof SECRET_EVENT_MESSAGES)[number];

/** An event as a driver emits it, e.g. { key: 'domainEventCallbackLifecycle', body: { msg: { dom, event: 2, detail: 0 } } }. */
export type DriverEvent = { [K in EventKey]: { readonly key: K; readonly body: Omit<ProcArgs<K>, 'callbackID'> } }[EventKey];

/** What a connection offers when its drivers report events (ConnectionDrivers.events). */
export interface EventSource {
  /** Calls listener for every event from now on, until the returned function is called. */
  subscribe(listener: (event: DriverEvent) => void): () => void;
}

/** A minimal EventSource for drivers: emit() hands an event to every subscriber. */
export class EventHub implements EventSource {
  private readonly listeners = new Set<(event: DriverEvent) => void>();

  subscribe(listener: (event: DriverEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: DriverEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
