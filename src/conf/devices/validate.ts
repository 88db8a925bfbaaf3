// Hypervisor-independent device validation, run on the completed definition
// (libvirt's virDomainDeviceDefValidateInternal per device and the device
// parts of virDomainDefValidateInternal). Drivers add their own per-device
// checks through the callback, interleaved as libvirt does: the generic
// checks of a device, then the driver's, then the next device.

import { ErrorCode, virError } from '../../util/error.js';
import { formatXml, type XmlElement } from '../../util/xml.js';
import { deviceAddressOf, type DriveAddress } from '../device-address.js';
import { deviceContext, devicesNamed, firstChild, type DeviceContext } from './common.js';

export type DeviceValidator = (dev: XmlElement, ctx: DeviceContext) => void;

/** virDomainDeviceInfoIterate's order, consoles included. */
const VALIDATION_ORDER = [
  'disk', 'interface', 'sound', 'hostdev', 'video', 'controller', 'smartcard', 'serial', 'parallel', 'channel', 'console',
  'input', 'filesystem', 'watchdog', 'memballoon', 'rng', 'nvram', 'hub', 'shmem', 'tpm', 'memory', 'redirdev', 'iommu', 'vsock',
  'lease', 'graphics', 'audio', 'panic', 'redirfilter',
];

const GENERIC: Record<string, DeviceValidator> = {
  disk: validateDisk,
  controller: validateController,
  serial: validateChr,
  parallel: validateChr,
  channel: validateChr,
  console: validateChr,
  video: validateVideo,
  rng: validateRng,
  memory: validateMemory,
};

/** Every device: generic checks, then the driver's (virDomainDeviceDefValidate). */
export function validateDevices(domain: XmlElement, driverCheck?: DeviceValidator): void {
  const ctx = deviceContext(domain);
  for (const name of VALIDATION_ORDER) {
    for (const dev of devicesNamed(ctx, name)) {
      GENERIC[name]?.(dev, ctx);
      driverCheck?.(dev, ctx);
    }
  }
}

/** The device parts of virDomainDefValidateInternal: checks across devices. */
export function validateDeviceSet(domain: XmlElement): void {
  const ctx = deviceContext(domain);
  rejectDuplicateDiskTargets(ctx);
  validateVideoSet(ctx);
  validateHostdevSet(ctx);
  rejectDuplicateDriveAddresses(ctx);
}

const unsupported = (msg: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, msg);

function diskTarget(disk: XmlElement): XmlElement {
  return firstChild(disk, 'target') ?? { name: 'target', attrs: {}, children: [], text: '', line: 0 };
}

/** A disk's source chain: the disk itself, then each <backingStore>. */
function storageChain(disk: XmlElement): XmlElement[] {
  const chain: XmlElement[] = [];
  for (let s: XmlElement | undefined = disk; s; s = firstChild(s, 'backingStore')) chain.push(s);
  return chain;
}

/** The secret usage types libvirt knows (virSecretUsageType). */
const SECRET_USAGES = ['none', 'volume', 'ceph', 'iscsi', 'tls', 'vtpm'];

/** virDomainDiskDefValidateSourceChainOne: authentication and encryption of one source. */
function validateStorageSource(holder: XmlElement): void {
  const source = firstChild(holder, 'source');
  const auth = firstChild(source ?? holder, 'auth') ?? firstChild(holder, 'auth');
  const protocol = source?.attrs['protocol'];
  if (auth) {
    const secretType = firstChild(auth, 'secret')?.attrs['type'];
    if (secretType === undefined || !SECRET_USAGES.includes(secretType)) {
      throw unsupported(`unknown secret type '${secretType ?? '<null>'}'`);
    }
    if ((protocol === 'iscsi' && secretType !== 'iscsi') || (protocol === 'rbd' && secretType !== 'ceph')) {
      throw unsupported(`invalid secret type '${secretType}'`);
    }
  }
  const encryption = firstChild(source ?? holder, 'encryption') ?? firstChild(holder, 'encryption');
  if (encryption?.attrs['format'] === 'luks' && firstChild(encryption, 'cipher')) {
    throw unsupported('supplying <cipher> for domain disk definition is unnecessary');
  }
}

const isLocalBlock = (disk: XmlElement) => disk.attrs['type'] === 'block';

