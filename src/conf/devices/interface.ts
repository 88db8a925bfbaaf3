// <interface>: schema in virDomainNetDefFormat's order, MAC generation,
// and inactive-config cleanup of generated tap names.

import { ErrorCode, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';
import type { ElementSchema, SchemaRef } from '../schema.js';
import { propEnum, propUInt } from '../xml-props.js';
import { dropGeneratedAlias, firstChild, infoChildren, setDefault } from './common.js';

const NET_TYPES = ['user', 'ethernet', 'vhostuser', 'server', 'client', 'mcast', 'network', 'bridge', 'internal', 'direct', 'hostdev', 'udp', 'vdpa', 'null', 'vds'] as const;

const ipSchema: ElementSchema = { attrs: ['address', 'family', 'prefix', 'peer'] };
const routeSchema: ElementSchema = { attrs: ['family', 'address', 'netmask', 'prefix', 'gateway', 'metric'] };
const bandwidthRate: ElementSchema = { attrs: ['average', 'peak', 'burst', 'floor'] };

const interfaceChildren: Record<string, SchemaRef> = {
    mac: { attrs: ['address', 'type', 'check'] },
    source: {
      attrs: ['network', 'portgroup', 'portid', 'switchid', 'portgroupid', 'connectionid', 'type', 'path', 'bridge', 'address', 'port', 'name', 'dev', 'mode'],
      children: {
        address: { attrs: ['type', 'domain', 'bus', 'slot', 'function', 'uuid'] },
        local: { attrs: ['address', 'port'] },
        reconnect: { attrs: ['enabled', 'timeout'] },
        ip: ipSchema,
        route: routeSchema,
      },
    },
    vlan: { attrs: ['trunk'], children: { tag: { attrs: ['id', 'nativeMode'] } } },
    virtualport: {
      attrs: ['type'],
      children: { parameters: { attrs: ['managerid', 'typeid', 'typeidversion', 'instanceid', 'interfaceid', 'profileid'] } },
    },
    bandwidth: { children: { inbound: bandwidthRate, outbound: bandwidthRate } },
    port: { attrs: ['isolated'] },
    ip: ipSchema,
    route: routeSchema,
    portForward: {
      attrs: ['proto', 'address', 'dev'],
      children: { range: { attrs: ['start', 'end', 'to', 'exclude'] } },
    },
    script: { attrs: ['path'] },
    downscript: { attrs: ['path'] },
    backenddomain: { attrs: ['name'] },
    target: { attrs: ['dev', 'managed'] },
    guest: { attrs: ['dev', 'actual'] },
    model: { attrs: ['type'] },
    driver: {
      attrs: ['name', 'txmode', 'ioeventfd', 'event_idx', 'queues', 'rx_queue_size', 'tx_queue_size', 'rss', 'rss_hash_report', 'iommu', 'ats', 'packed', 'page_per_vq'],
      children: {
        host: { attrs: ['csum', 'gso', 'tso4', 'tso6', 'ecn', 'ufo', 'mrg_rxbuf'] },
        guest: { attrs: ['csum', 'tso4', 'tso6', 'ecn', 'ufo'] },
      },
    },
    backend: { attrs: ['type', 'tap', 'vhost', 'logFile'] },
    filterref: { attrs: ['filter'], children: { parameter: { attrs: ['name', 'value'] } } },
    tune: { children: { sndbuf: { text: true } } },
    teaming: { attrs: ['type', 'persistent'] },
    link: { attrs: ['state'] },
    mtu: { attrs: ['size'] },
    coalesce: { children: { rx: { children: { frames: { attrs: ['max'] } } } } },
    ...infoChildren({ boot: true, rom: true }),
};

/** Hostdev interfaces print their <driver name='vfio'/> before the source, as <hostdev> does. */
const hostdevInterfaceChildren: Record<string, SchemaRef> = {
  mac: interfaceChildren['mac']!,
  driver: interfaceChildren['driver']!,
  ...Object.fromEntries(Object.entries(interfaceChildren).filter(([k]) => k !== 'mac' && k !== 'driver')),
};

export const interfaceSchema: SchemaRef = (el) => ({
  attrs: ['type', 'managed', 'trustGuestRxFilters'],
  children: el.attrs['type'] === 'hostdev' ? hostdevInterfaceChildren : interfaceChildren,
});

/** virDomainNetModel names; the model attribute is matched case-insensitively. */
const NET_MODELS = [
  'netfront', 'rtl8139', 'virtio', 'e1000', 'e1000e', 'virtio-transitional', 'virtio-non-transitional', 'usb-net',
  'spapr-vlan', 'lan9118', 'smc91c111', 'vlance', 'vmxnet', 'vmxnet2', 'vmxnet3', 'Am79C970A', 'Am79C973', '82540EM', '82545EM', '82543GC',
];

const FILTERREF_TYPES = ['network', 'bridge', 'ethernet'];
/** The hostdev backend name plus the generic virtio options (virDomainVirtioOptionsParseXML). */
const HOSTDEV_DRIVER_ATTRS = ['name', 'iommu', 'ats', 'packed', 'page_per_vq'];

export const GENERATED_IFNAME_PREFIXES = ['vnet', 'macvtap', 'macvlan'];

/** A random MAC in QEMU's 52:54:00 range (virDomainNetGenerateMAC). */
export function generateMac(): string {
  // crypto is loaded on use, not by every query that parses a domain
  return ['52', '54', '00', ...Array.from(process.getBuiltinModule('node:crypto').randomBytes(3), (b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** <source> attributes virDomainNetDefParseXML reads, for the types whose source is attributes only. */
const SOURCE_ATTRS_BY_TYPE: Record<string, readonly string[]> = {
  network: ['network', 'portgroup', 'portid'],
  bridge: ['bridge'],
  direct: ['dev', 'mode'],
};

export function parseInterface(net: XmlElement): void {
  propEnum(net, 'type', NET_TYPES, { required: true });
  const mac = firstChild(net, 'mac');
  const address = mac?.attrs['address'];
  if (address !== undefined) {
    if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(address)) {
      throw virError(ErrorCode.XML_ERROR, `unable to parse mac address '${address}'`);
    }
    if (parseInt(address.split(':')[0]!, 16) & 1) {
      throw virError(ErrorCode.XML_ERROR, `expected unicast mac address, found multicast '${address}'`);
    }
  }
  const backend = firstChild(net, 'backend');
  // 'default' may not be written and libvirt 9.0 refuses 'passt' at parse time: every value is invalid
  if (backend?.attrs['type'] !== undefined) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute 'type' in element 'backend': '${backend.attrs['type']}'.`);
  }
  const driver = firstChild(net, 'driver');
  // there is always one TX/RX queue: libvirt stores 1 as "unset"
  if (driver && (propUInt(driver, 'queues') ?? 0) <= 1) delete driver.attrs['queues'];
}

/** Generic post-parse: MAC (generated, normalised), inactive-config cleanups. */
export function postParseInterface(net: XmlElement): void {
  dropGeneratedAlias(net);
  let mac = firstChild(net, 'mac');
  if (!mac) {
    mac = element('mac');
    net.children.unshift(mac);
  }
  mac.attrs['address'] = mac.attrs['address'] === undefined
    ? generateMac()
    : mac.attrs['address'].split(':').map((b) => b.toLowerCase().padStart(2, '0')).join(':');
  const target = firstChild(net, 'target');
  if (target) {
    const dev = target.attrs['dev'];
    if (dev !== undefined && target.attrs['managed'] !== 'no' && GENERATED_IFNAME_PREFIXES.some((p) => dev.startsWith(p))) {
      delete target.attrs['dev'];
    }
    if (Object.keys(target.attrs).length === 0) net.children = net.children.filter((c) => c !== target);
  }
  const source = firstChild(net, 'source');
  if (source) {
    delete source.attrs['portid'];
    // libvirt reads only the <source> attributes of the interface's own type
    const known = SOURCE_ATTRS_BY_TYPE[net.attrs['type'] ?? ''];
    if (known) for (const a of Object.keys(source.attrs)) if (!known.includes(a)) delete source.attrs[a];
  }
  const model = firstChild(net, 'model');
  const known = model && NET_MODELS.find((m) => m.toLowerCase() === model.attrs['type']?.toLowerCase());
  if (model && known) model.attrs['type'] = known;
  // <driver> tunables only exist for virtio models (hostdev keeps its backend driver).
  if (net.attrs['type'] !== 'hostdev' && !(model?.attrs['type'] ?? '').startsWith('virtio')) {
    net.children = net.children.filter((c) => c.name !== 'driver');
  }
  const virtio = (model?.attrs['type'] ?? '').startsWith('virtio');
  const driver = firstChild(net, 'driver');
  if (driver && net.attrs['type'] === 'hostdev') {
    // a hostdev's <driver> is its PCI backend: the virtio-net tunables are not read
    for (const a of Object.keys(driver.attrs)) if (!HOSTDEV_DRIVER_ATTRS.includes(a)) delete driver.attrs[a];
    driver.children = [];
    if (Object.keys(driver.attrs).length === 0) net.children = net.children.filter((c) => c !== driver);
  }
  // only these types take a network filter (virDomainNetDefParseXML's parse_filterref)
  if (!FILTERREF_TYPES.includes(net.attrs['type'] ?? '')) net.children = net.children.filter((c) => c.name !== 'filterref');
  const backend = firstChild(net, 'backend');
  if (backend && !virtio) delete backend.attrs['vhost'];
  // A zero rx frame limit is no coalescing setting at all.
  const frames = firstChild(firstChild(firstChild(net, 'coalesce') ?? net, 'rx') ?? net, 'frames');
  if (firstChild(net, 'coalesce') && !Number(frames?.attrs['max'] ?? 0)) net.children = net.children.filter((c) => c.name !== 'coalesce');
  if (net.attrs['type'] === 'direct' && source) setDefault(source, 'mode', 'vepa');
  if (net.attrs['type'] === 'vhostuser' && source) setDefault(source, 'mode', 'client');
  if (net.attrs['type'] === 'hostdev' && net.attrs['managed'] !== 'yes') delete net.attrs['managed'];
}
