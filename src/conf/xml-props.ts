// Attribute readers with libvirt's virXMLProp* semantics and exact error texts,
// shared by every XML object model.

import { ErrorCode, virError } from '../util/error.js';
import type { XmlElement } from '../util/xml.js';

export interface PropFlags {
  /** A missing attribute is an error. */
  readonly required?: boolean;
  /** Index 0 of an enum (its "default"/"none" entry) or the number 0 is rejected. */
  readonly nonzero?: boolean;
}

function missing(el: XmlElement, name: string) {
  return virError(ErrorCode.XML_ERROR, `Missing required attribute '${name}' in element '${el.name}'`);
}

export function propRequired(el: XmlElement, name: string): string {
  const v = el.attrs[name];
  if (v === undefined) throw missing(el, name);
  return v;
}

/**
 * Enum attribute: `values` is libvirt's enum string table (index 0 included).
 * Returns undefined when absent and not required.
 */
export function propEnum<T extends string>(el: XmlElement, name: string, values: readonly T[], flags: PropFlags = {}): T | undefined {
  const v = el.attrs[name];
  if (v === undefined) {
    if (flags.required) throw missing(el, name);
    return undefined;
  }
  const idx = values.indexOf(v as T);
  if (idx < 0 || (flags.nonzero && idx === 0)) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': '${v}'.`);
  }
  return v as T;
}

export const TRISTATE_BOOL = ['default', 'yes', 'no'] as const;
export const TRISTATE_SWITCH = ['absent', 'on', 'off'] as const;

/** yes/no attribute (virTristateBool, "default" rejected as libvirt does). */
export function propYesNo(el: XmlElement, name: string, flags: Omit<PropFlags, 'nonzero'> = {}): 'yes' | 'no' | undefined {
  return propEnum(el, name, TRISTATE_BOOL, { ...flags, nonzero: true }) as 'yes' | 'no' | undefined;
}

/** on/off attribute (virTristateSwitch). */
export function propOnOff(el: XmlElement, name: string, flags: Omit<PropFlags, 'nonzero'> = {}): 'on' | 'off' | undefined {
  return propEnum(el, name, TRISTATE_SWITCH, { ...flags, nonzero: true }) as 'on' | 'off' | undefined;
}

/** Parses like virStrToLong_ullp/uip: optional leading spaces and '+', base 10, 16 or 0 (auto). */
export function parseUnsigned(text: string, base: 0 | 10 | 16 = 10): bigint | undefined {
  const s = text.replace(/^[ \t\n\r\f\v]+/, '');
  let m: RegExpExecArray | null;
  if (base === 10) m = /^\+?([0-9]+)$/.exec(s);
  else if (base === 16) m = /^\+?(?:0[xX])?([0-9a-fA-F]+)$/.exec(s);
  else m = /^\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const digits = m[1]!;
  if (base === 16) return BigInt(`0x${digits}`);
  if (base === 0 && /^0[0-7]+$/.test(digits)) return BigInt(`0o${digits.slice(1)}`);
  return BigInt(digits);
}

export const UINT_MAX = 0xffffffffn;

const ULLONG_MAX = 0xffffffffffffffffn;

/** An unsigned attribute of at most `max` (virXMLPropUInt, virXMLPropULongLong: the same messages). */
function unsignedProp(el: XmlElement, name: string, base: 0 | 10 | 16, flags: PropFlags, max: bigint): bigint | undefined {
  const v = el.attrs[name];
  if (v === undefined) {
    if (flags.required) throw missing(el, name);
    return undefined;
  }
  const n = parseUnsigned(v, base);
  if (n === undefined || n > max) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': '${v}'. Expected non-negative integer value`);
  }
  if (flags.nonzero && n === 0n) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': Zero is not permitted`);
  }
  return n;
}

/** Unsigned int attribute (virXMLPropUInt). */
export function propUInt(el: XmlElement, name: string, base: 0 | 10 | 16 = 10, flags: PropFlags = {}): number | undefined {
  const n = unsignedProp(el, name, base, flags, UINT_MAX);
  return n === undefined ? undefined : Number(n);
}

/** Unsigned long long attribute (virXMLPropULongLong, base 10). */
export function propULongLong(el: XmlElement, name: string, flags: PropFlags = {}): bigint | undefined {
  return unsignedProp(el, name, 10, flags, ULLONG_MAX);
}

const INT_MIN = -2147483648n;
const INT_MAX = 2147483647n;

/** Signed int attribute (virXMLPropInt, base 10); `nonnegative` is VIR_XML_PROP_NONNEGATIVE. */
export function propInt(el: XmlElement, name: string, flags: PropFlags & { readonly nonnegative?: boolean } = {}): number | undefined {
  const v = el.attrs[name];
  if (v === undefined) {
    if (flags.required) throw missing(el, name);
    return undefined;
  }
  const m = /^[ \t\n\r\f\v]*([+-]?[0-9]+)$/.exec(v);
  const n = m ? BigInt(m[1]!) : undefined;
  if (n === undefined || n < INT_MIN || n > INT_MAX) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': '${v}'. Expected integer value`);
  }
  if (flags.nonnegative && n < 0n) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': '${v}'. Expected non-negative value`);
  }
  if (flags.nonzero && n === 0n) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value for attribute '${name}' in element '${el.name}': Zero is not permitted`);
  }
  return Number(n);
}
