// Virtual network XML (<network>): parse, validate with libvirt's messages,
// fill libvirt's defaults and format in its canonical layout (network_conf.c).
// The definition is kept as a canonical XML tree; accessors read what drivers need.

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { addressRangeSize, formatIPAddress, parseIPAddress, type IPAddress } from '../util/ip-address.js';
import { isMulticastMAC, parseMAC } from '../util/mac.js';
import { generateUUID, parseUUID } from '../util/uuid.js';
import { child, childrenNamed, cloneElement, element, formatXml, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';
import { canonicalize, type ElementSchema } from './schema.js';
import { propUInt } from './xml-props.js';

/** A parsed, canonical <network> tree. */
export type NetworkDef = XmlElement;

const FORWARD_MODES = ['none', 'nat', 'route', 'open', 'bridge', 'private', 'vepa', 'passthrough', 'hostdev'] as const;
/** Forward modes whose network is a libvirt-managed bridge (stp/delay apply). */
const BRIDGED_MODES = new Set(['none', 'nat', 'route', 'open']);

const leaseSchema: ElementSchema = { attrs: ['expiry', 'unit'] };
const ipSchema: ElementSchema = {
  attrs: ['family', 'address', 'netmask', 'prefix', 'localPtr'],
  children: {
    tftp: { attrs: ['root'] },
    dhcp: {
      omitEmpty: true,
      children: {
        range: { attrs: ['start', 'end'], children: { lease: leaseSchema } },
        host: { attrs: ['mac', 'id', 'name', 'ip'], children: { lease: leaseSchema } },
        bootp: { attrs: ['file', 'server'] },
      },
    },
  },
};

const portgroupSchema: ElementSchema = {
  attrs: ['name', 'default', 'trustGuestRxFilters'],
  children: { vlan: { any: true }, virtualport: { any: true }, bandwidth: { any: true } },
};

const networkSchema: ElementSchema = {
  attrs: ['ipv6', 'trustGuestRxFilters'],
  ignore: ['connections'],
  children: {
    name: { text: true },
    uuid: { text: true },
    metadata: { any: true },
    forward: {
      attrs: ['dev', 'mode', 'managed'],
      children: {
        driver: { attrs: ['name'] },
        nat: { attrs: ['ipv6'], children: { address: { attrs: ['start', 'end'] }, port: { attrs: ['start', 'end'] } } },
        pf: { attrs: ['dev'] },
        interface: { attrs: ['dev'], ignore: ['connections'] },
        address: { attrs: ['type', 'domain', 'bus', 'slot', 'function'] },
      },
    },
    bridge: { attrs: ['name', 'zone', 'stp', 'delay', 'macTableManager'] },
    mtu: { attrs: ['size'] },
    mac: { attrs: ['address'] },
    domain: { attrs: ['name', 'localOnly'] },
    dns: {
      omitEmpty: true,
      attrs: ['enable', 'forwardPlainNames'],
      children: {
        forwarder: { attrs: ['domain', 'addr'] },
        txt: { attrs: ['name', 'value'] },
        srv: { attrs: ['service', 'protocol', 'domain', 'target', 'port', 'priority', 'weight'] },
        host: { attrs: ['ip'], children: { hostname: { text: true } } },
      },
    },
    vlan: { any: true },
    bandwidth: { any: true },
    port: { attrs: ['isolated'] },
    ip: ipSchema,
    route: { attrs: ['family', 'address', 'netmask', 'prefix', 'gateway', 'metric'] },
    virtualport: { any: true },
    portgroup: portgroupSchema,
  },
};

function xmlError(detail: string) {
  return virError(ErrorCode.XML_ERROR, detail, ErrorDomain.NETWORK);
}

/** virNetworkDefParse: a <network> document given as a string. */
export function parseNetworkXML(text: string): NetworkDef {
  return parseNetworkElement(parseDocument(text, '(network_definition)', 'network'));
}

/** virNetworkDefParseXML on an already parsed <network> element (node files). */
export function parseNetworkElement(root: XmlElement): NetworkDef {
  const def = cloneElement(root);
  canonicalize(def, networkSchema, { strict: true });
  const name = child(def, 'name')?.text;
  if (name === undefined) throw virError(ErrorCode.NO_NAME, undefined, ErrorDomain.NETWORK);
  if (name.includes('/')) throw virError(ErrorCode.XML_DETAIL, 'invalid char in name: /', ErrorDomain.NETWORK);
  normaliseUUID(def);
  const bridge = child(def, 'bridge');
  const mode = normaliseForward(def, name);
  validateBridge(def, bridge, mode, name);
  if (bridge?.attrs.delay !== undefined && !/^\d+$/.test(bridge.attrs.delay)) throw xmlError(`Invalid delay value in network '${name}'`);
  const mac = child(def, 'mac');
  if (mac?.attrs.address !== undefined) {
    const parsed = parseMAC(mac.attrs.address);
    if (parsed === undefined) throw xmlError(`Invalid bridge mac address '${mac.attrs.address}' in network '${name}'`);
    if (isMulticastMAC(parsed)) throw xmlError(`Invalid multicast bridge mac address '${mac.attrs.address}' in network '${name}'`);
    mac.attrs.address = parsed;
  }
  const mtu = child(def, 'mtu');
  if (mtu?.attrs.size !== undefined && !/^\d+$/.test(mtu.attrs.size)) throw xmlError(`Invalid mtu size '${mtu.attrs.size}' in network '${name}'`);
  if (mtu && !BRIDGED_MODES.has(mode)) {
    throw xmlError(`mtu size only allowed in open, route, nat, and isolated mode, not in ${mode} (network '${name}')`);
  }
  for (const ip of childrenNamed(def, 'ip')) validateIP(ip, name);
  for (const pg of childrenNamed(def, 'portgroup')) normalisePortgroup(pg);
  if (['nat', 'route', 'open'].includes(mode) && childrenNamed(def, 'ip').length === 0) {
    throw xmlError(`${mode} forwarding requested, but no IP address provided for network '${name}'`);
  }
  return def;
}

function normaliseUUID(def: XmlElement): void {
  const uuidEl = child(def, 'uuid');
  if (uuidEl === undefined) {
    def.children.splice(1, 0, element('uuid', {}, [], generateUUID()));
    return;
  }
  const uuid = parseUUID(uuidEl.text);
  if (uuid === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'malformed uuid element', ErrorDomain.NETWORK);
  uuidEl.text = uuid;
}

/** Fills the forward mode default (nat) and mirrors dev= and <interface dev> as libvirt does. */
function normaliseForward(def: XmlElement, name: string): string {
  const forward = child(def, 'forward');
  if (forward === undefined) return 'none';
  const mode = forward.attrs.mode ?? 'nat';
  if (!(FORWARD_MODES as readonly string[]).includes(mode) || mode === 'none') {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown forwarding type '${mode}'`, ErrorDomain.NETWORK);
  }
  const ifaces = childrenNamed(forward, 'interface');
  const dev = forward.attrs.dev;
  if (dev !== undefined && ifaces.length > 0 && ifaces[0]!.attrs.dev !== dev) {
    throw xmlError(`forward dev '${dev}' must match first interface element dev '${ifaces[0]!.attrs.dev}' in network '${name}'`);
  }
  if (dev !== undefined && ifaces.length === 0) forward.children.push(element('interface', { dev }));
  const first = childrenNamed(forward, 'interface')[0]?.attrs.dev;
  const hasPF = child(forward, 'pf') !== undefined;
  forward.attrs = { ...(first !== undefined && !hasPF ? { dev: first } : {}), mode, ...(forward.attrs.managed ? { managed: forward.attrs.managed } : {}) };
  if (mode === 'hostdev' && forward.attrs.managed === undefined) forward.attrs.managed = 'no';
  const multi = childrenNamed(forward, 'interface').length > 1;
  if (['nat', 'route', 'open'].includes(mode) && multi) {
    throw xmlError(`multiple forwarding interfaces specified for network '${name}', only one is supported`);
  }
  canonicalize(forward, networkSchema.children!.forward!, { strict: false });
  return mode;
}

function validateBridge(def: XmlElement, bridge: XmlElement | undefined, mode: string, name: string): void {
  if (BRIDGED_MODES.has(mode)) {
    const attrs = bridge?.attrs ?? {};
    const out: Record<string, string | undefined> = {
      name: attrs.name,
      zone: attrs.zone,
      stp: attrs.stp === 'off' ? 'off' : 'on',
      delay: attrs.delay ?? '0',
      macTableManager: attrs.macTableManager,
    };
    const built = element('bridge', out);
    if (bridge) bridge.attrs = built.attrs;
    else insertInOrder(def, built);
    return;
  }
  if (bridge === undefined) return;
  if (mode !== 'bridge' && bridge.attrs.name !== undefined) throw xmlError(`bridge name not allowed in ${mode} mode (network '${name}')`);
  if (bridge.attrs.delay !== undefined || bridge.attrs.stp !== undefined || bridge.attrs.zone !== undefined) {
    throw xmlError(`bridge delay/stp/zone options only allowed in route, nat, and isolated mode, not in ${mode} (network '${name}')`);
  }
}

/** Gives a managed bridge its name (networkSetBridgeName). */
export function setNetworkBridgeName(def: NetworkDef, name: string): void {
  const bridge = child(def, 'bridge')!;
  const { name: _template, ...rest } = bridge.attrs;
  bridge.attrs = { name, ...rest };
}

/** Adds the bridge MAC libvirt generates when the definition has none (virNetworkSetBridgeMacAddr). */
export function setNetworkMAC(def: NetworkDef, mac: string): void {
  insertInOrder(def, element('mac', { address: mac }));
}

/**
 * The port range a started NAT network masquerades to (1024-65535 unless the
 * definition gives one): libvirt writes it into the live definition when it
 * installs the rules, so net-dumpxml of an active NAT network shows it.
 */
export function fillNatPortRange(def: NetworkDef): void {
  const forward = child(def, 'forward');
  const masquerades = childrenNamed(def, 'ip').some((ip) => ip.attrs.family !== 'ipv6') || (forward && child(forward, 'nat')?.attrs.ipv6 === 'yes');
  if (forward?.attrs.mode !== 'nat' || !masquerades) return;
  let nat = child(forward, 'nat');
  if (nat === undefined) {
    nat = element('nat');
    forward.children.push(nat);
  }
  // <port> comes after <address>, the last of <nat>'s children
  if (child(nat, 'port') === undefined) {
    nat.children.push(element('port', { start: '1024', end: '65535' }));
  }
}

/** Inserts a child where the schema's canonical order puts it. */
function insertInOrder(def: XmlElement, el: XmlElement): void {
  def.children.push(el);
  canonicalize(def, networkSchema, { strict: false });
}

/** virSocketAddrParse: the address in canonical form, or libvirt's getaddrinfo error. */
function socketAddress(text: string): IPAddress {
  const addr = parseIPAddress(text);
  if (addr === undefined) throw virError(ErrorCode.SYSTEM_ERROR, `Cannot parse socket address '${text}': Name or service not known`, ErrorDomain.NETWORK);
  return addr;
}

function validateIP(ip: XmlElement, network: string): void {
  const address = ip.attrs.address;
  if (address === undefined) throw xmlError(`Missing required address attribute in network '${network}'`);
  const addr = parseIPAddress(address);
  if (addr === undefined) throw xmlError(`Invalid address '${address}' in network '${network}'`);
  ip.attrs.address = formatIPAddress(addr);
  const netmaskText = ip.attrs.netmask;
  const netmask = netmaskText === undefined ? undefined : parseIPAddress(netmaskText);
  if (netmaskText !== undefined && netmask === undefined) throw xmlError(`Invalid netmask '${netmaskText}' in network '${network}'`);
  const prefix = propUInt(ip, 'prefix');
  const family = ip.attrs.family;
  const unsupported = (detail: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, detail, ErrorDomain.NETWORK);
  if (family === undefined || family === 'ipv4') {
    if (addr.family !== 'ipv4') throw unsupported(`${family === undefined ? 'no' : 'ipv4'} family specified for non-IPv4 address '${address}' in network '${network}'`);
    if (netmask) {
      if (netmask.family !== 'ipv4') throw unsupported(`Invalid netmask '${netmaskText}' for address '${address}' in network '${network}' (both must be IPv4)`);
      if (prefix !== undefined && prefix > 0) throw unsupported(`Network '${network}' IP address cannot have both a prefix and a netmask`);
      ip.attrs.netmask = formatIPAddress(netmask);
    } else if (prefix !== undefined && prefix > 32) {
      throw unsupported(`Invalid IPv4 prefix '${prefix}' in network '${network}'`);
    }
  } else if (family === 'ipv6') {
    if (addr.family !== 'ipv6') throw unsupported(`Family 'ipv6' specified for non-IPv6 address '${address}' in network '${network}'`);
    if (netmask) throw unsupported(`netmask not allowed for IPv6 address '${address}' in network '${network}'`);
    if (prefix !== undefined && prefix > 128) throw unsupported(`Invalid IPv6 prefix '${prefix}' in network '${network}'`);
  } else {
    throw unsupported(`Unrecognized family '${family}' in network '${network}'`);
  }
  const dhcp = child(ip, 'dhcp');
  if (dhcp === undefined) return;
  for (const range of childrenNamed(dhcp, 'range')) {
    if (range.attrs.start === undefined) throw xmlError(`Missing 'start' attribute in dhcp range for network '${network}'`);
    range.attrs.start = formatIPAddress(socketAddress(range.attrs.start));
    if (range.attrs.end === undefined) throw xmlError(`Missing 'end' attribute in dhcp range for network '${network}'`);
    range.attrs.end = formatIPAddress(socketAddress(range.attrs.end));
    try {
      addressRangeSize(socketAddress(range.attrs.start), socketAddress(range.attrs.end), addr, networkIPPrefix(ip));
    } catch (e) {
      throw virError(ErrorCode.INTERNAL_ERROR, (e as Error).message, ErrorDomain.NETWORK);
    }
  }
  for (const host of childrenNamed(dhcp, 'host')) validateDHCPHost(host, network, false);
}

function validateDHCPHost(host: XmlElement, network: string, partialOkay: boolean): void {
  const mac = host.attrs.mac;
  if (mac !== undefined) {
    const parsed = parseMAC(mac);
    if (parsed === undefined) throw xmlError(`Cannot parse MAC address '${mac}' in network '${network}'`);
    if (isMulticastMAC(parsed)) throw xmlError(`expected unicast mac address, found multicast '${mac}' in network '${network}'`);
    host.attrs.mac = parsed;
  }
  const ip = host.attrs.ip;
  if (ip !== undefined) {
    const parsed = parseIPAddress(ip);
    if (parsed === undefined) throw xmlError(`Invalid IP address in static host definition for network '${network}'`);
    host.attrs.ip = formatIPAddress(parsed);
  }
  if (!partialOkay && mac === undefined && host.attrs.name === undefined && host.attrs.id === undefined) {
    throw xmlError(`Static host definition in IPv4 network '${network}' must have mac or name attribute`);
  }
  if (!partialOkay && ip === undefined) throw xmlError(`Missing IP address in static host definition for network '${network}'`);
}

/** virNetworkPortGroupParseXML: a name is required; default is 'yes' in any case or absent. */
function normalisePortgroup(pg: XmlElement): void {
  if (pg.attrs.name === undefined) throw xmlError('Missing required name attribute in portgroup');
  if (pg.attrs.default?.toLowerCase() === 'yes') pg.attrs.default = 'yes';
  else delete pg.attrs.default;
  const trust = pg.attrs.trustGuestRxFilters;
  if (trust !== undefined && trust !== 'yes' && trust !== 'no') {
    throw xmlError(`Invalid value for attribute 'trustGuestRxFilters' in element 'portgroup': '${trust}'. Expected one of: yes, no`);
  }
}

/** virNetworkDefFormat: the canonical text, <ip> and <portgroup> always with separate open and close tags. */
export function formatNetworkXML(def: NetworkDef): string {
  const out = cloneElement(def);
  for (const el of out.children) {
    if ((el.name === 'ip' || el.name === 'portgroup') && el.children.length === 0) el.text = '\n  ';
  }
  return formatXml(out);
}

export function networkName(def: NetworkDef): string {
  return child(def, 'name')!.text;
}

export function networkUUID(def: NetworkDef): string {
  return child(def, 'uuid')!.text;
}

export function networkBridge(def: NetworkDef): string | undefined {
  return child(def, 'bridge')?.attrs.name;
}

/** The first <ip> element's address data, as the test driver's domifaddr uses it. */
export function networkFirstIP(def: NetworkDef): { family: 'ipv4' | 'ipv6'; address: string; prefix: number; firstRangeStart?: string } | undefined {
  const ip = child(def, 'ip');
  if (ip === undefined) return undefined;
  const family = ip.attrs.family === 'ipv6' ? 'ipv6' : 'ipv4';
  const prefix = networkIPPrefix(ip);
  const range = child(ip, 'dhcp') && childrenNamed(child(ip, 'dhcp')!, 'range')[0];
  return { family, address: ip.attrs.address!, prefix, firstRangeStart: range ? range.attrs.start : undefined };
}

/** virNetworkIPDefPrefix: an <ip>'s prefix, from prefix=, netmask= or the classful default. */
export function networkIPPrefix(ip: XmlElement): number {
  const family = ip.attrs.family === 'ipv6' ? 'ipv6' : 'ipv4';
  if (ip.attrs.prefix !== undefined) return Number(ip.attrs.prefix);
  if (ip.attrs.netmask !== undefined) return netmaskPrefix(ip.attrs.netmask);
  return classfulPrefix(ip.attrs.address!, family);
}

/** Whether an <ip> serves DHCP: a <dhcp> with at least one range or host. */
export function networkIPHasDHCP(ip: XmlElement): boolean {
  const dhcp = child(ip, 'dhcp');
  return dhcp !== undefined && dhcp.children.some((c) => c.name === 'range' || c.name === 'host');
}

/** The forward mode of a parsed network: 'none' without <forward>. */
export function networkForwardMode(def: NetworkDef): string {
  return child(def, 'forward')?.attrs.mode ?? 'none';
}

/** Whether the network is a bridge libvirt creates and manages (isolated, nat, route, open). */
export function networkHasManagedBridge(def: NetworkDef): boolean {
  return BRIDGED_MODES.has(networkForwardMode(def));
}

function netmaskPrefix(mask: string): number {
  return mask.split('.').reduce((n, octet) => n + Number(octet).toString(2).replace(/0/g, '').length, 0);
}

/** virSocketAddrGetIPPrefix without prefix or netmask: the classful default. */
function classfulPrefix(address: string, family: 'ipv4' | 'ipv6'): number {
  if (family === 'ipv6') return 64;
  const first = Number(address.split('.')[0]);
  if (first < 128) return 8;
  if (first < 192) return 16;
  if (first < 224) return 24;
  return 0;
}

/** virNetworkUpdateCommand */
export enum NetworkUpdateCommand {
  NONE = 0,
  MODIFY = 1,
  DELETE = 2,
  ADD_LAST = 3,
  ADD_FIRST = 4,
}

/** virNetworkUpdateSection, with the section names used in messages. */
const UPDATE_SECTIONS = ['none', 'bridge', 'domain', 'ip', 'ip-dhcp-host', 'ip-dhcp-range', 'forward', 'forward-interface', 'forward pf', 'portgroup', 'dns-host', 'dns-txt', 'dns-srv'];

/**
 * virNetworkDefUpdateSection: applies one update command to a copy of `def`
 * and returns the re-validated result.
 */
export function updateNetworkDef(def: NetworkDef, command: number, section: number, parentIndex: number, xml: string): NetworkDef {
  const name = networkName(def);
  const updated = cloneElement(def);
  const node = parseDocument(xml, 'network_update_xml');
  const sectionName = UPDATE_SECTIONS[section];
  const expect = (element: string) => {
    if (node.name !== element) throw xmlError(`unexpected element <${node.name}>, expecting <${element}>, while updating network '${name}'`);
  };
  switch (sectionName) {
    case 'ip-dhcp-host':
    case 'ip-dhcp-range': {
      const kind = sectionName === 'ip-dhcp-host' ? 'host' : 'range';
      const ip = updatableIP(updated, parentIndex, name);
      expect(kind);
      checkCommand(command);
      if (kind === 'range' && command === NetworkUpdateCommand.MODIFY) {
        throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'dhcp ranges cannot be modified, only added or deleted', ErrorDomain.NETWORK);
      }
      updateDHCPEntry(ip, command, node, kind, name);
      break;
    }
    case 'dns-host':
      if (command === NetworkUpdateCommand.MODIFY) {
        throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'DNS HOST records cannot be modified, only added or deleted', ErrorDomain.NETWORK);
      }
      expect('host');
      checkCommand(command);
      updateDNSHost(updated, command, node, name);
      break;
    case 'dns-txt':
    case 'dns-srv': {
      const kind = sectionName === 'dns-txt' ? 'txt' : 'srv';
      if (command === NetworkUpdateCommand.MODIFY) {
        throw virError(ErrorCode.OPERATION_UNSUPPORTED, `DNS ${kind.toUpperCase()} records cannot be modified, only added or deleted`, ErrorDomain.NETWORK);
      }
      expect(kind);
      checkCommand(command);
      updateDNSRecord(updated, command, node, kind, name);
      break;
    }
    case 'portgroup':
      expect('portgroup');
      updatePortgroup(updated, command, node, name);
      break;
    case 'forward-interface':
      expect('interface');
      if (command === NetworkUpdateCommand.MODIFY) {
        throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'forward interface entries cannot be modified, only added or deleted', ErrorDomain.NETWORK);
      }
      updateForwardInterface(updated, command, node, name);
      break;
    case undefined:
    case 'none':
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, `can't update unrecognized section of network`, ErrorDomain.NETWORK);
    default:
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, `can't update '${sectionName}' section of network '${name}'`, ErrorDomain.NETWORK);
  }
  return parseNetworkElement(updated);
}

