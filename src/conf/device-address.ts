// Device <address> elements: the typed model, parsing with libvirt's checks and
// messages (virDomainDeviceAddressParseXML and friends), and the canonical
// formatting libvirt uses (virDomainDeviceInfoFormat).

import { ErrorCode, virError } from '../util/error.js';
import { element, type XmlElement } from '../util/xml.js';
import type { ElementSchema } from './schema.js';
import { parseUnsigned, propOnOff, propUInt } from './xml-props.js';

export interface PciAddress {
  type: 'pci';
  domain: number;
  bus: number;
  slot: number;
  function: number;
  multifunction?: 'on' | 'off';
  /** <zpci uid fid/> child (s390 only), kept verbatim. */
  zpci?: { uid?: string; fid?: string };
}
export interface DriveAddress { type: 'drive'; controller: number; bus: number; target: number; unit: number }
export interface VirtioSerialAddress { type: 'virtio-serial'; controller: number; bus: number; port: number }
export interface CcidAddress { type: 'ccid'; controller: number; slot: number }
/** USB port path such as [1] or [1, 3] (hub port 3 behind root port 1); empty when not given. */
export interface UsbAddress { type: 'usb'; bus: number; port: number[] }
export interface SpaprVioAddress { type: 'spapr-vio'; reg?: bigint }
export interface CcwAddress { type: 'ccw'; cssid: number; ssid: number; devno: number }
export interface IsaAddress { type: 'isa'; iobase: number; irq: number }
export interface DimmAddress { type: 'dimm'; slot: number; base?: bigint }
export interface BareAddress { type: 'virtio-mmio' | 'unassigned' }

export type DeviceAddress =
  | PciAddress | DriveAddress | VirtioSerialAddress | CcidAddress | UsbAddress
  | SpaprVioAddress | CcwAddress | IsaAddress | DimmAddress | BareAddress;

export type DeviceAddressType = DeviceAddress['type'];

/** virDomainDeviceAddressType strings, in libvirt's enum order (index 0 = none). */
const ADDRESS_TYPES = [
  'none', 'pci', 'drive', 'virtio-serial', 'ccid', 'usb', 'spapr-vio', 'virtio-s390', 'ccw',
  'virtio-mmio', 'isa', 'dimm', 'unassigned',
] as const;

/** libvirt's maximum USB port nesting (controller port + 3 hub levels). */
export const USB_MAX_PORT_DEPTH = 4;

// ---------------------------------------------------------------- parsing

/** Parses an <address> element exactly as libvirt's device-info parser does. */
export function parseDeviceAddress(el: XmlElement): DeviceAddress {
  const type = el.attrs.type;
  if (type === undefined) throw virError(ErrorCode.INTERNAL_ERROR, 'No type specified for device address');
  const known = (ADDRESS_TYPES as readonly string[]).indexOf(type);
  if (known <= 0) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown address type '${type}'`);
  switch (type as (typeof ADDRESS_TYPES)[number]) {
    case 'pci': return parsePci(el);
    case 'drive':
      return { type: 'drive', controller: uint(el, 'controller', 10), bus: uint(el, 'bus', 10), target: uint(el, 'target', 10), unit: uint(el, 'unit', 10) };
    case 'virtio-serial':
      return { type: 'virtio-serial', controller: uint(el, 'controller', 10), bus: uint(el, 'bus', 10), port: uint(el, 'port', 10) };
    case 'ccid':
      return { type: 'ccid', controller: uint(el, 'controller', 10), slot: uint(el, 'slot', 10) };
    case 'usb': {
      const port = el.attrs.port === undefined ? [] : parseUsbPort(el.attrs.port);
      return { type: 'usb', bus: uint(el, 'bus', 10), port };
    }
    case 'spapr-vio': {
      const reg = ulonglong(el, 'reg', 16);
      return reg === undefined ? { type: 'spapr-vio' } : { type: 'spapr-vio', reg };
    }
    case 'ccw': return parseCcw(el);
    case 'virtio-mmio': return { type: 'virtio-mmio' };
    case 'unassigned': return { type: 'unassigned' };
    case 'isa': return { type: 'isa', iobase: uint(el, 'iobase', 16), irq: uint(el, 'irq', 16) };
    case 'dimm': {
      const slot = propUInt(el, 'slot', 10, { required: true })!;
      const base = ulonglong(el, 'base', 16);
      return base === undefined ? { type: 'dimm', slot } : { type: 'dimm', slot, base };
    }
    case 'virtio-s390':
      throw virError(ErrorCode.XML_ERROR, "virtio-s390 bus doesn't have an address");
    case 'none':
      break;
  }
  throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown address type '${type}'`);
}

function uint(el: XmlElement, name: string, base: 0 | 10 | 16): number {
  return propUInt(el, name, base) ?? 0;
}

function ulonglong(el: XmlElement, name: string, base: 0 | 10 | 16): bigint | undefined {
  const v = el.attrs[name];
  if (v === undefined) return undefined;
  const n = parseUnsigned(v, base);
  if (n === undefined || n > 0xffffffffffffffffn) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': '${v}'. Expected non-negative integer value`);
  }
  return n;
}

