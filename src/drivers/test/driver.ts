// libvirt's mock hypervisor driver (test:///default and test:///PATH.xml): every
// object lives in memory for the life of the process, behaviour and messages follow
// libvirt 9.0's src/test/test_driver.c, XML goes through the shared src/conf models.
// Each API family is a class over the same objects; the driver is their union.

import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { HypervisorDriver, ParsedURI } from '../../api/types.js';
import { DomainAPI } from './domain-api.js';
import { HostAPI } from './host-api.js';
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

export async function openTestDriver(uri: ParsedURI, _opts: { readonly: boolean }): Promise<HypervisorDriver> {
  if (uri.path === '' || uri.path === '/') {
    throw virError(ErrorCode.INVALID_ARG, 'testOpen: supply a path or use test:///default', ErrorDomain.TEST);
  }
  if (uri.path !== '/default') return assembleDriver(uri.raw, loadNodeFile(uri.path), async () => {});
  defaultNode ??= loadDefaultNode();
  defaultConnections++;
  let closed = false;
  return assembleDriver(uri.raw, defaultNode, async () => {
    if (closed) return;
    closed = true;
    if (--defaultConnections === 0) defaultNode = undefined;
  });
}

/** libvirt API names the families implement (their helpers are named otherwise). */
const API_NAME = /^(connect|node|domain|network|storage|interface)[A-Z]/;

function assembleDriver(uri: string, node: TestNode, close: () => Promise<void>): HypervisorDriver {
  const driver: HypervisorDriver = { uri, type: 'TEST', close };
  const families = [HostAPI, DomainAPI, SnapshotAPI, NetworkAPI, InterfaceAPI, StorageAPI, TuningAPI].map((Family) => new Family(node));
  for (const family of families) {
    const proto = Object.getPrototypeOf(family) as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const member = proto[name];
      if (API_NAME.test(name) && typeof member === 'function') driver[name] = member.bind(family);
    }
  }
  return driver;
}
