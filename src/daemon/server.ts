// tsvirtd's listeners: the read-write and the read-only unix socket (libvirt's
// names and modes), each client served by a DaemonClient, max_clients enforced.
// Node cannot read a unix peer's credentials (SO_PEERCRED), so who may connect
// is decided by the socket files' permissions and group (unix_sock_rw_perms,
// unix_sock_ro_perms, unix_sock_group), and every client is answered auth none.
import { chmod, chown, mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { DriverRegistry } from '../driver/registry.js';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';
import { DaemonClient } from './client.js';
import type { DaemonConfig } from './config.js';
import { WorkerPool } from './workers.js';

export interface ServerOptions {
  readonly registry: DriverRegistry;
  readonly config: DaemonConfig;
  readonly socketPath: string;
  readonly readonlySocketPath: string;
  readonly stateRoot: string | undefined;
  readonly defaultURI: string;
  readonly log: (message: string) => void;
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
    await this.listenUnix(this.options.socketPath, config.unixSockRwPerms, gid, false);
    await this.listenUnix(this.options.readonlySocketPath, config.unixSockRoPerms, gid, true);
  }

  private async listenUnix(path: string, mode: number, gid: number | null, readonly: boolean): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    // a socket file left by a daemon that died; libvirtd removes it the same way
    await rm(path, { force: true });
    const server = createServer((socket) => this.accept(socket, readonly));
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

  private accept(socket: Socket, readonly: boolean): void {
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
        defaultURI: this.options.defaultURI,
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