function parsePci(el: XmlElement): PciAddress {
  const addr: PciAddress = {
    type: 'pci',
    domain: uint(el, 'domain', 0),
    bus: uint(el, 'bus', 0),
    slot: uint(el, 'slot', 0),
    function: uint(el, 'function', 0),
  };
  const multi = propOnOff(el, 'multifunction');
  if (multi !== undefined) addr.multifunction = multi;
  if (!isPciAddressEmpty(addr)) checkPciAddressRange(addr);
  const zpci = el.children.find((c) => c.name === 'zpci');
  if (zpci !== undefined) {
    addr.zpci = {};
    if (zpci.attrs.uid !== undefined) addr.zpci.uid = zpci.attrs.uid;
    if (zpci.attrs.fid !== undefined) addr.zpci.fid = zpci.attrs.fid;
  }
  return addr;
}

/** virPCIDeviceAddressIsValid's range checks (parse stage, XML errors). */
export function checkPciAddressRange(addr: Pick<PciAddress, 'bus' | 'slot' | 'function'>): void {
  if (addr.bus > 0xff) throw virError(ErrorCode.XML_ERROR, `Invalid PCI address bus='0x${addr.bus.toString(16)}', must be <= 0xFF`);
  if (addr.slot > 0x1f) throw virError(ErrorCode.XML_ERROR, `Invalid PCI address slot='0x${addr.slot.toString(16)}', must be <= 0x1F`);
  if (addr.function > 7) throw virError(ErrorCode.XML_ERROR, `Invalid PCI address function=0x${addr.function.toString(16)}, must be <= 7`);
}

function parseUsbPort(text: string): number[] {
  const ports: number[] = [];
  let rest = text;
  for (let i = 0; i < USB_MAX_PORT_DEPTH; i++) {
    const m = /^[ \t\n\r\f\v]*\+?([0-9]+)/.exec(rest);
    if (m === null || BigInt(m[1]!) > 0xffffffffn) break;
    ports.push(Number(m[1]));
    rest = rest.slice(m[0].length);
    if (rest === '') return ports;
    if (rest.startsWith('.')) rest = rest.slice(1);
  }
  throw virError(ErrorCode.INTERNAL_ERROR, "Cannot parse <address> 'port' attribute");
}

function parseCcw(el: XmlElement): CcwAddress {
  const has = (n: string) => el.attrs[n] !== undefined;
  const addr: CcwAddress = { type: 'ccw', cssid: uint(el, 'cssid', 0), ssid: uint(el, 'ssid', 0), devno: uint(el, 'devno', 0) };
  if (addr.cssid > 0xfe || addr.ssid > 3 || addr.devno > 0xffff) {
    throw virError(ErrorCode.INTERNAL_ERROR,
      `Invalid specification for virtio ccw address: cssid='0x${addr.cssid.toString(16)}' ssid='0x${addr.ssid.toString(16)}' devno='0x${addr.devno.toString(16).padStart(4, '0')}'`);
  }
  const given = [has('cssid'), has('ssid'), has('devno')];
  if (given.some((g) => g) && !given.every((g) => g)) {
    throw virError(ErrorCode.INTERNAL_ERROR, 'Invalid partial specification for virtio ccw address');
  }
  return addr;
}

// ---------------------------------------------------------------- queries

/** "Empty" PCI address (domain, bus and slot all 0): libvirt treats it as "assign one for me". */
export function isPciAddressEmpty(a: Pick<PciAddress, 'domain' | 'bus' | 'slot'>): boolean {
  return a.domain === 0 && a.bus === 0 && a.slot === 0;
}

