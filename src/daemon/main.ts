// tsvirtd: the daemon libvirt's own clients (virsh, python3-libvirt, virt-install,
// go-libvirt...) talk to over libvirt's RPC protocol. Paths follow libvirtd's,
// with "libvirt" replaced by "tsvirt" so a real libvirtd on the host is never
// disturbed; --root DIR keeps everything under DIR in the layout of
// qemu:///embed?root=DIR (DIR/run/libvirt-sock, DIR/etc/tsvirtd.conf, ...).
import { appendFileSync, constants, mkdirSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { builtinDrivers } from '../drivers/builtin.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { loadConfig } from './config.js';
import { setConfiguredHostUUID } from '../util/host-uuid.js';
import { systemPki, type PkiFiles } from '../rpc/tls.js';
import { checkNetworkAuth, DaemonServer } from './server.js';
import { tuneGarbageCollection } from './gc-tuning.js';

export interface DaemonPaths {
  readonly socket: string;
  readonly readonlySocket: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly configFile: string;
  /** the drivers' state root (OpenOptions.stateRoot); undefined for the host's */
  readonly stateRoot: string | undefined;
  /** the root of libvirt's certificate layout: /etc/pki/... below it */
  readonly pkiRoot: string;
}

export function daemonPaths(root: string | undefined): DaemonPaths {
  if (root === undefined) {
    return {
      socket: '/run/tsvirt/libvirt-sock',
      readonlySocket: '/run/tsvirt/libvirt-sock-ro',
      pidFile: '/run/tsvirt/tsvirtd.pid',
      logFile: '/var/log/tsvirt/tsvirtd.log',
      configFile: '/etc/tsvirt/tsvirtd.conf',
      stateRoot: undefined,
      pkiRoot: '/',
    };
  }
  const dir = resolve(root);
  return {
    socket: join(dir, 'run', 'libvirt-sock'),
    readonlySocket: join(dir, 'run', 'libvirt-sock-ro'),
    pidFile: join(dir, 'run', 'tsvirtd.pid'),
    logFile: join(dir, 'log', 'tsvirtd.log'),
    configFile: join(dir, 'etc', 'tsvirtd.conf'),
    stateRoot: dir,
    pkiRoot: dir,
  };
}

const USAGE = `Usage: tsvirtd [--root DIR] [--config FILE] [--listen]

  --root DIR     keep sockets, state, config and logs under DIR
                 (DIR/run/libvirt-sock, DIR/run/libvirt-sock-ro, DIR/etc/tsvirtd.conf, DIR/log/tsvirtd.log)
  --config FILE  tsvirtd.conf in libvirtd.conf syntax (default /etc/tsvirt/tsvirtd.conf or DIR/etc/tsvirtd.conf)
  --listen       also listen on TLS (listen_tls, port tls_port 16514) and/or TCP
                 (listen_tcp, port tcp_port 16509; needs auth_tcp = "none": there is no SASL);
                 certificates in libvirt's layout: /etc/pki/CA/cacert.pem,
                 /etc/pki/libvirt/servercert.pem, /etc/pki/libvirt/private/serverkey.pem
                 (DIR/etc/pki/... with --root), or key_file/cert_file/ca_file/crl_file
`;

function parseArgs(argv: readonly string[]): { root?: string; config?: string; listen?: boolean } {
  const out: { root?: string; config?: string; listen?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return v;
    };
    if (arg === '--root') out.root = value();
    else if (arg === '--config' || arg === '-f') out.config = value();
    else if (arg === '--listen' || arg === '-l') out.listen = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return out;
}

/** Refuses to start over a live daemon's pid file (libvirtd's pidfile check). */
async function claimPidFile(path: string): Promise<void> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    if (pid > 0 && pid !== process.pid) {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`tsvirtd is already running (pid ${pid}, ${path})`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await writeFileAtomic(path, `${process.pid}\n`, 0o644);
}

export async function main(argv: readonly string[]): Promise<void> {
  tuneGarbageCollection();
  const args = parseArgs(argv);
  const paths = daemonPaths(args.root);
  mkdirSync(join(paths.logFile, '..'), { recursive: true });
  mkdirSync(join(paths.pidFile, '..'), { recursive: true });
  // never through a link planted at the log's path (it would make root append to the link's target)
  const logFd = openSync(paths.logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const log = (message: string) => appendFileSync(logFd, `${new Date().toISOString()}: ${process.pid}: ${message}\n`);
  const configFile = args.config ?? paths.configFile;
  const config = await loadConfig(configFile);
  if (args.listen) checkNetworkAuth(config, configFile);
  if (config.hostUUID !== null) setConfiguredHostUUID(config.hostUUID);
  await claimPidFile(paths.pidFile);
  const layout = systemPki(paths.pkiRoot, 'server');
  const pki: PkiFiles = { ca: config.caFile ?? layout.ca, crl: config.crlFile ?? layout.crl, cert: config.certFile ?? layout.cert, key: config.keyFile ?? layout.key };
  const server = new DaemonServer({
    registry: builtinDrivers({ daemon: true }),
    config,
    socketPath: paths.socket,
    readonlySocketPath: paths.readonlySocket,
    stateRoot: paths.stateRoot,
    log,
    network: args.listen ? { tls: config.listenTls ? pki : null, tcp: config.listenTcp } : undefined,
  });
  await server.listen();
  log(`listening on ${paths.socket} and ${paths.readonlySocket}${server.networkAddresses.map((a) => `, ${a.address}:${a.port}`).join('')}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    await server.close();
    await rm(paths.pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
