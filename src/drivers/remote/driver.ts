// The remote driver: a connection whose every procedure goes to a daemon
// (tsvirtd or libvirtd) over libvirt's RPC protocol. Nothing here knows a
// procedure by name: each family's methods are made from the generated tables,
// arguments encoded and returns decoded by their codecs; errors come back as
// VirError with the daemon's code, domain and message.
import type { Duplex } from 'node:stream';
import {
  DOMAIN_EVENT_MESSAGES,
  NETWORK_EVENT_MESSAGES,
  NODE_DEVICE_EVENT_MESSAGES,
  SECRET_EVENT_MESSAGES,
  STORAGE_POOL_EVENT_MESSAGES,
  EventHub,
  type DriverEvent,
  type EventKey,
  type EventSource,
} from '../../driver/events.js';
import type { ConnectionDrivers } from '../../driver/families.js';
import { procedureInfo, type DriverFamily, type ProcKey } from '../../driver/procedures.js';
import type { OpenOptions, OpenResult } from '../../driver/registry.js';
import type { ParsedURI } from '../../driver/uri.js';
import { CloseReason, RpcClient } from '../../rpc/client.js';
import { REMOTE_PROCEDURES, REMOTE_PROGRAM } from '../../rpc/generated/remote-protocol.js';
import type { MessageHeader } from '../../rpc/message.js';
import type { ProcedureInfo } from '../../rpc/procedure.js';
import type { WireStream } from '../../rpc/stream.js';
import { XdrReader } from '../../rpc/xdr.js';
import { QEMU_PROCEDURES } from '../../rpc/generated/qemu-protocol.js';
import { TSVIRT_PROCEDURES } from '../../rpc/generated/tsvirt-protocol.js';
import { procedureCodecs } from '../../rpc/procedure-codecs.js';
import { ErrorCode, ErrorDomain, VirError } from '../../util/error.js';
import { openTransport } from './transport.js';

/** the keepalive a client library starts (remote driver's defaults) */
const KEEPALIVE_INTERVAL = 5;
const KEEPALIVE_COUNT = 5;
const FEATURE_PROGRAM_KEEPALIVE = 10;
const AUTH_NONE = 0;
const CONNECT_RO = 1;

/** URI query parameters the remote driver consumes; the others travel to the daemon inside the name. */
const CONSUMED_PARAMS = new Set(['name', 'command', 'socket', 'auth', 'netcat', 'keyfile', 'no_verify', 'no_tty', 'pkipath', 'known_hosts', 'known_hosts_verify', 'sshauth', 'tls_priority', 'mode', 'proxy', 'authfile']);

type AnyProcedure = ProcedureInfo<unknown, unknown>;

/** The name sent in CONNECT_OPEN: the URI without transport, server and the parameters consumed here. */
export function remoteName(uri: ParsedURI): string {
  const explicit = uri.params.get('name');
  if (explicit !== null) return explicit;
  const rest = uri.params.entries.filter(([n]) => !CONSUMED_PARAMS.has(n));
  const query = rest.length === 0 ? '' : '?' + rest.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&');
  return `${uri.driver}://${uri.path}${query}`;
}

/** Every procedure of the tables, by family: the methods a remote connection offers. */
const FAMILY_PROCEDURES: ReadonlyMap<DriverFamily, readonly AnyProcedure[]> = (() => {
  const byFamily = new Map<DriverFamily, AnyProcedure[]>();
  for (const info of [...Object.values(REMOTE_PROCEDURES), ...Object.values(QEMU_PROCEDURES), ...Object.values(TSVIRT_PROCEDURES)] as AnyProcedure[]) {
    if (info.family === null || info.event || info.key === 'connectOpen') continue;
    const list = byFamily.get(info.family) ?? [];
    list.push(info);
    byFamily.set(info.family, list);
  }
  return byFamily;
})();

/**
 * Streams on a guest device carry the caller's bytes too (virsh console types
 * into them), although remote_protocol.x marks them only @readstream.
 */
const DEVICE_STREAMS: ReadonlySet<string> = new Set(['domainOpenConsole', 'domainOpenChannel']);

/** A call that opens a stream: the API's stream and the wire's are joined in the procedure's direction(s). */
function joinStreams(info: AnyProcedure, wire: WireStream, api: Duplex): void {
  const both = info.stream === 'both' || DEVICE_STREAMS.has(info.key);
  if (info.stream === 'read' || both) wire.pipe(api);
  if (info.stream === 'write' || both) api.pipe(wire);
  // an upload's end is the daemon's answer to the caller's finish
  if (info.stream === 'write') wire.on('end', () => api.end()).resume();
  wire.on('error', (e) => api.destroy(e));
  api.on('error', (e) => wire.abort(e));
  // a caller that drops the stream before its end aborts it (virStreamAbort), so the daemon lets the device go
  api.once('close', () => {
    if (!wire.destroyed && !wire.readableEnded && !wire.writableFinished) wire.abort(new Error('stream aborted by the caller'));
  });
}

function familyDriver(client: RpcClient, procedures: readonly AnyProcedure[]): Record<string, unknown> {
  const driver: Record<string, unknown> = {};
  for (const info of procedures) {
    driver[info.key] =
      info.stream === null
        ? (args: unknown) => client.call(info, args)
        : async (args: unknown, api: Duplex) => {
            const { ret, stream } = await client.callWithStream(info, args);
            joinStreams(info, stream, api);
            return ret;
          };
  }
  return driver;
}

