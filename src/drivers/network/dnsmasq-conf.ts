// The files libvirt 9.0 hands dnsmasq for a network (networkDnsmasqConfContents):
// NAME.conf, NAME.hostsfile (DHCP hosts) and NAME.addnhosts (DNS hosts),
// byte for byte as libvirt writes them for the same definition.

import { networkForwardMode, networkIPHasDHCP, networkIPPrefix, networkName, type NetworkDef } from '../../conf/network.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { addressRangeSize, networkAddress, parseIPAddress, prefixToNetmask, type IPAddress } from '../../util/ip-address.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';

export interface DnsmasqFiles {
  pidFile: string;
  hostsFile: string;
  addnHostsFile: string;
}

export interface DnsmasqConfig {
  conf: string;
  hostsFile: string;
  addnHosts: string;
  /** whether DHCP is served (dhcp-hostsfile= is in the config) */
  dhcp: boolean;
}

const isIPv6 = (ip: XmlElement) => ip.attrs.family === 'ipv6';
const hasDHCP = networkIPHasDHCP;
const address = (text: string): IPAddress => parseIPAddress(text)!;

/** networkBuildDnsmasqLeaseTime: "infinite", or the expiry with the unit's first letter (minutes by default). */
function leaseTime(entry: XmlElement): string | undefined {
  const lease = child(entry, 'lease');
  if (lease === undefined) return undefined;
  const expiry = Number(lease.attrs.expiry ?? 0);
  return expiry === 0 ? 'infinite' : `${expiry}${(lease.attrs.unit ?? 'minutes')[0]}`;
}

/** virSocketAddrPTRDomain: the reverse zone of a network whose prefix falls on an octet (nibble) boundary. */
function ptrDomain(ip: XmlElement, prefix: number): string {
  const addr = networkAddress(address(ip.attrs.address!), prefix);
  if (addr.family === 'ipv4') {
    if (prefix === 0 || prefix >= 32 || prefix % 8 !== 0) throw ptrError('IPv4', prefix);
    return `${addr.parts.slice(0, prefix / 8).reverse().join('.')}.in-addr.arpa`;
  }
  if (prefix === 0 || prefix >= 128 || prefix % 4 !== 0) throw ptrError('IPv6', prefix);
  const nibbles = addr.parts.flatMap((g) => [g >> 12, (g >> 8) & 15, (g >> 4) & 15, g & 15].map((n) => n.toString(16)));
  return `${nibbles.slice(0, prefix / 4).reverse().join('.')}.ip6.arpa`;
}

function ptrError(family: string, prefix: number) {
  return virError(ErrorCode.CONFIG_UNSUPPORTED, `PTR domain for ${family} network with prefix ${prefix} cannot be automatically created`, ErrorDomain.NETWORK);
}

/** dnsmasq's --dhcp-host lines of one <ip> (hostsfileAdd). */
function dhcpHostLines(ip: XmlElement): string[] {
  const lines: string[] = [];
  for (const host of childrenNamed(child(ip, 'dhcp')!, 'host')) {
    const { mac, name, id, ip: addr } = host.attrs;
    if (addr === undefined) continue;
    let line: string;
    if (isIPv6(ip)) {
      const who = name !== undefined && id !== undefined ? `id:${id},${name}` : name ?? (id !== undefined ? `id:${id}` : '');
      line = `${who},[${addr}]`;
    } else if (name !== undefined && mac !== undefined) line = `${mac},${addr},${name}`;
    else if (name !== undefined) line = `${name},${addr}`;
    else line = `${mac},${addr}`;
    const lease = leaseTime(host);
    lines.push(lease === undefined ? line : `${line},${lease}`);
  }
  return lines;
}

/** networkDnsmasqConfDHCP: the dhcp-range lines of one <ip>; adds its leases to the count. */
function dhcpSection(ip: XmlElement, leases: { count: number }, hosts: string[]): string {
  let out = '';
  const prefix = networkIPPrefix(ip);
  const dhcp = child(ip, 'dhcp')!;
  const ranges = childrenNamed(dhcp, 'range');
  for (const range of ranges) {
    const mask = isIPv6(ip) ? String(prefix) : prefixToNetmask(prefix);
    const lease = leaseTime(range);
    out += `dhcp-range=${range.attrs.start},${range.attrs.end},${mask}${lease === undefined ? '' : `,${lease}`}\n`;
    leases.count += addressRangeSize(address(range.attrs.start!), address(range.attrs.end!), address(ip.attrs.address!), prefix);
  }
  const staticHosts = childrenNamed(dhcp, 'host');
  if (ranges.length === 0 && staticHosts.length > 0) out += `dhcp-range=${ip.attrs.address},static${isIPv6(ip) ? `,${prefix}` : ''}\n`;
  hosts.push(...dhcpHostLines(ip));
  if (!isIPv6(ip)) {
    out += 'dhcp-no-override\ndhcp-authoritative\n';
    const bootp = child(dhcp, 'bootp');
    if (bootp?.attrs.file !== undefined) out += `dhcp-boot=${bootp.attrs.file}${bootp.attrs.server !== undefined ? `,,${bootp.attrs.server}` : ''}\n`;
  }
  return out;
}

