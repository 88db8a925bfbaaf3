// Scaled integers ("1 GiB", "512 MB") with libvirt's virScaleInteger rules and
// error texts; memory sizes are normalised to KiB as libvirt stores them.

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { parseUnsigned } from './xml-props.js';

const ULLONG_MAX = 0xffffffffffffffffn;
/** virMemoryMaxValue on 64-bit hosts: off_t's limit. */
export const MEMORY_MAX_BYTES = 0x7fffffffffffffffn;

/** Multiplies `value` by the unit `suffix` (default `scale` when none), as virScaleInteger. */
export function scaleInteger(value: bigint, suffix: string | undefined, scale: bigint, limit: bigint): bigint {
  let factor: bigint;
  let shown = suffix ?? '';
  if (suffix === undefined || suffix === '') {
    factor = scale;
    shown = '';
  } else if (/^(b|byte|bytes)$/i.test(suffix)) {
    factor = 1n;
  } else {
    let base: bigint;
    if (suffix.length === 1 || suffix.slice(1).toLowerCase() === 'ib') base = 1024n;
    else if (suffix.length === 2 && suffix[1]!.toLowerCase() === 'b') base = 1000n;
    else throw virError(ErrorCode.INVALID_ARG, `unknown suffix '${suffix}'`);
    const power = 'kmgtpe'.indexOf(suffix[0]!.toLowerCase());
    if (power < 0) throw virError(ErrorCode.INVALID_ARG, `unknown suffix '${suffix}'`);
    factor = base ** BigInt(power + 1);
  }
  if (value !== 0n && value > limit / factor) {
    throw virError(ErrorCode.OVERFLOW, `value too large: ${value}${shown}`);
  }
  return value * factor;
}

/**
 * virParseScaledValue: `text` is the element's (or attribute's) value, `xpath`
 * names it in messages. Returns bytes (times `scale` when no unit is given).
 */
export function parseScaledValue(text: string, unit: string | undefined, xpath: string, scale: bigint, max: bigint): bigint {
  const value = parseUnsigned(text);
  if (value === undefined || value > ULLONG_MAX) {
    throw virError(ErrorCode.XML_ERROR, `Invalid value '${text}' for element or attribute '${xpath}'`);
  }
  return scaleInteger(value, unit, scale, max);
}

/** virDomainParseMemory: a size in KiB (rounded up), defaulting to KiB units. */
export function parseMemoryKiB(text: string, unit: string | undefined, xpath: string, max: bigint = MEMORY_MAX_BYTES): bigint {
  const bytes = parseScaledValue(text, unit, xpath, 1024n, max);
  const kib = (bytes + 1023n) / 1024n;
  if (kib >= (max + 1023n) / 1024n) throw virError(ErrorCode.OVERFLOW, 'size value too large', ErrorDomain.DOMAIN);
  return kib;
}

/** virFormatIntPretty: the largest binary unit that divides `bytes` exactly. */
export function formatIntPretty(bytes: bigint): { value: bigint; unit: string } {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = bytes;
  while (v !== 0n && v % 1024n === 0n && i < units.length - 1) {
    v /= 1024n;
    i++;
  }
  return { value: v, unit: units[i]! };
}
