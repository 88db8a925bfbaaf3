// libvirt's mock hypervisor driver (test:///default and test:///PATH.xml): every
// object lives in memory for the life of the process, behaviour and messages follow
// libvirt 9.0's src/test/test_driver.c, XML goes through the shared src/conf models.
// Like libvirt's, it brings its own network, storage, interface and node device
// drivers (no secrets, no network filters); each is a set of API classes over one node.

import type { ConnectionDrivers, FamilyDriver } from '../../driver/families.js';
import { procedureInfo, type DriverFamily, type ProcKey } from '../../driver/procedures.js';
import type { OpenOptions, OpenResult } from '../../driver/registry.js';
import type { ParsedURI } from '../../driver/uri.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { DomainAPI } from './domain-api.js';
import { HostAPI, NodeDeviceAPI } from './host-api.js';
import { InterfaceAPI } from './interface-api.js';
import { NetworkAPI } from './network-api.js';
import { loadDefaultNode, loadNodeFile, type TestNode } from './node.js';
import { SnapshotAPI } from './snapshot-api.js';
import { StorageAPI } from './storage-api.js';
import { TuningAPI } from './tuning-api.js';

/**
 * test:///default connections in one process share their state, as in
 * libvirt; closing the last of them discards it (testDriverCloseInternal).
 */
let defaultNode: TestNode | undefined;
let defaultConnections = 0;

/** testConnectOpen: test:///default or test:///ABSOLUTE/PATH.xml; anything with a server is the remote driver's. */
export async function openTestConnection(uri: ParsedURI, _options: OpenOptions): Promise<OpenResult> {
  if (uri.scheme !== 'test' || uri.host !== null) return 'declined';
  if (uri.path === '' || uri.path === '/') {
    throw virError(ErrorCode.INVALID_ARG, 'testOpen: supply a path or use test:///default', ErrorDomain.TEST);
  }
  if (uri.path !== '/default') return connectionDrivers(loadNodeFile(uri.path), async () => {});
  defaultNode ??= loadDefaultNode();
  defaultConnections++;
  let closed = false;
  return connectionDrivers(defaultNode, async () => {
    if (closed) return;
    closed = true;
    if (--defaultConnections === 0) defaultNode = undefined;
  });
}

function connectionDrivers(node: TestNode, close: () => Promise<void>): ConnectionDrivers {
  return {
    hypervisor: familyDriver('hypervisor', new HostAPI(node), new DomainAPI(node), new SnapshotAPI(node), new TuningAPI(node)),
    network: familyDriver('network', new NetworkAPI(node)),
    storage: familyDriver('storage', new StorageAPI(node)),
    interface: familyDriver('interface', new InterfaceAPI(node)),
    nodedev: familyDriver('nodedev', new NodeDeviceAPI(node)),
    events: node.events,
    close,
  };
}

/**
 * One family's driver from the API classes that implement it: their methods
 * named by a procedure of that family, bound to their object (the classes'
 * helpers stay out of reach).
 */
function familyDriver<F extends DriverFamily>(family: F, ...parts: FamilyDriver<F>[]): FamilyDriver<F> {
  const driver: Record<string, unknown> = {};
  for (const part of parts) {
    const methods = Object.getPrototypeOf(part) as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(methods)) {
      const method = methods[name];
      if (typeof method === 'function' && procedureInfo(name as ProcKey)?.family === family) driver[name] = method.bind(part);
    }
  }
  return driver as FamilyDriver<F>;
}
