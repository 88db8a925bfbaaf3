// The registry's open loop and its shared stateful drivers: a hypervisor driver
// that declines lets the next one try, a connection takes the shared families it
// lacks, and the hypervisor driver reaches the same shared drivers for itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DriverRegistry, type ConnectDriver, type SharedDriver, type SharedDriverAccess } from '../../src/driver/registry.js';
import { dispatch } from '../../src/driver/dispatch.js';
import { EventHub } from '../../src/driver/events.js';
import type { StorageDriver } from '../../src/driver/families.js';

const storage: StorageDriver = { connectNumOfStoragePools: async () => ({ num: 3 }) };
const sharedStorage: SharedDriver<'storage'> = { family: 'storage', open: async () => storage };

function hypervisor(name: string, opened: (family: StorageDriver | undefined) => void, decline = false): ConnectDriver {
  return {
    name, uriSchemes: ['fake'], localOnly: true, embeddable: false, sharedFamilies: ['storage'],
    open: async (_uri, _options, shared) => {
      opened(await shared.family('storage'));
      return decline ? 'declined' : { hypervisor: { connectGetType: async () => ({ type: name }) }, close: async () => undefined };
    },
  };
}

test('a connection takes the shared storage driver, and its hypervisor driver reaches the same one', async () => {
  const registry = new DriverRegistry();
  const seen: (StorageDriver | undefined)[] = [];
  registry.register(hypervisor('first', (s) => seen.push(s), true));
  registry.register(hypervisor('second', (s) => seen.push(s)));
  registry.registerShared(sharedStorage);
  const { drivers } = await registry.open('fake:///system', { readonly: false, longLived: true });
  assert.equal(seen.length, 2, 'the declining driver was asked first');
  assert.equal(seen[1], storage);
  assert.equal(drivers.storage, storage);
  assert.deepEqual(await drivers.hypervisor?.connectGetType?.({} as never), { type: 'second' });
});

test('a one-process connection opens a shared driver at its first call, once for the connection and its hypervisor driver', async () => {
  const registry = new DriverRegistry();
  let opens = 0;
  const events = new EventHub();
  const counted: SharedDriver<'storage'> = { family: 'storage', open: async () => (opens++, storage), eventsOf: () => events };
  let shared: SharedDriverAccess | undefined;
  registry.register({
    name: 'lazy', uriSchemes: ['fake'], localOnly: true, embeddable: false, sharedFamilies: ['storage', 'network'],
    open: async (_uri, _options, access) => {
      shared = access;
      return { hypervisor: {}, close: async () => undefined };
    },
  });
  registry.registerShared(counted);
  const { drivers } = await registry.open('fake:///system', { readonly: false });
  assert.equal(opens, 0, 'connecting opens no shared driver');
  const heard: string[] = [];
  drivers.events!.subscribe((e) => heard.push(e.key));
  assert.deepEqual(await dispatch({ drivers, readonly: false }, 'connectNumOfStoragePools', undefined), { num: 3 });
  assert.equal(await shared!.family('storage'), storage);
  assert.equal(opens, 1);
  events.emit({ key: 'storagePoolEventRefresh', body: { pool: { name: 'p', uuid: '0'.repeat(16) } } });
  assert.deepEqual(heard, ['storagePoolEventRefresh'], 'the opened driver reports to the connection');
  await assert.rejects(dispatch({ drivers, readonly: false }, 'connectNumOfNetworks', undefined), /virConnectNumOfNetworks/, 'no network driver registered');
});

test('without a registered shared driver the hypervisor driver is told so', async () => {
  const registry = new DriverRegistry();
  let asked: StorageDriver | undefined | 'not asked' = 'not asked';
  registry.register(hypervisor('only', (s) => { asked = s; }));
  const { drivers } = await registry.open('fake:///system', { readonly: false });
  assert.equal(asked, undefined);
  assert.equal(drivers.storage, undefined);
});

test('no URI: LIBVIRT_DEFAULT_URI, else the first driver whose URI probe answers (virConnectOpen(NULL)), else no driver', async () => {
  const registry = new DriverRegistry();
  const probing = (name: string, probed: string | undefined): ConnectDriver => ({ ...hypervisor(name, () => undefined), uriProbe: async () => probed });
  await assert.rejects(registry.defaultURI({}), { message: 'no connection driver available for <null>' });
  registry.register(hypervisor('no probe', () => undefined));
  registry.register(probing('silent', undefined));
  registry.register(probing('second', 'fake:///probed'));
  registry.register(probing('third', 'fake:///later'));
  assert.equal(await registry.defaultURI({}), 'fake:///probed');
  assert.equal(await registry.defaultURI({ LIBVIRT_DEFAULT_URI: 'fake:///env' }), 'fake:///env');
  // an empty name is no name, as virConnectOpenInternal takes it
  const saved = process.env.LIBVIRT_DEFAULT_URI;
  delete process.env.LIBVIRT_DEFAULT_URI;
  try {
    const opened = await registry.open('', { readonly: false });
    assert.equal(opened.name, 'fake:///probed');
    assert.equal(opened.uri.path, '/probed');
  } finally {
    if (saved !== undefined) process.env.LIBVIRT_DEFAULT_URI = saved;
  }
});

test("the qemu driver's URI probe: qemu:///system for root, qemu:///session for anybody else", async () => {
  const { qemuConnectURIProbe } = await import('../../src/drivers/qemu/uri-probe.js');
  assert.equal(qemuConnectURIProbe(0), 'qemu:///system');
  assert.equal(qemuConnectURIProbe(1000), 'qemu:///session');
});
