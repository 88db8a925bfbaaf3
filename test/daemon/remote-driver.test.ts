// The remote driver against tsvirtd: calls through dispatch() reach the daemon's
// driver, errors come back with code, domain and message, events arrive through
// the connection's EventSource, and the name sent drops what the client consumed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { dispatch } from '../../src/driver/dispatch.js';
import type { DriverEvent } from '../../src/driver/events.js';
import { DriverRegistry } from '../../src/driver/registry.js';
import { parseURI } from '../../src/driver/uri.js';
import { openRemoteConnection, remoteName } from '../../src/drivers/remote/driver.js';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon.js';

let daemon: FakeDaemon;
const registry = new DriverRegistry();
registry.register({ name: 'remote', uriSchemes: null, localOnly: false, embeddable: false, sharedFamilies: [], open: openRemoteConnection });

before(async () => {
  daemon = await startFakeDaemon();
});
after(() => daemon.stop());

test('the name sent in CONNECT_OPEN is the URI without transport, server and consumed parameters', () => {
  assert.equal(remoteName(parseURI('qemu+unix:///system?socket=/x/libvirt-sock')), 'qemu:///system');
  assert.equal(remoteName(parseURI('test+tcp://127.0.0.1:16599/default')), 'test:///default');
  assert.equal(remoteName(parseURI('test+unix:///tmp/a.xml?socket=/s&foo=bar')), 'test:///tmp/a.xml?foo=bar');
  assert.equal(remoteName(parseURI('qemu+unix:///system?name=qemu:///session')), 'qemu:///session');
});

test('calls, errors and events through a remote connection', async () => {
  const { drivers } = await registry.open(`fake+unix:///default?socket=${daemon.socket}`, { readonly: false });
  const conn = { drivers, readonly: false };
  assert.deepEqual(await dispatch(conn, 'connectGetType', undefined), { type: 'FAKE' });
  await assert.rejects(dispatch(conn, 'domainLookupByName', { name: 'missing-x' }), { code: 42, domain: 12, message: "Domain not found: no domain with matching name 'missing-x'" });
  // a procedure the daemon's driver lacks is NO_SUPPORT, as libvirt's client reports it
  await assert.rejects(dispatch(conn, 'connectGetHostname', undefined), { code: 3, message: 'this function is not supported by the connection driver: virConnectGetHostname' });
  const seen: DriverEvent[] = [];
  drivers.events!.subscribe((e) => seen.push(e));
  // the subscription registers with the daemon in the background; give it a moment
  await new Promise((r) => setTimeout(r, 100));
  await dispatch(conn, 'domainDefineXML', { xml: '<domain><name>remote-ev</name></domain>' });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen.map((e) => [e.key, (e.body as { msg: { dom: { name: string } } }).msg.dom.name]), [['domainEventCallbackLifecycle', 'remote-ev']]);
  await drivers.close();
});

test('a connection closed while its event registration is under way ends quietly', async () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  try {
    const { drivers } = await registry.open(`fake+unix:///default?socket=${daemon.socket}`, { readonly: false });
    drivers.events!.subscribe(() => undefined);
    await drivers.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', record);
  }
});

test('the read-only flag reaches the daemon', async () => {
  const { drivers } = await registry.open(`fake+unix:///default?socket=${daemon.socket}`, { readonly: true });
  await assert.rejects(dispatch({ drivers, readonly: false }, 'domainDestroy', { dom: { name: 'a', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 } }), {
    code: 29,
    message: 'operation forbidden: read only access prevents virDomainDestroy',
  });
  await drivers.close();
});

test('a local URI is declined when no daemon socket is asked for', async () => {
  assert.equal(await openRemoteConnection(parseURI('test:///default'), { readonly: false }), 'declined');
  await assert.rejects(registry.open('fake+unix:///default?socket=/nonexistent/sock', { readonly: false }), { code: 38, message: "Failed to connect socket to '/nonexistent/sock': No such file or directory" });
});