function checkCommand(command: number): void {
  if (command < NetworkUpdateCommand.MODIFY || command > NetworkUpdateCommand.ADD_FIRST) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, `unrecognized network update command code ${command}`, ErrorDomain.NETWORK);
  }
}

/** virNetworkIPDefByIndex: the <ip> at parentIndex, or the one holding DHCP, else the first IPv4/IPv6 one. */
function updatableIP(def: XmlElement, parentIndex: number, name: string): XmlElement {
  const ips = childrenNamed(def, 'ip');
  if (parentIndex >= 0) {
    const ip = ips[parentIndex];
    if (ip === undefined) throw virError(ErrorCode.OPERATION_INVALID, `couldn't update dhcp host entry - no <ip> element found at index ${parentIndex} in network '${name}'`, ErrorDomain.NETWORK);
    return ip;
  }
  const ip = ips.find((i) => child(i, 'dhcp') !== undefined) ?? ips.find((i) => i.attrs.family !== 'ipv6') ?? ips[0];
  if (ip === undefined) throw virError(ErrorCode.OPERATION_INVALID, `couldn't update dhcp host entry - no <ip> element found in network '${name}'`, ErrorDomain.NETWORK);
  return ip;
}

const hostFields = (h: XmlElement) => `"<host mac='${h.attrs.mac ?? 'unknown'}' name='${h.attrs.name ?? '(null)'}' ip='${h.attrs.ip ?? 'unknown'}'/>"`;

