import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import type { ParsedURI } from './types.js';

/**
 * Parses a libvirt connection URI: 'test:///default', 'qemu:///system',
 * 'qemu:///embed?root=/dir', 'test:///abs/path/node.xml'.
 */
export function parseURI(raw: string): ParsedURI {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(raw);
  if (!m) throw virError(ErrorCode.INVALID_ARG, `Unable to parse URI ${raw}`, ErrorDomain.NONE);
  const scheme = m[1]!;
  const driver = scheme.split('+')[0]!;
  return { raw, scheme, driver, path: m[3] ?? '', params: new URLSearchParams(m[4] ?? '') };
}
