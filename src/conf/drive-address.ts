// Default <address type='drive'/> of disks on controller buses (IDE, SATA,
// SCSI, FDC), derived from the target name at post-parse time
// (virDomainDiskDefAssignAddress). It runs before implicit controllers are
// added, since those are created from the disks' controller numbers.

import { ErrorCode, virError } from '../util/error.js';
import { child, type XmlElement } from '../util/xml.js';
import { parseDeviceAddress, setDeviceAddress, type DriveAddress } from './device-address.js';

const DISK_PREFIXES = ['fd', 'hd', 'vd', 'sd', 'xvd', 'ubd'];

/** Index of a disk target name: sda → 0, hdz → 25, vdaa → 26; -1 when not such a name (virDiskNameToIndex). */
export function diskNameToIndex(name: string): number {
  const prefix = DISK_PREFIXES.find((p) => name.startsWith(p));
  if (prefix === undefined) return -1;
  const m = /^([a-z]+)([0-9]*)$/.exec(name.slice(prefix.length));
  if (m === null) return -1;
  let idx = 0;
  [...m[1]!].forEach((ch, i) => {
    idx = (idx + (i < 1 ? 0 : 1)) * 26 + (ch.charCodeAt(0) - 97);
  });
  return idx;
}

/** Units per bus on a narrow SCSI bus, as the QEMU driver uses. */
const SCSI_UNITS_PER_CONTROLLER = 7;

/**
 * The drive address libvirt derives for a disk without an address, or
 * undefined when its bus is not controller based. `hostdevs` are the domain's
 * <hostdev> elements, checked for a SCSI address clash.
 */
export function defaultDriveAddress(disk: XmlElement, hostdevs: readonly XmlElement[] = []): DriveAddress | undefined {
  const target = child(disk, 'target');
  const dev = target?.attrs.dev;
  if (dev === undefined) return undefined;
  const idx = diskNameToIndex(dev);
  if (idx < 0) throw virError(ErrorCode.XML_ERROR, `Unknown disk name '${dev}' and no address specified`);
  const drive = (controller: number, bus: number, unit: number): DriveAddress => ({ type: 'drive', controller, bus, target: 0, unit });
  switch (target?.attrs.bus) {
    case 'scsi': {
      const addr = drive(Math.floor(idx / SCSI_UNITS_PER_CONTROLLER), 0, idx % SCSI_UNITS_PER_CONTROLLER);
      const clash = hostdevs.some((h) => {
        if (h.attrs.type !== 'scsi') return false;
        const a = child(h, 'address');
        if (a?.attrs.type !== 'drive') return false;
        const d = parseDeviceAddress(a) as DriveAddress;
        return d.controller === addr.controller && d.bus === addr.bus && d.target === addr.target && d.unit === addr.unit;
      });
      if (clash) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED,
          `using disk target name '${dev}' conflicts with SCSI host device address controller='${addr.controller}' bus='0' target='0' unit='${addr.unit}`);
      }
      return addr;
    }
    case 'ide': return drive(Math.floor(idx / 4), Math.floor((idx % 4) / 2), idx % 2);
    case 'sata': return drive(Math.floor(idx / 6), 0, idx % 6);
    case 'fdc': return drive(Math.floor(idx / 2), 0, idx % 2);
    default: return undefined;
  }
}

/** Post-parse step for one disk: writes its default drive address when it has no address. */
export function assignDiskDriveAddress(disk: XmlElement, domain: XmlElement): void {
  if (child(disk, 'address') !== undefined) return;
  const hostdevs = child(domain, 'devices')?.children.filter((c) => c.name === 'hostdev') ?? [];
  const addr = defaultDriveAddress(disk, hostdevs);
  if (addr !== undefined) setDeviceAddress(disk, addr);
}

/** Unit limits of SCSI controller models (virDomainSCSIDriveAddressIsUsed). */
function scsiUnitUnusable(model: string | undefined, unit: number): boolean {
  const limits: Record<string, { max?: number; reserved?: number }> = {
    'virtio-scsi': { max: 16383 }, 'virtio-transitional': { max: 16383 }, 'virtio-non-transitional': { max: 16383 },
    ibmvscsi: { max: 31, reserved: 7 }, lsisas1068: { max: 1 }, lsisas1078: { max: 255 },
    lsilogic: { reserved: 7 }, vmpvscsi: { reserved: 7 }, buslogic: { reserved: 7 },
    ncr53c90: { max: 6 }, dc390: { max: 6 }, am53c974: { max: 6 },
  };
  const l = limits[model ?? ''] ?? {};
  return (l.max !== undefined && unit > l.max) || unit === l.reserved;
}

function driveOf(el: XmlElement): DriveAddress | undefined {
  const a = child(el, 'address');
  return a?.attrs.type === 'drive' ? parseDeviceAddress(a) as DriveAddress : undefined;
}

function sameDrive(a: DriveAddress, b: DriveAddress): boolean {
  return a.controller === b.controller && a.bus === b.bus && a.target === b.target && a.unit === b.unit;
}

/**
 * Post-parse step for a SCSI <hostdev>: without an address it takes the first
 * free unit (bus 0, target 0) of the lowest SCSI controller number; an address
 * a SCSI disk already uses is refused (virDomainHostdevAssignAddress).
 */
export function assignScsiHostdevDriveAddress(hostdev: XmlElement, domain: XmlElement): void {
  if ((hostdev.attrs.mode ?? 'subsystem') !== 'subsystem' || hostdev.attrs.type !== 'scsi') return;
  const devices = child(domain, 'devices')?.children ?? [];
  const scsiDisks = devices.filter((d) => d.name === 'disk' && child(d, 'target')?.attrs.bus === 'scsi');
  const hostdevs = devices.filter((d) => d.name === 'hostdev' && d.attrs.type === 'scsi');
  const used = (addr: DriveAddress) => {
    const cont = devices.find((d) => d.name === 'controller' && d.attrs.type === 'scsi'
      && Number.parseInt(d.attrs.index ?? '-1', 10) === addr.controller);
    if (cont !== undefined && scsiUnitUnusable(cont.attrs.model, addr.unit)) return true;
    return [...scsiDisks, ...hostdevs].some((d) => {
      const other = driveOf(d);
      return other !== undefined && sameDrive(other, addr);
    });
  };
  if (child(hostdev, 'address') === undefined) {
    for (let controller = 0; ; controller++) {
      const unit = [...Array(SCSI_UNITS_PER_CONTROLLER).keys()]
        .find((u) => !used({ type: 'drive', controller, bus: 0, target: 0, unit: u }));
      if (unit !== undefined) {
        setDeviceAddress(hostdev, { type: 'drive', controller, bus: 0, target: 0, unit });
        break;
      }
    }
  }
  const addr = driveOf(hostdev);
  if (addr !== undefined && scsiDisks.some((d) => { const o = driveOf(d); return o !== undefined && sameDrive(o, addr); })) {
    throw virError(ErrorCode.XML_ERROR,
      `SCSI host address controller='${addr.controller}' bus='${addr.bus}' target='${addr.target}' unit='${addr.unit}' in use by a SCSI disk`);
  }
}
