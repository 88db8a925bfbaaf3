// Where a device sits, as -device properties: bus/addr on PCI, bus/port on
// USB, bus/nr on virtio-serial, bus/unit/scsi-id/lun on drive buses, iobase
// on ISA (libvirt's qemuBuildDeviceAddressProps).
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import { deviceAddressOf, usbPortString, type DriveAddress } from '../../../conf/device-address.js';
import type { DomainView, JsonProps } from './context.js';

/** The QEMU bus id of PCI bus number `bus`: the alias of the PCI controller with that index. */
export function pciBusName(view: DomainView, bus: number): string {
  const cont = view.controller('pci', bus);
  if (!cont) throw new Error(`internal error: Could not find PCI controller with index '${bus}'`);
  const alias = view.alias(cont);
  if (alias.startsWith('ua-')) {
    if (cont.attrs.model === 'pci-root') return 'pci.0';
    if (cont.attrs.model === 'pcie-root') return 'pcie.0';
  }
  return alias;
}

const hex = (n: number) => n.toString(16);

/** Address properties of `device` appended to `out` (which already holds driver/id etc.). */
export function addAddressProps(view: DomainView, device: XmlElement, out: JsonProps): void {
  const addr = deviceAddressOf(device);
  switch (addr?.type) {
    case 'pci': {
      out.bus = pciBusName(view, addr.bus);
      if (addr.multifunction !== undefined) out.multifunction = addr.multifunction === 'on';
      out.addr = addr.function !== 0 ? `0x${hex(addr.slot)}.0x${hex(addr.function)}` : `0x${hex(addr.slot)}`;
      const acpi = child(device, 'acpi')?.attrs.index;
      if (acpi !== undefined && Number(acpi) > 0) out['acpi-index'] = Number(acpi);
      return;
    }
    case 'usb': {
      const cont = view.controller('usb', addr.bus);
      out.bus = `${cont ? view.alias(cont) : 'usb'}.0`;
      const port = usbPortString(addr.port);
      if (port !== '') out.port = port;
      return;
    }
    case 'virtio-serial': {
      const cont = view.controller('virtio-serial', addr.controller);
      out.bus = `${cont ? view.alias(cont) : 'virtio-serial0'}.${addr.bus}`;
      out.nr = addr.port;
      return;
    }
    case 'isa':
      out.iobase = addr.iobase;
      if (addr.irq > 0) out.irq = addr.irq;
      return;
    case 'dimm':
      out.slot = addr.slot;
      if (addr.base !== undefined && addr.base > 0n) out.addr = Number(addr.base);
      return;
    case 'drive':
      addDriveAddressProps(view, device, addr, out);
      return;
    case 'spapr-vio':
      if (addr.reg !== undefined && addr.reg > 0n) out.reg = Number(addr.reg);
      return;
    case 'ccw':
      out.devno = `${hex(addr.cssid)}.${hex(addr.ssid)}.${hex(addr.devno).padStart(4, '0')}`;
      return;
    default:
      return;
  }
}

function addDriveAddressProps(view: DomainView, device: XmlElement, addr: Readonly<DriveAddress>, out: JsonProps): void {
  const bus = child(device, 'target')?.attrs.bus ?? (device.name === 'hostdev' ? 'scsi' : '');
  const ctl = addr.controller;
  switch (bus) {
    case 'ide': {
      const alias = view.hasBuiltinIde ? 'ide' : aliasOf(view, 'ide', ctl);
      out.bus = `${alias}.${addr.bus}`;
      out.unit = addr.unit;
      return;
    }
    case 'sata': {
      const alias = view.family === 'q35' && ctl === 0 ? 'ide' : aliasOf(view, 'sata', ctl);
      out.bus = `${alias}.${addr.unit}`;
      return;
    }
    case 'fdc':
      out.unit = addr.unit;
      return;
    case 'scsi': {
      const cont = view.controller('scsi', ctl);
      if (!cont) throw virError(ErrorCode.INTERNAL_ERROR, `unable to find a SCSI controller for idx=${ctl}`, ErrorDomain.QEMU);
      const alias = view.alias(cont);
      if (['lsilogic', 'ncr53c90', 'dc390', 'am53c974'].includes(cont.attrs.model ?? '')) {
        out.bus = `${alias}.${addr.bus}`;
        out['scsi-id'] = addr.unit;
      } else {
        out.bus = `${alias}.0`;
        out.channel = addr.bus;
        out['scsi-id'] = addr.target;
        out.lun = addr.unit;
      }
      return;
    }
    default:
      return;
  }
}

function aliasOf(view: DomainView, type: string, index: number): string {
  const cont = view.controller(type, index);
  return cont ? view.alias(cont) : `${type}${index}`;
}

/** The "-pci"/"-ccw"/"-device" suffix of a virtio device model, from its address type. */
export function virtioBusSuffix(device: XmlElement): string {
  const type = deviceAddressOf(device)?.type;
  if (type === 'ccw') return '-ccw';
  if (type === 'virtio-mmio') return '-device';
  return '-pci';
}

/** A virtio device's driver name: base + bus suffix + (non-)transitional suffix from its model. */
export function virtioModel(device: XmlElement, base: string, model: string | undefined, busSuffix = true): string {
  let out = base + (busSuffix ? virtioBusSuffix(device) : '');
  if (model === 'virtio-transitional') out += '-transitional';
  else if (model === 'virtio-non-transitional') out += '-non-transitional';
  return out;
}

/** iommu/ats/packed/page_per_vq from a device's <driver>, as libvirt's virtio options. */
export function addVirtioOptions(device: XmlElement, out: JsonProps): void {
  const driver = child(device, 'driver');
  if (!driver) return;
  const tri = (v: string | undefined) => (v === 'on' ? true : v === 'off' ? false : undefined);
  const pairs: Array<[string, string]> = [['iommu_platform', 'iommu'], ['ats', 'ats'], ['packed', 'packed'], ['page-per-vq', 'page_per_vq']];
  for (const [prop, attr] of pairs) {
    const v = tri(driver.attrs[attr]);
    if (v !== undefined) out[prop] = v;
  }
}

/** rombar/romfile from <rom>. */
export function addRomProps(device: XmlElement, out: JsonProps): void {
  const rom = child(device, 'rom');
  if (!rom) return;
  if (rom.attrs.enabled === 'no') {
    out.romfile = '';
    return;
  }
  if (rom.attrs.bar === 'off') out.rombar = 0;
  else if (rom.attrs.bar === 'on') out.rombar = 1;
  if (rom.attrs.file !== undefined) out.romfile = rom.attrs.file;
}
