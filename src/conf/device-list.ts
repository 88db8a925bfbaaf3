// A view of a domain's <devices> as libvirt's per-class device lists, with each
// device's parsed address. Address assignment works on this view and writes
// the addresses back into the XML tree when it is done.

import { child, element, type XmlElement } from '../util/xml.js';
import {
  deviceAddressOf, isPciAddressEmpty, setDeviceAddress, type DeviceAddress, type PciAddress,
} from './device-address.js';

export interface Device {
  readonly el: XmlElement;
  /** The device's address, undefined when it has none (libvirt's type 'none'). */
  address: DeviceAddress | undefined;
  /** PCI connect flags computed by the hypervisor policy (0: never on PCI). */
  pciFlags: number;
}

/** libvirt's device-info iteration order (virDomainDeviceInfoIterate). */
const ITERATION_ORDER = [
  'disk', 'interface', 'sound', 'hostdev', 'video', 'controller', 'smartcard', 'serial', 'parallel',
  'channel', 'console', 'input', 'filesystem', 'watchdog', 'memballoon', 'rng', 'nvram', 'hub', 'shmem',
  'tpm', 'panic', 'memory', 'redirdev', 'iommu', 'vsock',
] as const;

export class DeviceList {
  readonly devices: XmlElement;
  private readonly byElement = new Map<XmlElement, Device>();

  constructor(domain: XmlElement) {
    let devices = child(domain, 'devices');
    if (devices === undefined) {
      devices = element('devices');
      domain.children.push(devices);
    }
    this.devices = devices;
    for (const el of devices.children) this.track(el);
  }

  private track(el: XmlElement): Device {
    // A copy of the element's typed address: assignment changes it, then writes it back.
    const address = deviceAddressOf(el);
    const dev: Device = { el, address: address === undefined ? undefined : structuredClone(address), pciFlags: 0 };
    this.byElement.set(el, dev);
    return dev;
  }

  get(el: XmlElement): Device {
    return this.byElement.get(el) ?? this.track(el);
  }

  /** Devices of one element name, in list order. */
  named(name: string): Device[] {
    return this.devices.children.filter((c) => c.name === name).map((c) => this.get(c));
  }

  controllers(type?: string): Device[] {
    return this.named('controller').filter((d) => type === undefined || d.el.attrs.type === type);
  }

  /** Host devices as libvirt lists them: those of <interface type='hostdev'> first. */
  hostdevs(): Device[] {
    return [...this.named('interface').filter((d) => d.el.attrs.type === 'hostdev'), ...this.named('hostdev')];
  }

  /** Every device in libvirt's iteration order (the order explicit addresses are collected in). */
  iterationOrder(): Device[] {
    return ITERATION_ORDER.flatMap((name) => {
      const devices = this.named(name);
      // The first console of type serial is libvirt's copy of the first serial: not a device of its own.
      if (name === 'console' && devices.length > 0 && ['serial', undefined].includes(child(devices[0]!.el, 'target')?.attrs.type)) {
        return devices.slice(1);
      }
      return devices;
    });
  }

  /**
   * Appends a controller after the last <controller> (libvirt appends to its
   * controller list; invented controllers come last).
   */
  appendController(attrs: Record<string, string>): Device {
    const el = element('controller', attrs);
    const kids = this.devices.children;
    let at = -1;
    for (let i = kids.length - 1; i >= 0; i--) {
      if (kids[i]!.name === 'controller') { at = i + 1; break; }
    }
    if (at < 0) {
      // No controller yet: controllers follow the disks (libvirt's output order).
      at = 0;
      for (let i = 0; i < kids.length; i++) if (kids[i]!.name === 'emulator' || kids[i]!.name === 'disk') at = i + 1;
    }
    kids.splice(at, 0, el);
    return this.track(el);
  }

  /** Appends a device element of a class (e.g. an auto-added <hub>) after the last one of its name. */
  appendDevice(el: XmlElement): Device {
    const kids = this.devices.children;
    let at = kids.length;
    for (let i = kids.length - 1; i >= 0; i--) {
      if (kids[i]!.name === el.name) { at = i + 1; break; }
    }
    kids.splice(at, 0, el);
    return this.track(el);
  }

  /** Writes every device's address back into its element. */
  writeBack(): void {
    const present = new Set(this.devices.children);
    for (const dev of this.byElement.values()) {
      if (dev.address !== undefined && present.has(dev.el)) setDeviceAddress(dev.el, dev.address);
    }
  }
}

/** The device has a real (non-empty) PCI address. */
export function hasPciAddress(dev: Device): dev is Device & { address: PciAddress } {
  return dev.address?.type === 'pci' && !isPciAddressEmpty(dev.address);
}

/** The device has no address or an empty PCI one: libvirt should pick one (virDeviceInfoPCIAddressIsWanted). */
export function wantsPciAddress(dev: Device): boolean {
  return dev.address === undefined || (dev.address.type === 'pci' && isPciAddressEmpty(dev.address));
}

/** Integer index of a controller element (-1 when absent, which post-parse normally fills). */
export function controllerIndex(el: XmlElement): number {
  const v = el.attrs.index;
  return v === undefined ? -1 : Number.parseInt(v, 10);
}