/** virDomainDiskDefValidate. */
function validateDisk(disk: XmlElement): void {
  const source = firstChild(disk, 'source');
  // <auth>/<encryption> both under <disk> and under its <source> are ambiguous (virDomainDiskDefParseXML)
  if (source && firstChild(source, 'auth') && firstChild(disk, 'auth')) {
    throw unsupported('an <auth> definition already found for disk source');
  }
  if (source && firstChild(source, 'encryption') && firstChild(disk, 'encryption')) {
    throw unsupported('an <encryption> definition already found for disk source');
  }
  for (const s of storageChain(disk)) validateStorageSource(s);
  if (disk.attrs['sgio'] === 'unfiltered') throw unsupported('unfiltered sgio is no longer supported');
  const target = diskTarget(disk);
  if (disk.attrs['device'] === 'lun') {
    if (disk.attrs['type'] === 'network') {
      if (source?.attrs['protocol'] !== 'iscsi') {
        throw unsupported(`disk device='lun' is not supported for protocol='${source?.attrs['protocol'] ?? ''}'`);
      }
    } else if (!isLocalBlock(disk) && disk.attrs['type'] !== 'volume') {
      throw unsupported("disk device='lun' is only valid for block type disk source");
    }
  } else {
    if (disk.attrs['rawio'] !== undefined) throw unsupported("rawio can be used only with device='lun'");
    if (disk.attrs['sgio'] !== undefined) throw unsupported("sgio can be used only with device='lun'");
  }
  const iotune = firstChild(disk, 'iotune');
  const tuned = (name: string) => Number(iotune && firstChild(iotune, name)?.text) > 0;
  for (const [kind, suffix] of [['bytes', '_sec'], ['iops', '_sec'], ['bytes', '_sec_max'], ['iops', '_sec_max']]) {
    if (tuned(`total_${kind}${suffix}`) && (tuned(`read_${kind}${suffix}`) || tuned(`write_${kind}${suffix}`))) {
      throw virError(ErrorCode.XML_ERROR, `total and read/write ${kind}${suffix} cannot be set at the same time`);
    }
  }
  const bus = target.attrs['bus'] ?? '';
  const addr = deviceAddressOf(disk);
  if (addr && ['ide', 'fdc', 'scsi', 'sata'].includes(bus) && addr.type !== 'drive') {
    throw unsupported(`Invalid address type '${addr.type}' for the disk '${target.attrs['dev'] ?? ''}' with the bus type '${bus}'`);
  }
  if (bus !== 'virtio') validateNonVirtioDisk(disk, bus);
  if (disk.attrs['type'] === 'nvme' && source?.attrs['namespace'] !== undefined && Number(source.attrs['namespace']) === 0) {
    throw unsupported("NVMe namespace can't be zero");
  }
  const device = disk.attrs['device'] ?? 'disk';
  if (target.attrs['tray'] !== undefined && device !== 'floppy' && device !== 'cdrom') throw unsupported('tray is only valid for cdrom and floppy');
  for (const [name, max] of [['vendor', 8], ['product', 16]] as const) {
    const value = firstChild(disk, name)?.text;
    if (value === undefined) continue;
    // virStringIsPrintable: printable ASCII only
    if (!/^[\x20-\x7e]*$/.test(value)) throw virError(ErrorCode.XML_ERROR, `disk ${name} is not printable string`);
    if (Buffer.byteLength(value) > max) throw unsupported(`disk ${name} is more than ${max} characters`);
  }
  if (device === 'floppy' && bus !== 'fdc') throw virError(ErrorCode.INTERNAL_ERROR, `Invalid bus type '${bus}' for floppy disk`);
  if (device !== 'floppy' && bus === 'fdc') throw virError(ErrorCode.INTERNAL_ERROR, `Invalid bus type '${bus}' for disk`);
  if (target.attrs['removable'] !== undefined && bus !== 'usb') throw virError(ErrorCode.XML_ERROR, 'removable is only valid for usb disks');
  validateStartupPolicy(disk, device);
  const wwn = firstChild(disk, 'wwn')?.text;
  // virValidateWWN: 16 hex digits, optionally after "0x"
  if (wwn !== undefined && !/^(0x)?[0-9a-fA-F]{16}$/.test(wwn)) throw virError(ErrorCode.INTERNAL_ERROR, `Malformed wwn: ${wwn}`);
  const dst = target.attrs['dev'] ?? '';
  if ((device === 'disk' || device === 'lun') && !['hd', 'sd', 'vd', 'xvd', 'ubd'].some((p) => dst.startsWith(p))) {
    throw virError(ErrorCode.INTERNAL_ERROR, `Invalid harddisk device name: ${dst}`);
  }
  if (device === 'floppy' && !dst.startsWith('fd')) throw virError(ErrorCode.INTERNAL_ERROR, `Invalid floppy device name: ${dst}`);
  // only a cdrom or floppy may lack media (a lun is a raw CD-ROM access that may be empty too)
  if (device === 'disk' && isEmptySource(disk)) throw virError(ErrorCode.NO_SOURCE, dst);
}

