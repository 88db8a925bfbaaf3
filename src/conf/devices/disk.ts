// <disk>: schema in virDomainDiskDefFormat's order, libvirt's insertion order
// (by bus, then drive index), generic post-parse (bus from the target name,
// cdrom read-only, drive addresses).

import { ErrorCode, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import { deviceAddressOf, setDeviceAddress } from '../device-address.js';
import type { ElementSchema, SchemaRef } from '../schema.js';
import { parseScaledValue } from '../units.js';
import { propEnum } from '../xml-props.js';
import { scsiHostdevAt } from './validate.js';
import { dropGeneratedAlias, ensureChild, firstChild, infoChildren, setDefault, sourceSeclabelSchema, type DeviceContext } from './common.js';

const DISK_TYPES = ['none', 'file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser'] as const;
const DISK_DEVICES = ['disk', 'cdrom', 'floppy', 'lun'] as const;
const DISK_BUSES = ['none', 'ide', 'fdc', 'scsi', 'virtio', 'xen', 'usb', 'uml', 'sata', 'sd'] as const;

const secretSchema: ElementSchema = { attrs: ['type', 'usage', 'uuid'] };
const authSchema: ElementSchema = { attrs: ['username'], children: { secret: secretSchema } };
const encryptionSchema: ElementSchema = {
  attrs: ['format', 'engine'],
  children: { secret: secretSchema, cipher: { attrs: ['name', 'size', 'mode', 'hash'] }, ivgen: { attrs: ['name', 'hash'] } },
};

/** virDomainDiskSourceFormat (also used by backingStore and disk mirrors). */
export const storageSourceSchema: ElementSchema = {
  attrs: ['protocol', 'name', 'query', 'tls', 'tlsHostname', 'file', 'fdgroup', 'dev', 'dir', 'pool', 'volume', 'mode', 'type', 'managed', 'namespace', 'path', 'startupPolicy', 'index'],
  children: {
    host: { attrs: ['name', 'port', 'transport', 'socket'] },
    identity: { attrs: ['user', 'group'] },
    snapshot: { attrs: ['name'] },
    config: { attrs: ['file'] },
    initiator: { children: { iqn: { attrs: ['name'] } } },
    ssl: { attrs: ['verify'] },
    cookies: { children: { cookie: { attrs: ['name'], text: true } } },
    readahead: { attrs: ['size'] },
    timeout: { attrs: ['seconds'] },
    address: { attrs: ['domain', 'bus', 'slot', 'function'] },
    reconnect: { attrs: ['delay', 'enabled', 'timeout'] },
    slices: { children: { slice: { attrs: ['type', 'offset', 'size'] } } },
    seclabel: sourceSeclabelSchema,
    auth: authSchema,
    encryption: encryptionSchema,
    reservations: { attrs: ['enabled', 'managed'], children: { source: { attrs: ['type', 'path', 'mode'] } } },
  },
};

/** <format> of a backing store or mirror image (virDomainDiskBackingStoreParse, virDomainDiskDefMirrorParse). */
const imageFormatSchema: ElementSchema = {
  attrs: ['type'],
  children: { metadata_cache: { children: { max_size: { attrs: ['unit'], text: true } } } },
};

const backingStoreSchema: SchemaRef = (): ElementSchema => ({
  attrs: ['type', 'index'],
  children: {
    format: imageFormatSchema,
    source: storageSourceSchema,
    backingStore: backingStoreSchema,
  },
});

const IOTUNE_FIELDS = [
  'total_bytes_sec', 'read_bytes_sec', 'write_bytes_sec', 'total_iops_sec', 'read_iops_sec', 'write_iops_sec',
  'total_bytes_sec_max', 'read_bytes_sec_max', 'write_bytes_sec_max', 'total_iops_sec_max', 'read_iops_sec_max', 'write_iops_sec_max',
  'size_iops_sec', 'group_name',
  'total_bytes_sec_max_length', 'read_bytes_sec_max_length', 'write_bytes_sec_max_length',
  'total_iops_sec_max_length', 'read_iops_sec_max_length', 'write_iops_sec_max_length',
];

export const diskSchema: ElementSchema = {
  attrs: ['type', 'device', 'model', 'rawio', 'sgio', 'snapshot'],
  children: {
    driver: {
      attrs: ['name', 'type', 'cache', 'error_policy', 'rerror_policy', 'io', 'ioeventfd', 'event_idx', 'copy_on_read', 'discard', 'iothread', 'detect_zeroes', 'queues', 'queue_size', 'iommu', 'ats', 'packed', 'page_per_vq'],
      children: { metadata_cache: { children: { max_size: { attrs: ['unit'], text: true } } } },
    },
    auth: authSchema,
    source: storageSourceSchema,
    backingStore: backingStoreSchema,
    backenddomain: { attrs: ['name'] },
    geometry: { attrs: ['cyls', 'heads', 'secs', 'trans'] },
    blockio: { attrs: ['logical_block_size', 'physical_block_size'] },
    mirror: { attrs: ['type', 'file', 'format', 'job', 'ready'], children: { format: imageFormatSchema, source: storageSourceSchema, backingStore: backingStoreSchema } },
    target: { attrs: ['dev', 'bus', 'tray', 'removable', 'rotation_rate'] },
    iotune: { children: Object.fromEntries(IOTUNE_FIELDS.map((f) => [f, { text: true }])) },
    readonly: {},
    shareable: {},
    transient: { attrs: ['shareBacking'] },
    serial: { text: true },
    wwn: { text: true },
    vendor: { text: true },
    product: { text: true },
    encryption: encryptionSchema,
    ...infoChildren({ boot: true }),
  },
};

/** virDiskNameToIndex: "sda" → 0, "hdz" → 25, "vdaa" → 26; -1 when not a disk name. */
export function diskNameToIndex(name: string): number {
  const m = /^(?:fd|hd|vd|sd|xvd|ubd)([a-z]+)[0-9]*$/.exec(name);
  if (!m) return -1;
  let idx = 0;
  [...m[1]!].forEach((ch, i) => {
    idx = (idx + (i < 1 ? 0 : 1)) * 26 + (ch.charCodeAt(0) - 97);
  });
  return idx;
}

function diskBus(disk: XmlElement): string {
  return firstChild(disk, 'target')?.attrs['bus'] ?? 'none';
}

function diskDst(disk: XmlElement): string | undefined {
  return firstChild(disk, 'target')?.attrs['dev'];
}

/** Parse-time checks of one disk (the subset of virDomainDiskDefParseXML the corpus exercises). */
export function parseDisk(disk: XmlElement): void {
  propEnum(disk, 'type', DISK_TYPES);
  propEnum(disk, 'device', DISK_DEVICES);
  const target = firstChild(disk, 'target');
  if (!target || target.attrs['dev'] === undefined) throw virError(ErrorCode.NO_TARGET, diskSourceName(disk));
  propEnum(target, 'bus', DISK_BUSES);
}

function diskSourceName(disk: XmlElement): string | undefined {
  const src = firstChild(disk, 'source');
  if (!src) return undefined;
  return src.attrs['file'] ?? src.attrs['dev'] ?? src.attrs['dir'] ?? src.attrs['name'] ?? src.attrs['volume'];
}

/** virDomainDiskInsert: a disk goes before the first disk on its bus with a higher index, else after the last disk on its bus. */
export function insertDisk(list: XmlElement[], disk: XmlElement): void {
  const bus = diskBus(disk);
  const dst = diskDst(disk);
  let insertAt = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const other = list[i]!;
    if (diskBus(other) !== bus) continue;
    const odst = diskDst(other);
    if (odst !== undefined && dst !== undefined && diskNameToIndex(odst) > diskNameToIndex(dst)) insertAt = i;
    else if (insertAt === -1) insertAt = i + 1;
  }
  if (insertAt < 0) list.push(disk);
  else list.splice(insertAt, 0, disk);
}

