// libvirt's TLS conventions, shared by tsvirtd and the remote driver: the
// certificate layout under /etc/pki (or a pkipath), the peer checks with
// libvirt's error texts, tls_allowed_dn_list matching, and the one
// confirmation byte the server sends once it accepted the client's certificate
// (virNetServerClient), which libvirt's client waits for before any RPC.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { ErrorCode, ErrorDomain, VirError } from '../util/error.js';

export const TLS_CONFIRMATION = Buffer.from([1]);

export interface PkiFiles {
  readonly ca: string;
  readonly crl: string;
  readonly cert: string;
  readonly key: string;
}

/** libvirt's default layout below a root: ROOT/etc/pki/CA/cacert.pem, ROOT/etc/pki/libvirt/{server,client}cert.pem, .../private/*key.pem */
export function systemPki(root: string, side: 'server' | 'client'): PkiFiles {
  const pki = join(root, 'etc', 'pki');
  return {
    ca: join(pki, 'CA', 'cacert.pem'),
    crl: join(pki, 'CA', 'cacrl.pem'),
    cert: join(pki, 'libvirt', `${side}cert.pem`),
    key: join(pki, 'libvirt', 'private', `${side}key.pem`),
  };
}

/** Every file in one directory, as `?pkipath=DIR` names them. */
export function pkiPathFiles(dir: string, side: 'server' | 'client'): PkiFiles {
  return { ca: join(dir, 'cacert.pem'), crl: join(dir, 'cacrl.pem'), cert: join(dir, `${side}cert.pem`), key: join(dir, `${side}key.pem`) };
}

/**
 * A client's files: `pkipath` when given; else, for a non-root user, those of
 * ~/.pki/libvirt that exist (the certificate and key only as a pair), the
 * system's for the rest (virNetTLSContextLocateCredentials).
 */
export function clientPki(pkipath: string | null): PkiFiles {
  if (pkipath !== null) return pkiPathFiles(pkipath, 'client');
  const system = systemPki('/', 'client');
  if (process.getuid?.() === 0) return system;
  const user = pkiPathFiles(join(homedir(), '.pki', 'libvirt'), 'client');
  const pair = existsSync(user.cert) && existsSync(user.key);
  return {
    ca: existsSync(user.ca) ? user.ca : system.ca,
    crl: existsSync(user.crl) ? user.crl : system.crl,
    cert: pair ? user.cert : system.cert,
    key: pair ? user.key : system.key,
  };
}

/** A credential file's bytes; a missing optional one is null. */
export function readCredential(what: string, path: string, optional = false): Buffer | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message;
    throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Cannot read ${what} '${path}': ${reason}`);
  }
}

function tlsError(code: ErrorCode, message: string): VirError {
  return new VirError(code, ErrorDomain.RPC, message);
}

/** OpenSSL's verdict on a peer's chain in libvirt's words (GnuTLS status flags; the most specific wins, as there). */
function validationReason(opensslCode: string): string {
  switch (opensslCode) {
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return "The certificate hasn't got a known issuer.";
    case 'CERT_REVOKED':
      return 'The certificate has been revoked.';
    default:
      // GnuTLS marks expired, not yet valid and badly signed certificates all "invalid"
      return 'The certificate is not trusted.';
  }
}

/** A certificate's subject as libvirt prints it (virt-pki-query-dn: the certificate's order, C=GB,O=...,CN=...), what tls_allowed_dn_list matches. */
export function subjectDN(cert: X509Certificate): string {
  return cert.subject.split('\n').join(',');
}

/** g_pattern_match_simple: `*` any run, `?` one character. */
export function dnMatches(dn: string, pattern: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(dn);
}

/**
 * Checks the peer of a finished handshake as virNetTLSContextCheckCertificate:
 * chain against the CA, then (server side) the DN against the allowed list,
 * (client side) the certificate against the host name asked for.
 */
export function checkPeer(socket: TLSSocket, check: { allowedDNs?: readonly string[] | null; hostname?: string }): void {
  const cert = socket.getPeerX509Certificate();
  if (!cert) throw tlsError(ErrorCode.SYSTEM_ERROR, 'The certificate has no peers');
  // OpenSSL's verdict is a code string; Node's client adds its own host name check as an Error, which libvirt does after the chain (below)
  const verdict = socket.authorizationError as unknown as string | NodeJS.ErrnoException | null;
  const code = typeof verdict === 'string' ? verdict : verdict?.code;
  if (!socket.authorized && code !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
    throw tlsError(ErrorCode.SYSTEM_ERROR, `Certificate failed validation: ${validationReason(String(code))}`);
  }
  if (check.allowedDNs && !check.allowedDNs.some((p) => dnMatches(subjectDN(cert), p))) {
    throw tlsError(
      ErrorCode.SYSTEM_ERROR,
      "Client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list).  Use 'virt-pki-query-dn clientcert.pem' to view the Distinguished Name field in the client certificate, or run this daemon with --verbose option.",
    );
  }
  if (check.hostname !== undefined && cert.checkHost(check.hostname) === undefined && cert.checkIP(check.hostname) === undefined) {
    throw tlsError(ErrorCode.RPC, `Certificate [session] owner does not match the hostname ${check.hostname}`);
  }
}

/** The client's wait for the server's confirmation byte; bytes after it (none in libvirt's protocol) go back to the socket. */
export function readConfirmation(socket: TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      done();
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      if (chunk[0] === 1) resolve();
      else reject(tlsError(ErrorCode.RPC, 'server verification (of our certificate or IP address) failed'));
    };
    const onEnd = () => {
      done();
      reject(tlsError(ErrorCode.RPC, 'server verification (of our certificate or IP address) failed'));
    };
    const onError = (e: Error) => {
      done();
      reject(tlsError(ErrorCode.SYSTEM_ERROR, `Unable to read TLS confirmation: ${e.message}`));
    };
    const done = () => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
      socket.pause();
    };
    socket.on('data', onData).once('end', onEnd).once('close', onEnd).once('error', onError);
  });
}
