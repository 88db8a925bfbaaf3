// tsvirtd's listeners: the read-write and the read-only unix socket (libvirt's
// names and modes) and, with --listen, libvirtd's TCP and TLS listeners; each
// client served by a DaemonClient, max_clients enforced.
// Node cannot read a unix peer's credentials (SO_PEERCRED), so who may connect
// is decided by the socket files' permissions and group (unix_sock_rw_perms,
// unix_sock_ro_perms, unix_sock_group), and every client is answered auth none.
import { chmod, chown, mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { dirname } from 'node:path';
import type { DriverRegistry } from '../driver/registry.js';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';
import { checkPeer, readCredential, TLS_CONFIRMATION, type PkiFiles } from '../rpc/tls.js';
import { readIntoSlabs } from '../rpc/slab-socket.js';
import { DaemonClient } from './client.js';
import type { DaemonConfig } from './config.js';
import { WorkerPool } from './workers.js';

export interface ServerOptions {
  readonly registry: DriverRegistry;
  readonly config: DaemonConfig;
  readonly socketPath: string;
  readonly readonlySocketPath: string;
  readonly stateRoot: string | undefined;
  readonly log: (message: string) => void;
  /** --listen: the TLS listener's credentials (listen_tls) and whether to listen on plain TCP (listen_tcp) */
  readonly network?: { readonly tls: PkiFiles | null; readonly tcp: boolean };
}

/** Refuses a network listener whose auth tsvirtd cannot do (it has no SASL, polkit or Kerberos). */
export function checkNetworkAuth(config: DaemonConfig, configFile: string): void {
  if (config.listenTcp && config.authTcp !== 'none') {
    throw new VirError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.CONF, `unsupported configuration: auth_tcp = "${config.authTcp}" needs SASL, which tsvirtd does not have; set auth_tcp = "none" in ${configFile} to listen on TCP without authentication, or use TLS`);
  }
  if (config.listenTls && config.authTls !== 'none') {
    throw new VirError(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.CONF, `unsupported configuration: auth_tls = "${config.authTls}" needs SASL, which tsvirtd does not have; set auth_tls = "none" in ${configFile}`);
  }
}

export class DaemonServer {
  private readonly clients = new Set<DaemonClient>();
  private readonly servers: Server[] = [];
  private readonly workers: WorkerPool;