/** virStorageSourceNetworkDefaultPort (rbd and nfs have none). */
const DEFAULT_PORTS: Record<string, string> = {
  http: '80', https: '443', ftp: '21', ftps: '990', tftp: '69', sheepdog: '7000', nbd: '10809', ssh: '22', iscsi: '3260', gluster: '24007', vxhs: '9999',
};

/**
 * What parsing a storage source for an inactive definition keeps: no runtime
 * indexes, no skipped security labels, default network ports made explicit,
 * metadata cache sizes in bytes.
 */
function normalizeStorageSource(holder: XmlElement): void {
  const src = firstChild(holder, 'source');
  delete holder.attrs['index'];
  if (src) {
    delete src.attrs['index'];
    src.children = src.children.filter((c) => !(c.name === 'seclabel' && c.attrs['labelskip'] === 'yes'));
    const port = DEFAULT_PORTS[src.attrs['protocol'] ?? ''];
    for (const host of src.children.filter((c) => c.name === 'host')) {
      if (port !== undefined && host.attrs['port'] === undefined && host.attrs['transport'] !== 'unix') host.attrs['port'] = port;
    }
  }
  const format = firstChild(holder, 'format') ?? firstChild(holder, 'driver');
  const maxSize = format && firstChild(firstChild(format, 'metadata_cache') ?? format, 'max_size');
  if (maxSize && maxSize !== format) {
    maxSize.text = String(parseScaledValue(maxSize.text.trim(), maxSize.attrs['unit'], './max_size', 1n, 0xffffffffffffffffn));
    maxSize.attrs = { unit: 'bytes' };
  }
  const backing = firstChild(holder, 'backingStore');
  if (backing) normalizeStorageSource(backing);
}

