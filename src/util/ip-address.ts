// IP addresses as libvirt reads and prints them (virSocketAddrParse with
// getaddrinfo's numeric rules, virSocketAddrFormat's canonical text).

import { isIPv6 } from 'node:net';

export type IPFamily = 'ipv4' | 'ipv6';

export interface IPAddress {
  family: IPFamily;
  /** IPv4: 4 bytes; IPv6: 8 groups of 16 bits. */
  parts: number[];
}

/**
 * inet_aton's forms, as getaddrinfo accepts them: one to four parts, each
 * decimal, 0x-hex or 0-octal, the last one filling the remaining bytes.
 */
function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || parts.some((p) => p === '')) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]+$/.test(p)) v = parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = parseInt(p, 10);
    else return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255)) return undefined;
  const restBytes = 4 - values.length;
  if (last >= 2 ** (8 * restBytes)) return undefined;
  const bytes = [...values];
  for (let i = restBytes - 1; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
  return bytes;
}

function parseIPv6(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = parseIPv4(v4[1]!)!;
    s = `${s.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** virSocketAddrParse: undefined when `text` is no numeric IPv4/IPv6 address. */
export function parseIPAddress(text: string): IPAddress | undefined {
  if (text.includes(':')) {
    const parts = parseIPv6(text);
    return parts && { family: 'ipv6', parts };
  }
  const parts = parseIPv4(text);
  return parts && { family: 'ipv4', parts };
}

/** virSocketAddrFormat: dotted quad, or RFC 5952 compressed IPv6. */
export function formatIPAddress(addr: IPAddress): string {
  if (addr.family === 'ipv4') return addr.parts.join('.');
  const g = addr.parts;
  let best = -1;
  let len = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len && j - i > 1) {
      best = i;
      len = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  // inet_ntop: IPv4-compatible and IPv4-mapped addresses end in dotted form.
  if (best === 0 && (len === 6 || (len === 7 && g[7] !== 1) || (len === 5 && g[5] === 0xffff))) {
    const v4 = [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.');
    return `::${len === 5 ? 'ffff:' : ''}${v4}`;
  }
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + len).join(':')}`;
}

/**
 * The address `offset` further on: IPv4 as a 32-bit number; IPv6 by its last
 * byte only, as the test driver's domifaddr does.
 */
export function offsetIPAddress(addr: IPAddress, offset: number): IPAddress {
  if (addr.family === 'ipv4') {
    const n = (addr.parts.reduce((acc, b) => acc * 256 + b, 0) + offset) % 2 ** 32;
    return { family: 'ipv4', parts: [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256) };
  }
  const parts = [...addr.parts];
  parts[7] = (parts[7]! & 0xff00) | ((parts[7]! + offset) & 0xff);
  return { family: 'ipv6', parts };
}
