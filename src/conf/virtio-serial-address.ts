// virtio-serial port addresses for virtio channels and consoles
// (virDomainVirtioSerialAddr* in libvirt's conf/domain_addr.c).

import { ErrorCode, virError } from '../util/error.js';
import { child } from '../util/xml.js';
import { controllerIndex, type Device, type DeviceList } from './device-list.js';
import type { VirtioSerialAddress } from './device-address.js';

/** libvirt's default number of ports of a virtio-serial controller. */
const DEFAULT_PORTS = 31;

/** `used` holds the taken ports only: `ports` may be up to INT_MAX. */
interface SerialController { index: number; ports: number; used: Set<number> }

class VirtioSerialPorts {
  /** Sorted by controller index. */
  readonly controllers: SerialController[] = [];

  add(index: number, ports: number): void {
    if (this.controllers.some((c) => c.index === index)) {
      throw virError(ErrorCode.INTERNAL_ERROR, `virtio serial controller with index ${index} already exists in the address set`);
    }
    const at = this.controllers.findIndex((c) => c.index > index);
    const entry = { index, ports, used: new Set<number>() };
    if (at < 0) this.controllers.push(entry);
    else this.controllers.splice(at, 0, entry);
  }

  reserve(addr: VirtioSerialAddress): void {
    const c = this.controllers.find((x) => x.index === addr.controller);
    if (c === undefined) throw virError(ErrorCode.XML_ERROR, `virtio serial controller ${addr.controller} is missing`);
    if (addr.port >= c.ports) {
      throw virError(ErrorCode.XML_ERROR, `virtio serial controller ${addr.controller} does not have port ${addr.port}`);
    }
    if (c.used.has(addr.port)) {
      throw virError(ErrorCode.XML_ERROR, `virtio serial port ${addr.port} on controller ${addr.controller} is already occupied`);
    }
    c.used.add(addr.port);
  }
}

function nextClear(c: SerialController, after: number): number {
  for (let i = after + 1; i < c.ports; i++) if (!c.used.has(i)) return i;
  return -1;
}

function isComplete(dev: Device): boolean {
  return dev.address?.type === 'virtio-serial' && dev.address.port !== 0;
}

function controllerPorts(dev: Device): number {
  const v = dev.el.attrs.ports;
  return v === undefined ? DEFAULT_PORTS : Number.parseInt(v, 10);
}

/**
 * Gives every virtio console and channel a port (consoles may use port 0,
 * channels start at 1), adding a virtio-serial controller when all are full.
 * Consoles reserve their port but, as in libvirt, do not get it written.
 */
export function assignVirtioSerialAddresses(list: DeviceList): void {
  const ports = new VirtioSerialPorts();
  for (const c of list.controllers('virtio-serial')) ports.add(controllerIndex(c.el), controllerPorts(c));
  for (const dev of list.iterationOrder()) {
    if (isComplete(dev)) ports.reserve(dev.address as VirtioSerialAddress);
  }
  const isVirtio = (d: Device) => child(d.el, 'target')?.attrs.type === 'virtio';
  for (const con of list.named('console').filter(isVirtio)) {
    if (!isComplete(con)) assignPort(list, ports, con, true);
  }
  for (const chan of list.named('channel').filter(isVirtio)) {
    if (!isComplete(chan)) assignPort(list, ports, chan, false);
  }
}

function assignPort(list: DeviceList, ports: VirtioSerialPorts, dev: Device, isConsole: boolean): void {
  const addr: VirtioSerialAddress = dev.address?.type === 'virtio-serial'
    ? { ...dev.address }
    : { type: 'virtio-serial', controller: 0, bus: 0, port: 0 };
  // A console's address is computed into a scratch copy (libvirt never writes it back).
  const portOnly = dev.address?.type === 'virtio-serial';
  if (portOnly) {
    const c = ports.controllers.find((x) => x.index === addr.controller);
    if (c === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `virtio-serial controller ${addr.controller} not available`);
    const port = nextClear(c, 0);
    if (port <= 0) throw virError(ErrorCode.XML_ERROR, `Unable to find a free port on virtio-serial controller ${addr.controller}`);
    addr.bus = 0;
    addr.port = port;
  } else {
    const start = isConsole ? -1 : 0;
    if (ports.controllers.length === 0) throw virError(ErrorCode.INTERNAL_ERROR, 'no virtio-serial controllers are available');
    let found = false;
    for (const c of ports.controllers) {
      const port = nextClear(c, start);
      if (port >= 0) {
        Object.assign(addr, { controller: c.index, bus: 0, port });
        found = true;
        break;
      }
    }
    if (!found) {
      const existing = new Set(list.controllers('virtio-serial').map((c) => controllerIndex(c.el)));
      let index = 0;
      while (existing.has(index)) index++;
      const added = list.appendController({ type: 'virtio-serial', index: `${index}` });
      ports.add(index, controllerPorts(added));
      Object.assign(addr, { controller: index, bus: 0, port: start + 1 });
    }
  }
  ports.reserve(addr);
  if (!isConsole) dev.address = addr;
}
