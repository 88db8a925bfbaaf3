// networkValidate: what the bridge driver refuses in a definition that parsed
// (its own limits rather than the XML's), checked at define and create.

import { networkName, type NetworkDef } from '../../conf/network.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed } from '../../util/xml.js';

const unsupported = (detail: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, detail, ErrorDomain.NETWORK);

export function validateNetworkDef(def: NetworkDef): void {
  const name = networkName(def);
  // dnsmasq serves DHCP on one IPv4 and one IPv6 address per network
  const seen = new Set<string>();
  for (const ip of childrenNamed(def, 'ip')) {
    const dhcp = child(ip, 'dhcp');
    if (!dhcp || !dhcp.children.some((c) => c.name === 'range' || c.name === 'host')) continue;
    const family = ip.attrs.family === 'ipv6' ? 'IPv6' : 'IPv4';
    if (seen.has(family)) throw unsupported(`Multiple ${family} dhcp sections found -- dhcp is supported only for a single ${family} address on each network`);
    seen.add(family);
  }
  const groups = childrenNamed(def, 'portgroup');
  let defaultGroup: string | undefined;
  groups.forEach((g, i) => {
    if (g.attrs.default === 'yes') {
      if (defaultGroup !== undefined) {
        throw unsupported(`network '${name}' has multiple default <portgroup> elements (${defaultGroup} and ${g.attrs.name}), but only one default is allowed`);
      }
      defaultGroup = g.attrs.name;
    }
    if (groups.slice(i + 1).some((o) => o.attrs.name === g.attrs.name)) {
      throw unsupported(`multiple <portgroup> elements with the same name (${g.attrs.name}) in network '${name}'`);
    }
  });
}