/** virNetworkDefUpdateIPDHCPHost / ...IPDHCPRange. */
function updateDHCPEntry(ip: XmlElement, command: number, node: XmlElement, kind: 'host' | 'range', name: string): void {
  const entry = cloneElement(node);
  canonicalize(entry, (ipSchema.children!.dhcp as ElementSchema).children![kind]!, { strict: false });
  if (kind === 'host') validateDHCPHost(entry, name, command === NetworkUpdateCommand.DELETE);
  let dhcp = child(ip, 'dhcp');
  if (dhcp === undefined) {
    dhcp = element('dhcp');
    ip.children.push(dhcp);
  }
  const entries = childrenNamed(dhcp, kind);
  const same = (e: XmlElement) =>
    kind === 'range'
      ? e.attrs.start === entry.attrs.start && e.attrs.end === entry.attrs.end
      : (entry.attrs.mac !== undefined && e.attrs.mac === entry.attrs.mac) ||
        (entry.attrs.name !== undefined && e.attrs.name === entry.attrs.name) ||
        (entry.attrs.ip !== undefined && e.attrs.ip === entry.attrs.ip);
  const matchesAll = (e: XmlElement) => Object.entries(entry.attrs).every(([k, v]) => e.attrs[k] === undefined || e.attrs[k] === v);
  if (command === NetworkUpdateCommand.DELETE) {
    const victim = entries.find(matchesAll);
    if (victim === undefined) throw virError(ErrorCode.OPERATION_INVALID, `couldn't locate a matching dhcp ${kind} entry in network '${name}'`, ErrorDomain.NETWORK);
    dhcp.children = dhcp.children.filter((c) => c !== victim);
  } else if (command === NetworkUpdateCommand.MODIFY) {
    const target = entries.find(same);
    if (target === undefined) {
      const h = entry.attrs;
      throw virError(
        ErrorCode.OPERATION_INVALID,
        `couldn't locate an existing dhcp host entry with "mac='${h.mac ?? 'unknown'}'" "name='${h.name ?? '(null)'}'" "ip='${h.ip ?? 'unknown'}'" in network '${name}'`,
        ErrorDomain.NETWORK,
      );
    }
    dhcp.children[dhcp.children.indexOf(target)] = entry;
  } else {
    if (entries.some(same)) {
      const shown = kind === 'host' ? hostFields(entry) : `"<range start='${entry.attrs.start}' end='${entry.attrs.end}'/>"`;
      throw virError(ErrorCode.OPERATION_INVALID, `there is an existing dhcp ${kind} entry in network '${name}' that matches ${shown}`, ErrorDomain.NETWORK);
    }
    if (command === NetworkUpdateCommand.ADD_FIRST) dhcp.children.unshift(entry);
    else dhcp.children.push(entry);
  }
  canonicalize(ip, ipSchema, { strict: false });
}