/** The part of virDomainDiskDefValidate for buses other than virtio. */
function validateNonVirtioDisk(disk: XmlElement, bus: string): void {
  const model = disk.attrs['model'];
  if (model === 'virtio' || model === 'virtio-transitional' || model === 'virtio-non-transitional') {
    throw unsupported(`disk model '${model}' not supported for bus '${bus}'`);
  }
  const driver = firstChild(disk, 'driver');
  if (driver?.attrs['queues'] !== undefined && Number(driver.attrs['queues']) !== 0) {
    throw unsupported('queues attribute in disk driver element is only supported by virtio-blk');
  }
  if (driver?.attrs['event_idx'] !== undefined) throw unsupported('disk event_idx mode supported only for virtio bus');
  if (driver?.attrs['ioeventfd'] !== undefined) throw unsupported('disk ioeventfd mode supported only for virtio bus');
  checkVirtioOptionsAbsent(driver);
}

/** virDomainCheckVirtioOptionsAreAbsent: virtio-only <driver> switches on a device that is not virtio. */
export function checkVirtioOptionsAbsent(driver: XmlElement | undefined): void {
  for (const option of ['iommu', 'ats', 'packed']) {
    if (driver?.attrs[option] !== undefined) throw unsupported(`${option} driver option is only supported for virtio devices`);
  }
  if (driver?.attrs['page_per_vq'] !== undefined) throw unsupported('page_per_vq option is only supported for virtio devices');
}

const LOCAL_SOURCE_ATTR: Record<string, string> = { file: 'file', block: 'dev', dir: 'dir' };

/** virStorageSourceIsEmpty: a local source without a path, or a network source without a protocol. */
function isEmptySource(disk: XmlElement): boolean {
  const type = disk.attrs['type'] ?? 'file';
  const source = firstChild(disk, 'source');
  const pathAttr = LOCAL_SOURCE_ATTR[type];
  if (pathAttr !== undefined) return source?.attrs[pathAttr] === undefined;
  return type === 'network' && source?.attrs['protocol'] === undefined;
}

/** virDomainDiskDefValidateStartupPolicy. */
function validateStartupPolicy(disk: XmlElement, device: string): void {
  const policy = firstChild(disk, 'source')?.attrs['startupPolicy'];
  if (policy === undefined) return;
  const type = disk.attrs['type'] ?? 'file';
  if (type !== 'volume' && LOCAL_SOURCE_ATTR[type] === undefined) {
    throw virError(ErrorCode.XML_ERROR, `disk startupPolicy '${policy}' is not allowed for disk of '${type}' type`);
  }
  if (device !== 'cdrom' && device !== 'floppy' && policy === 'requisite') {
    throw virError(ErrorCode.XML_ERROR, "disk startupPolicy 'requisite' is allowed only for cdrom or floppy");
  }
}

function validateController(controller: XmlElement): void {
  const model = controller.attrs['model'];
  if (controller.attrs['type'] === 'pci' && (model === 'pci-root' || model === 'pcie-root') && deviceAddressOf(controller)) {
    throw unsupported('pci-root and pcie-root controllers should not have an address');
  }
}

/** virDomainChrDefValidate: the character device's backend. */
function validateChr(chr: XmlElement): void {
  validateChrSource(chr, chr.attrs['type'] ?? 'null');
}

/** virDomainRNGDefValidate: an egd backend is a character device. */
function validateRng(rng: XmlElement): void {
  const backend = firstChild(rng, 'backend');
  if (backend?.attrs['model'] === 'egd') validateChrSource(backend, backend.attrs['type'] ?? 'null');
}

/** The guest's NUMA cells (virDomainNumaGetNodeCount). */
export function numaNodeCount(ctx: DeviceContext): number {
  const numa = firstChild(firstChild(ctx.domain, 'cpu') ?? ctx.devices, 'numa');
  return numa ? numa.children.filter((c) => c.name === 'cell').length : 0;
}