  constructor(private readonly options: ServerOptions) {
    this.workers = new WorkerPool(options.config.maxWorkers, options.config.prioWorkers);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  async listen(): Promise<void> {
    const { config } = this.options;
    const gid = config.unixSockGroup === null ? null : await groupId(config.unixSockGroup);
    // the network first: once the read-only socket exists, everything listens
    const network = this.options.network;
    if (network?.tcp) await this.listenNetwork(createServer((socket) => this.accept(socket, false)), config.tcpPort);
    if (network?.tls) await this.listenNetwork(this.tlsServer(network.tls), config.tlsPort);
    await this.listenUnix(this.options.socketPath, config.unixSockRwPerms, gid, false);
    await this.listenUnix(this.options.readonlySocketPath, config.unixSockRoPerms, gid, true);
  }

  /** Where a network listener listens, once bound (the port may have been 0). */
  get networkAddresses(): Array<{ address: string; port: number }> {
    return this.servers.flatMap((s) => {
      const a = s.address();
      return a !== null && typeof a === 'object' ? [{ address: a.address, port: a.port }] : [];
    });
  }

  private async listenNetwork(server: Server, port: string): Promise<void> {
    const { config } = this.options;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Unable to bind to port ${port}: ${e.code === 'EADDRINUSE' ? 'Address already in use' : e.message}`)),
      );
      server.listen({ port: Number(port), host: config.listenAddr ?? undefined, backlog: config.maxQueuedClients }, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    server.on('error', (e) => this.options.log(`listener error: ${e.message}`));
    this.servers.push(server);
  }

  /** libvirt's TLS listener: the client's certificate is checked after the handshake, then the one confirmation byte, then RPC. */
  private tlsServer(files: PkiFiles): Server {
    const { config, log } = this.options;
    if (config.tlsPriority !== null) log(`tls_priority "${config.tlsPriority}" is a GnuTLS priority string; tsvirtd's TLS (OpenSSL) keeps Node's defaults`);
    const server = createTlsServer({
      ca: readCredential('CA certificate', files.ca)!,
      crl: readCredential('CA revocation list', files.crl, true) ?? undefined,
      cert: readCredential('server certificate', files.cert)!,
      key: readCredential('private key', files.key)!,
      requestCert: true,
      // checked after the handshake, to log libvirt's reason and to honour tls_no_verify_certificate
      rejectUnauthorized: false,
    });
    // Clients still in their handshake are libvirt's anonymous clients: past
    // max_anonymous_clients libvirtd stops accepting and new ones wait; here
    // they wait accepted but unread, and start their handshake as others end it.
    const handshaking = new Map<string, () => void>();
    const waiting = new Set<Socket>();
    const peer = (s: Socket) => `${s.remoteAddress}:${s.remotePort}`;
    const handshake = (raw: Socket) => {
      const key = peer(raw);
      const ended = () => {
        if (!handshaking.delete(key)) return;
        const [next] = waiting;
        if (next) {
          waiting.delete(next);
          handshake(next);
        }
      };
      handshaking.set(key, ended);
      raw.once('close', ended);
      // the TLS server wraps raw and reads it from here on
      server.emit('connection', raw);
      raw.resume();
    };
    server.on('tlsClientError', (e) => log(`TLS handshake failed: ${e.message.trim()}`));
    server.on('secureConnection', (socket: TLSSocket) => {
      handshaking.get(peer(socket))?.();
      if (!config.tlsNoVerifyCertificate) {
        try {
          checkPeer(socket, { allowedDNs: config.tlsAllowedDnList });
        } catch (e) {
          log(`TLS client refused: ${(e as Error).message}`);
          socket.destroy();
          return;
        }
      }
      socket.write(TLS_CONFIRMATION);
      this.accept(socket, false);
    });
    return createServer({ pauseOnConnect: true }, (raw) => {
      if (handshaking.size < config.maxAnonymousClients) return handshake(raw);
      waiting.add(raw);
      raw.once('close', () => waiting.delete(raw));
    });
  }

  private async listenUnix(path: string, mode: number, gid: number | null, readonly: boolean): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    // a socket file left by a daemon that died; libvirtd removes it the same way
    await rm(path, { force: true });
    // paused on connect: the accepted socket's handle has not read yet when it moves to one that reads into reused slabs
    const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(readIntoSlabs(socket), readonly));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(path, mode);
    if (gid !== null) await chown(path, process.getuid?.() ?? 0, gid);
    this.servers.push(server);
  }

  private accept(socket: Socket | TLSSocket, readonly: boolean): void {
    if (this.clients.size >= this.options.config.maxClients) {
      this.options.log(`too many active clients (${this.clients.size}), dropping connection`);
      socket.destroy();
      return;
    }
    const client = new DaemonClient(
      socket,
      {
        registry: this.options.registry,
        config: this.options.config,
        workers: this.workers,
        readonlySocket: readonly,
        stateRoot: this.options.stateRoot,
        log: this.options.log,
      },
      (gone) => this.clients.delete(gone),
    );
    this.clients.add(client);
  }

  /** Stops listening, drops every client, removes the socket files. */
  async close(): Promise<void> {
    const stopped = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    // a server's close completes once its connections are gone
    for (const client of this.clients) client.close();
    await Promise.all(stopped);
    await rm(this.options.socketPath, { force: true });
    await rm(this.options.readonlySocketPath, { force: true });
  }
}

/** A group name (or number) from /etc/group, as unix_sock_group names it. */
async function groupId(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const line = (await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.split(':')[0] === group);
  if (!line) throw new VirError(ErrorCode.CONF_SYNTAX, ErrorDomain.CONF, `internal error: Failed to parse group '${group}'`);
  return Number(line.split(':')[2]);
}