/** virNetworkDefUpdateDNSHost: hosts are matched by IP (and, when deleting, by any hostname). */
function updateDNSHost(def: XmlElement, command: number, node: XmlElement, name: string): void {
  const isAdd = command !== NetworkUpdateCommand.DELETE;
  const names = (h: XmlElement) => childrenNamed(h, 'hostname').map((n) => n.text.trim());
  let dns = child(def, 'dns');
  if (dns === undefined) {
    dns = element('dns');
    def.children.push(dns);
  }
  const hosts = childrenNamed(dns, 'host');
  const found = hosts.filter((h) => h.attrs.ip === node.attrs.ip || (!isAdd && names(node).some((n) => names(h).includes(n))));
  if (isAdd) {
    if (found.length > 0) throw virError(ErrorCode.OPERATION_INVALID, `there is already at least one DNS HOST record with a matching field in network ${name}`, ErrorDomain.NETWORK);
    const entry = cloneElement(node);
    if (command === NetworkUpdateCommand.ADD_FIRST) dns.children.unshift(entry);
    else dns.children.push(entry);
  } else {
    if (found.length === 0) throw virError(ErrorCode.OPERATION_INVALID, `couldn't locate a matching DNS HOST record in network ${name}`, ErrorDomain.NETWORK);
    if (found.length > 1) throw virError(ErrorCode.OPERATION_INVALID, `multiple matching DNS HOST records were found in network ${name}`, ErrorDomain.NETWORK);
    dns.children = dns.children.filter((c) => c !== found[0]);
  }
}