/** addn-hosts content: one line per address, its names tab-separated (dnsmasqAddHost merges equal addresses). */
function addnHosts(def: NetworkDef): string {
  const dns = child(def, 'dns');
  if (dns === undefined) return '';
  const byIP = new Map<string, string[]>();
  for (const host of childrenNamed(dns, 'host')) {
    const ip = host.attrs.ip;
    if (ip === undefined) continue;
    const names = byIP.get(ip) ?? [];
    names.push(...childrenNamed(host, 'hostname').map((h) => h.text.trim()));
    byIP.set(ip, names);
  }
  return [...byIP].map(([ip, names]) => `${ip}\t${names.map((n) => `${n}\t`).join('')}\n`).join('');
}

/** The three files for an active network whose bridge is `bridge`. */
export function dnsmasqConfig(def: NetworkDef, bridge: string, files: DnsmasqFiles): DnsmasqConfig {
  const name = networkName(def);
  const dns = child(def, 'dns');
  const wantDNS = dns?.attrs.enable !== 'no';
  const domain = child(def, 'domain');
  const ips = childrenNamed(def, 'ip');
  let conf =
    '##WARNING:  THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n' +
    '##OVERWRITTEN AND LOST.  Changes to this configuration should be made using:\n' +
    `##    virsh net-edit ${name}\n` +
    '## or other application using the libvirt API.\n' +
    '##\n## dnsmasq conf file created by libvirt\n' +
    'strict-order\n';
  if (!wantDNS) conf += 'port=0\n';
  const forwarders = dns ? childrenNamed(dns, 'forwarder') : [];
  if (wantDNS && forwarders.length > 0) {
    let noResolv = false;
    for (const fwd of forwarders) {
      conf += `server=${fwd.attrs.domain !== undefined ? `/${fwd.attrs.domain}/` : ''}`;
      if (fwd.attrs.addr !== undefined) {
        conf += `${fwd.attrs.addr}\n`;
        if (fwd.attrs.domain === undefined) noResolv = true;
      } else conf += '#\n';
    }
    if (noResolv) conf += 'no-resolv\n';
  }
  if (domain?.attrs.name !== undefined) {
    if (domain.attrs.localOnly === 'yes') conf += `local=/${domain.attrs.name}/\n`;
    conf += `domain=${domain.attrs.name}\nexpand-hosts\n`;
  }
  if (wantDNS) {
    for (const ip of ips) if (ip.attrs.localPtr === 'yes') conf += `local=/${ptrDomain(ip, networkIPPrefix(ip))}/\n`;
    if (dns?.attrs.forwardPlainNames === 'no') conf += 'domain-needed\nlocal=//\n';
  }
  conf += `pid-file=${files.pidFile}\nexcept-interface=lo\nbind-dynamic\ninterface=${bridge}\n`;
  if (networkForwardMode(def) === 'none') conf += 'dhcp-option=3\nno-resolv\nra-param=*,0,0\n';
  if (wantDNS && dns) {
    for (const txt of childrenNamed(dns, 'txt')) conf += `txt-record=${txt.attrs.name},${txt.attrs.value}\n`;
    for (const srv of childrenNamed(dns, 'srv')) conf += srvLine(srv);
  }
  let ipv4: XmlElement | undefined;
  let ipv6: XmlElement | undefined;
  let tftp = false;
  for (const ip of ips) {
    if (!isIPv6(ip)) {
      if (hasDHCP(ip)) {
        if (ipv4) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'For IPv4, multiple DHCP definitions cannot be specified.', ErrorDomain.NETWORK);
        ipv4 = ip;
      }
      const root = child(ip, 'tftp')?.attrs.root;
      if (root !== undefined) {
        if (!tftp) conf += 'enable-tftp\n';
        tftp = true;
        conf += `tftp-root=${root}\n`;
      }
    } else if (hasDHCP(ip)) {
      if (ipv6) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'For IPv6, multiple DHCP definitions cannot be specified.', ErrorDomain.NETWORK);
      ipv6 = ip;
    }
  }
  const leases = { count: 0 };
  const hosts: string[] = [];
  if (ipv4) conf += dhcpSection(ipv4, leases, hosts);
  if (ipv6) conf += dhcpSection(ipv6, leases, hosts);
  if (leases.count > 0) conf += `dhcp-lease-max=${leases.count}\n`;
  const dhcp = ipv4 !== undefined || ipv6 !== undefined;
  if (dhcp) conf += `dhcp-hostsfile=${files.hostsFile}\n`;
  if (wantDNS) conf += `addn-hosts=${files.addnHostsFile}\n`;
  const mtu = child(def, 'mtu')?.attrs.size;
  if (mtu !== undefined && Number(mtu) > 0) conf += `dhcp-option=option:mtu,${mtu}\n`;
  if (ipv6) conf += 'enable-ra\n';
  else for (const ip of ips) if (isIPv6(ip) && !hasDHCP(ip)) conf += `dhcp-range=${ip.attrs.address},ra-only\n`;
  return { conf, hostsFile: hosts.map((h) => `${h}\n`).join(''), addnHosts: addnHosts(def), dhcp };
}

/** srv-host=: port, priority and weight are positional, so a later one brings the earlier defaults. */
function srvLine(srv: XmlElement): string {
  const a = srv.attrs;
  let line = `srv-host=_${a.service}._${a.protocol}${a.domain !== undefined ? `.${a.domain}` : ''}`;
  if (a.target !== undefined && a.target !== '.') {
    line += `,${a.target}`;
    const port = Number(a.port ?? 0);
    const priority = Number(a.priority ?? 0);
    const weight = Number(a.weight ?? 0);
    if (port || priority || weight) line += `,${port || 1}`;
    if (priority || weight) line += `,${priority}`;
    if (weight) line += `,${weight}`;
  }
  return `${line}\n`;
}
