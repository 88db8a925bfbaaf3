// Storage volume XML (<volume>): parse with libvirt's messages and format in its
// canonical layout (storage_conf.c). Sizes are bytes; formats depend on the pool type.

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { child, childText, cloneElement, element, formatXml, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';
import { canonicalize, type ElementSchema } from './schema.js';
import { parsePermissions, permissionsElement, type StoragePermissions } from './storage-perms.js';
import type { PoolType } from './storage-pool.js';
import { scaleInteger } from './units.js';
import { parseUnsigned } from './xml-props.js';

export const VOL_TYPES = ['file', 'block', 'dir', 'network', 'netdir', 'ploop'] as const;

/** virStorageFileFormat names accepted for file-like volumes ("none" is not). */
const FILE_FORMATS = ['raw', 'dir', 'bochs', 'cloop', 'dmg', 'iso', 'vpc', 'vdi', 'fat', 'vhd', 'ploop', 'cow', 'qcow', 'qcow2', 'qed', 'vmdk'];
const DISK_FORMATS = ['none', 'linux', 'fat16', 'fat32', 'linux-swap', 'linux-lvm', 'linux-raid', 'extended'];

/** The volume format table of a pool type (virStorageVolOptions), default first. */
export function volumeFormats(pool: PoolType): readonly string[] | undefined {
  if (['dir', 'fs', 'netfs', 'gluster', 'vstorage', 'rbd'].includes(pool)) return FILE_FORMATS;
  if (pool === 'disk') return DISK_FORMATS;
  return undefined;
}

/** A file's times as libvirt prints them (seconds, with nanoseconds when not zero). */
export interface StorageTimestamps {
  atime: string;
  mtime: string;
  ctime: string;
  btime: string;
}

/** What a backing store is known by, and what a refresh learns about it. */
export interface StorageVolBacking {
  path: string;
  format?: string;
  perms?: StoragePermissions;
  timestamps?: StorageTimestamps;
}

export interface StorageVolDef {
  name: string;
  key?: string;
  type: (typeof VOL_TYPES)[number];
  capacity: bigint;
  allocation: bigint;
  /** <allocation> was given (when not, allocation follows capacity) */
  allocationGiven?: boolean;
  /** Bytes the file takes up as seen by its size (stateful drivers only). */
  physical?: bigint;
  targetPath?: string;
  format?: string;
  perms?: StoragePermissions;
  timestamps?: StorageTimestamps;
  backingStore?: StorageVolBacking;
  /** Target children kept as given: encryption, compat, clusterSize, nocow, features. */
  targetExtras: XmlElement[];
}

const permissionsSchema: ElementSchema = { children: { mode: { text: true }, owner: { text: true }, group: { text: true }, label: { text: true } } };
const targetSchema: ElementSchema = {
  children: {
    path: { text: true },
    format: { attrs: ['type'] },
    permissions: permissionsSchema,
    timestamps: { any: true },
    encryption: { any: true },
    compat: { text: true },
    clusterSize: { attrs: ['unit'], text: true },
    nocow: {},
    features: { any: true },
  },
};
const volumeSchema: ElementSchema = {
  attrs: ['type'],
  children: {
    name: { text: true },
    key: { text: true },
    source: { any: true },
    capacity: { attrs: ['unit'], text: true },
    allocation: { attrs: ['unit'], text: true },
    physical: { attrs: ['unit'], text: true },
    target: targetSchema,
    backingStore: targetSchema,
  },
};

/** virStorageSize: a <capacity>/<allocation> value with its unit, in bytes. */
function storageSize(el: XmlElement): bigint {
  const value = parseUnsigned(el.text);
  if (value === undefined) throw virError(ErrorCode.XML_ERROR, 'malformed capacity element', ErrorDomain.STORAGE);
  return scaleInteger(value, el.attrs.unit, 1n, 0x7fffffffffffffffn);
}

function parseFormat(el: XmlElement | undefined, pool: PoolType): string | undefined {
  const formats = volumeFormats(pool);
  if (formats === undefined) return undefined;
  const format = el && child(el, 'format')?.attrs.type;
  if (format === undefined) return formats[0];
  if (!formats.includes(format)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown volume format type ${format}`, ErrorDomain.STORAGE);
  return format;
}

/** virStorageVolDefParse: a <volume> document for a pool of type `pool`. */
export function parseStorageVolXML(text: string, pool: PoolType): StorageVolDef {
  return parseStorageVolElement(parseDocument(text, '(storage_volume_definition)', 'volume'), pool);
}

export function parseStorageVolElement(root: XmlElement, pool: PoolType): StorageVolDef {
  const el = cloneElement(root);
  canonicalize(el, volumeSchema, { strict: true });
  const name = childText(el, 'name');
  if (name === undefined) throw virError(ErrorCode.XML_ERROR, 'missing volume name element', ErrorDomain.STORAGE);
  const type = el.attrs.type ?? 'file';
  if (!(VOL_TYPES as readonly string[]).includes(type)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown volume type '${type}'`, ErrorDomain.STORAGE);
  const capacityEl = child(el, 'capacity');
  if (capacityEl === undefined) throw virError(ErrorCode.XML_ERROR, 'missing capacity element', ErrorDomain.STORAGE);
  const capacity = storageSize(capacityEl);
  const allocationEl = child(el, 'allocation');
  const target = child(el, 'target');
  const def: StorageVolDef = {
    name,
    key: childText(el, 'key'),
    type: type as StorageVolDef['type'],
    capacity,
    allocation: allocationEl ? storageSize(allocationEl) : capacity,
    allocationGiven: allocationEl !== undefined,
    targetPath: target && childText(target, 'path'),
    format: parseFormat(target, pool),
    targetExtras: target ? target.children.filter((c) => !['path', 'format', 'permissions', 'timestamps'].includes(c.name)) : [],
  };
  const perms = target && child(target, 'permissions');
  if (perms) def.perms = parsePermissions(perms);
  const backing = child(el, 'backingStore');
  const backingPath = backing && childText(backing, 'path');
  if (backing && backingPath !== undefined) {
    const backingPerms = child(backing, 'permissions');
    def.backingStore = { path: backingPath, format: parseFormat(backing, pool), perms: backingPerms && parsePermissions(backingPerms) };
  }
  return def;
}

function targetElement(name: string, path: string | undefined, format: string | undefined, perms: StoragePermissions | undefined, timestamps: StorageTimestamps | undefined, extras: XmlElement[]): XmlElement {
  const children: XmlElement[] = [];
  if (path !== undefined) children.push(element('path', {}, [], path));
  if (format !== undefined) children.push(element('format', { type: format }));
  const permsEl = perms && permissionsElement(perms);
  if (permsEl) children.push(permsEl);
  if (timestamps) {
    const times = (['atime', 'mtime', 'ctime', 'btime'] as const).map((t) => element(t, {}, [], timestamps[t]));
    children.push(element('timestamps', {}, times));
  }
  children.push(...extras.map(cloneElement));
  return element(name, {}, children);
}

/** virStorageVolDefFormat. */
export function formatStorageVolXML(def: StorageVolDef): string {
  const children: XmlElement[] = [element('name', {}, [], def.name)];
  if (def.key !== undefined) children.push(element('key', {}, [], def.key));
  children.push(
    element('capacity', { unit: 'bytes' }, [], def.capacity.toString()),
    element('allocation', { unit: 'bytes' }, [], def.allocation.toString()),
  );
  // libvirt prints no physical size of zero (directories)
  if (def.physical) children.push(element('physical', { unit: 'bytes' }, [], def.physical.toString()));
  children.push(targetElement('target', def.targetPath, def.format, def.perms, def.timestamps, def.targetExtras));
  if (def.backingStore) {
    const b = def.backingStore;
    children.push(targetElement('backingStore', b.path, b.format, b.perms, b.timestamps, []));
  }
  return formatXml(element('volume', { type: def.type }, children));
}