/** Generic post-parse (virDomainDiskDefPostParse). */
export function postParseDisk(disk: XmlElement, ctx: DeviceContext): void {
  dropGeneratedAlias(disk);
  // Block job state (<mirror>) belongs to running domains only.
  disk.children = disk.children.filter((c) => c.name !== 'mirror');
  setDefault(disk, 'type', 'file');
  setDefault(disk, 'device', 'disk');
  const device0 = disk.attrs['device'];
  const source = firstChild(disk, 'source');
  if ((device0 === 'cdrom' || device0 === 'floppy') && (!source || Object.keys(source.attrs).every((a) => a === 'startupPolicy' || a === 'index'))) {
    // An empty removable drive is stored as a file disk without a path.
    disk.attrs['type'] = 'file';
  }
  normalizeStorageSource(disk);
  const target = ensureChild(disk, 'target');
  if (target.attrs['tray'] === 'closed') delete target.attrs['tray'];
  if (target.attrs['dev']?.startsWith('ioemu:')) target.attrs['dev'] = target.attrs['dev'].slice('ioemu:'.length);
  const device = disk.attrs['device'];
  if (device === 'cdrom') ensureChild(disk, 'readonly');
  if (target.attrs['bus'] === undefined) target.attrs['bus'] = defaultBus(device!, target.attrs['dev']);
  const readonly = firstChild(disk, 'readonly') !== undefined;
  // vhost-user disks cannot be snapshotted.
  if (disk.attrs['type'] === 'vhostuser') setDefault(disk, 'snapshot', 'no');
  if (disk.attrs['snapshot'] === 'no' && readonly) delete disk.attrs['snapshot'];
  if (disk.attrs['type'] === 'network') {
    const src = firstChild(disk, 'source');
    if (src && src.attrs['protocol'] === 'iscsi' && src.attrs['name'] !== undefined && !src.attrs['name'].includes('/')) {
      src.attrs['name'] = `${src.attrs['name']}/0`;
    }
  }
  if (disk.attrs['type'] === 'nvme') {
    const src = firstChild(disk, 'source');
    if (src) setDefault(src, 'managed', 'yes');
  }
  if (deviceAddressOf(disk) === undefined && target.attrs['dev'] !== undefined) assignDriveAddress(disk, ctx);
}

function defaultBus(device: string, dst: string | undefined): string {
  if (device === 'floppy') return 'fdc';
  if (dst === undefined) return 'ide';
  for (const [prefix, bus] of [['hd', 'ide'], ['sd', 'scsi'], ['vd', 'virtio'], ['xvd', 'xen'], ['ubd', 'uml']] as const) {
    if (dst.startsWith(prefix)) return bus;
  }
  return 'ide';
}

/** virDomainDiskDefAssignAddress with QEMU's narrow SCSI bus (7 units per controller). */
function assignDriveAddress(disk: XmlElement, ctx: DeviceContext): void {
  const dst = diskDst(disk)!;
  const idx = diskNameToIndex(dst);
  if (idx < 0) throw virError(ErrorCode.XML_ERROR, `Unknown disk name '${dst}' and no address specified`);
  const perBus: Record<string, [number, (i: number) => number, number]> = {
    scsi: [7, () => 0, 7],
    ide: [4, (i) => Math.floor((i % 4) / 2), 2],
    sata: [6, () => 0, 6],
    fdc: [2, () => 0, 2],
  };
  const layout = perBus[diskBus(disk)];
  if (!layout) return;
  const [perController, busOf, units] = layout;
  const addr = { controller: Math.floor(idx / perController), bus: busOf(idx), target: 0, unit: idx % units };
  if (diskBus(disk) === 'scsi' && scsiHostdevAt(ctx, addr)) {
    // libvirt's message lacks the closing quote
    throw virError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `using disk target name '${dst}' conflicts with SCSI host device address controller='${addr.controller}' bus='0' target='0' unit='${addr.unit}`,
    );
  }
  setDeviceAddress(disk, { type: 'drive', ...addr });
}