/** virPCIDeviceAddressAsString: 0000:00:1f.2 */
export function pciAddressString(a: Pick<PciAddress, 'domain' | 'bus' | 'slot' | 'function'>): string {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${hex(a.slot, 2)}.${a.function.toString(16)}`;
}

/**
 * The typed value of each <address> element this process parsed or built, so
 * that an address is read from its text once: an address assigned here reaches
 * the command line as the numbers it was assigned, never formatted and read
 * back. Nothing edits an <address> element's attributes in place; a changed
 * address is a new element (setDeviceAddress).
 */
const typedAddresses = new WeakMap<XmlElement, Readonly<DeviceAddress>>();

/** The typed <address> child of a device element, or undefined when it has none. */
export function deviceAddressOf(device: XmlElement): Readonly<DeviceAddress> | undefined {
  const el = device.children.find((c) => c.name === 'address');
  if (el === undefined) return undefined;
  let addr = typedAddresses.get(el);
  if (addr === undefined) {
    addr = parseDeviceAddress(el);
    typedAddresses.set(el, addr);
  }
  return addr;
}

/** Replaces (in place) or appends the device's <address> child. */
export function setDeviceAddress(device: XmlElement, addr: DeviceAddress): void {
  const formatted = formatDeviceAddress(addr);
  const i = device.children.findIndex((c) => c.name === 'address');
  if (i >= 0) device.children[i] = formatted;
  else device.children.push(formatted);
}

// ---------------------------------------------------------------- formatting

const hex = (n: number | bigint) => n.toString(16);

/** Builds the <address> element exactly as libvirt prints it; it keeps (a copy of) `a` as its typed value. */
export function formatDeviceAddress(a: DeviceAddress): XmlElement {
  const el = addressElement(a);
  // A copy: the caller may go on changing `a` (address assignment does).
  typedAddresses.set(el, copyAddress(a));
  return el;
}

/** A deep copy of an address: its only nested values are a USB port path and a PCI zpci pair. */
function copyAddress(a: DeviceAddress): DeviceAddress {
  if (a.type === 'usb') return { ...a, port: [...a.port] };
  if (a.type === 'pci' && a.zpci !== undefined) return { ...a, zpci: { ...a.zpci } };
  return { ...a };
}

function addressElement(a: DeviceAddress): XmlElement {
  const attrs: Record<string, string | undefined> = { type: a.type };
  const children: XmlElement[] = [];
  switch (a.type) {
    case 'pci':
      if (!isPciAddressEmpty(a)) {
        attrs.domain = `0x${hex(a.domain).padStart(4, '0')}`;
        attrs.bus = `0x${hex(a.bus).padStart(2, '0')}`;
        attrs.slot = `0x${hex(a.slot).padStart(2, '0')}`;
        attrs.function = `0x${a.function}`;
      }
      attrs.multifunction = a.multifunction;
      if (a.zpci !== undefined) children.push(element('zpci', { uid: a.zpci.uid, fid: a.zpci.fid }));
      break;
    case 'drive':
      Object.assign(attrs, { controller: `${a.controller}`, bus: `${a.bus}`, target: `${a.target}`, unit: `${a.unit}` });
      break;
    case 'virtio-serial':
      Object.assign(attrs, { controller: `${a.controller}`, bus: `${a.bus}`, port: `${a.port}` });
      break;
    case 'ccid':
      Object.assign(attrs, { controller: `${a.controller}`, slot: `${a.slot}` });
      break;
    case 'usb':
      attrs.bus = `${a.bus}`;
      if (isUsbPortValid(a.port)) attrs.port = usbPortString(a.port);
      break;
    case 'spapr-vio':
      if (a.reg !== undefined) attrs.reg = `0x${hex(a.reg).padStart(8, '0')}`;
      break;
    case 'ccw':
      Object.assign(attrs, { cssid: `0x${hex(a.cssid)}`, ssid: `0x${hex(a.ssid)}`, devno: `0x${hex(a.devno).padStart(4, '0')}` });
      break;
    case 'isa':
      if (a.iobase > 0) attrs.iobase = `0x${hex(a.iobase)}`;
      if (a.irq > 0) attrs.irq = `0x${hex(a.irq)}`;
      break;
    case 'dimm':
      attrs.slot = `${a.slot}`;
      if (a.base !== undefined && a.base !== 0n) attrs.base = `0x${hex(a.base)}`;
      break;
    case 'virtio-mmio':
    case 'unassigned':
      break;
  }
  return element('address', attrs, children);
}

/** A USB address names a port only when its first level is non-zero. */
export function isUsbPortValid(port: readonly number[]): boolean {
  return (port[0] ?? 0) !== 0;
}

/** "1.3" style port path, stopping at the first zero level. */
export function usbPortString(port: readonly number[]): string {
  const levels: number[] = [];
  for (const p of port) {
    if (p === 0) break;
    levels.push(p);
  }
  return levels.join('.');
}

// ---------------------------------------------------------------- schema

const ADDRESS_ATTRS: Record<string, readonly string[]> = {
  pci: ['type', 'domain', 'bus', 'slot', 'function', 'multifunction'],
  drive: ['type', 'controller', 'bus', 'target', 'unit'],
  'virtio-serial': ['type', 'controller', 'bus', 'port'],
  ccid: ['type', 'controller', 'slot'],
  usb: ['type', 'bus', 'port'],
  'spapr-vio': ['type', 'reg'],
  ccw: ['type', 'cssid', 'ssid', 'devno'],
  isa: ['type', 'iobase', 'irq'],
  dimm: ['type', 'slot', 'base'],
};

/** One schema object per address type: the schema engine caches what it derives from each. */
const ADDRESS_SCHEMAS: ReadonlyMap<string, ElementSchema> = new Map(
  Object.entries(ADDRESS_ATTRS).map(([type, attrs]) => [type, type === 'pci' ? { attrs, children: { zpci: { attrs: ['uid', 'fid'] } } } : { attrs }]),
);
const UNKNOWN_ADDRESS_SCHEMA: ElementSchema = { attrs: ['type'] };

/** Schema of a device's <address> child (D1's ElementSchema format). */
export function addressSchema(el: XmlElement): ElementSchema {
  return ADDRESS_SCHEMAS.get(el.attrs.type ?? '') ?? UNKNOWN_ADDRESS_SCHEMA;
}

