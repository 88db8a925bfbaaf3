// USB port addresses (virDomainUSBAddress* in libvirt's conf/domain_addr.c and
// qemuDomainAssignUSBAddresses): controllers and hubs form trees of ports;
// every USB device gets the first free port, hubs are added when needed.

import { ErrorCode, virError } from '../util/error.js';
import { child, element } from '../util/xml.js';
import { controllerIndex, type Device, type DeviceList } from './device-list.js';
import { isUsbPortValid, USB_MAX_PORT_DEPTH, usbPortString, type UsbAddress } from './device-address.js';

/** Ports of a USB hub device. */
const HUB_PORTS = 8;

/** A controller's root ports or a hub's ports, 0-based; sparse, since a controller may claim up to INT_MAX ports. */
interface Hub { ports: number; used: Set<number>; hubs: Map<number, Hub> }

function newHub(ports: number): Hub {
  return { ports, used: new Set(), hubs: new Map() };
}

/** Root ports a USB controller model provides (companion UHCIs count as 0: their EHCI carries the ports). */
function controllerPorts(dev: Device): number {
  const model = dev.el.attrs.model;
  const explicit = dev.el.attrs.ports === undefined ? undefined : Number.parseInt(dev.el.attrs.ports, 10);
  switch (model) {
    case undefined:
    case 'piix3-uhci':
    case 'piix4-uhci':
    case 'vt82c686b-uhci': return 2;
    case 'ehci':
    case 'ich9-ehci1': return 6;
    case 'pci-ohci': return 3;
    case 'nec-xhci':
    case 'qemu-xhci': return explicit ?? 4;
    case 'qusb1':
    case 'qusb2': return explicit ?? 8;
    default: return 0;
  }
}

/** USB devices in libvirt's order (virDomainUSBDeviceDefForeach). */
function usbDevices(list: DeviceList, withHubs: boolean): Device[] {
  const target = (d: Device) => child(d.el, 'target');
  return [
    ...(withHubs ? list.named('hub').filter((d) => d.el.attrs.type === 'usb') : []),
    ...list.named('hostdev').filter((d) => d.el.attrs.type === 'usb'),
    ...list.named('disk').filter((d) => target(d)?.attrs.bus === 'usb'),
    ...list.controllers('ccid'),
    ...list.named('input').filter((d) => d.el.attrs.bus === 'usb'),
    ...list.named('serial').filter((d) => target(d)?.attrs.type === 'usb-serial'),
    ...list.named('sound').filter((d) => d.el.attrs.model === 'usb'),
    ...list.named('redirdev').filter((d) => d.el.attrs.bus === 'usb'),
  ];
}

function hasValidPort(dev: Device): boolean {
  return dev.address?.type === 'usb' && isUsbPortValid(dev.address.port);
}

class UsbPorts {
  /** by controller index, which may be anything up to INT_MAX */
  readonly buses = new Map<number, Hub>();

  addController(dev: Device): void {
    const ports = controllerPorts(dev);
    if (ports === 0) return;
    const idx = controllerIndex(dev.el);
    if (this.buses.has(idx)) throw virError(ErrorCode.XML_ERROR, `Duplicate USB controllers with index ${idx}`);
    this.buses.set(idx, newHub(ports));
  }

  /** The hub holding the addressed port, and the port's index in it. */
  private findPort(addr: UsbAddress): { hub: Hub; port: number } {
    const portStr = usbPortString(addr.port);
    let hub = this.buses.get(addr.bus);
    if (hub === undefined) throw virError(ErrorCode.XML_ERROR, `Missing USB bus ${addr.bus}`);
    let last = USB_MAX_PORT_DEPTH - 1;
    while (last > 0 && (addr.port[last] ?? 0) === 0) last--;
    for (let i = 0; i < last; i++) {
      const p = addr.port[i]! - 1;
      if (hub.ports <= p) {
        throw virError(ErrorCode.XML_ERROR, `port ${addr.port[i]} out of range in USB address bus: ${addr.bus} port: ${portStr}`);
      }
      const next: Hub | undefined = hub.hubs.get(p);
      if (next === undefined) {
        throw virError(ErrorCode.XML_ERROR, `there is no hub at port ${addr.port[i]} in USB address bus: ${addr.bus} port: ${portStr}`);
      }
      hub = next;
    }
    const port = (addr.port[last] ?? 0) - 1;
    if (port >= hub.ports) throw virError(ErrorCode.XML_ERROR, `requested USB port ${portStr} not present on USB bus ${addr.bus}`);
    return { hub, port };
  }

