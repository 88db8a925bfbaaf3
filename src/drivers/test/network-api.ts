// The test driver's virtual network calls.

import { formatNetworkXML, networkBridge, networkName, networkUUID, parseNetworkXML, updateNetworkDef } from '../../conf/network.js';
import type { NetworkRef } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import type { XmlElement } from '../../util/xml.js';
import type { NetworkObj } from './node.js';
import { TestObjects, checkFlags, AFFECT_LIVE, AFFECT_CONFIG } from './objects.js';
import { matchesNetworkListFilter } from '../../conf/objects/list-filter.js';

export class NetworkAPI extends TestObjects {


  async connectListAllNetworks(flags: number): Promise<NetworkRef[]> {
    checkFlags(flags, 0x3f, 'testConnectListAllNetworks');
    return this.node.networks
      .all()
      .filter((n) => matchesNetworkListFilter(n, flags))
      .map((n) => this.netRef(n));
  }

  async networkLookupByName(name: string): Promise<NetworkRef> {
    return this.netRef(this.networkObj({ name, uuid: '' }, 'name'));
  }
  async networkLookupByUUID(uuid: string): Promise<NetworkRef> {
    return this.netRef(this.networkObj({ name: '', uuid: parseUUID(uuid) ?? uuid }, 'uuid'));
  }

  /** virNetworkObjAssignDef: duplicate checks, then the new definition takes its place. */
  private assignNetwork(def: XmlElement, live: boolean): NetworkObj {
    const name = networkName(def);
    const uuid = networkUUID(def);
    const byUUID = this.node.networks.findByUUID(uuid);
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
    const byName = this.node.networks.findByName(name);
    if (byName) {
      throw virError(ErrorCode.OPERATION_FAILED, `network '${name}' already exists with uuid ${networkUUID(byName.def)}`, ErrorDomain.NETWORK);
    }
    const obj: NetworkObj = { def, active: false, persistent: !live, autostart: false };
    this.node.networks.add(obj);
    return obj;
  }

  async networkDefineXML(xml: string, flags = 0): Promise<NetworkRef> {
    checkFlags(flags, 1, 'testNetworkDefineXMLFlags');
    return this.netRef(this.assignNetwork(parseNetworkXML(xml), false));
  }
  async networkCreateXML(xml: string, flags = 0): Promise<NetworkRef> {
    checkFlags(flags, 1, 'testNetworkCreateXMLFlags');
    const obj = this.assignNetwork(parseNetworkXML(xml), true);
    obj.active = true;
    return this.netRef(obj);
  }
  async networkUndefine(net: NetworkRef): Promise<void> {
    const obj = this.networkObj(net, 'name');
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `Network '${net.name}' is still running`, ErrorDomain.NETWORK);
    this.node.networks.remove(obj);
  }
  async networkCreate(net: NetworkRef, flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testNetworkCreate');
    const obj = this.networkObj(net, 'name');
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `Network '${net.name}' is already running`, ErrorDomain.NETWORK);
    obj.active = true;
  }
  async networkDestroy(net: NetworkRef): Promise<void> {
    // The test driver does not check that the network is active.
    const obj = this.networkObj(net, 'name');
    obj.active = false;
    if (obj.newDef) {
      obj.def = obj.newDef;
      obj.newDef = undefined;
    }
    if (!obj.persistent) this.node.networks.remove(obj);
  }
  async networkGetXMLDesc(net: NetworkRef, flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testNetworkGetXMLDesc');
    return formatNetworkXML(this.networkObj(net, 'name').def);
  }
  async networkIsActive(net: NetworkRef): Promise<boolean> {
    return this.networkObj(net, 'uuid').active;
  }
  async networkIsPersistent(net: NetworkRef): Promise<boolean> {
    return this.networkObj(net, 'uuid').persistent;
  }
  async networkGetAutostart(net: NetworkRef): Promise<boolean> {
    return this.networkObj(net, 'name').autostart;
  }
  async networkSetAutostart(net: NetworkRef, autostart: boolean): Promise<void> {
    this.networkObj(net, 'name').autostart = autostart;
  }
  async networkGetBridgeName(net: NetworkRef): Promise<string> {
    const obj = this.networkObj(net, 'name');
    const bridge = networkBridge(obj.def);
    if (bridge === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `network '${net.name}' does not have a bridge name.`, ErrorDomain.NETWORK);
    return bridge;
  }
  async networkUpdate(net: NetworkRef, command: number, section: number, parentIndex: number, xml: string, flags: number): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testNetworkUpdate');
    const obj = this.networkObj(net, 'uuid');
    let f = flags;
    if ((f & (AFFECT_LIVE | AFFECT_CONFIG)) === 0) f |= obj.active ? AFFECT_LIVE : AFFECT_CONFIG;
    if (f & AFFECT_LIVE && !obj.active) throw virError(ErrorCode.OPERATION_INVALID, 'network is not running', ErrorDomain.NETWORK);
    if (f & AFFECT_CONFIG && !obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot change persistent config of a transient network', ErrorDomain.NETWORK);
    const live = f & AFFECT_LIVE ? updateNetworkDef(obj.def, command, section, parentIndex, xml) : undefined;
    const configBase = obj.newDef ?? obj.def;
    const config = f & AFFECT_CONFIG ? updateNetworkDef(configBase, command, section, parentIndex, xml) : undefined;
    if (config) {
      if (obj.active) obj.newDef = config;
      else obj.def = config;
    }
    if (live) obj.def = live;
  }
}
