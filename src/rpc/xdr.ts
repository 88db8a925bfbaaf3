// XDR (RFC 4506) as libvirt's rpcgen code reads and writes it: big-endian, 4-byte units, zero padding.
// The reader accepts what libvirt's C decoder accepts (any non-zero bool, bytes left after a message)
// and checks every count against the .x maximum and the bytes left before allocating anything.

import { parseUUID } from '../util/uuid.js';

/** A value that cannot be encoded, or bytes that do not decode, as the schema says. */
export class XdrError extends Error {
  override readonly name = 'XdrError';
}

/** XDR's "no maximum" (`string<>`, `opaque<>`, `T x<>`). */
export const XDR_UNBOUNDED = 0xffffffff;

const UUID_BYTES = 16;
const CANONICAL_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function padding(length: number): number {
  return (4 - (length & 3)) & 3;
}

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.alloc(initialSize);
  }

  /** The bytes written so far (a view, valid until the next write). */
  get bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  get length(): number {
    return this.pos;
  }

  /** Overwrites an already written 32-bit unsigned word, e.g. a frame length known only at the end. */
  patchUint(offset: number, value: number): void {
    if (offset + 4 > this.pos) throw new XdrError(`patch at ${offset} is beyond the ${this.pos} bytes written`);
    this.buf.writeUInt32BE(value, offset);
  }

  /** Makes room for n bytes and returns where they go. Callers must read this.buf after calling it: it may be replaced. */
  private reserve(n: number): number {
    const need = this.pos + n;
    if (need > this.buf.length) {
      const grown = Buffer.alloc(Math.max(this.buf.length * 2, need));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    const at = this.pos;
    this.pos = need;
    return at;
  }

  writeInt(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new XdrError(`${v} is not a 32-bit signed integer`);
    const at = this.reserve(4);
    this.buf.writeInt32BE(v, at);
  }

  writeUint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new XdrError(`${v} is not a 32-bit unsigned integer`);
    const at = this.reserve(4);
    this.buf.writeUInt32BE(v, at);
  }

  writeHyper(v: bigint): void {
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new XdrError(`${v} is not a 64-bit signed integer`);
    const at = this.reserve(8);
    this.buf.writeBigInt64BE(v, at);
  }

  writeUhyper(v: bigint): void {
    if (v < 0n || v >= 1n << 64n) throw new XdrError(`${v} is not a 64-bit unsigned integer`);
    const at = this.reserve(8);
    this.buf.writeBigUInt64BE(v, at);
  }

  writeBool(v: boolean): void {
    const at = this.reserve(4);
    this.buf.writeUInt32BE(v ? 1 : 0, at);
  }

  writeFloat(v: number): void {
    const at = this.reserve(4);
    this.buf.writeFloatBE(v, at);
  }

  writeDouble(v: number): void {
    const at = this.reserve(8);
    this.buf.writeDoubleBE(v, at);
  }

  private writePadded(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length + padding(bytes.length));
    this.buf.set(bytes, at);
    this.buf.fill(0, at + bytes.length, this.pos);
  }

  /** `opaque x[N]`: exactly N bytes, no length word. */
  writeFixedOpaque(v: Uint8Array, size: number): void {
    if (v.length !== size) throw new XdrError(`fixed opaque of ${size} bytes given ${v.length}`);
    this.writePadded(v);
  }

  /** `opaque x<N>`: length word, bytes, padding. */
  writeVarOpaque(v: Uint8Array, max: number): void {
    if (v.length > max) throw new XdrError(`opaque of ${v.length} bytes exceeds its maximum ${max}`);
    this.writeUint(v.length);
    this.writePadded(v);
  }

  /** `string x<N>`: the UTF-8 bytes as a counted opaque; N counts bytes. */
  writeString(v: string, max: number): void {
    const n = Buffer.byteLength(v, 'utf8');
    if (n > max) throw new XdrError(`string of ${n} bytes exceeds its maximum ${max}`);
    this.writeUint(n);
    const at = this.reserve(n + padding(n));
    this.buf.write(v, at, n, 'utf8');
    this.buf.fill(0, at + n, this.pos);
  }

  /** A UUID in text form (as virUUIDParse reads it), sent as libvirt's 16 raw bytes. */
  writeUuid(v: string): void {
    // The canonical form is what nearly every caller has: checked by one regex, not character by character.
    const canonical = CANONICAL_UUID.test(v) ? v : parseUUID(v);
    if (canonical === undefined) throw new XdrError(`'${v}' is not a UUID`);
    const at = this.reserve(UUID_BYTES);
    this.buf.write(canonical.replaceAll('-', ''), at, UUID_BYTES, 'hex');
  }

  /** `T x<N>`: element count, then each element. */
  writeArray<T>(v: readonly T[], max: number, encode: (e: T) => void): void {
    if (v.length > max) throw new XdrError(`array of ${v.length} elements exceeds its maximum ${max}`);
    this.writeUint(v.length);
    for (const e of v) encode(e);
  }

  /** `T x[N]`: exactly N elements, no count. */
  writeFixedArray<T>(v: readonly T[], size: number, encode: (e: T) => void): void {
    if (v.length !== size) throw new XdrError(`fixed array of ${size} elements given ${v.length}`);
    for (const e of v) encode(e);
  }

  /** `T *x`: presence flag, then the value when present. */
  writeOptional<T>(v: T | null, encode: (e: T) => void): void {
    this.writeBool(v !== null);
    if (v !== null) encode(v);
  }
}

