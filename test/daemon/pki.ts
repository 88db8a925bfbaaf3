// A throw-away certificate authority for the TLS tests, made with the openssl CLI
// (Node's crypto cannot issue certificates): a CA, a server certificate for
// localhost/127.0.0.1 and client certificates, with the extensions GnuTLS and
// libvirt check (CA basic constraints, key usage, TLS purposes). Never committed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface TestPki {
  readonly dir: string;
  /** a directory in `?pkipath=` layout: cacert.pem, clientcert.pem, clientkey.pem */
  readonly clientPkiPath: string;
  /** copies the CA and server certificate into libvirt's layout below root (ROOT/etc/pki/...) */
  installServer(root: string): void;
  /** issues a client certificate with subject `subject` (e.g. /O=tsvirt/CN=alice) into a new pkipath directory */
  issueClient(name: string, subject: string, options?: { expired?: boolean; ca?: 'own' | 'other' }): string;
}

const SERVER_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n';
const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';

function makeCA(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}key.pem`, '-out', `${name}cert.pem`, '-days', '2', '-subj', `/O=tsvirt tests/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

function issue(dir: string, ca: string, out: string, subject: string, ext: string, expired = false): void {
  writeFileSync(join(dir, `${out}.ext`), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${out}key.pem`, '-out', `${out}.csr`, '-subj', subject], dir);
  // -days -1: it ended before it began
  const validity = ['-days', expired ? '-1' : '2'];
  openssl(['x509', '-req', '-in', `${out}.csr`, '-CA', `${ca}cert.pem`, '-CAkey', `${ca}key.pem`, '-CAcreateserial', '-out', `${out}cert.pem`, '-extfile', `${out}.ext`, ...validity], dir);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-pki-'));
  makeCA(dir, 'ca');
  makeCA(dir, 'otherca');
  issue(dir, 'ca', 'server', '/O=tsvirt tests/CN=localhost', SERVER_EXT);
  const issueClient = (name: string, subject: string, options: { expired?: boolean; ca?: 'own' | 'other' } = {}): string => {
    issue(dir, options.ca === 'other' ? 'otherca' : 'ca', `client-${name}`, subject, CLIENT_EXT, options.expired);
    const pkipath = join(dir, name);
    mkdirSync(pkipath);
    copyFileSync(join(dir, 'cacert.pem'), join(pkipath, 'cacert.pem'));
    copyFileSync(join(dir, `client-${name}cert.pem`), join(pkipath, 'clientcert.pem'));
    copyFileSync(join(dir, `client-${name}key.pem`), join(pkipath, 'clientkey.pem'));
    return pkipath;
  };
  return {
    dir,
    clientPkiPath: issueClient('client', '/C=GB/O=tsvirt tests/CN=client'),
    installServer: (root) => {
      mkdirSync(join(root, 'etc', 'pki', 'CA'), { recursive: true });
      mkdirSync(join(root, 'etc', 'pki', 'libvirt', 'private'), { recursive: true });
      copyFileSync(join(dir, 'cacert.pem'), join(root, 'etc', 'pki', 'CA', 'cacert.pem'));
      copyFileSync(join(dir, 'servercert.pem'), join(root, 'etc', 'pki', 'libvirt', 'servercert.pem'));
      copyFileSync(join(dir, 'serverkey.pem'), join(root, 'etc', 'pki', 'libvirt', 'private', 'serverkey.pem'));
    },
    issueClient,
  };
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
