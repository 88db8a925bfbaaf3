// <permissions> of storage pool and volume targets (virStorageDefParsePerms /
// the permissions block of virStorageVolTargetDefFormat).

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { childText, element, type XmlElement } from '../util/xml.js';

export interface StoragePermissions {
  mode?: number;
  owner?: number;
  group?: number;
  label?: string;
}

export function parsePermissions(el: XmlElement): StoragePermissions {
  const perms: StoragePermissions = {};
  const mode = childText(el, 'mode');
  if (mode !== undefined) {
    if (!/^[+-]?[0-7]+$/.test(mode) || (parseInt(mode, 8) & ~0o777) !== 0) {
      throw virError(ErrorCode.XML_ERROR, 'malformed octal mode', ErrorDomain.STORAGE);
    }
    perms.mode = parseInt(mode, 8);
  }
  for (const field of ['owner', 'group'] as const) {
    const text = childText(el, field);
    if (text === undefined) continue;
    if (!/^-?\d+$/.test(text)) throw virError(ErrorCode.XML_ERROR, `malformed ${field} element`, ErrorDomain.STORAGE);
    perms[field] = Number(text);
  }
  const label = childText(el, 'label');
  if (label !== undefined) perms.label = label;
  return perms;
}

/** The <permissions> element, or undefined when nothing is set. */
export function permissionsElement(perms: StoragePermissions): XmlElement | undefined {
  const children: XmlElement[] = [];
  if (perms.mode !== undefined) children.push(element('mode', {}, [], `0${perms.mode.toString(8)}`));
  if (perms.owner !== undefined) children.push(element('owner', {}, [], String(perms.owner)));
  if (perms.group !== undefined) children.push(element('group', {}, [], String(perms.group)));
  if (perms.label !== undefined) children.push(element('label', {}, [], perms.label));
  return children.length > 0 ? element('permissions', {}, children) : undefined;
}