  reserve(addr: UsbAddress): void {
    const { hub, port } = this.findPort(addr);
    if (hub.used.has(port)) throw virError(ErrorCode.XML_ERROR, `Duplicate USB address bus ${addr.bus} port ${usbPortString(addr.port)}`);
    hub.used.add(port);
  }

  addHub(addr: UsbAddress): void {
    const { hub, port } = this.findPort(addr);
    if (hub.hubs.has(port)) throw virError(ErrorCode.XML_ERROR, `Duplicate USB hub on bus ${addr.bus} port ${usbPortString(addr.port)}`);
    hub.used.add(port);
    hub.hubs.set(port, newHub(HUB_PORTS));
  }

  assign(dev: Device): void {
    const wanted = dev.address?.type === 'usb' ? dev.address.bus : undefined;
    if (wanted !== undefined && !this.buses.has(wanted)) {
      throw virError(ErrorCode.XML_ERROR, `USB bus ${wanted} requested but no controller with that index is present`);
    }
    const candidates = wanted !== undefined ? [wanted] : [...this.buses.keys()].sort((a, b) => a - b);
    for (const bus of candidates) {
      const hub = this.buses.get(bus)!;
      const path: number[] = [];
      if (!freePort(hub, path, 0)) continue;
      const addr: UsbAddress = { type: 'usb', bus, port: path };
      this.reserve(addr);
      dev.address = addr;
      return;
    }
    throw virError(ErrorCode.INTERNAL_ERROR, 'No free USB ports');
  }
}

/** Depth-first search for a free port: this hub's ports first, then its child hubs. */
function freePort(hub: Hub, path: number[], level: number): boolean {
  let free = 0;
  while (hub.used.has(free)) free++;
  if (free < hub.ports) {
    path[level] = free + 1;
    return true;
  }
  if (level >= USB_MAX_PORT_DEPTH - 1) return false;
  for (const i of [...hub.hubs.keys()].sort((a, b) => a - b)) {
    if (!freePort(hub.hubs.get(i)!, path, level + 1)) continue;
    path[level] = i + 1;
    return true;
  }
  return false;
}

/** Assigns USB ports to every USB device of a new domain, adding hubs when the ports do not suffice. */
export function assignUsbAddresses(list: DeviceList): void {
  addHubsIfNeeded(list);
  const ports = new UsbPorts();
  for (const c of list.controllers('usb')) ports.addController(c);
  const hubs = list.named('hub').filter((d) => d.el.attrs.type === 'usb');
  for (const hub of hubs) if (hasValidPort(hub)) ports.addHub(hub.address as UsbAddress);
  for (const dev of usbDevices(list, false)) if (hasValidPort(dev)) ports.reserve(dev.address as UsbAddress);
  for (const hub of hubs) {
    if (hasValidPort(hub)) continue;
    ports.assign(hub);
    ports.addHub(hub.address as UsbAddress);
  }
  for (const dev of usbDevices(list, false)) {
    if (dev.address !== undefined && dev.address.type !== 'usb') continue;
    if (hasValidPort(dev)) continue;
    ports.assign(dev);
  }
}

function addHubsIfNeeded(list: DeviceList): void {
  const count = usbDevices(list, true).length;
  const usbControllers = list.controllers('usb');
  if (count > 0 && !usbControllers.some((c) => c.el.attrs.model !== 'none')) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'USB is disabled for this domain, but USB devices are present in the domain XML');
  }
  const hubCount = list.named('hub').filter((d) => d.el.attrs.type === 'usb').length;
  const available = usbControllers.reduce((n, c) => n + controllerPorts(c), 0) + hubCount * HUB_PORTS;
  if (count <= available) return;
  const needed = Math.ceil((count - available + 1) / (HUB_PORTS - 1));
  for (let i = 0; i < needed; i++) list.appendDevice(element('hub', { type: 'usb' }));
}