/**
 * virNetworkDefUpdateDNSTxt / ...DNSSrv: TXT records are matched by name, SRV
 * records by every field the update gives (domain, service, protocol, target).
 */
function updateDNSRecord(def: XmlElement, command: number, node: XmlElement, kind: 'txt' | 'srv', name: string): void {
  const isAdd = command !== NetworkUpdateCommand.DELETE;
  let dns = child(def, 'dns');
  if (dns === undefined) {
    dns = element('dns');
    def.children.push(dns);
  }
  const fields = kind === 'txt' ? ['name'] : ['domain', 'service', 'protocol', 'target'];
  const found = childrenNamed(dns, kind).filter((r) => fields.every((f) => node.attrs[f] === undefined || r.attrs[f] === node.attrs[f]));
  const KIND = kind.toUpperCase();
  if (isAdd) {
    if (found.length > 0) {
      throw virError(
        ErrorCode.OPERATION_INVALID,
        kind === 'txt'
          ? `there is already a DNS TXT record with name '${node.attrs.name}' in network ${name}`
          : `there is already at least one DNS SRV record matching all specified fields in network ${name}`,
        ErrorDomain.NETWORK,
      );
    }
    const entry = cloneElement(node);
    if (command === NetworkUpdateCommand.ADD_FIRST) dns.children.unshift(entry);
    else dns.children.push(entry);
    return;
  }
  if (found.length === 0) throw virError(ErrorCode.OPERATION_INVALID, `couldn't locate a matching DNS ${KIND} record in network ${name}`, ErrorDomain.NETWORK);
  if (found.length > 1) throw virError(ErrorCode.OPERATION_INVALID, `multiple DNS SRV records matching all specified fields were found in network ${name}`, ErrorDomain.NETWORK);
  dns.children = dns.children.filter((c) => c !== found[0]);
}

