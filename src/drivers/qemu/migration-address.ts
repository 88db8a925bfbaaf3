// The addresses of a direct (not tunnelled) migration, as libvirt's qemu driver
// settles them. The destination (qemuMigrationDstPrepareDirect): its QEMU
// listens on the port of the URI the client proposed (uri_in: tcp://HOST:PORT,
// tcp:HOST:PORT or unix:///PATH), or on a free port of qemu.conf's migration
// range it then names in uri_out (tcp:HOST:PORT, HOST being migration_host or
// this host's name); it listens on the listen address the client gave, else on
// migration_address, else on every address. The source (qemuMigrationSrcPerformNative):
// the URI it was given, in QEMU's own syntax.
import os from 'node:os';
import { parseURI, type ParsedURI } from '../../driver/uri.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { acquirePort } from './port-range.js';
import type { QemuDriverConfig } from './config.js';

/** Where the destination's QEMU listens, and what Prepare answers. */
export interface MigrationListen {
  /** QEMU's migrate-incoming URI */
  incoming: string;
  /** Prepare's uri_out; undefined when the client's uri_in names the port, and stands */
  uriOut?: string;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** the characters of an RFC 3986 reference: without a scheme, such a text is a URI missing one, else no URI at all */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const isIPv6 = (address: string) => process.getBuiltinModule('node:net').isIPv6(address);
const hostPort = (host: string, port: number) => `${isIPv6(host) ? `[${host}]` : host}:${port}`;

/** qemuMigrationAnyParseURI: the old tcp:HOST:PORT form is read as tcp://HOST:PORT; `missingScheme` is libvirt's error where it has none. */
function parseMigrationURI(uri: string, missingScheme: (uri: string) => Error): { parsed: ParsedURI; wellFormed: boolean } {
  if (!SCHEME.test(uri) && URI_CHARACTERS.test(uri)) throw missingScheme(uri);
  const wellFormed = !(uri.startsWith('tcp:') && !uri.startsWith('tcp://'));
  return { parsed: parseURI(wellFormed ? uri : `tcp://${uri.slice(4)}`), wellFormed };
}

/** getaddrinfo("::", AI_ADDRCONFIG) answers: the host has an IPv6 address besides the loopback's. */
function hostIPv6Capable(): boolean {
  return Object.values(os.networkInterfaces()).some((addresses) => addresses?.some((a) => a.family === 'IPv6' && !a.internal));
}

/**
 * The port allocator's ranges are per process, as libvirt's: a port handed to
 * one Prepare is not handed to another before that one's QEMU listens on it
 * (from then on the bind test sees it taken).
 */
const handedOut = new Set<number>();

async function migrationPort({ min, max }: QemuDriverConfig['migrationPorts']): Promise<number> {
  const port = await acquirePort({ name: 'migration', min, max }, (p) => handedOut.has(p), ErrorDomain.NONE);
  handedOut.add(port);
  return port;
}

/**
 * The destination's listening address for Prepare's `uriIn` and
 * `listenAddress` (VIR_MIGRATE_PARAM_LISTEN_ADDRESS). `listening` runs with it
 * (it starts QEMU); a port taken from the range is free for others afterwards.
 */
export async function withMigrationListen<T>(config: QemuDriverConfig, uriIn: string | undefined, listenAddress: string | undefined, listening: (listen: MigrationListen, protocol: string) => Promise<T>): Promise<T> {
  if (listenAddress !== undefined && uriIn?.startsWith('unix:')) {
    throw virError(ErrorCode.INVALID_ARG, 'Usage of listen-address is forbidden when migration URI uses UNIX transport method', ErrorDomain.QEMU);
  }
  listenAddress ??= config.migrationAddress;
  let allocated: number | undefined;
  try {
    let listen: MigrationListen;
    let protocol = 'tcp';
    if (uriIn === undefined) {
      allocated = await migrationPort(config.migrationPorts);
      const host = config.migrationHost ?? os.hostname();
      if (host.startsWith('localhost')) throw virError(ErrorCode.INTERNAL_ERROR, 'hostname on destination resolved to localhost, but migration requires an FQDN', ErrorDomain.QEMU);
      listen = { incoming: tcpIncoming(protocol, listenAddress, allocated), uriOut: `tcp:${hostPort(host, allocated)}` };
    } else {
      const { parsed, wellFormed } = parseMigrationURI(uriIn, (uri) => virError(ErrorCode.INVALID_ARG, `missing scheme in migration URI: ${uri}`, ErrorDomain.QEMU));
      protocol = parsed.scheme;
      if (!['tcp', 'rdma', 'unix'].includes(protocol)) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `unsupported scheme ${protocol} in migration URI ${uriIn}`, ErrorDomain.QEMU);
      if (protocol === 'unix') {
        listen = { incoming: `unix:${parsed.path}` };
      } else {
        if (parsed.host === null) throw virError(ErrorCode.INVALID_ARG, `missing host in migration URI: ${uriIn}`, ErrorDomain.QEMU);
        if (!parsed.port) {
          allocated = await migrationPort(config.migrationPorts);
          const uriOut = wellFormed ? `${protocol}://${hostPort(parsed.host, allocated)}${parsed.path}` : `${uriIn}:${allocated}`;
          listen = { incoming: tcpIncoming(protocol, listenAddress, allocated), uriOut };
        } else {
          listen = { incoming: tcpIncoming(protocol, listenAddress, parsed.port) };
        }
      }
    }
    return await listening(listen, protocol);
  } finally {
    if (allocated !== undefined) handedOut.delete(allocated);
  }
}

/** qemuMigrationDstPrepare: QEMU listens on the address given, else on every IPv6 (and IPv4) or every IPv4 address. */
function tcpIncoming(protocol: string, listenAddress: string | undefined, port: number): string {
  const ipv6 = hostIPv6Capable();
  if (listenAddress !== undefined && isIPv6(listenAddress) && !ipv6) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, "host isn't capable of IPv6", ErrorDomain.QEMU);
  return `${protocol}:${hostPort(listenAddress ?? (ipv6 ? '::' : '0.0.0.0'), port)}`;
}

/** qemuMigrationSrcPerformNative: the migration URI the source was given, as QEMU's migrate takes it. */
export function qemuMigrateURI(uri: string): string {
  const { parsed } = parseMigrationURI(uri, (u) => virError(ErrorCode.INTERNAL_ERROR, `missing scheme in migration URI: ${u}`, ErrorDomain.QEMU));
  if (parsed.scheme === 'unix') return `unix:${parsed.path}`;
  return `${parsed.scheme}:${hostPort(parsed.host ?? '', parsed.port ?? 0)}`;
}
