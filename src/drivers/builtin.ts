// The connection drivers built into tsvirt, in the order virConnectOpen asks them
// (libvirt registers test before the stateful drivers). Each is described here and
// loaded only when a URI reaches it, so a test:/// connection never loads QEMU code.
// The remote driver comes first: it takes every URI naming a transport or a
// server, and qemu:///system when tsvirtd listens, and declines the rest.
import type { EventSource } from '../driver/events.js';
import { DriverRegistry, type ConnectDriver, type PeerOpener, type SharedDriver } from '../driver/registry.js';
import { remoteClaims } from './remote/claims.js';

const test: ConnectDriver = {
  name: 'Test',
  uriSchemes: ['test'],
  localOnly: true,
  embeddable: false,
  sharedFamilies: [],
  open: async (uri, options) => (await import('./test/driver.js')).openTestConnection(uri, options),
};

const qemu: ConnectDriver = {
  name: 'QEMU',
  uriSchemes: ['qemu'],
  localOnly: true,
  embeddable: true,
  sharedFamilies: ['network', 'storage', 'interface', 'nodedev', 'secret', 'nwfilter'],
  open: async (uri, options, shared) => (await import('./qemu/driver.js')).openQemuConnection(uri, options, shared),
  uriProbe: async () => (await import('./qemu/uri-probe.js')).qemuConnectURIProbe(),
};

/** The virtual networks of qemu connections (libvirt's bridge network driver). */
const network: SharedDriver<'network'> = {
  family: 'network',
  open: async (uri, options) => (await import('./network/driver.js')).openNetworkDriver(uri, options),
  eventsOf: (driver) => (driver as { events?: EventSource }).events,
};

const remote: ConnectDriver = {
  name: 'remote',
  uriSchemes: null,
  localOnly: false,
  embeddable: false,
  sharedFamilies: [],
  // declines without loading the RPC stack what it would decline after loading it
  open: async (uri, options) => (remoteClaims(uri) ? (await import('./remote/driver.js')).openRemoteConnection(uri, options) : 'declined'),
};

/** The storage driver shared by qemu:/// connections (libvirt's virtstoraged). */
const storage: SharedDriver<'storage'> = {
  family: 'storage',
  open: async (uri, options, shared) => (await import('./storage/driver.js')).openStorageDriver(uri, options, shared),
  eventsOf: (driver) => (driver as { events?: EventSource }).events,
};

/** The secrets of qemu:/// connections (libvirt's virtsecretd). */
const secret: SharedDriver<'secret'> = {
  family: 'secret',
  open: async (uri, options) => (await import('./secret/driver.js')).openSecretDriver(uri, options),
  eventsOf: (driver) => (driver as { events?: EventSource }).events,
};

/**
 * A registry holding the built-in drivers; inside tsvirtd without the remote
 * driver (a daemon must not call itself). Its drivers open their peers (the
 * destination of a peer-to-peer migration) through a registry with the remote
 * driver: this one, or inside tsvirtd one of its own.
 */
export function builtinDrivers(options: { readonly daemon?: boolean } = {}): DriverRegistry {
  let peers: DriverRegistry | undefined;
  const openPeer: PeerOpener = async (uri) => {
    peers ??= options.daemon ? builtinDrivers() : registry;
    return (await peers.open(uri, { readonly: false })).drivers;
  };
  const registry: DriverRegistry = new DriverRegistry(openPeer);
  if (!options.daemon) registry.register(remote);
  registry.register(test);
  registry.register(qemu);
  registry.registerShared(network);
  registry.registerShared(storage);
  registry.registerShared(secret);
  return registry;
}
