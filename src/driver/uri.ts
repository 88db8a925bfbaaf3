// Connection URIs as libvirt parses them (virURIParse over libxml2's RFC 3986
// parser, then virURIParseParams): driver[+transport]://[user@][host][:port]/path?params.
// One parser serves every driver, so a remote driver is added without touching the others.
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';

/** Query parameters in their order, unescaped as libvirt does ('+' stays '+', no value means ""). */
export class URIParams {
  constructor(readonly entries: ReadonlyArray<readonly [string, string]>) {}

  /** The last value given for name, as virURIGetParam finds it. */
  get(name: string): string | null {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]![0] === name) return this.entries[i]![1];
    return null;
  }

  has(name: string): boolean {
    return this.entries.some(([n]) => n === name);
  }
}

export interface ParsedURI {
  /** the URI as given */
  readonly raw: string;
  /** 'qemu+ssh' */
  readonly scheme: string;
  /** the driver part of the scheme: 'qemu', 'test' */
  readonly driver: string;
  /** the transport part of the scheme, lower-cased ('unix', 'tcp', 'tls', 'ssh', ...), null without '+' */
  readonly transport: string | null;
  readonly user: string | null;
  /** the server; null for a local URI such as qemu:///system */
  readonly host: string | null;
  readonly port: number | null;
  /** '' when the URI has no path */
  readonly path: string;
  readonly params: URIParams;
  readonly fragment: string | null;
}

const URI_SYNTAX = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/;
const AUTHORITY = /^(?:([^@]*)@)?(\[[^\]]*\]|[^:]*)(?::(\d*))?$/;

/** Parses a connection URI; libvirt's errors for what it refuses. */
export function parseURI(raw: string): ParsedURI {
  const m = URI_SYNTAX.exec(raw);
  const auth = m && AUTHORITY.exec(m[2] ?? '');
  if (!m || !auth) throw virError(ErrorCode.INTERNAL_ERROR, `Unable to parse URI ${raw}`, ErrorDomain.URI);
  const scheme = m[1]!;
  const plus = scheme.indexOf('+');
  const host = auth[2] ? unescape(auth[2].replace(/^\[(.*)\]$/, '$1'), raw) : null;
  const uri: ParsedURI = {
    raw,
    scheme,
    driver: plus < 0 ? scheme : scheme.slice(0, plus),
    transport: plus < 0 ? null : scheme.slice(plus + 1).toLowerCase(),
    user: auth[1] !== undefined ? unescape(auth[1], raw) : null,
    host,
    port: auth[3] ? Number(auth[3]) : null,
    path: unescape(m[3] ?? '', raw),
    params: new URIParams(parseParams(m[4] ?? '', raw)),
    fragment: m[5] ?? null,
  };
  checkMissingSlash(uri);
  return uri;
}

/** virURIParseParams: '&' (or ';') separated, "name" alone means "", "=value" is ignored. */
function parseParams(query: string, raw: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of query.split(/[&;]/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === 0) continue;
    if (eq < 0) out.push([unescape(part, raw), '']);
    else out.push([unescape(part.slice(0, eq), raw), unescape(part.slice(eq + 1), raw)]);
  }
  return out;
}

function unescape(s: string, raw: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw virError(ErrorCode.INTERNAL_ERROR, `Unable to parse URI ${raw}`, ErrorDomain.URI);
  }
}

/** virConnectCheckURIMissingSlash: 'qemu://system' names a host called "system", which is never meant. */
function checkMissingSlash(uri: ParsedURI): void {
  if (uri.host === null || !['qemu', 'vbox', 'vz'].includes(uri.scheme)) return;
  if (uri.host === 'session' || uri.host === 'system') {
    throw virError(ErrorCode.INTERNAL_ERROR, `invalid URI ${uri.raw} (maybe you want ${uri.scheme}:///${uri.host})`, ErrorDomain.NONE);
  }
}