/** virNetworkDefUpdatePortGroup: portgroups are matched by name; one default at most. */
function updatePortgroup(def: XmlElement, command: number, node: XmlElement, name: string): void {
  const entry = cloneElement(node);
  canonicalize(entry, portgroupSchema, { strict: false });
  normalisePortgroup(entry);
  const groups = childrenNamed(def, 'portgroup');
  const found = groups.find((g) => g.attrs.name === entry.attrs.name);
  const currentDefault = groups.find((g) => g.attrs.default === 'yes');
  const isAdd = command === NetworkUpdateCommand.ADD_FIRST || command === NetworkUpdateCommand.ADD_LAST;
  if (found === undefined && (command === NetworkUpdateCommand.MODIFY || command === NetworkUpdateCommand.DELETE)) {
    throw virError(ErrorCode.OPERATION_INVALID, `couldn't find a portgroup entry in network '${name}' matching <portgroup name='${entry.attrs.name}'>`, ErrorDomain.NETWORK);
  }
  if (found !== undefined && isAdd) {
    throw virError(ErrorCode.OPERATION_INVALID, `there is an existing portgroup entry in network '${name}' that matches "<portgroup name='${entry.attrs.name}'>"`, ErrorDomain.NETWORK);
  }
  if (command !== NetworkUpdateCommand.DELETE && entry.attrs.default === 'yes' && currentDefault !== undefined && currentDefault !== found) {
    throw virError(ErrorCode.OPERATION_INVALID, `a different portgroup entry in network '${name}' is already set as the default. Only one default is allowed.`, ErrorDomain.NETWORK);
  }
  if (command === NetworkUpdateCommand.MODIFY) def.children[def.children.indexOf(found!)] = entry;
  else if (command === NetworkUpdateCommand.DELETE) def.children = def.children.filter((c) => c !== found);
  else if (isAdd) insertAmong(def, groups, entry, command === NetworkUpdateCommand.ADD_FIRST);
  else checkCommand(command);
}

