// Storage pool XML (<pool>): parse, validate with libvirt's messages and format
// in libvirt's canonical layout (storage_conf.c). Sizes are bytes.

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { generateUUID, parseUUID } from '../util/uuid.js';
import { child, childText, cloneElement, element, formatXml, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';
import { canonicalize, type ElementSchema } from './schema.js';
import { parsePermissions, permissionsElement, type StoragePermissions } from './storage-perms.js';
import { propEnum } from './xml-props.js';

export const POOL_TYPES = ['dir', 'fs', 'netfs', 'logical', 'disk', 'iscsi', 'iscsi-direct', 'scsi', 'mpath', 'rbd', 'sheepdog', 'gluster', 'zfs', 'vstorage'] as const;
export type PoolType = (typeof POOL_TYPES)[number];

/** What a pool type's <source> carries (virStoragePoolOptions flags) and its format table. */
interface PoolTypeInfo {
  host?: boolean;
  device?: boolean;
  dir?: boolean;
  adapter?: boolean;
  name?: boolean;
  initiator?: boolean;
  /** No target path (network pools). */
  network?: boolean;
  /** Source format names in libvirt's enum order, index 0 being the default unless defaultFormat says otherwise. */
  formats?: readonly string[];
  defaultFormat?: string;
}

const POOL_INFO: Record<PoolType, PoolTypeInfo> = {
  dir: {},
  fs: { device: true, formats: ['auto', 'ext2', 'ext3', 'ext4', 'ufs', 'iso9660', 'udf', 'gfs', 'gfs2', 'vfat', 'hfs+', 'xfs', 'ocfs2', 'vmfs'] },
  netfs: { host: true, dir: true, formats: ['auto', 'nfs', 'glusterfs', 'cifs'] },
  logical: { name: true, device: true, formats: ['unknown', 'lvm2'], defaultFormat: 'lvm2' },
  disk: { device: true, formats: ['unknown', 'dos', 'dvh', 'gpt', 'mac', 'bsd', 'pc98', 'sun', 'lvm2'] },
  iscsi: { host: true, device: true, initiator: true },
  'iscsi-direct': { host: true, device: true, network: true, initiator: true },
  scsi: { adapter: true },
  mpath: {},
  rbd: { host: true, network: true, name: true },
  sheepdog: { host: true, network: true, name: true },
  gluster: { host: true, network: true, name: true, dir: true },
  zfs: { name: true, device: true },
  vstorage: { name: true },
};

/** The <source><format> names of a pool type in libvirt's enum order, and its default; undefined when it has none. */
export function poolSourceFormats(type: PoolType): { readonly names: readonly string[]; readonly defaultFormat: string } | undefined {
  const { formats, defaultFormat } = POOL_INFO[type];
  return formats && { names: formats, defaultFormat: defaultFormat ?? formats[0]! };
}

/** Pool types whose volumes are plain files in the target directory. */
export const FILE_POOL_TYPES: ReadonlySet<PoolType> = new Set(['dir', 'fs', 'netfs', 'vstorage']);

export interface StoragePoolDef {
  type: PoolType;
  name: string;
  uuid: string;
  capacity: bigint;
  allocation: bigint;
  available: bigint;
  /** <source> children in libvirt's order (format default filled in). */
  source: XmlElement[];
  targetPath?: string;
  targetPerms?: StoragePermissions;
  /** <features> and <refresh>, kept as given. */
  features?: XmlElement;
  refresh?: XmlElement;
}

const sourceSchema: ElementSchema = {
  children: {
    host: { attrs: ['name', 'port'] },
    device: { attrs: ['path', 'part_separator'], children: { freeExtent: { attrs: ['start', 'end'] } } },
    dir: { attrs: ['path'] },
    adapter: { any: true },
    name: { text: true },
    initiator: { any: true },
    format: { attrs: ['type'] },
    auth: { any: true },
    protocol: { attrs: ['ver'] },
    vendor: { attrs: ['name'] },
    product: { attrs: ['name'] },
  },
};

const poolSchema: ElementSchema = {
  attrs: ['type'],
  children: {
    name: { text: true },
    uuid: { text: true },
    capacity: { attrs: ['unit'], text: true },
    allocation: { attrs: ['unit'], text: true },
    available: { attrs: ['unit'], text: true },
    features: { any: true },
    source: sourceSchema,
    target: { children: { path: { text: true }, permissions: { any: true } } },
    refresh: { any: true },
  },
  // Node files nest a pool's volumes inside it; the pool model does not read them.
  ignore: ['volume'],
};

function xmlError(detail: string) {
  return virError(ErrorCode.XML_ERROR, detail, ErrorDomain.STORAGE);
}

/** virStoragePoolDefParse: a <pool> document given as a string. */
export function parseStoragePoolXML(text: string): StoragePoolDef {
  return parseStoragePoolElement(parseDocument(text, '(storage_pool_definition)', 'pool'));
}

/** virStoragePoolDefParseXML on a parsed <pool> element. */
export function parseStoragePoolElement(root: XmlElement): StoragePoolDef {
  const el = cloneElement(root);
  canonicalize(el, poolSchema, { strict: true });
  const type = propEnum(el, 'type', POOL_TYPES, { required: true })!;
  const info = POOL_INFO[type];
  const sourceEl = child(el, 'source') ?? element('source');
  const source = sourceEl.children;
  if (info.formats && !source.some((c) => c.name === 'format')) {
    source.push(element('format', { type: info.defaultFormat ?? info.formats[0] }));
  }
  const format = source.find((c) => c.name === 'format');
  if (format && info.formats && !info.formats.includes(format.attrs.type ?? '')) {
    throw xmlError(`unknown pool format type ${format.attrs.type ?? ''}`);
  }
  let name = childText(el, 'name');
  if (name === undefined && info.name) name = source.find((c) => c.name === 'name')?.text;
  if (name === undefined) throw xmlError('missing pool source name element');
  if (name.includes('/')) throw xmlError(`name ${name} cannot contain '/'`);
  const uuidText = childText(el, 'uuid');
  const uuid = uuidText === undefined ? generateUUID() : parseUUID(uuidText);
  if (uuid === undefined) throw xmlError('malformed uuid element');
  if (info.host && !source.some((c) => c.name === 'host')) throw xmlError('missing storage pool source host name');
  if (info.dir && !source.some((c) => c.name === 'dir')) throw xmlError('missing storage pool source path');
  if (info.name && !source.some((c) => c.name === 'name')) source.push(element('name', {}, [], name));
  const deviceOnly = info.device && !info.host && !info.name && !info.dir && !info.adapter && !info.initiator && !info.network;
  if (deviceOnly && !source.some((c) => c.name === 'device')) {
    throw xmlError('missing storage pool source device name');
  }
  canonicalize(sourceEl, sourceSchema, { strict: false });
  const def: StoragePoolDef = {
    type,
    name,
    uuid,
    capacity: 0n,
    allocation: 0n,
    available: 0n,
    source: sourceEl.children,
    features: child(el, 'features'),
    refresh: child(el, 'refresh'),
  };
  if (!info.network) {
    const sourceName = source.find((c) => c.name === 'name')?.text ?? name;
    if (type === 'logical') def.targetPath = `/dev/${sourceName}`;
    else if (type === 'zfs') def.targetPath = `/dev/zvol/${sourceName}`;
    else {
      const path = child(el, 'target') && childText(child(el, 'target')!, 'path');
      if (path === undefined) throw xmlError('missing storage pool target path');
      def.targetPath = sanitizePath(path);
    }
    const perms = child(el, 'target') && child(child(el, 'target')!, 'permissions');
    if (perms) def.targetPerms = parsePermissions(perms);
  }
  return def;
}

/**
 * virFileSanitizePath: repeated slashes collapse and a trailing one goes, but a
 * leading "//" is POSIX-special and stays; URIs are left alone.
 */
function sanitizePath(path: string): string {
  const uri = path.indexOf('://');
  if (uri >= 0 && path.indexOf('/') > uri) return path;
  const keep = /^\/\/(?!\/)/.test(path) ? '//' : '';
  const rest = path.slice(keep.length).replace(/\/{2,}/g, '/');
  const trimmed = keep + rest === '/' ? rest : rest.replace(/\/$/, '');
  return keep + trimmed;
}

/** virStoragePoolDefFormat. */
export function formatStoragePoolXML(def: StoragePoolDef): string {
  const bytes = (name: string, v: bigint) => element(name, { unit: 'bytes' }, [], v.toString());
  const source = element('source', {}, def.source.map(cloneElement));
  // libvirt always prints <source> with separate open and close tags.
  if (source.children.length === 0) source.text = '\n  ';
  const children = [
    element('name', {}, [], def.name),
    element('uuid', {}, [], def.uuid),
    bytes('capacity', def.capacity),
    bytes('allocation', def.allocation),
    bytes('available', def.available),
    ...(def.features ? [def.features] : []),
    source,
  ];
  if (def.targetPath !== undefined) {
    const target = element('target', {}, [element('path', {}, [], def.targetPath)]);
    const perms = def.targetPerms && permissionsElement(def.targetPerms);
    if (perms) target.children.push(perms);
    children.push(target);
  }
  if (def.refresh) children.push(def.refresh);
  return formatXml(element('pool', { type: def.type }, children));
}
