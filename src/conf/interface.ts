// Host interface XML (<interface> of the interface driver, not a domain NIC):
// parse, validate with libvirt's messages, canonical order (interface_conf.c).

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { child, childrenNamed, cloneElement, formatXml, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';
import { canonicalize, type ElementSchema } from './schema.js';

export type InterfaceDef = XmlElement;

const INTERFACE_TYPES = ['ethernet', 'bridge', 'bond', 'vlan'];
const START_MODES = ['none', 'onboot', 'hotplug'];

const protocolSchema: ElementSchema = {
  attrs: ['family'],
  children: {
    autoconf: {},
    dhcp: { attrs: ['peerdns'] },
    ip: { attrs: ['address', 'prefix'] },
    route: { attrs: ['gateway'] },
  },
};

/** Subordinate interfaces (bridge ports, bond slaves) carry no start/mtu/protocol. */
function interfaceSchema(topLevel: boolean): ElementSchema {
  return {
    attrs: ['type', 'name'],
    children: {
      ...(topLevel ? { start: { attrs: ['mode'] }, mtu: { attrs: ['size'] }, protocol: protocolSchema } : {}),
      link: { attrs: ['speed', 'state'] },
      mac: { attrs: ['address'] },
      bridge: { attrs: ['stp', 'delay'], children: { interface: () => interfaceSchema(false) } },
      bond: { attrs: ['mode'], children: { miimon: { any: true }, arpmon: { any: true }, interface: () => interfaceSchema(false) } },
      // A VLAN names its physical device only.
      vlan: { attrs: ['tag'], children: { interface: { attrs: ['name'] } } },
    },
  };
}

function xmlError(detail: string) {
  return virError(ErrorCode.XML_ERROR, detail, ErrorDomain.INTERFACE);
}

/** virInterfaceDefParseString. */
export function parseInterfaceXML(text: string): InterfaceDef {
  return parseInterfaceElement(parseDocument(text, '(interface_definition)', 'interface'));
}

export function parseInterfaceElement(root: XmlElement): InterfaceDef {
  const def = cloneElement(root);
  canonicalize(def, interfaceSchema(true), { strict: true });
  validate(def, true);
  return def;
}

function validate(def: XmlElement, topLevel: boolean): void {
  const type = def.attrs.type;
  if (type === undefined || !INTERFACE_TYPES.includes(type)) throw xmlError(`interface has unsupported type '${type ?? ''}'`);
  if (def.attrs.name === undefined && type !== 'vlan') throw xmlError('interface has no name');
  if (topLevel) {
    const start = child(def, 'start')?.attrs.mode;
    if (start !== undefined && !START_MODES.includes(start)) throw xmlError(`unknown interface startmode ${start}`);
    const mtu = child(def, 'mtu')?.attrs.size;
    if (mtu !== undefined && Number(mtu) > 100000) throw xmlError("value of the 'size' attribute of 'mtu' element must be at most 100000");
    for (const proto of childrenNamed(def, 'protocol')) {
      const family = proto.attrs.family;
      if (family === undefined) throw xmlError('protocol misses the family attribute');
      if (family !== 'ipv4' && family !== 'ipv6') throw xmlError(`unsupported protocol family '${family}'`);
    }
  }
  const container = type === 'ethernet' ? undefined : child(def, type);
  if (type !== 'ethernet' && container === undefined) throw xmlError(`${type} interface misses the ${type} element`);
  const stp = type === 'bridge' ? container!.attrs.stp : undefined;
  if (stp !== undefined && stp !== 'on' && stp !== 'off') throw xmlError(`bridge interface stp should be on or off got ${stp}`);
  if (type === 'vlan' && container!.attrs.tag === undefined) throw xmlError('vlan interface misses the tag attribute');
  if (type === 'vlan') {
    if (child(container!, 'interface')?.attrs.name === undefined) throw xmlError('vlan interface misses name attribute');
    return;
  }
  for (const sub of container ? childrenNamed(container, 'interface') : []) validate(sub, false);
}

export function formatInterfaceXML(def: InterfaceDef): string {
  return formatXml(def);
}

export function interfaceName(def: InterfaceDef): string {
  return def.attrs.name ?? '';
}

/** The MAC of an ethernet/vlan interface; bridges and bonds have none of their own. */
export function interfaceMAC(def: InterfaceDef): string {
  return child(def, 'mac')?.attrs.address ?? '';
}
