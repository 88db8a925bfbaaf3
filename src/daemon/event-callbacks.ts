// A client's event registrations (remote_daemon_dispatch's callback lists): each
// REGISTER_ANY call picks an event kind, an event ID and an optional object;
// every matching event from the connection's EventSource goes to the client as
// the event's message with the registration's callbackID. callbackIDs come from
// the driver's event state, shared by all its connections, as in libvirt.
import {
  DOMAIN_EVENT_MESSAGES,
  QEMU_MONITOR_EVENT_MESSAGE,
  NETWORK_EVENT_MESSAGES,
  NODE_DEVICE_EVENT_MESSAGES,
  SECRET_EVENT_MESSAGES,
  STORAGE_POOL_EVENT_MESSAGES,
  type DriverEvent,
  type EventKey,
  type EventSource,
} from '../driver/events.js';
import { procedureInfo, type ProcKey } from '../driver/procedures.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../util/error.js';

interface EventKind {
  readonly messages: readonly EventKey[];
  /** the argument naming the object to filter on */
  readonly objectField: 'dom' | 'net' | 'pool' | 'dev' | 'secret';
  /** libvirt's word for the kind in its errors ('' for domains) */
  readonly noun: string;
  readonly deregister: ProcKey;
}

/** Registration procedures -> what they register. */
export const EVENT_REGISTRATIONS: Partial<Record<ProcKey, EventKind>> = {
  connectDomainEventCallbackRegisterAny: { messages: DOMAIN_EVENT_MESSAGES, objectField: 'dom', noun: '', deregister: 'connectDomainEventCallbackDeregisterAny' },
  connectNetworkEventRegisterAny: { messages: NETWORK_EVENT_MESSAGES, objectField: 'net', noun: 'network ', deregister: 'connectNetworkEventDeregisterAny' },
  connectStoragePoolEventRegisterAny: { messages: STORAGE_POOL_EVENT_MESSAGES, objectField: 'pool', noun: 'storage pool ', deregister: 'connectStoragePoolEventDeregisterAny' },
  connectNodeDeviceEventRegisterAny: { messages: NODE_DEVICE_EVENT_MESSAGES, objectField: 'dev', noun: 'node device ', deregister: 'connectNodeDeviceEventDeregisterAny' },
  connectSecretEventRegisterAny: { messages: SECRET_EVENT_MESSAGES, objectField: 'secret', noun: 'secret ', deregister: 'connectSecretEventDeregisterAny' },
};

/** QEMU monitor events (libvirt-qemu): one registration hears every QMP event whose name its filter accepts. */
export const QEMU_MONITOR_EVENTS: EventKind = {
  messages: [QEMU_MONITOR_EVENT_MESSAGE],
  objectField: 'dom',
  noun: 'qemu monitor ',
  deregister: 'connectDomainQemuMonitorEventDeregister',
};

/** Deregistration procedures -> the kind they remove. */
export const EVENT_DEREGISTRATIONS: ReadonlyMap<ProcKey, EventKind> = new Map([...Object.values(EVENT_REGISTRATIONS), QEMU_MONITOR_EVENTS].map((k) => [k.deregister, k]));

/** virConnectDomainQemuMonitorEventRegisterFlags */
const MONITOR_EVENT_REGEX = 1 << 0;
const MONITOR_EVENT_NOCASE = 1 << 1;

interface Registration {
  readonly kind: EventKind;
  readonly key: EventKey;
  /** uuid (name for node devices) of the one object it watches, or null for all */
  readonly object: string | null;
  /** what else an event must satisfy (a monitor event's name filter) */
  readonly accepts?: (event: DriverEvent) => boolean;
}

