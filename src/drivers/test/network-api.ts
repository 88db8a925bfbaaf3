// The test driver's virtual network calls.

import { NetworkEventType } from '../../driver/event-numbers.js';
import { formatNetworkXML, networkBridge, parseNetworkXML, updateNetworkDef } from '../../conf/network.js';
import type { NetworkDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import type { XmlElement } from '../../util/xml.js';
import type { NetworkObj } from './node.js';
import { TestObjects, checkFlags, flag, wanted, AFFECT_LIVE, AFFECT_CONFIG, type NetworkRef } from './objects.js';
import { matchesNetworkListFilter } from '../../conf/objects/list-filter.js';
import { assignNetworkDef } from '../../conf/objects/network-object.js';

export class NetworkAPI extends TestObjects implements NetworkDriver {
  async connectListAllNetworks({ need_results, flags }: ProcArgs<'connectListAllNetworks'>): Promise<ProcRet<'connectListAllNetworks'>> {
    checkFlags(flags, 0x3f, 'testConnectListAllNetworks');
    const nets = this.node.networks
      .all()
      .filter((n) => matchesNetworkListFilter(n, flags))
      .map((n) => this.netRef(n));
    return { nets: wanted(nets, need_results), ret: nets.length };
  }

  async networkLookupByName({ name }: ProcArgs<'networkLookupByName'>): Promise<ProcRet<'networkLookupByName'>> {
    return { net: this.netRef(this.networkObj({ name, uuid: '' }, 'name')) };
  }
  async networkLookupByUUID({ uuid }: ProcArgs<'networkLookupByUUID'>): Promise<ProcRet<'networkLookupByUUID'>> {
    return { net: this.netRef(this.networkObj({ name: '', uuid: parseUUID(uuid) ?? uuid }, 'uuid')) };
  }

  private assignNetwork(def: XmlElement, live: boolean): NetworkObj {
    return assignNetworkDef(this.node.networks, def, live, (obj) => obj);
  }

  async networkDefineXML({ xml }: ProcArgs<'networkDefineXML'>): Promise<ProcRet<'networkDefineXML'>> {
    return { net: this.define(xml, 0) };
  }
  async networkDefineXMLFlags({ xml, flags }: ProcArgs<'networkDefineXMLFlags'>): Promise<ProcRet<'networkDefineXMLFlags'>> {
    return { net: this.define(xml, flags) };
  }
  /** testNetworkDefineXMLFlags */
  private define(xml: string, flags: number): NetworkRef {
    checkFlags(flags, 1, 'testNetworkDefineXMLFlags');
    const net = this.netRef(this.assignNetwork(parseNetworkXML(xml), false));
    this.networkEvent(net, NetworkEventType.DEFINED);
    return net;
  }

  async networkCreateXML({ xml }: ProcArgs<'networkCreateXML'>): Promise<ProcRet<'networkCreateXML'>> {
    return { net: this.create(xml, 0) };
  }
  async networkCreateXMLFlags({ xml, flags }: ProcArgs<'networkCreateXMLFlags'>): Promise<ProcRet<'networkCreateXMLFlags'>> {
    return { net: this.create(xml, flags) };
  }
  /** testNetworkCreateXMLFlags */
  private create(xml: string, flags: number): NetworkRef {
    checkFlags(flags, 1, 'testNetworkCreateXMLFlags');
    const obj = this.assignNetwork(parseNetworkXML(xml), true);
    obj.active = true;
    const net = this.netRef(obj);
    this.networkEvent(net, NetworkEventType.STARTED);
    return net;
  }

  async networkUndefine({ net }: ProcArgs<'networkUndefine'>): Promise<void> {
    const obj = this.networkObj(net, 'name');
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `Network '${net.name}' is still running`, ErrorDomain.NETWORK);
    this.networkEvent(this.netRef(obj), NetworkEventType.UNDEFINED);
    this.node.networks.remove(obj);
  }
  async networkCreate({ net }: ProcArgs<'networkCreate'>): Promise<void> {
    const obj = this.networkObj(net, 'name');
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, `Network '${net.name}' is already running`, ErrorDomain.NETWORK);
    obj.active = true;
    this.networkEvent(this.netRef(obj), NetworkEventType.STARTED);
  }
  async networkDestroy({ net }: ProcArgs<'networkDestroy'>): Promise<void> {
    // The test driver does not check that the network is active.
    const obj = this.networkObj(net, 'name');
    obj.active = false;
    this.networkEvent(this.netRef(obj), NetworkEventType.STOPPED);
    if (obj.newDef) {
      obj.def = obj.newDef;
      obj.newDef = undefined;
    }
    if (!obj.persistent) this.node.networks.remove(obj);
  }
  async networkGetXMLDesc({ net, flags }: ProcArgs<'networkGetXMLDesc'>): Promise<ProcRet<'networkGetXMLDesc'>> {
    checkFlags(flags, 0, 'testNetworkGetXMLDesc');
    return { xml: formatNetworkXML(this.networkObj(net, 'name').def) };
  }
  async networkIsActive({ net }: ProcArgs<'networkIsActive'>): Promise<ProcRet<'networkIsActive'>> {
    return { active: flag(this.networkObj(net, 'uuid').active) };
  }
  async networkIsPersistent({ net }: ProcArgs<'networkIsPersistent'>): Promise<ProcRet<'networkIsPersistent'>> {
    return { persistent: flag(this.networkObj(net, 'uuid').persistent) };
  }
  async networkGetAutostart({ net }: ProcArgs<'networkGetAutostart'>): Promise<ProcRet<'networkGetAutostart'>> {
    return { autostart: flag(this.networkObj(net, 'name').autostart) };
  }
  async networkSetAutostart({ net, autostart }: ProcArgs<'networkSetAutostart'>): Promise<void> {
    this.networkObj(net, 'name').autostart = autostart !== 0;
  }
  async networkGetBridgeName({ net }: ProcArgs<'networkGetBridgeName'>): Promise<ProcRet<'networkGetBridgeName'>> {
    const obj = this.networkObj(net, 'name');
    const bridge = networkBridge(obj.def);
    if (bridge === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `network '${net.name}' does not have a bridge name.`, ErrorDomain.NETWORK);
    return { name: bridge };
  }
  async networkUpdate({ net, command, section, parentIndex, xml, flags }: ProcArgs<'networkUpdate'>): Promise<void> {
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