/** virDomainMemoryDefValidate: the target node must be a guest NUMA cell. */
function validateMemory(mem: XmlElement, ctx: DeviceContext): void {
  const node = firstChild(firstChild(mem, 'target') ?? mem, 'node');
  if (!node) return;
  const count = numaNodeCount(ctx);
  if (count === 0) throw virError(ErrorCode.XML_DETAIL, "can't add memory backend as guest has no NUMA nodes configured");
  if (Number(node.text.trim()) >= count) {
    throw virError(ErrorCode.XML_DETAIL, `can't add memory backend for guest node '${node.text.trim()}' as the guest has only '${count}' NUMA nodes configured`);
  }
}

/** virDomainChrSourceDefValidate: what each backend type requires. */
function validateChrSource(chr: XmlElement, type: string): void {
  const sources = chr.children.filter((c) => c.name === 'source');
  const source = sources[0];
  const internal = (msg: string) => virError(ErrorCode.INTERNAL_ERROR, msg);
  const reconnecting = (s: XmlElement | undefined) => firstChild(s ?? chr, 'reconnect')?.attrs['enabled'] === 'yes';
  switch (type) {
    case 'file':
    case 'dev':
    case 'pipe':
      if (source?.attrs['path'] === undefined) throw internal('Missing source path attribute for char device');
      break;
    case 'tcp':
      if (source?.attrs['host'] === undefined) throw internal('Missing source host attribute for char device');
      if (source.attrs['service'] === undefined) throw internal('Missing source service attribute for char device');
      if (source.attrs['mode'] === 'bind' && reconnecting(source)) throw internal('chardev reconnect is possible only for connect mode');
      break;
    case 'unix': {
      const targetType = firstChild(chr, 'target')?.attrs['type'];
      const generated = chr.name === 'channel' && (targetType === 'virtio' || targetType === 'xen');
      if (source?.attrs['path'] === undefined && !generated) throw internal('Missing source path attribute for char device');
      if (source?.attrs['mode'] === 'bind' && reconnecting(source)) throw internal('chardev reconnect is possible only for connect mode');
      break;
    }
  }
}

/** virDomainVideoDefValidate. */
function validateVideo(video: XmlElement, ctx: DeviceContext): void {
  const type = firstChild(video, 'model')?.attrs['type'];
  const videos = devicesNamed(ctx, 'video');
  if (videos.length > 1 && videos.some((v) => firstChild(v, 'model')?.attrs['type'] === 'none')) {
    throw unsupported("a 'none' video type must be the only video device defined for the domain");
  }
  if (type === 'ramfb' && deviceAddressOf(video)) throw unsupported('address not supported for video type ramfb');
}

/** virDomainDefVideoValidate: the parser put the primary first; a second one is an error. */
function validateVideoSet(ctx: DeviceContext): void {
  const [first, ...rest] = devicesNamed(ctx, 'video');
  const primary = (v: XmlElement) => firstChild(v, 'model')?.attrs['primary'] === 'yes';
  if (first && primary(first) && rest.some(primary)) throw unsupported('Only one primary video device is supported');
}

function rejectDuplicateDiskTargets(ctx: DeviceContext): void {
  const disks = devicesNamed(ctx, 'disk');
  const sourceName = (d: XmlElement) => {
    const s = firstChild(d, 'source');
    return s?.attrs['file'] ?? s?.attrs['dev'] ?? s?.attrs['dir'] ?? s?.attrs['name'] ?? s?.attrs['volume'] ?? '';
  };
  for (let i = 0; i < disks.length; i++) {
    for (let j = i + 1; j < disks.length; j++) {
      const a = diskTarget(disks[i]!).attrs['dev'];
      if (a !== undefined && a === diskTarget(disks[j]!).attrs['dev']) {
        throw virError(ErrorCode.XML_ERROR, `target '${a}' duplicated for disk sources '${sourceName(disks[i]!)}' and '${sourceName(disks[j]!)}'`);
      }
    }
  }
}

/** What identifies a host device's source (virDomainHostdevMatch). */
function hostdevSourceKey(hostdev: XmlElement): string {
  const source = firstChild(hostdev, 'source');
  if (!source) return '';
  const { startupPolicy: _s, guestReset: _g, ...attrs } = source.attrs;
  const kept = source.children.filter((c) => c.name !== 'seclabel' && c.name !== 'auth' && c.name !== 'initiator');
  return `${hostdev.attrs['mode'] ?? 'subsystem'}/${hostdev.attrs['type'] ?? ''}/${formatXml({ ...source, attrs, children: kept })}`;
}