/** Every event the daemon can send, by message procedure number, with the registration that asks for it. */
const EVENT_KINDS: ReadonlyArray<{ register: ProcKey; messages: readonly EventKey[]; filter: string }> = [
  { register: 'connectDomainEventCallbackRegisterAny', messages: DOMAIN_EVENT_MESSAGES, filter: 'dom' },
  { register: 'connectNetworkEventRegisterAny', messages: NETWORK_EVENT_MESSAGES, filter: 'net' },
  { register: 'connectStoragePoolEventRegisterAny', messages: STORAGE_POOL_EVENT_MESSAGES, filter: 'pool' },
  { register: 'connectNodeDeviceEventRegisterAny', messages: NODE_DEVICE_EVENT_MESSAGES, filter: 'dev' },
  { register: 'connectSecretEventRegisterAny', messages: SECRET_EVENT_MESSAGES, filter: 'secret' },
];

/** The daemon's events as an EventSource: every event ID is registered with the daemon on the first subscription. */
class RemoteEvents implements EventSource {
  private readonly hub = new EventHub();
  private registering: Promise<void> | null = null;

  constructor(private readonly client: RpcClient) {}

  subscribe(listener: (event: DriverEvent) => void): () => void {
    // nobody awaits the registration: a connection closed meanwhile (`event --timeout`,
    // a client that subscribes and leaves) fails its calls, and that ends the
    // subscription rather than the process with an unhandled rejection
    this.registering ??= this.registerAll().catch(() => undefined);
    return this.hub.subscribe(listener);
  }

  /** A MESSAGE from the daemon; anything that is not an event of the tables is ignored. */
  deliver(header: MessageHeader, body: Buffer): void {
    if (header.prog !== REMOTE_PROGRAM) return;
    const key = eventKeyByNumber.get(header.proc);
    if (!key) return;
    const { callbackID: _callbackID, ...rest } = procedureCodecs(key)!.decodeArgs(new XdrReader(body)) as { callbackID: number };
    this.hub.emit({ key, body: rest } as DriverEvent);
  }

  private async registerAll(): Promise<void> {
    for (const kind of EVENT_KINDS) {
      const info = procedureCodecs(kind.register)!;
      for (let eventID = 0; eventID < kind.messages.length; eventID++) {
        try {
          await this.client.call(info, { eventID, [kind.filter]: null });
        } catch (e) {
          // a daemon whose driver has no such objects refuses the kind; the others still work
          if (e instanceof VirError && e.code === ErrorCode.NO_SUPPORT) break;
          throw e;
        }
      }
    }
  }
}

const eventKeyByNumber: ReadonlyMap<number, EventKey> = new Map(
  EVENT_KINDS.flatMap((k) => k.messages).map((key) => [procedureInfo(key)!.number, key] as const),
);

export async function openRemoteConnection(uri: ParsedURI, options: OpenOptions): Promise<OpenResult> {
  const socket = await openTransport(uri, options.readonly, remoteName(uri));
  if (!socket) return 'declined';
  let events: RemoteEvents | undefined;
  const closeListeners = new Set<(reason: CloseReason) => void>();
  const ended = (reason: CloseReason) => {
    for (const listener of [...closeListeners]) listener(reason);
    closeListeners.clear();
  };
  const client = new RpcClient(socket, {
    onMessage: (header, body) => {
      // the daemon's driver connection closed (remoteRelayConnectionClosedEvent)
      if (header.prog === REMOTE_PROGRAM && header.proc === REMOTE_PROCEDURES.connectEventConnectionClosed.number) {
        ended(REMOTE_PROCEDURES.connectEventConnectionClosed.decodeArgs(new XdrReader(body)).reason);
      } else events?.deliver(header, body);
    },
    onClose: (reason) => ended(reason),
  });
  // a TLS socket was paused after the confirmation byte
  socket.resume();
  try {
    const { types } = await client.call(REMOTE_PROCEDURES.authList, undefined);
    if (types.length > 0 && !types.includes(AUTH_NONE)) {
      throw new VirError(ErrorCode.AUTH_FAILED, ErrorDomain.REMOTE, `authentication failed: tsvirt's client offers only auth none, the server wants ${types.join(', ')}`);
    }
    const { supported } = await client.call(REMOTE_PROCEDURES.connectSupportsFeature, { feature: FEATURE_PROGRAM_KEEPALIVE });
    if (supported === 1) client.startKeepalive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT);
    await client.call(REMOTE_PROCEDURES.connectOpen, { name: remoteName(uri), flags: options.readonly ? CONNECT_RO : 0 });
  } catch (e) {
    client.close();
    throw e;
  }
  events = new RemoteEvents(client);
  const drivers: Record<string, unknown> = {
    events,
    onClose: (listener: (reason: CloseReason) => void) => {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    close: async () => {
      // virConnectClose is not the connection ending by itself
      closeListeners.clear();
      if (client.isClosed) return;
      try {
        await client.call(REMOTE_PROCEDURES.connectClose, undefined);
      } catch (e) {
        // libvirtd hangs up right after CONNECT_CLOSE (virNetServerClientDelayedClose); through a proxy the EOF can overtake the reply
        if (!client.isClosed) throw e;
      } finally {
        client.close();
      }
    },
  };
  for (const [family, procedures] of FAMILY_PROCEDURES) drivers[family] = familyDriver(client, procedures);
  return drivers as unknown as ConnectionDrivers;
}
