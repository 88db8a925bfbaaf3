// tsvirtd.conf: the subset of libvirtd.conf that tsvirtd honours, in libvirtd.conf's
// syntax (virconf: `name = value`, values integers, "strings" or [ "lists" ],
// `#` comments). Defaults are libvirtd 9.0's.
import { readFile } from 'node:fs/promises';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';

export interface DaemonConfig {
  readonly maxClients: number;
  readonly maxClientRequests: number;
  readonly maxWorkers: number;
  readonly prioWorkers: number;
  readonly keepaliveInterval: number;
  readonly keepaliveCount: number;
  /** Group owning the sockets; null keeps the daemon's own. */
  readonly unixSockGroup: string | null;
  readonly unixSockRwPerms: number;
  readonly unixSockRoPerms: number;
  /** with --listen: which network listeners, where, and how clients authenticate */
  readonly listenTls: boolean;
  readonly listenTcp: boolean;
  readonly tlsPort: string;
  readonly tcpPort: string;
  /** null: every address */
  readonly listenAddr: string | null;
  readonly authTcp: string;
  readonly authTls: string;
  /** certificate files; null: libvirt's layout under /etc/pki (or DIR/etc/pki with --root) */
  readonly keyFile: string | null;
  readonly certFile: string | null;
  readonly caFile: string | null;
  readonly crlFile: string | null;
  readonly tlsNoVerifyCertificate: boolean;
  /** glob patterns a client certificate's DN must match; null allows every DN the CA signed */
  readonly tlsAllowedDnList: readonly string[] | null;
  readonly tlsPriority: string | null;
  /** the listen backlog */
  readonly maxQueuedClients: number;
  /** connections still in their TLS handshake */
  readonly maxAnonymousClients: number;
  /** the host UUID the drivers report and migrations compare (null: SMBIOS's, else one generated) */
  readonly hostUUID: string | null;
}

export const DEFAULT_CONFIG: DaemonConfig = {
  maxClients: 5000,
  maxClientRequests: 5,
  maxWorkers: 20,
  prioWorkers: 5,
  keepaliveInterval: 5,
  keepaliveCount: 5,
  unixSockGroup: null,
  // without polkit libvirtd makes the read-write socket owner-only
  unixSockRwPerms: 0o700,
  unixSockRoPerms: 0o777,
  listenTls: true,
  listenTcp: false,
  tlsPort: '16514',
  tcpPort: '16509',
  listenAddr: null,
  authTcp: 'sasl',
  authTls: 'none',
  keyFile: null,
  certFile: null,
  caFile: null,
  crlFile: null,
  tlsNoVerifyCertificate: false,
  tlsAllowedDnList: null,
  tlsPriority: null,
  maxQueuedClients: 1000,
  maxAnonymousClients: 20,
  hostUUID: null,
};

type ConfValue = number | string | string[];

function confError(file: string, line: number, what: string): VirError {
  return new VirError(ErrorCode.CONF_SYNTAX, ErrorDomain.CONF, `configuration file syntax error: ${file}:${line}: ${what}`);
}

/** Parses virconf syntax into name -> value (later settings win, as in libvirt). */
export function parseConf(text: string, file: string): Map<string, ConfValue> {
  const out = new Map<string, ConfValue>();
  const token = /\s*(?:#[^\n]*)?/y;
  let pos = 0;
  const lineAt = (p: number) => text.slice(0, p).split('\n').length;
  const skip = () => {
    for (;;) {
      token.lastIndex = pos;
      token.exec(text);
      const next = token.lastIndex;
      if (next === pos) return;
      pos = next;
    }
  };
  const value = (): ConfValue => {
    skip();
    const rest = text.slice(pos);
    const str = /^"([^"\n]*)"|^'([^'\n]*)'/.exec(rest);
    if (str) {
      pos += str[0].length;
      return str[1] ?? str[2]!;
    }
    const num = /^[+-]?(0x[0-9a-fA-F]+|\d+)/.exec(rest);
    if (num) {
      pos += num[0].length;
      return Number(num[0]);
    }
    if (rest.startsWith('[')) {
      pos++;
      const list: string[] = [];
      for (;;) {
        skip();
        if (text[pos] === ']') {
          pos++;
          return list;
        }
        const item = value();
        if (typeof item !== 'string') throw confError(file, lineAt(pos), 'expecting a string in a list');
        list.push(item);
        skip();
        if (text[pos] === ',') pos++;
      }
    }
    throw confError(file, lineAt(pos), 'expecting a value');
  };
  for (;;) {
    skip();
    if (pos >= text.length) return out;
    const name = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(pos));
    if (!name) throw confError(file, lineAt(pos), 'expecting a name');
    pos += name[0].length;
    skip();
    if (text[pos] !== '=') throw confError(file, lineAt(pos), 'expecting an assignment');
    pos++;
    out.set(name[0], value());
    skip();
    if (text[pos] === ';') pos++;
  }
}

