// IP addresses as libvirt reads and prints them (virSocketAddrParse with
// getaddrinfo's numeric rules, virSocketAddrFormat's canonical text).


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
  // node:net is loaded by the first IPv6 address, not by every process that imports this module
  if (!process.getBuiltinModule('node:net').isIPv6(text)) return undefined;
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

/** The bits of an address, most significant first (32 for IPv4, 128 for IPv6). */
function addressBits(addr: IPAddress): bigint {
  const width = addr.family === 'ipv4' ? 8n : 16n;
  return addr.parts.reduce((acc, p) => (acc << width) | BigInt(p), 0n);
}

function addressFromBits(family: IPFamily, bits: bigint): IPAddress {
  const count = family === 'ipv4' ? 4 : 8;
  const width = family === 'ipv4' ? 8n : 16n;
  const mask = (1n << width) - 1n;
  const parts: number[] = [];
  for (let i = count - 1; i >= 0; i--) parts.push(Number((bits >> (BigInt(i) * width)) & mask));
  return { family, parts };
}

/** The network address of `addr`/`prefix` (virSocketAddrMaskByPrefix). */
export function networkAddress(addr: IPAddress, prefix: number): IPAddress {
  const total = addr.family === 'ipv4' ? 32 : 128;
  const host = (1n << BigInt(total - prefix)) - 1n;
  return addressFromBits(addr.family, addressBits(addr) & ~host);
}

/** The IPv4 broadcast address of `addr`/`prefix` (virSocketAddrBroadcastByPrefix). */
export function broadcastAddress(addr: IPAddress, prefix: number): IPAddress {
  const host = (1n << BigInt(32 - prefix)) - 1n;
  return addressFromBits('ipv4', addressBits(addr) | host);
}

/** The dotted netmask of an IPv4 prefix (virSocketAddrPrefixToNetmask). */
export function prefixToNetmask(prefix: number): string {
  return formatIPAddress(addressFromBits('ipv4', ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n)));
}

export function sameAddress(a: IPAddress, b: IPAddress): boolean {
  return a.family === b.family && a.parts.every((p, i) => p === b.parts[i]);
}

/**
 * virSocketAddrGetRange: how many addresses start..end holds, checked against
 * the network `net`/`prefix` with libvirt's messages (thrown as plain Errors
 * for the caller to wrap).
 */
export function addressRangeSize(start: IPAddress, end: IPAddress, net: IPAddress, prefix: number): number {
  const s = formatIPAddress(start);
  const e = formatIPAddress(end);
  const n = formatIPAddress(net);
  if (start.family !== end.family) throw new Error(`mismatch of address family in range ${s} - ${e}`);
  if (start.family !== net.family) throw new Error(`mismatch of address family in range ${s} - ${e} for network ${n}`);
  const base = networkAddress(net, prefix);
  if (!sameAddress(networkAddress(start, prefix), base) || !sameAddress(networkAddress(end, prefix), base)) {
    throw new Error(`range ${s} - ${e} is not entirely within network ${n}/${prefix}`);
  }
  if (start.family === 'ipv4') {
    if (sameAddress(start, base)) throw new Error(`start of range ${s} - ${e} in network ${n}/${prefix} is the network address`);
    if (sameAddress(end, broadcastAddress(net, prefix))) throw new Error(`end of range ${s} - ${e} in network ${n}/${prefix} is the broadcast address`);
    if (start.parts[0] !== end.parts[0] || start.parts[1] !== end.parts[1]) throw new Error(`range ${s} - ${e} is too large (> 65535)`);
    const size = (end.parts[2]! - start.parts[2]!) * 256 + (end.parts[3]! - start.parts[3]!);
    if (size < 0) throw new Error(`range ${s} - ${e} is reversed `);
    return size + 1;
  }
  if (start.parts.slice(0, 7).some((p, i) => p !== end.parts[i])) throw new Error(`range ${s} - ${e} is too large (> 65535)`);
  const size = end.parts[7]! - start.parts[7]!;
  if (size < 0) throw new Error(`range ${s} - ${e} start larger than end`);
  return size + 1;
}