/** virDomainDefHostdevValidate. */
function validateHostdevSet(ctx: DeviceContext): void {
  const hostdevs = devicesNamed(ctx, 'hostdev');
  const seen = new Set<string>();
  let ramfb = false;
  for (const h of hostdevs) {
    const key = hostdevSourceKey(h);
    if (seen.has(key)) throw virError(ErrorCode.XML_ERROR, 'Hostdev already exists in the domain configuration');
    seen.add(key);
    if (h.attrs['type'] === 'mdev' && h.attrs['ramfb'] === 'on') {
      if (ramfb) throw unsupported("Only one vgpu device can have 'ramfb' enabled");
      ramfb = true;
    }
  }
}

function driveAddress(dev: XmlElement): DriveAddress | undefined {
  const a = deviceAddressOf(dev);
  return a?.type === 'drive' ? a : undefined;
}

const sameDrive = (a: DriveAddress, b: DriveAddress) =>
  a.controller === b.controller && a.bus === b.bus && a.target === b.target && a.unit === b.unit;

const isScsiHostdev = (h: XmlElement) => h.attrs['type'] === 'scsi';

/** virDomainDefDuplicateDriveAddressesValidate: disks per bus, then SCSI host devices against each other and SCSI disks. */
function rejectDuplicateDriveAddresses(ctx: DeviceContext): void {
  const disks = devicesNamed(ctx, 'disk');
  for (let i = 0; i < disks.length; i++) {
    const a = driveAddress(disks[i]!);
    if (!a) continue;
    const bus = diskTarget(disks[i]!).attrs['bus'];
    for (const other of disks.slice(i + 1)) {
      const b = driveAddress(other);
      if (b && diskTarget(other).attrs['bus'] === bus && sameDrive(a, b)) {
        throw unsupported(
          `Found duplicate drive address for disk with target name '${diskTarget(disks[i]!).attrs['dev']}' controller='${a.controller}' bus='${a.bus}' target='${a.target}' unit='${a.unit}'`,
        );
      }
    }
  }
  const hostdevs = devicesNamed(ctx, 'hostdev').filter(isScsiHostdev);
  // libvirt prints the bus and controller numbers swapped in these two messages
  const where = (a: DriveAddress) => `controller='${a.bus}' bus='${a.controller}' target='${a.target}' unit='${a.unit}'`;
  for (let i = 0; i < hostdevs.length; i++) {
    const a = driveAddress(hostdevs[i]!);
    if (!a) continue;
    for (const other of hostdevs.slice(i + 1)) {
      const b = driveAddress(other);
      if (b && sameDrive(a, b)) throw unsupported(`SCSI host address ${where(a)} in use by another SCSI host device`);
    }
    if (disks.some((d) => diskTarget(d).attrs['bus'] === 'scsi' && driveAddress(d) && sameDrive(driveAddress(d)!, a))) {
      throw unsupported(`SCSI host address ${where(a)} in use by another SCSI disk`);
    }
  }
}

/** virDomainDriveAddressIsUsedByDisk for SCSI disks. */
export function scsiDiskAt(ctx: DeviceContext, addr: Omit<DriveAddress, 'type'>): boolean {
  return devicesNamed(ctx, 'disk').some((d) => {
    const a = diskTarget(d).attrs['bus'] === 'scsi' ? driveAddress(d) : undefined;
    return a !== undefined && sameDrive(a, { type: 'drive', ...addr });
  });
}

/** The drive addresses SCSI disks and SCSI host devices occupy, as "controller:bus:target:unit". */
export function usedScsiDriveAddresses(ctx: DeviceContext): Set<string> {
  const used = new Set<string>();
  for (const d of devicesNamed(ctx, 'disk')) {
    const a = diskTarget(d).attrs['bus'] === 'scsi' ? driveAddress(d) : undefined;
    if (a) used.add(driveKey(a));
  }
  for (const h of devicesNamed(ctx, 'hostdev')) {
    const a = isScsiHostdev(h) ? driveAddress(h) : undefined;
    if (a) used.add(driveKey(a));
  }
  return used;
}

export const driveKey = (a: Omit<DriveAddress, 'type'>) => `${a.controller}:${a.bus}:${a.target}:${a.unit}`;

/** virDomainDriveAddressIsUsedByHostdev, for the disk address assignment. */
export function scsiHostdevAt(ctx: DeviceContext, addr: Omit<DriveAddress, 'type'>): boolean {
  return devicesNamed(ctx, 'hostdev').some((h) => {
    const a = isScsiHostdev(h) ? driveAddress(h) : undefined;
    return a !== undefined && sameDrive(a, { type: 'drive', ...addr });
  });
}