function integer(conf: Map<string, ConfValue>, name: string, fallback: number, signed = false): number {
  const v = conf.get(name);
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || (!signed && v < 0)) {
    throw new VirError(ErrorCode.CONF_SYNTAX, ErrorDomain.CONF, `internal error: ${name}: expected ${signed ? 'an' : 'an unsigned'} integer`);
  }
  return v;
}

function perms(conf: Map<string, ConfValue>, name: string, fallback: number): number {
  const v = conf.get(name);
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^[0-7]{3,4}$/.test(v)) {
    throw new VirError(ErrorCode.CONF_SYNTAX, ErrorDomain.CONF, `internal error: ${name}: expected an octal mode string such as "0770"`);
  }
  return parseInt(v, 8);
}

function string(conf: Map<string, ConfValue>, name: string): string | null {
  const v = conf.get(name);
  if (v === undefined) return null;
  if (typeof v !== 'string') throw new VirError(ErrorCode.CONF_SYNTAX, ErrorDomain.CONF, `internal error: ${name}: expected a string`);
  return v;
}

function stringList(conf: Map<string, ConfValue>, name: string): string[] | null {
  const v = conf.get(name);
  if (v === undefined) return null;
  if (!Array.isArray(v)) throw new VirError(ErrorCode.CONF_SYNTAX, ErrorDomain.CONF, `internal error: ${name}: expected a list of strings`);
  return v;
}

export function configFromText(text: string, file: string): DaemonConfig {
  const conf = parseConf(text, file);
  const d = DEFAULT_CONFIG;
  const group = string(conf, 'unix_sock_group');
  return {
    maxClients: integer(conf, 'max_clients', d.maxClients),
    maxClientRequests: Math.max(1, integer(conf, 'max_client_requests', d.maxClientRequests)),
    maxWorkers: Math.max(1, integer(conf, 'max_workers', d.maxWorkers)),
    prioWorkers: integer(conf, 'prio_workers', d.prioWorkers),
    // -1 (any value <= 0) disables keepalive, as in libvirtd.conf
    keepaliveInterval: integer(conf, 'keepalive_interval', d.keepaliveInterval, true),
    keepaliveCount: integer(conf, 'keepalive_count', d.keepaliveCount),
    unixSockGroup: group ?? null,
    unixSockRwPerms: perms(conf, 'unix_sock_rw_perms', d.unixSockRwPerms),
    unixSockRoPerms: perms(conf, 'unix_sock_ro_perms', d.unixSockRoPerms),
    listenTls: integer(conf, 'listen_tls', 1) !== 0,
    listenTcp: integer(conf, 'listen_tcp', 0) !== 0,
    tlsPort: string(conf, 'tls_port') ?? d.tlsPort,
    tcpPort: string(conf, 'tcp_port') ?? d.tcpPort,
    listenAddr: string(conf, 'listen_addr'),
    authTcp: string(conf, 'auth_tcp') ?? d.authTcp,
    authTls: string(conf, 'auth_tls') ?? d.authTls,
    keyFile: string(conf, 'key_file'),
    certFile: string(conf, 'cert_file'),
    caFile: string(conf, 'ca_file'),
    crlFile: string(conf, 'crl_file'),
    tlsNoVerifyCertificate: integer(conf, 'tls_no_verify_certificate', 0) !== 0,
    tlsAllowedDnList: stringList(conf, 'tls_allowed_dn_list'),
    tlsPriority: string(conf, 'tls_priority'),
    maxQueuedClients: integer(conf, 'max_queued_clients', d.maxQueuedClients),
    maxAnonymousClients: integer(conf, 'max_anonymous_clients', d.maxAnonymousClients),
    hostUUID: string(conf, 'host_uuid'),
  };
}

/** Reads the config file; a missing file means the defaults (libvirtd starts without one too). */
export async function loadConfig(path: string): Promise<DaemonConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_CONFIG;
    throw e;
  }
  return configFromText(text, path);
}