export class XdrReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    offset = 0,
    private readonly end = buf.length,
  ) {
    this.pos = offset;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(n: number, what: string): number {
    if (n > this.end - this.pos) throw new XdrError(`truncated: ${what} needs ${n} bytes, ${this.end - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  readInt(): number {
    return this.buf.readInt32BE(this.take(4, 'int'));
  }

  readUint(): number {
    return this.buf.readUInt32BE(this.take(4, 'unsigned int'));
  }

  readHyper(): bigint {
    return this.buf.readBigInt64BE(this.take(8, 'hyper'));
  }

  readUhyper(): bigint {
    return this.buf.readBigUInt64BE(this.take(8, 'unsigned hyper'));
  }

  /** Like libvirt's xdr_bool: any non-zero word is true. */
  readBool(): boolean {
    return this.buf.readUInt32BE(this.take(4, 'bool')) !== 0;
  }

  readFloat(): number {
    return this.buf.readFloatBE(this.take(4, 'float'));
  }

  readDouble(): number {
    return this.buf.readDoubleBE(this.take(8, 'double'));
  }

  private readPadded(length: number, what: string): Buffer {
    const at = this.take(length + padding(length), what);
    return Buffer.from(this.buf.subarray(at, at + length));
  }

  /** Reads a length word and checks it against the maximum and the bytes left, before any allocation. */
  private readLength(max: number, unit: number, what: string): number {
    const n = this.readUint();
    if (n > max) throw new XdrError(`${what} of ${n} exceeds its maximum ${max}`);
    if (n * unit > this.end - this.pos) throw new XdrError(`truncated: ${what} of ${n} needs at least ${n * unit} bytes, ${this.end - this.pos} left`);
    return n;
  }

  readFixedOpaque(size: number): Buffer {
    return this.readPadded(size, `opaque[${size}]`);
  }

  readVarOpaque(max: number): Buffer {
    return this.readPadded(this.readLength(max, 1, 'opaque length'), 'opaque');
  }

  readString(max: number): string {
    const n = this.readLength(max, 1, 'string length');
    const at = this.take(n + padding(n), 'string');
    return this.buf.toString('utf8', at, at + n);
  }

  /** 16 raw bytes, returned in libvirt's canonical text form. */
  readUuid(): string {
    const at = this.take(UUID_BYTES, 'uuid');
    const hex = this.buf.toString('hex', at, at + UUID_BYTES);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** `T x<N>`; minSize is the smallest wire size of one element, so a count the bytes cannot hold is refused up front. */
  readArray<T>(max: number, minSize: number, decode: () => T): T[] {
    const n = this.readLength(max, minSize, 'array length');
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(decode());
    return out;
  }

  readFixedArray<T>(size: number, decode: () => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < size; i++) out.push(decode());
    return out;
  }

  readOptional<T>(decode: () => T): T | null {
    return this.readBool() ? decode() : null;
  }
}
