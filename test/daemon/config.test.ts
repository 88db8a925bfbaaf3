// tsvirtd.conf in libvirtd.conf's syntax: values, comments, lists, defaults, errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromText, DEFAULT_CONFIG, parseConf } from '../../src/daemon/config.js';

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
