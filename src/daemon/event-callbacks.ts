// A client's event registrations (remote_daemon_dispatch's callback lists): each
// REGISTER_ANY call picks an event kind, an event ID and an optional object;
// every matching event from the connection's EventSource goes to the client as
// the event's message with the registration's callbackID. callbackIDs come from
// the driver's event state, shared by all its connections, as in libvirt.
import {
  DOMAIN_EVENT_MESSAGES,
  NETWORK_EVENT_MESSAGES,
  NODE_DEVICE_EVENT_MESSAGES,
  SECRET_EVENT_MESSAGES,
  STORAGE_POOL_EVENT_MESSAGES,
  type DriverEvent,
  type EventKey,
  type EventSource,
} from '../driver/events.js';
import { procedureInfo, type ProcKey } from '../driver/procedures.js';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';

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

/** Deregistration procedures -> the kind they remove. */
export const EVENT_DEREGISTRATIONS: ReadonlyMap<ProcKey, EventKind> = new Map(Object.values(EVENT_REGISTRATIONS).map((k) => [k.deregister, k]));

interface Registration {
  readonly kind: EventKind;
  readonly key: EventKey;
  /** uuid (name for node devices) of the one object it watches, or null for all */
  readonly object: string | null;
}

/** Next callbackID per event source: a driver state restarted (test:///default after its last client) restarts at 0. */
const nextCallbackID = new WeakMap<EventSource, { next: number }>();

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

  /** send(key, body) puts one event message on the wire. */
  constructor(
    private readonly source: EventSource,
    private readonly send: (key: EventKey, body: object) => void,
  ) {}

  register(kind: EventKind, args: { eventID: number } & Record<string, unknown>): number {
    const key = kind.messages[args.eventID];
    if (!Number.isInteger(args.eventID) || key === undefined) {
      throw new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: unsupported ${kind.noun}event ID ${args.eventID}`);
    }
    let counter = nextCallbackID.get(this.source);
    if (!counter) nextCallbackID.set(this.source, (counter = { next: 0 }));
    const callbackID = counter.next++;
    this.registrations.set(callbackID, { kind, key, object: objectId(args[kind.objectField] as ObjectRef) });
    this.unsubscribe ??= this.source.subscribe((event) => this.deliver(event));
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
      if (reg.key !== event.key || (reg.object !== null && reg.object !== object)) continue;
      this.send(event.key, { callbackID, ...event.body });
    }
  }
}

/** The procedure number of an event message. */
export function eventProcedure(key: EventKey): number {
  return procedureInfo(key)!.number;
}