/** virNetworkDefUpdateForwardInterface: forward <interface dev=...> entries, added or deleted by name. */
function updateForwardInterface(def: XmlElement, command: number, node: XmlElement, name: string): void {
  const dev = node.attrs.dev;
  if (dev === undefined) throw xmlError('missing dev attribute in <interface> element');
  let forward = child(def, 'forward');
  const interfaces = forward ? childrenNamed(forward, 'interface') : [];
  const found = interfaces.find((i) => i.attrs.dev === dev);
  if (command === NetworkUpdateCommand.ADD_FIRST || command === NetworkUpdateCommand.ADD_LAST) {
    if (found) throw virError(ErrorCode.OPERATION_INVALID, `there is an existing interface entry in network '${name}' that matches "<interface dev='${dev}'>"`, ErrorDomain.NETWORK);
    if (forward === undefined) {
      forward = element('forward');
      insertInOrder(def, forward);
    }
    insertAmong(forward, interfaces, element('interface', { dev }), command === NetworkUpdateCommand.ADD_FIRST);
  } else if (command === NetworkUpdateCommand.DELETE) {
    if (!found) throw virError(ErrorCode.OPERATION_INVALID, `couldn't find an interface entry in network '${name}' matching <interface dev='${dev}'>`, ErrorDomain.NETWORK);
    forward!.children = forward!.children.filter((c) => c !== found);
  } else checkCommand(command);
  // re-validation names the first interface in <forward dev=...> again
  if (forward) delete forward.attrs.dev;
}

/** Puts `entry` before the first or after the last of `siblings` (or at the canonical place when there are none). */
function insertAmong(parent: XmlElement, siblings: XmlElement[], entry: XmlElement, first: boolean): void {
  if (siblings.length === 0) {
    parent.children.push(entry);
    return;
  }
  const at = first ? parent.children.indexOf(siblings[0]!) : parent.children.indexOf(siblings[siblings.length - 1]!) + 1;
  parent.children.splice(at, 0, entry);
}