/** virDomainQemuMonitorEventFilter: a monitor event's name against the registration's name, regex and case flags. */
function monitorEventFilter(name: string | null, flags: number): ((event: DriverEvent) => boolean) | undefined {
  const unsupported = flags & ~(MONITOR_EVENT_REGEX | MONITOR_EVENT_NOCASE);
  if (unsupported !== 0) {
    throw virError(ErrorCode.INVALID_ARG, `unsupported flags (0x${unsupported.toString(16)}) in function virDomainQemuMonitorEventStateRegisterID`, ErrorDomain.NONE);
  }
  if (name === null) return undefined;
  const nocase = (flags & MONITOR_EVENT_NOCASE) !== 0;
  let test: (eventName: string) => boolean;
  if (flags & MONITOR_EVENT_REGEX) {
    let re: RegExp;
    try {
      re = new RegExp(name, nocase ? 'i' : '');
    } catch (e) {
      throw virError(ErrorCode.INVALID_ARG, `failed to compile regex '${name}': ${(e as Error).message}`, ErrorDomain.NONE);
    }
    test = (eventName) => re.test(eventName);
  } else if (nocase) {
    const lower = name.toLowerCase();
    test = (eventName) => eventName.toLowerCase() === lower;
  } else {
    test = (eventName) => eventName === name;
  }
  return (event) => event.key === QEMU_MONITOR_EVENT_MESSAGE && test(event.body.event);
}

/** Next callbackID per event source: a driver state restarted (test:///default after its last client) restarts at 0. */
const nextCallbackID = new WeakMap<object, { next: number }>();

type ObjectRef = { uuid?: string; name?: string } | null | undefined;

function objectId(ref: ObjectRef): string | null {
  return ref ? (ref.uuid ?? ref.name ?? null) : null;
}

/** The object an event is about: its message's dom, net, pool, dev or secret. */
function eventObject(event: DriverEvent): string | null {
  const body = event.body as Record<string, ObjectRef> & { msg?: { dom?: ObjectRef } };
  return objectId(body.msg?.dom ?? body.dom ?? body.net ?? body.pool ?? body.dev ?? body.secret);
}

export class EventCallbacks {
  private readonly registrations = new Map<number, Registration>();
  private unsubscribe: (() => void) | null = null;

  /**
   * source: the connection's events, or (for a driver that reports none) any object
   * standing for the driver state, which then only numbers the callbacks.
   * send(key, body) puts one event message on the wire.
   */
  constructor(
    private readonly source: EventSource | object,
    private readonly send: (key: EventKey, body: object) => void,
  ) {}

  register(kind: EventKind, args: { eventID: number } & Record<string, unknown>): number {
    const key = kind.messages[args.eventID];
    if (!Number.isInteger(args.eventID) || key === undefined) {
      throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: unsupported ${kind.noun}event ID ${args.eventID}`);
    }
    return this.add({ kind, key, object: objectId(args[kind.objectField] as ObjectRef) });
  }

  /** QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER: callbackIDs come from the same counter as the domain events', as in libvirt. */
  registerMonitorEvents(args: { dom: ObjectRef; event: string | null; flags: number }): number {
    const accepts = monitorEventFilter(args.event, args.flags);
    return this.add({ kind: QEMU_MONITOR_EVENTS, key: QEMU_MONITOR_EVENT_MESSAGE, object: objectId(args.dom), ...(accepts ? { accepts } : {}) });
  }

  private add(registration: Registration): number {
    let counter = nextCallbackID.get(this.source);
    if (!counter) nextCallbackID.set(this.source, (counter = { next: 0 }));
    const callbackID = counter.next++;
    this.registrations.set(callbackID, registration);
    if ('subscribe' in this.source) this.unsubscribe ??= this.source.subscribe((event) => this.deliver(event));
    return callbackID;
  }

  deregister(kind: EventKind, callbackID: number): void {
    const reg = this.registrations.get(callbackID);
    if (!reg || reg.kind !== kind) {
      throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: ${kind.noun || 'domain '}event callback ${callbackID} not registered`);
    }
    this.registrations.delete(callbackID);
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.registrations.clear();
  }

  private deliver(event: DriverEvent): void {
    const object = eventObject(event);
    for (const [callbackID, reg] of this.registrations) {
      if (reg.key !== event.key || (reg.object !== null && reg.object !== object) || (reg.accepts && !reg.accepts(event))) continue;
      this.send(event.key, { callbackID, ...event.body });
    }
  }
}

/** The procedure number of an event message. */
export function eventProcedure(key: EventKey): number {
  return procedureInfo(key)!.number;
}
