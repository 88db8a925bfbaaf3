// The remote driver's transports, as libvirt's remote driver picks them from a
// URI: unix (a local socket), tcp, tls (the default with a host: handshake,
// certificate checks, then the server's confirmation byte), ssh (libvirt's
// `ssh ... sh -c '...'` command line with its virt-ssh-helper / netcat proxy),
// ext (any command). Each yields the byte stream the RPC client runs over.
import { spawn } from 'node:child_process';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ParsedURI } from '../../driver/uri.js';
import { checkPeer, clientPki, readCredential, readConfirmation } from '../../rpc/tls.js';
import { ErrorCode, ErrorDomain, VirError } from '../../util/error.js';
import { daemonServesLocally, SYSTEM_SOCKET, SYSTEM_SOCKET_RO, transportOf } from './claims.js';

/** libvirtd's ports */
const TCP_PORT = 16509;
const TLS_PORT = 16514;

function invalidArg(message: string): VirError {
  return new VirError(ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, `invalid argument: ${message}`);
}

function connectError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'ECONNREFUSED':
      return 'Connection refused';
    default:
      return e.message;
  }
}

function connected<S extends Socket>(socket: S, event: 'connect' | 'secureConnect', error: (e: NodeJS.ErrnoException) => VirError): Promise<S> {
  return new Promise((resolve, reject) => {
    socket.once('error', (e) => reject(error(e)));
    socket.once(event, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function connectUnix(path: string): Promise<Socket> {
  return connected(netConnect(path), 'connect', (e) => new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Failed to connect socket to '${path}': ${connectError(e)}`));
}

function connectTcp(host: string, port: number): Promise<Socket> {
  return connected(netConnect(port, host), 'connect', (e) => new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `unable to connect to server at '${host}:${port}': ${connectError(e)}`));
}

/** TLS with the client's certificates (pkipath or libvirt's layout), the server's certificate checked unless no_verify=1, then the confirmation byte. */
async function connectTls(uri: ParsedURI, host: string, port: number): Promise<TLSSocket> {
  const files = clientPki(uri.params.get('pkipath'));
  const noVerify = uri.params.get('no_verify') === '1';
  const socket = await connected(
    tlsConnect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      ca: readCredential('CA certificate', files.ca)!,
      crl: readCredential('CA revocation list', files.crl, true) ?? undefined,
      cert: readCredential('client certificate', files.cert, true) ?? undefined,
      key: readCredential('private key', files.key, true) ?? undefined,
      // checked below with libvirt's messages, or not at all with no_verify=1
      rejectUnauthorized: false,
    }),
    'secureConnect',
    (e) => new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? `unable to connect to server at '${host}:${port}': ${connectError(e)}` : `TLS handshake failed: ${e.message}`),
  );
  try {
    if (!noVerify) checkPeer(socket, { hostname: host });
    await readConfirmation(socket);
  } catch (e) {
    socket.destroy();
    throw e;
  }
  return socket;
}

/** virBufferEscapeShell: single quotes only when the string has shell metacharacters. */
export function escapeShell(s: string): string {
  if (s === '') return "''";
  if (!/[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/.test(s)) return s;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

export type SSHProxy = 'auto' | 'netcat' | 'native';

/** The command ssh runs on the far side (virNetClientSSHHelperCommand): the host's virt-ssh-helper, or nc to its daemon's socket. */
export function sshHelperCommand(proxy: SSHProxy, netcat: string | null, socketPath: string, driverURI: string, readonly: boolean): string {
  const nc = escapeShell(escapeShell(netcat ?? 'nc'));
  const uriArg = escapeShell(escapeShell(driverURI));
  if (proxy === 'auto' && netcat !== null) proxy = 'netcat';
  const nccmd = `if '${nc}' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'${nc}' $ARG -U ${socketPath}`;
  const helpercmd = `virt-ssh-helper${readonly ? ' -r ' : ' '}'${uriArg}'`;
  switch (proxy) {
    case 'auto':
      return `sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     ${helpercmd}; else    ${nccmd}; fi'`;
    case 'netcat':
      return `sh -c '${nccmd}'`;
    case 'native':
      if (netcat !== null) throw invalidArg('netcat path not valid with native proxy mode');
      return `sh -c '${helpercmd}'`;
  }
}

/** ssh's argv as libvirt builds it (virNetSocketNewConnectSSH). */
export function sshArgv(uri: ParsedURI, command: string): string[] {
  const p = uri.params;
  const argv: string[] = [];
  if (uri.port !== null) argv.push('-p', String(uri.port));
  if (uri.user !== null) argv.push('-l', uri.user);
  const keyfile = p.get('keyfile');
  if (keyfile !== null) argv.push('-i', keyfile);
  argv.push('-T', '-e', 'none');
  if (p.get('no_tty') === '1') argv.push('-o', 'BatchMode=yes');
  if (p.get('no_verify') === '1') argv.push('-o', 'StrictHostKeyChecking=no');
  argv.push('--', uri.host ?? 'localhost', command);
  return argv;
}

/**
 * A command's stdin/stdout as the connection (virNetSocketNewConnectCommand);
 * when it ends, what it said on stderr becomes the error, as libvirt reports it.
 */
function connectCommand(binary: string, argv: readonly string[]): Duplex {
  const child = spawn(binary, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 1024) stderr += d;
  });
  const socket = Duplex.from({ readable: child.stdout, writable: child.stdin });
  child.on('error', (e) => socket.destroy(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Cannot run ${binary}: ${e.message}`)));
  child.stdout.once('end', () => {
    const said = stderr.trim();
    socket.destroy(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `End of file while reading data${said ? `: ${said}` : ''}: Input/output error`));
  });
  socket.once('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return socket;
}

/**
 * The byte stream to a URI's daemon, or undefined when the URI is a local
 * driver's (the remote driver declines it). `remoteName` is what the far side's
 * virt-ssh-helper opens.
 */
export async function openTransport(uri: ParsedURI, readonly: boolean, remoteName: string): Promise<Duplex | undefined> {
  const socket = uri.params.get('socket');
  const transport = transportOf(uri);
  switch (transport) {
    case 'unix':
      return connectUnix(socket ?? (readonly ? SYSTEM_SOCKET_RO : SYSTEM_SOCKET));
    case 'tcp':
      return connectTcp(uri.host ?? 'localhost', uri.port ?? TCP_PORT);
    case 'tls':
      return connectTls(uri, uri.host ?? 'localhost', uri.port ?? TLS_PORT);
    case 'ssh': {
      const proxyParam = uri.params.get('proxy');
      if (proxyParam !== null && !['auto', 'netcat', 'native'].includes(proxyParam)) throw invalidArg(`Unnkown proxy type '${proxyParam}'`);
      // libvirt's default: an explicit socket needs netcat, else try the helper first
      const proxy = (proxyParam as SSHProxy | null) ?? (socket !== null ? 'netcat' : 'auto');
      const command = sshHelperCommand(proxy, uri.params.get('netcat'), socket ?? (readonly ? SYSTEM_SOCKET_RO : SYSTEM_SOCKET), remoteName, readonly);
      return connectCommand(uri.params.get('command') ?? 'ssh', sshArgv(uri, command));
    }
    case 'ext': {
      const command = uri.params.get('command');
      if (command === null) throw invalidArg("remote_open: for 'ext' transport, command is required");
      return connectCommand(command, []);
    }
    case null:
      return daemonServesLocally(uri) ? connectUnix(readonly ? SYSTEM_SOCKET_RO : SYSTEM_SOCKET) : undefined;
  }
  throw invalidArg('transport in URL not recognised (should be tls|unix|ssh|ext|tcp|libssh2|libssh)');
}
