// Where a migration's destination QEMU listens and what its Prepare answers
// (migration-address.ts), with qemu.conf's migration settings; libvirt's
// errors for bad URIs and settings (the end-to-end comparison with libvirtd
// is in test/e2e/migrate-p2p.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { configFromSettings, parseConf, type QemuDriverConfig } from '../../src/drivers/qemu/config.js';
import { qemuMigrateURI, withMigrationListen, type MigrationListen } from '../../src/drivers/qemu/migration-address.js';

const config = (text = '') => configFromSettings(parseConf(text, 'qemu.conf'), 'qemu.conf');
const ipv6 = Object.values(os.networkInterfaces()).some((as) => as?.some((a) => a.family === 'IPv6' && !a.internal));
const everywhere = ipv6 ? '[::]' : '0.0.0.0';

function listen(conf: QemuDriverConfig, uriIn?: string, listenAddress?: string): Promise<MigrationListen> {
  return withMigrationListen(conf, uriIn, listenAddress, async (l) => l);
}

/** A TCP server holding `port` on every address, as a running QEMU would. */
async function hold(port: number): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ port, host: '::' }, resolve));
  return server;
}

/** The first port of the range nothing holds, found as the allocator does (a range of one port at a time). */
async function firstFree(from: number): Promise<number> {
  for (let port = from; ; port++) {
    const l = await listen(config(`migration_port_min = ${port}\nmigration_port_max = ${port}\n`)).catch(() => undefined);
    if (l) return port;
  }
}

test('qemu.conf migration settings: libvirt defaults and refusals', () => {
  assert.deepEqual(config().migrationPorts, { min: 49152, max: 49215 });
  assert.equal(config('migration_host = "[fd00::9]"\n').migrationHost, 'fd00::9');
  assert.throws(() => config('migration_port_min = 0\n'), { message: 'internal error: qemu.conf: migration_port_min: port must be greater than 0' });
  assert.throws(() => config('migration_port_min = 50000\nmigration_port_max = 49999\n'), { message: 'internal error: qemu.conf: migration_port_max: port must be between the minimal port 50000 and 65535' });
  assert.throws(() => config('migration_port_max = 70000\n'), { message: /port must be between the minimal port 49152 and 65535/ });
  assert.throws(() => config('migration_host = "localhost.localdomain"\n'), { message: 'configuration file syntax error: migration_host must not be the address of the local machine: localhost.localdomain' });
  assert.throws(() => config('migration_address = "127.0.0.1"\n'), { message: 'configuration file syntax error: migration_address must not be the address of the local machine: 127.0.0.1' });
  assert.throws(() => config('migration_address = "[::1]"\n'), { message: /migration_address must not be the address of the local machine: ::1$/ });
  assert.throws(() => config('migration_host = 5\n'), { message: "internal error: qemu.conf: expected a string for 'migration_host' parameter" });
});

test('without uri_in: a port of the range on this host name (or migration_host), QEMU listening everywhere or on the listen address', async () => {
  const port = await firstFree(49152);
  const range = `migration_port_min = ${port}\nmigration_port_max = ${port + 20}\n`;
  assert.deepEqual(await listen(config(range)), { incoming: `tcp:${everywhere}:${port}`, uriOut: `tcp:${os.hostname()}:${port}` });
  assert.deepEqual(await listen(config(`${range}migration_host = "fd00::9"\nmigration_address = "192.0.2.9"\n`)), { incoming: `tcp:192.0.2.9:${port}`, uriOut: `tcp:[fd00::9]:${port}` });
  // the parameter wins over migration_address
  assert.deepEqual(await listen(config(`${range}migration_address = "192.0.2.9"\n`), undefined, '127.0.0.1'), { incoming: `tcp:127.0.0.1:${port}`, uriOut: `tcp:${os.hostname()}:${port}` });
  // a port handed out is not handed out again while its Prepare runs, nor while something listens on it
  const nested = await withMigrationListen(config(range), undefined, undefined, async (outer) => [outer, await listen(config(range))]);
  assert.notEqual(nested[0]!.uriOut, nested[1]!.uriOut);
  const held = await hold(port);
  try {
    assert.equal((await listen(config(range))).uriOut, `tcp:${os.hostname()}:${await firstFree(port + 1)}`);
    await assert.rejects(listen(config(`migration_port_min = ${port}\nmigration_port_max = ${port}\n`)), { message: `internal error: Unable to find an unused port in range 'migration' (${port}-${port})` });
  } finally {
    held.close();
  }
});

test('uri_in: its port stands (no uri_out); without a port one of the range, in the form it came in', async () => {
  const port = await firstFree(49152);
  const conf = config(`migration_port_min = ${port}\nmigration_port_max = ${port}\n`);
  assert.deepEqual(await listen(conf, 'tcp://192.0.2.5:4000'), { incoming: `tcp:${everywhere}:4000` });
  assert.deepEqual(await listen(conf, 'tcp:192.0.2.5:4000', '127.0.0.1'), { incoming: 'tcp:127.0.0.1:4000' });
  assert.deepEqual(await listen(conf, 'tcp://192.0.2.5'), { incoming: `tcp:${everywhere}:${port}`, uriOut: `tcp://192.0.2.5:${port}` });
  assert.deepEqual(await listen(conf, 'tcp:192.0.2.5'), { incoming: `tcp:${everywhere}:${port}`, uriOut: `tcp:192.0.2.5:${port}` });
  assert.deepEqual(await listen(conf, 'unix:///run/mig.sock'), { incoming: 'unix:/run/mig.sock' });
  if (ipv6) assert.deepEqual(await listen(conf, 'tcp://[fd00::2]:4000', 'fd00::2'), { incoming: 'tcp:[fd00::2]:4000' });
});

test('uri_in and listen address refusals, worded as libvirt', async () => {
  const conf = config();
  const refused = (uri: string | undefined, listenAddress: string | undefined, message: string) => assert.rejects(listen(conf, uri, listenAddress), { message });
  await refused('foo://x:1', undefined, 'argument unsupported: unsupported scheme foo in migration URI foo://x:1');
  await refused('tcp://:5', undefined, 'invalid argument: missing host in migration URI: tcp://:5');
  await refused('tcp:', undefined, 'invalid argument: missing host in migration URI: tcp:');
  await refused('/x', undefined, 'invalid argument: missing scheme in migration URI: /x');
  await refused('x y', undefined, 'internal error: Unable to parse URI x y');
  await refused('unix:/tmp/x', '1.2.3.4', 'invalid argument: Usage of listen-address is forbidden when migration URI uses UNIX transport method');
});

test("the source gives QEMU's migrate the URI in QEMU's syntax", () => {
  assert.equal(qemuMigrateURI('tcp://vm:49152'), 'tcp:vm:49152');
  assert.equal(qemuMigrateURI('tcp:vm:49152'), 'tcp:vm:49152');
  assert.equal(qemuMigrateURI('tcp://[fd00::2]:4000'), 'tcp:[fd00::2]:4000');
  assert.equal(qemuMigrateURI('unix:///run/mig.sock'), 'unix:/run/mig.sock');
  assert.throws(() => qemuMigrateURI('/x'), { message: 'internal error: missing scheme in migration URI: /x' });
});
