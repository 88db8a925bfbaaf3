// tsvirtd.conf in libvirtd.conf's syntax: values, comments, lists, defaults, errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromText, DEFAULT_CONFIG, parseConf } from '../../src/daemon/config.js';
import { dnMatches } from '../../src/rpc/tls.js';
import { configuredHostUUID, setConfiguredHostUUID } from '../../src/util/host-uuid.js';

test('libvirtd.conf syntax: integers, strings, lists and comments', () => {
  const conf = parseConf('# comment\nmax_clients = 10  # trailing\nunix_sock_group = "libvirt"\nlisten_addr = \'0.0.0.0\'\nlist = [ "a", "b" ,\n "c" ]\nhex = 0x10\n', 'f');
  assert.deepEqual([...conf], [['max_clients', 10], ['unix_sock_group', 'libvirt'], ['listen_addr', '0.0.0.0'], ['list', ['a', 'b', 'c']], ['hex', 16]]);
});

test('settings tsvirtd honours, defaults as libvirtd 9.0', () => {
  assert.deepEqual(configFromText('', 'f'), DEFAULT_CONFIG);
  const c = configFromText('max_clients = 7\nmax_client_requests = 2\nmax_workers = 3\nkeepalive_interval = -1\nunix_sock_rw_perms = "0770"\n', 'f');
  assert.deepEqual([c.maxClients, c.maxClientRequests, c.maxWorkers, c.unixSockRwPerms, c.unixSockRoPerms], [7, 2, 3, 0o770, 0o777]);
});

test('bad configuration is refused with the file and line', () => {
  assert.throws(() => parseConf('max_clients 5\n', '/x/tsvirtd.conf'), /configuration file syntax error: \/x\/tsvirtd.conf:1: expecting an assignment/);
  assert.throws(() => configFromText('max_clients = "many"\n', 'f'), /max_clients: expected an unsigned integer/);
  assert.throws(() => configFromText('unix_sock_rw_perms = "rwx"\n', 'f'), /octal mode/);
});

test('network settings: libvirtd 9.0 defaults, values, and bad types refused', () => {
  const d = configFromText('', 'f');
  assert.deepEqual([d.listenTls, d.listenTcp, d.tlsPort, d.tcpPort, d.authTcp, d.authTls, d.tlsAllowedDnList, d.maxQueuedClients, d.maxAnonymousClients], [true, false, '16514', '16509', 'sasl', 'none', null, 1000, 20]);
  const c = configFromText('listen_tls = 0\nlisten_tcp = 1\ntcp_port = "1234"\nlisten_addr = "127.0.0.1"\nauth_tcp = "none"\ntls_no_verify_certificate = 1\ntls_allowed_dn_list = ["C=GB,*", "CN=x"]\ncert_file = "/c.pem"\n', 'f');
  assert.deepEqual([c.listenTls, c.listenTcp, c.tcpPort, c.listenAddr, c.authTcp, c.tlsNoVerifyCertificate, c.tlsAllowedDnList, c.certFile, c.keyFile], [false, true, '1234', '127.0.0.1', 'none', true, ['C=GB,*', 'CN=x'], '/c.pem', null]);
  assert.throws(() => configFromText('tls_allowed_dn_list = "CN=x"\n', 'f'), /tls_allowed_dn_list: expected a list of strings/);
  assert.throws(() => configFromText('tcp_port = 16509\n', 'f'), /tcp_port: expected a string/);
});

test('tls_allowed_dn_list patterns: * and ? as g_pattern_match_simple, everything else literal', () => {
  assert.equal(dnMatches('C=GB,O=tsvirt tests,CN=client', 'C=GB,O=tsvirt tests,CN=*'), true);
  assert.equal(dnMatches('C=GB,O=tsvirt tests,CN=client', 'C=??,O=*,CN=client'), true);
  assert.equal(dnMatches('C=GB,O=tsvirt tests,CN=client', 'C=GB,O=tsvirt tests,CN=clien'), false);
  assert.equal(dnMatches('C=GB,O=a.b,CN=x', 'C=GB,O=a.b,CN=x'), true);
  assert.equal(dnMatches('C=GB,O=axb,CN=x', 'C=GB,O=a.b,CN=x'), false);
});

test('host_uuid: read as a string, refused when malformed or one repeated byte (virSetHostUUIDStr)', () => {
  assert.equal(configFromText('', 'f').hostUUID, null);
  assert.equal(configFromText('host_uuid = "00000000-0000-0000-0000-0000000000a1"\n', 'f').hostUUID, '00000000-0000-0000-0000-0000000000a1');
  assert.throws(() => setConfiguredHostUUID('00000000-0000-0000-0000-000000000000'), /invalid host UUID: 00000000-0000-0000-0000-000000000000/);
  assert.throws(() => setConfiguredHostUUID('not-a-uuid'), /invalid host UUID: not-a-uuid/);
  setConfiguredHostUUID('00000000-0000-0000-0000-0000000000A1');
  assert.equal(configuredHostUUID(), '00000000-0000-0000-0000-0000000000a1');
});
