// event: waits for domain events (one, or --loop until --timeout or ^C) and
// prints virsh's line for each; --list names virsh's event types.
import { DOMAIN_EVENT_MESSAGES, plainParams, type DriverEvent, type TypedParam } from '../../api/types.js';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';

/** virsh's event type names, in virDomainEventID order */
const EVENT_NAMES = [
  'lifecycle', 'reboot', 'rtc-change', 'watchdog', 'io-error', 'graphics', 'io-error-reason', 'control-error', 'block-job',
  'disk-change', 'tray-change', 'pm-wakeup', 'pm-suspend', 'balloon-change', 'pm-suspend-disk', 'device-removed', 'block-job-2',
  'tunable', 'agent-lifecycle', 'device-added', 'migration-iteration', 'job-completed', 'device-removal-failed', 'metadata-change',
  'block-threshold', 'memory-failure', 'memory-device-size-change',
] as const;

/** virshDomainEvent*: the lifecycle event and its details by event type */
const LIFECYCLE: ReadonlyArray<[string, readonly string[]]> = [
  ['Defined', ['Added', 'Updated', 'Renamed', 'Snapshot']],
  ['Undefined', ['Removed', 'Renamed']],
  ['Started', ['Booted', 'Migrated', 'Restored', 'Snapshot', 'Event wakeup']],
  ['Suspended', ['Paused', 'Migrated', 'I/O Error', 'Watchdog', 'Restored', 'Snapshot', 'API error', 'Post-copy', 'Post-copy Error']],
  ['Resumed', ['Unpaused', 'Migrated', 'Snapshot', 'Post-copy', 'Post-copy Error']],
  ['Stopped', ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'Snapshot']],
  ['Shutdown', ['Finished', 'Finished after guest request', 'Finished after host request']],
  ['PMSuspended', ['Memory', 'Disk']],
  ['Crashed', ['Panicked', 'Crashloaded']],
];
const AGENT_STATES = ['unknown', 'connected', 'disconnected'];
const AGENT_REASONS = ['unknown', 'domain started', 'channel event'];
const METADATA_TYPES = ['description', 'title', 'element'];
const INT_MAX = 2 ** 31 - 1;

type Dom = { name: string; uuid: string };
/** The event's message without its callback id: most carry it as `msg`, newer ones flat. */
type Body = Record<string, unknown> & { dom: Dom };
const bodyOf = (event: DriverEvent): Body => ('msg' in event.body ? event.body.msg : event.body) as unknown as Body;
const at = (list: readonly string[], i: unknown, fallback = 'unsupported value') => list[i as number] ?? fallback;

/**
 * virsh's text for the events tsvirt's drivers send; undefined for the others
 * (tsvirsh does not print those yet).
 */
function describe(name: string, b: Body): string | undefined {
  const dom = b.dom.name;
  switch (name) {
    case 'lifecycle': {
      const [event, details] = LIFECYCLE[b.event as number] ?? ['unknown', []];
      return `event 'lifecycle' for domain '${dom}': ${event} ${details[b.detail as number] ?? 'unknown'}\n`;
    }
    case 'reboot':
    case 'control-error':
      return `event '${name}' for domain '${dom}'\n`;
    case 'rtc-change':
      return `event 'rtc-change' for domain '${dom}': ${String(b.offset)}\n`;
    case 'balloon-change':
      return `event 'balloon-change' for domain '${dom}': ${String(b.actual)}KiB\n`;
    case 'device-removed':
    case 'device-added':
    case 'device-removal-failed':
      return `event '${name}' for domain '${dom}': ${String(b.devAlias)}\n`;
    case 'agent-lifecycle':
      return `event 'agent-lifecycle' for domain '${dom}': state: '${at(AGENT_STATES, b.state)}' reason: '${at(AGENT_REASONS, b.reason)}'\n`;
    case 'metadata-change':
      return `event 'metadata-change' for domain '${dom}': type ${at(METADATA_TYPES, b.type)}, uri ${(b.nsuri as string | null) ?? '<null>'}\n`;
    case 'block-threshold':
      return `event 'block-threshold' for domain '${dom}': dev: ${String(b.dev)}(${(b.path as string | null) ?? '<null>'}) ${String(b.threshold)} ${String(b.excess)}\n`;
    case 'job-completed':
      // virTypedParameterToString: booleans as 1/0
      return `event 'job-completed' for domain '${dom}':\n${plainParams(b.params as TypedParam[]).map((p) => `\t${p.field}: ${typeof p.value === 'boolean' ? Number(p.value) : String(p.value)}\n`).join('')}`;
    default:
      return undefined;
  }
}

