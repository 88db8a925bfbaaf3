// A tsvirtd in the test process on a temporary root, serving a small in-test
// driver (scheme fake://): enough to test the protocol without a real driver.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromText } from '../../src/daemon/config.js';
import { daemonPaths } from '../../src/daemon/main.js';
import { DaemonServer } from '../../src/daemon/server.js';
import { EventHub } from '../../src/driver/events.js';
import type { ConnectionDrivers } from '../../src/driver/families.js';
import { DriverRegistry } from '../../src/driver/registry.js';
import { REMOTE_PROCEDURES } from '../../src/rpc/generated/remote-protocol.js';
import { RpcClient } from '../../src/rpc/client.js';
import { ErrorCode, ErrorDomain, virError } from '../../src/util/error.js';

export const P = REMOTE_PROCEDURES;

export interface FakeState {
  /** calls running in the driver right now, and the most ever */
  running: number;
  maxRunning: number;
  /** connections closed by the daemon */
  closed: number;
  readonly events: EventHub;
  /** lookups of this name take 300 ms */
  readonly slowName: string;
  /** the bytes of the last volume upload */
  uploaded: Buffer | null;
}

export const SCREENSHOT = Buffer.from(Array.from({ length: 600_000 }, (_, i) => i % 251));

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

function fakeDrivers(state: FakeState): ConnectionDrivers {
  const track = async <T>(ms: number, value: () => T): Promise<T> => {
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    try {
      await new Promise((r) => setTimeout(r, ms));
      return value();
    } finally {
      state.running--;
    }
  };
  return {
    hypervisor: {
      connectGetType: async () => ({ type: 'FAKE' }),
      domainLookupByName: ({ name }) =>
        track(name === state.slowName ? 300 : 20, () => {
          if (name.startsWith('missing')) throw virError(ErrorCode.NO_DOMAIN, `no domain with matching name '${name}'`, ErrorDomain.TEST);
          return { dom: { name, uuid: UUID, id: -1 } };
        }),
      domainDefineXML: async ({ xml }) => {
        const dom = { name: /<name>([^<]*)<\/name>/.exec(xml)?.[1] ?? 'x', uuid: UUID, id: -1 };
        state.events.emit({ key: 'domainEventCallbackLifecycle', body: { msg: { dom, event: 0, detail: 0 } } });
        return { dom };
      },
      domainDestroy: async () => undefined,
      // libvirt-qemu: echoes the flags and the command (its presence also enables QEMU monitor events)
      domainQemuMonitorCommand: async ({ cmd, flags }) => ({ result: `${flags}:${cmd}` }),
      // a read stream: 600,000 bytes (three STREAM packets) written after the reply
      domainScreenshot: async (_args, stream) => {
        stream.end(SCREENSHOT);
        return { mime: 'image/x-portable-pixmap' };
      },
    },
    storage: {
      // a write stream: the upload's bytes are collected until the client ends it
      storageVolUpload: async (_args, stream) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          state.uploaded = Buffer.concat(chunks);
          stream.end();
        });
      },
    },
    events: state.events,
    close: async () => {
      state.closed++;
    },
  };
}

export interface FakeDaemon {
  readonly root: string;
  readonly socket: string;
  readonly readonlySocket: string;
  readonly state: FakeState;
  readonly server: DaemonServer;
  client(readonly?: boolean): Promise<RpcClient>;
  stop(): Promise<void>;
}

/** Starts a daemon on a fresh temp root; conf is tsvirtd.conf text. */
export async function startFakeDaemon(conf = '', logs: string[] = []): Promise<FakeDaemon> {
  const root = await mkdtemp(join(tmpdir(), 'tsvirtd-test-'));
  const paths = daemonPaths(root);
  const state: FakeState = { running: 0, maxRunning: 0, closed: 0, events: new EventHub(), slowName: 'slow', uploaded: null };
  const registry = new DriverRegistry();
  registry.register({
    name: 'Fake',
    uriSchemes: ['fake'],
    localOnly: true,
    embeddable: false,
    sharedFamilies: [],
    open: async () => fakeDrivers(state),
    uriProbe: async () => 'fake:///default',
  });
  const server = new DaemonServer({
    registry,
    config: configFromText(conf, 'tsvirtd.conf'),
    socketPath: paths.socket,
    readonlySocketPath: paths.readonlySocket,
    stateRoot: root,
    log: (m) => logs.push(m),
  });
  await server.listen();
  return {
    root,
    socket: paths.socket,
    readonlySocket: paths.readonlySocket,
    state,
    server,
    client: (readonly = false) => RpcClient.connectUnix(readonly ? paths.readonlySocket : paths.socket),
    stop: async () => {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** AUTH_LIST, keepalive probe, CONNECT_OPEN as virsh does. */
export async function handshake(client: RpcClient, name = 'fake:///default', flags = 0): Promise<void> {
  await client.call(P.authList, undefined);
  await client.call(P.connectSupportsFeature, { feature: 10 });
  await client.call(P.connectOpen, { name, flags });
}
