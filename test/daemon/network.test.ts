// tsvirtd --listen: libvirtd's TLS and TCP listeners met by real virsh, python3-libvirt
// and tsvirt's own remote driver (tls, tcp, ext); libvirt's certificate checks on both sides and the
// refusal to listen on TCP without authentication unless auth_tcp = "none".
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from '../../src/api/connection.js';
import { isVirError } from '../../src/util/error.js';
import { projectRoot } from '../helpers/shared.js';
import { testDriverReady } from './contract-ready.js';
import { freePort, hasOpenssl, makeTestPki, type TestPki } from './pki.js';
import { spawnDaemon, tsvirtd, type SpawnedDaemon } from './spawn-daemon.js';

function has(binary: string, args: string[]): boolean {
  try {
    execFileSync(binary, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function loudSkip(reason: string): string {
  const message = `*** ${reason}: test SKIPPED ***`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it)`);
  process.stderr.write(`${message}\n`);
  return message;
}

const skip = !hasOpenssl() ? loudSkip('openssl is not installed') : ((await testDriverReady()) ?? false);
const skipVirsh = skip || (has('virsh', ['--version']) ? false : loudSkip('virsh is not installed'));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const skipPython = skip || (has(PYTHON, ['-c', 'import libvirt']) ? false : loudSkip('python3-libvirt is not installed'));

let pki: TestPki;
let daemon: SpawnedDaemon;
let tlsPort: number;
let tcpPort: number;

before(async () => {
  if (skip) return;
  pki = makeTestPki();
  tlsPort = await freePort();
  tcpPort = await freePort();
  daemon = await spawnDaemon(`listen_tcp = 1\nauth_tcp = "none"\ntls_port = "${tlsPort}"\ntcp_port = "${tcpPort}"\n`, {
    args: ['--listen'],
    prepare: (root) => pki.installServer(root),
  });
});

after(async () => {
  await daemon?.stop();
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});

const tlsURI = (pkipath: string, host = 'localhost', extra = '') => `test+tls://${host}:${tlsPort}/default?pkipath=${pkipath}${extra}`;

function virsh(uri: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile('virsh', ['-c', uri, ...args], { timeout: 30_000 }, (e, stdout, stderr) => resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr })),
  );
}

/** The daemon's log lines after `mark` characters. */
function logSince(mark: number): string {
  return readFileSync(join(daemon.root, 'log', 'tsvirtd.log'), 'utf8').slice(mark);
}
const logLength = () => readFileSync(join(daemon.root, 'log', 'tsvirtd.log'), 'utf8').length;

async function openError(uri: string): Promise<string> {
  try {
    const conn = await connect(uri);
    await conn.close();
  } catch (e) {
    assert.ok(isVirError(e), String(e));
    return e.message;
  }
  assert.fail(`${uri} opened`);
}

test('real virsh over TLS (pkipath) and TCP', { skip: skipVirsh }, async () => {
  const tls = await virsh(tlsURI(pki.clientPkiPath), 'list', '--all', '--name');
  assert.equal(tls.code, 0, tls.stderr);
  assert.equal(tls.stdout.trim(), 'test');
  const tcp = await virsh(`test+tcp://127.0.0.1:${tcpPort}/default`, 'domstate', 'test');
  assert.equal(tcp.code, 0, tcp.stderr);
  assert.equal(tcp.stdout.trim(), 'running');
});

test('real virsh on qemu+tcp:///system and tsvirsh over TLS', { skip: skipVirsh }, async () => {
  const qemu = await virsh(`qemu+tcp://127.0.0.1:${tcpPort}/system`, 'version');
  assert.equal(qemu.code, 0, qemu.stderr);
  assert.match(qemu.stdout, /Running hypervisor: QEMU \d/);
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [join(projectRoot, 'bin', 'tsvirsh'), '-c', tlsURI(pki.clientPkiPath), 'list', '--all', '--name'], { timeout: 30_000 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout))),
  );
  assert.equal(out.trim(), 'test');
});

test('python3-libvirt over TLS', { skip: skipPython }, async () => {
  const script = 'import libvirt, sys\nc = libvirt.open(sys.argv[1])\nprint(c.getType(), [d.name() for d in c.listAllDomains()], c.isAlive())\nc.close()\n';
  const out = await new Promise<string>((resolve, reject) =>
    execFile(PYTHON, ['-c', script, tlsURI(pki.clientPkiPath)], { timeout: 30_000 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout))),
  );
  assert.equal(out.trim(), "TEST ['test'] 1");
});

test('the library API over TLS and TCP', { skip }, async () => {
  // a URI with a host and no transport is TLS, as in libvirt
  const plain = `test://localhost:${tlsPort}/default?pkipath=${pki.clientPkiPath}`;
  for (const uri of [tlsURI(pki.clientPkiPath), tlsURI(pki.clientPkiPath, '127.0.0.1'), plain, `test+tcp://127.0.0.1:${tcpPort}/default`]) {
    const conn = await connect(uri);
    try {
      assert.equal(await conn.getType(), 'TEST', uri);
      assert.deepEqual((await conn.listAllDomains()).map((d) => d.name), ['test'], uri);
    } finally {
      await conn.close();
    }
  }
});