/** virTimeStringNowRaw: UTC with milliseconds */
function timestampNow(): string {
  return `${new Date().toISOString().replace('T', ' ').replace('Z', '')}+0000`;
}

const event: Handler = async (ctl, cmd) => {
  cmd.exclusive('all', 'event');
  cmd.exclusive('list', 'all');
  cmd.exclusive('list', 'event');
  if (cmd.bool('list')) {
    ctl.print(EVENT_NAMES.map((n) => `${n}\n`).join(''));
    return;
  }
  const eventName = cmd.string('event');
  if (eventName === undefined && !cmd.bool('all')) throw new CommandError(['one of --list, --all, or --event <type> is required']);
  const wanted = new Set<string>(EVENT_NAMES.filter((n) => eventName === undefined || n === eventName));
  if (wanted.size === 0) throw new CommandError([`unknown event type ${eventName}`]);
  const timeout = cmd.number('timeout', 0, 2 ** 32 - 1);
  if (timeout !== undefined && (timeout === 0 || timeout > INT_MAX / 1000)) {
    throw new CommandError([`Numeric value '${timeout}' for <timeout> option is malformed or out of range`]);
  }
  const domainOpt = cmd.string('domain');
  const only = domainOpt === undefined ? undefined : (await ctl.lookupDomain(domainOpt)).ref.uuid;
  const events = ctl.c.drivers.events;
  if (!events) throw new CommandError(['this function is not supported by the connection driver: virConnectDomainEventRegisterAny']);
  const loop = cmd.bool('loop');
  const timestamp = cmd.bool('timestamp');
  let count = 0;
  const outcome = await new Promise<'done' | 'timeout' | 'interrupt'>((resolve) => {
    const timer = timeout === undefined ? undefined : setTimeout(() => finish('timeout'), timeout * 1000);
    const onInterrupt = () => finish('interrupt');
    process.once('SIGINT', onInterrupt);
    const unsubscribe = events.subscribe((ev) => {
      const name = EVENT_NAMES[EVENT_NAMES_BY_KEY.get(ev.key) ?? -1];
      if (name === undefined || !wanted.has(name)) return;
      const b = bodyOf(ev);
      if (only !== undefined && b.dom.uuid.toLowerCase() !== only.toLowerCase()) return;
      const text = describe(name, b);
      if (text === undefined || (!loop && count > 0)) return;
      ctl.print(timestamp ? `${timestampNow()}: ${text}` : text);
      count++;
      if (!loop) finish('done');
    });
    function finish(how: 'done' | 'timeout' | 'interrupt') {
      clearTimeout(timer);
      process.removeListener('SIGINT', onInterrupt);
      unsubscribe();
      resolve(how);
    }
  });
  if (outcome === 'timeout') ctl.print('event loop timed out\n');
  if (outcome === 'interrupt') ctl.print('event loop interrupted\n');
  ctl.print(`events received: ${count}\n`);
  if (count === 0) throw new CommandError([]);
};

/** virsh's name index of each domain event message */
const EVENT_NAMES_BY_KEY = new Map<string, number>(DOMAIN_EVENT_MESSAGES.map((key, i) => [key, i]));

export const handlers: Record<string, Handler> = { event };
