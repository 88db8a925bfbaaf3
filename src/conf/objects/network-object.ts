// A virtual network as the drivers hold it (virNetworkObj) and how a new
// definition takes its place in a list (virNetworkObjAssignDef), shared by the
// test driver and the network driver.

import { networkName, networkUUID, type NetworkDef } from '../network.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { NamedObjectList } from './object-list.js';

export interface NetworkObj {
  def: NetworkDef;
  /** Persistent definition while an active network has a different live one. */
  newDef?: NetworkDef;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
}

export function networkList<T extends NetworkObj>(): NamedObjectList<T> {
  return new NamedObjectList<T>((n) => networkName(n.def), (n) => networkUUID(n.def));
}

/**
 * virNetworkObjAssignDef: libvirt's duplicate checks, then `def` becomes the
 * live (`live`) or the persistent definition of the network of its UUID, or of
 * a new one made by `create` and added to `list`.
 */
export function assignNetworkDef<T extends NetworkObj>(list: NamedObjectList<T>, def: NetworkDef, live: boolean, create: (obj: NetworkObj) => T): T {
  const name = networkName(def);
  const uuid = networkUUID(def);
  const byUUID = list.findByUUID(uuid);
  if (byUUID) {
    if (networkName(byUUID.def) !== name) {
      throw virError(ErrorCode.OPERATION_FAILED, `network '${networkName(byUUID.def)}' is already defined with uuid ${uuid}`, ErrorDomain.NETWORK);
    }
    if (live && byUUID.active) throw virError(ErrorCode.OPERATION_INVALID, `network is already active as '${name}'`, ErrorDomain.NETWORK);
    if (live) {
      if (byUUID.persistent) byUUID.newDef = byUUID.def;
      byUUID.def = def;
    } else if (byUUID.active) {
      byUUID.newDef = def;
      byUUID.persistent = true;
    } else {
      byUUID.def = def;
      byUUID.persistent = true;
    }
    return byUUID;
  }
  const byName = list.findByName(name);
  if (byName) {
    throw virError(ErrorCode.OPERATION_FAILED, `network '${name}' already exists with uuid ${networkUUID(byName.def)}`, ErrorDomain.NETWORK);
  }
  const obj = create({ def, active: false, persistent: !live, autostart: false });
  list.add(obj);
  return obj;
}
