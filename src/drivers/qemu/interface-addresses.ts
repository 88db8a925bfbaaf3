// virDomainInterfaceAddresses without a guest agent: what the host knows of a
// guest's addresses. `lease` asks the network driver for the DHCP leases of each
// type='network' interface's MAC (virDomainNetDHCPInterfaces); `arp` reads the
// neighbour table of the namespace tsvirt runs in (virDomainNetARPInterfaces).
import type { NetworkDriver } from '../../driver/families.js';
import type { ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, type XmlElement } from '../../util/xml.js';

export type DomainInterfaceAddresses = ProcRet<'domainInterfaceAddresses'>['ifaces'];

/** /proc/net/arp's flag for an entry with a resolved address (ATF_COM). */
const ATF_COM = 0x2;

function interfacesOf(def: XmlElement): XmlElement[] {
  return (child(def, 'devices')?.children ?? []).filter((d) => d.name === 'interface');
}

/** One entry per type='network' interface that has leases, each lease an address (libvirt lists none for a NIC without). */
export async function leaseAddresses(def: XmlElement, networks: NetworkDriver | undefined): Promise<DomainInterfaceAddresses> {
  const ifaces: DomainInterfaceAddresses = [];
  for (const net of interfacesOf(def)) {
    if (net.attrs.type !== 'network') continue;
    if (!networks?.networkLookupByName || !networks.networkGetDHCPLeases) throw virError(ErrorCode.NO_SUPPORT, 'virNetworkLookupByName', ErrorDomain.NONE);
    const mac = child(net, 'mac')?.attrs.address ?? '';
    const { net: ref } = await networks.networkLookupByName({ name: child(net, 'source')?.attrs.network ?? '' });
    const { leases } = await networks.networkGetDHCPLeases({ net: ref, mac, need_results: 1, flags: 0 });
    if (leases.length === 0) continue;
    ifaces.push({
      name: child(net, 'target')?.attrs.dev ?? '',
      hwaddr: mac,
      addrs: leases.map((l) => ({ type: l.type, addr: l.ipaddr, prefix: l.prefix })),
    });
  }
  return ifaces;
}

/** One entry per neighbour whose MAC is an interface's, in interface order; ARP knows no prefix. */
export function arpAddresses(def: XmlElement, arpTable: string): DomainInterfaceAddresses {
  const entries = arpTable.split('\n').slice(1).flatMap((line) => {
    // IP address, HW type, Flags, HW address, Mask, Device
    const [ip, , flags, mac] = line.trim().split(/\s+/);
    return ip && mac && Number(flags) & ATF_COM ? [{ ip, mac: mac.toLowerCase() }] : [];
  });
  const ifaces: DomainInterfaceAddresses = [];
  for (const net of interfacesOf(def)) {
    const mac = child(net, 'mac')?.attrs.address?.toLowerCase() ?? '';
    for (const entry of entries.filter((e) => e.mac === mac)) {
      ifaces.push({ name: child(net, 'target')?.attrs.dev ?? '', hwaddr: mac, addrs: [{ type: 0, addr: entry.ip, prefix: 0 }] });
    }
  }
  return ifaces;
}