test('the server refuses certificates of another CA and expired ones, with libvirt reasons in its log', { skip }, async () => {
  for (const [name, options, reason] of [
    ['foreign', { ca: 'other' as const }, "Certificate failed validation: The certificate hasn't got a known issuer."],
    ['expired', { expired: true }, 'Certificate failed validation: The certificate is not trusted.'],
  ] as const) {
    const mark = logLength();
    const message = await openError(tlsURI(pki.issueClient(name, `/CN=${name}`, options)));
    assert.equal(message, 'server verification (of our certificate or IP address) failed');
    assert.match(logSince(mark), new RegExp(`TLS client refused: ${reason.replace(/[.?]/g, '\\$&')}`));
  }
});

test('the client checks the server: wrong host name, unknown CA; no_verify=1 skips the checks', { skip }, async () => {
  // the server's certificate names localhost and 127.0.0.1 only
  assert.equal(await openError(tlsURI(pki.clientPkiPath, '127.0.0.2')), 'Certificate [session] owner does not match the hostname 127.0.0.2');
  const foreign = pki.issueClient('trusts-other', '/CN=trusts-other', { ca: 'other' });
  await writeFile(join(foreign, 'cacert.pem'), readFileSync(join(pki.dir, 'otherca' + 'cert.pem')));
  assert.equal(await openError(tlsURI(foreign)), "Certificate failed validation: The certificate hasn't got a known issuer.");
  const conn = await connect(tlsURI(pki.clientPkiPath, '127.0.0.2', '&no_verify=1'));
  assert.equal(await conn.getType(), 'TEST');
  await conn.close();
  assert.equal(await openError(tlsURI('/nonexistent')), "Cannot read CA certificate '/nonexistent/cacert.pem': No such file or directory");
});

test('tls_allowed_dn_list: a DN outside the list is refused, a matching one served', { skip }, async () => {
  const port = await freePort();
  const listed = await spawnDaemon(`listen_tls = 1\ntls_port = "${port}"\ntls_allowed_dn_list = ["C=*,O=tsvirt tests,CN=client"]\n`, {
    args: ['--listen'],
    prepare: (root) => pki.installServer(root),
  });
  try {
    const conn = await connect(`test+tls://localhost:${port}/default?pkipath=${pki.clientPkiPath}`);
    assert.equal(await conn.getType(), 'TEST');
    await conn.close();
    const stranger = pki.issueClient('stranger', '/C=GB/O=tsvirt tests/CN=stranger');
    const message = await openError(`test+tls://localhost:${port}/default?pkipath=${stranger}`);
    assert.equal(message, 'server verification (of our certificate or IP address) failed');
    assert.match(readFileSync(join(listed.root, 'log', 'tsvirtd.log'), 'utf8'), /Client's Distinguished Name is not on the list of allowed clients \(tls_allowed_dn_list\)/);
  } finally {
    await listed.stop();
  }
});

test('--listen refuses TCP without auth_tcp = "none" (no SASL), before binding anything', { skip }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsvirtd-'));
  try {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc', 'tsvirtd.conf'), 'listen_tls = 0\nlisten_tcp = 1\n');
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [tsvirtd, '--root', root, '--listen'], { timeout: 20_000 }, (e, _out, stderr) => resolve({ code: e ? Number(e.code) : 0, stderr })),
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /auth_tcp = "sasl" needs SASL, which tsvirtd does not have; set auth_tcp = "none"/);
    assert.equal(existsSync(join(root, 'run', 'libvirt-sock')), false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('max_anonymous_clients: past it a new client waits for a handshake slot instead of being served or dropped', { skip }, async () => {
  const port = await freePort();
  const limited = await spawnDaemon(`tls_port = "${port}"\nmax_anonymous_clients = 2\n`, { args: ['--listen'], prepare: (root) => pki.installServer(root) });
  const uri = `test+tls://localhost:${port}/default?pkipath=${pki.clientPkiPath}`;
  try {
    // bytes that are not TLS end their handshake at once and free their slot
    const garbage = Array.from({ length: 3 }, () => netConnect(port, '127.0.0.1').on('error', () => undefined).end('NOT TLS\r\n\r\n'));
    await Promise.all(garbage.map((s) => new Promise((resolve) => s.once('close', resolve))));
    await (await connect(uri)).close();
    // two clients that never start their handshake hold both slots
    const stallers = [netConnect(port, '127.0.0.1'), netConnect(port, '127.0.0.1')];
    await Promise.all(stallers.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    let opened = false;
    const waiting = connect(uri).then((conn) => {
      opened = true;
      return conn;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(opened, false);
    for (const s of stallers) s.destroy();
    const conn = await waiting;
    assert.equal(await conn.getType(), 'TEST');
    await conn.close();
  } finally {
    await limited.stop();
  }
});

test('the ext transport: any command whose stdin/stdout reach the daemon (here nc -U)', { skip }, async () => {
  const script = join(daemon.root, 'via-nc');
  await writeFile(script, `#!/bin/sh\nexec nc -U ${daemon.socket}\n`, { mode: 0o755 });
  const conn = await connect(`test+ext:///default?command=${script}`);
  try {
    assert.deepEqual((await conn.listAllDomains()).map((d) => d.name), ['test']);
  } finally {
    await conn.close();
  }
  assert.equal(await openError('test+ext:///default'), "invalid argument: remote_open: for 'ext' transport, command is required");
});
