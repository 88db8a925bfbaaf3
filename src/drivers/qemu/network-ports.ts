// Network ports of <interface type='network'>: libvirt 9.0 asks the network
// driver for one port per interface when the domain starts or the NIC is
// hotplugged (virDomainNetAllocateActualDevice -> virNetworkPortCreateXML), plugs
// the tap into the bridge the port's <plug> names, keeps the port's uuid in the
// live <source portid='...'>, and deletes the port when the NIC goes. A daemon
// that finds the guest still running hands the port back with RECLAIM
// (virDomainNetNotifyActualDevice).
import { formatNetworkPortXML, parseNetworkPortXML, type PortPlug } from '../../conf/network-port.js';
import type { SharedDriverAccess } from '../../driver/registry.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { generateUUID } from '../../util/uuid.js';
import { child, parseXml, type XmlElement } from '../../util/xml.js';

/** virNetworkPortCreateFlags */
const PORT_CREATE_RECLAIM = 1;

/** The domain a port belongs to (the port's <owner>). */
export interface PortOwner {
  name: string;
  uuid: string;
}

/** What tap-devices.ts needs of the network driver. */
export interface NetworkPorts {
  /** A new port for the interface; its uuid and the bridge its plug names. */
  allocate(net: XmlElement, owner: PortOwner): Promise<{ portid: string; bridge: string }>;
  /** Re-registers the port a live interface already has (a restarted daemon). */
  reclaim(net: XmlElement, owner: PortOwner): Promise<void>;
  /** Deletes the port of a live interface. */
  release(net: XmlElement): Promise<void>;
}

/** virDomainNetDefToNetworkPort: the port as the interface asks for it. */
export function networkPortXML(net: XmlElement, owner: PortOwner, uuid: string, plug: PortPlug): string {
  const mac = child(net, 'mac')?.attrs.address;
  if (mac === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'network port has no mac', ErrorDomain.QEMU);
  return formatNetworkPortXML({
    uuid,
    ownerName: owner.name,
    ownerUUID: owner.uuid,
    group: child(net, 'source')?.attrs.portgroup,
    mac,
    bandwidth: child(net, 'bandwidth'),
    vlan: child(net, 'vlan'),
    plug,
  });
}

/** The network driver's ports, reached through the shared drivers of the connection. */
export class SharedNetworkPorts implements NetworkPorts {
  constructor(private readonly shared: () => SharedDriverAccess | undefined) {}

  private async networks() {
    const networks = await this.shared()?.family('network');
    if (!networks?.networkLookupByName || !networks.networkPortCreateXML || !networks.networkPortGetXMLDesc || !networks.networkPortDelete || !networks.networkGetXMLDesc) {
      throw virError(ErrorCode.NO_SUPPORT, 'virNetworkPortCreateXML', ErrorDomain.NONE);
    }
    return networks as Required<typeof networks>;
  }

  async allocate(net: XmlElement, owner: PortOwner): Promise<{ portid: string; bridge: string }> {
    const networks = await this.networks();
    const { net: network } = await networks.networkLookupByName({ name: child(net, 'source')?.attrs.network ?? '' });
    const { port } = await networks.networkPortCreateXML({ network, xml: networkPortXML(net, owner, generateUUID(), { type: 'none' }), flags: 0 });
    try {
      const { plug } = parseNetworkPortXML((await networks.networkPortGetXMLDesc({ port, flags: 0 })).xml);
      if (plug.type === 'none') throw virError(ErrorCode.INTERNAL_ERROR, `network port ${port.uuid} has no plug`, ErrorDomain.QEMU);
      return { portid: port.uuid, bridge: plug.bridge };
    } catch (e) {
      await networks.networkPortDelete({ port, flags: 0 });
      throw e;
    }
  }

  async reclaim(net: XmlElement, owner: PortOwner): Promise<void> {
    const source = child(net, 'source');
    const { portid, bridge } = source?.attrs ?? {};
    if (portid === undefined || bridge === undefined) return;
    const networks = await this.networks();
    const { net: network } = await networks.networkLookupByName({ name: source?.attrs.network ?? '' });
    // the plug the port had: a host bridge for forward mode bridge, the network's own otherwise
    const forward = child(parseXml((await networks.networkGetXMLDesc({ net: network, flags: 0 })).xml), 'forward')?.attrs.mode;
    const plug: PortPlug = { type: forward === 'bridge' ? 'bridge' : 'network', bridge };
    await networks.networkPortCreateXML({ network, xml: networkPortXML(net, owner, portid, plug), flags: PORT_CREATE_RECLAIM });
  }

  async release(net: XmlElement): Promise<void> {
    const source = child(net, 'source');
    const portid = source?.attrs.portid;
    if (portid === undefined) return;
    const networks = await this.networks();
    const { net: network } = await networks.networkLookupByName({ name: source?.attrs.network ?? '' });
    await networks.networkPortDelete({ port: { net: network, uuid: portid }, flags: 0 });
  }
}
