// A network port (<networkport>, virnetworkportdef.c): one guest interface's
// place on a virtual network, as the network driver keeps it. Parsed with
// libvirt's checks and messages and formatted in its canonical layout; the
// status file (run/network/NET/ports/UUID.xml) carries libvirt's warning header.

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { parseMAC } from '../util/mac.js';
import { parseUUID } from '../util/uuid.js';
import { child, childText, cloneElement, element, formatXml, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';
import { canonicalize, type ElementSchema } from './schema.js';

/** How the guest's interface connects (virNetworkPortPlugType); 'none' until the network allocated it. */
export type PortPlug = { type: 'none' } | { type: 'network' | 'bridge'; bridge: string; macTableManager?: string };

export interface NetworkPortDef {
  uuid: string;
  ownerName: string;
  ownerUUID: string;
  group?: string;
  mac: string;
  /** kept as given: libvirt copies them from the interface or portgroup and formats them back */
  virtualport?: XmlElement;
  bandwidth?: XmlElement;
  vlan?: XmlElement;
  isolated?: 'yes' | 'no';
  trustGuestRxFilters?: 'yes' | 'no';
  plug: PortPlug;
}

const portSchema: ElementSchema = {
  children: {
    uuid: { text: true },
    owner: { children: { name: { text: true }, uuid: { text: true } } },
    group: { text: true },
    mac: { attrs: ['address'] },
    virtualport: { any: true },
    bandwidth: { any: true },
    vlan: { any: true },
    port: { attrs: ['isolated'] },
    rxfilters: { attrs: ['trustGuest'] },
    plug: { attrs: ['type', 'bridge', 'macTableManager', 'dev', 'mode', 'managed'], children: { driver: { attrs: ['name'] }, address: { any: true } } },
  },
};

const internal = (detail: string) => virError(ErrorCode.INTERNAL_ERROR, detail, ErrorDomain.NETWORK);
const xmlError = (detail: string) => virError(ErrorCode.XML_ERROR, detail, ErrorDomain.NETWORK);

function tristate(el: XmlElement | undefined, attr: string): 'yes' | 'no' | undefined {
  const value = el?.attrs[attr];
  if (value === undefined) return undefined;
  if (value !== 'yes' && value !== 'no') throw xmlError(`Invalid value for attribute '${attr}' in element '${el!.name}': '${value}'. Expected one of: yes, no`);
  return value;
}

/** virNetworkPortDefParse on a document given as text (virNetworkPortCreateXML, status files). */
export function parseNetworkPortXML(text: string): NetworkPortDef {
  const root = cloneElement(parseDocument(text, '(networkport_definition)', 'networkport'));
  canonicalize(root, portSchema, { strict: false });
  const uuidText = childText(root, 'uuid');
  if (uuidText === undefined) throw internal('network port has no uuid');
  const uuid = parseUUID(uuidText);
  if (uuid === undefined) throw internal(`Unable to parse UUID '${uuidText}'`);
  const owner = child(root, 'owner');
  const ownerName = owner && childText(owner, 'name');
  if (ownerName === undefined) throw internal('network port has no owner name');
  const ownerUUIDText = childText(owner!, 'uuid');
  if (ownerUUIDText === undefined) throw internal('network port has no owner UUID');
  const ownerUUID = parseUUID(ownerUUIDText);
  if (ownerUUID === undefined) throw internal(`Unable to parse UUID '${ownerUUIDText}'`);
  const macText = child(root, 'mac')?.attrs.address;
  if (macText === undefined) throw internal('network port has no mac');
  const mac = parseMAC(macText);
  if (mac === undefined) throw internal(`Unable to parse MAC '${macText}'`);
  return {
    uuid,
    ownerName,
    ownerUUID,
    group: childText(root, 'group'),
    mac,
    virtualport: child(root, 'virtualport'),
    bandwidth: child(root, 'bandwidth'),
    vlan: child(root, 'vlan'),
    isolated: tristate(child(root, 'port'), 'isolated'),
    trustGuestRxFilters: tristate(child(root, 'rxfilters'), 'trustGuest'),
    plug: parsePlug(child(root, 'plug')),
  };
}

function parsePlug(plug: XmlElement | undefined): PortPlug {
  const type = plug?.attrs.type;
  if (plug === undefined || type === undefined) return { type: 'none' };
  if (type !== 'network' && type !== 'bridge') {
    // direct and hostdev-pci plugs belong to forward modes this driver does not run
    throw xmlError(`Invalid value for attribute 'type' in element 'plug': '${type}'. Expected one of: network, bridge`);
  }
  const bridge = plug.attrs.bridge;
  if (bridge === undefined) throw xmlError('Missing network port bridge name');
  const manager = plug.attrs.macTableManager;
  if (manager !== undefined && manager !== 'kernel' && manager !== 'libvirt') throw xmlError(`Invalid macTableManager setting '${manager}' in network port`);
  return { type, bridge, macTableManager: manager };
}

/** virNetworkPortDefFormat */
export function formatNetworkPortXML(def: NetworkPortDef): string {
  const children: XmlElement[] = [
    element('uuid', {}, [], def.uuid),
    element('owner', {}, [element('name', {}, [], def.ownerName), element('uuid', {}, [], def.ownerUUID)]),
  ];
  if (def.group !== undefined) children.push(element('group', {}, [], def.group));
  children.push(element('mac', { address: def.mac }));
  for (const raw of [def.virtualport, def.bandwidth, def.vlan]) if (raw) children.push(raw);
  if (def.isolated !== undefined) children.push(element('port', { isolated: def.isolated }));
  if (def.trustGuestRxFilters !== undefined) children.push(element('rxfilters', { trustGuest: def.trustGuestRxFilters }));
  if (def.plug.type !== 'none') children.push(element('plug', { type: def.plug.type, bridge: def.plug.bridge, macTableManager: def.plug.macTableManager }));
  return formatXml(element('networkport', {}, children));
}

/** The status file libvirt writes for a port (virNetworkPortDefSaveStatus: virXMLSaveFile's warning names net-port-create). */
export function formatNetworkPortStatus(def: NetworkPortDef): string {
  return (
    '<!--\n' +
    'WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n' +
    'OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n' +
    `  virsh net-port-create ${def.uuid}\n` +
    'or other application using the libvirt API.\n' +
    '-->\n\n' +
    formatNetworkPortXML(def)
  );
}
