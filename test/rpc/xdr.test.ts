// The XDR codec accepts what libvirt's C decoder accepts and enforces the .x limits before allocating.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { XdrError, XdrReader, XdrWriter } from '../../src/rpc/xdr.js';
import {
  REMOTE_DOMAIN_LIST_MAX,
  REMOTE_STRING_MAX,
  decodeRemoteConnectListAllDomainsRet,
  decodeRemoteConnectOpenArgs,
  decodeRemoteDomainGetSecurityLabelRet,
  decodeRemoteNonnullDomain,
  decodeRemoteNonnullString,
  decodeRemoteString,
  decodeRemoteTypedParam,
  encodeRemoteDomainGetSecurityLabelRet,
  encodeRemoteNonnullDomain,
  encodeRemoteNonnullString,
  encodeRemoteTypedParam,
  type RemoteTypedParam,
} from '../../src/rpc/generated/remote-protocol.js';

function words(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

function encoded(encode: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(4);
  encode(w);
  return Buffer.from(w.bytes);
}

test('primitives round-trip with XDR widths: 4-byte words, 8-byte hypers and doubles, big-endian', () => {
  const bytes = encoded((w) => {
    w.writeInt(-2);
    w.writeUint(0xffffffff);
    w.writeHyper(-(1n << 62n));
    w.writeUhyper((1n << 64n) - 1n);
    w.writeBool(true);
    w.writeDouble(0.5);
    w.writeFloat(1.5);
  });
  assert.equal(bytes.length, 4 + 4 + 8 + 8 + 4 + 8 + 4);
  assert.deepEqual(bytes.subarray(0, 8), words(-2, 0xffffffff));
  const r = new XdrReader(bytes);
  assert.equal(r.readInt(), -2);
  assert.equal(r.readUint(), 0xffffffff);
  assert.equal(r.readHyper(), -(1n << 62n));
  assert.equal(r.readUhyper(), (1n << 64n) - 1n);
  assert.equal(r.readBool(), true);
  assert.equal(r.readDouble(), 0.5);
  assert.equal(r.readFloat(), 1.5);
  assert.equal(r.remaining, 0);
});

test('out-of-range numbers are refused on encode', () => {
  const w = new XdrWriter();
  assert.throws(() => w.writeInt(0x80000000), XdrError);
  assert.throws(() => w.writeUint(-1), XdrError);
  assert.throws(() => w.writeUint(1.5), XdrError);
  assert.throws(() => w.writeUhyper(-1n), XdrError);
  assert.throws(() => w.writeHyper(1n << 63n), XdrError);
  assert.equal(w.length, 0);
});

test('strings and opaques are counted, then zero-padded to 4 bytes', () => {
  assert.deepEqual(encoded((w) => encodeRemoteNonnullString(w, 'abcde')), Buffer.concat([words(5), Buffer.from('abcde\0\0\0')]));
  assert.deepEqual(encoded((w) => w.writeVarOpaque(Buffer.from([1, 2, 3, 4]), 8)), Buffer.concat([words(4), Buffer.from([1, 2, 3, 4])]));
  assert.deepEqual(encoded((w) => w.writeFixedOpaque(Buffer.from([9]), 1)), Buffer.from([9, 0, 0, 0]));
  assert.equal(decodeRemoteNonnullString(new XdrReader(Buffer.concat([words(3), Buffer.from('h\u00e9\0')]))), 'h\u00e9');
});

test('a string over its .x maximum is refused on encode and on decode', () => {
  assert.throws(() => new XdrWriter().writeString('abc', 2), /exceeds its maximum 2/);
  // Only the length word is present: the maximum is checked before the bytes are looked at.
  assert.throws(() => decodeRemoteNonnullString(new XdrReader(words(REMOTE_STRING_MAX + 1))), (e: unknown) => {
    assert.ok(e instanceof XdrError);
    assert.match(e.message, new RegExp(`${REMOTE_STRING_MAX + 1} exceeds its maximum ${REMOTE_STRING_MAX}`));
    return true;
  });
  assert.throws(() => new XdrReader(words(5, 0)).readVarOpaque(4), /exceeds its maximum 4/);
});

test('an array over its maximum is refused before any element is decoded', () => {
  let decoded = 0;
  const element = (r: XdrReader) => () => {
    decoded++;
    return r.readInt();
  };
  const tooMany = new XdrReader(words(REMOTE_DOMAIN_LIST_MAX + 1, 7, 7));
  assert.throws(() => tooMany.readArray(REMOTE_DOMAIN_LIST_MAX, 4, element(tooMany)), /exceeds its maximum 16384/);
  // Within the maximum but more elements than the bytes left can hold: refused up front, nothing allocated.
  const short = new XdrReader(words(3, 7, 7));
  assert.throws(() => short.readArray(10, 4, element(short)), /truncated: array length of 3 needs at least 12 bytes, 8 left/);
  assert.equal(decoded, 0);
  assert.throws(() => new XdrWriter().writeArray([1, 2, 3], 2, () => {}), /exceeds its maximum 2/);
  // A generated decoder: 16384 domains announced (the maximum), none sent.
  assert.throws(() => decodeRemoteConnectListAllDomainsRet(new XdrReader(words(REMOTE_DOMAIN_LIST_MAX))), /truncated/);
});

test('truncated input is refused wherever it ends', () => {
  const dom = encoded((w) => encodeRemoteNonnullDomain(w, { name: 'guest', uuid: '8f1d5a55-1b5a-4b3e-a4b1-7f6d0c8a1e2f', id: 3 }));
  for (let cut = 0; cut < dom.length; cut++) {
    assert.throws(() => decodeRemoteNonnullDomain(new XdrReader(dom.subarray(0, cut))), XdrError, `cut at ${cut}`);
  }
  assert.deepEqual(decodeRemoteNonnullDomain(new XdrReader(dom)), { name: 'guest', uuid: '8f1d5a55-1b5a-4b3e-a4b1-7f6d0c8a1e2f', id: 3 });
  // A string whose padding is missing is truncated too.
  assert.throws(() => decodeRemoteNonnullString(new XdrReader(Buffer.concat([words(1), Buffer.from('a')]))), /truncated/);
});

test('any non-zero bool or optional flag counts as true, as in libvirt\'s xdr_bool', () => {
  assert.equal(new XdrReader(words(2)).readBool(), true);
  assert.equal(new XdrReader(words(0xffffffff)).readBool(), true);
  assert.equal(new XdrReader(words(0)).readBool(), false);
  assert.equal(decodeRemoteString(new XdrReader(Buffer.concat([words(7, 2), Buffer.from('ok\0\0')]))), 'ok');
  assert.equal(decodeRemoteString(new XdrReader(words(0))), null);
});

test('bytes after a message are ignored', () => {
  const args = Buffer.concat([words(1, 4), Buffer.from('test'), words(0), words(0xdeadbeef)]);
  const r = new XdrReader(args);
  assert.deepEqual(decodeRemoteConnectOpenArgs(r), { name: 'test', flags: 0 });
  assert.equal(r.remaining, 4);
});

test('remote_uuid travels as 16 raw bytes and reads back in canonical lowercase form', () => {
  const bytes = encoded((w) => w.writeUuid('8F1D5A55-1B5A-4B3E-A4B1-7F6D0C8A1E2F'));
  assert.deepEqual(bytes, Buffer.from('8f1d5a551b5a4b3ea4b17f6d0c8a1e2f', 'hex'));
  assert.equal(new XdrReader(bytes).readUuid(), '8f1d5a55-1b5a-4b3e-a4b1-7f6d0c8a1e2f');
  for (const bad of ['', 'not-a-uuid', '8f1d5a55-1b5a-4b3e-a4b1-7f6d0c8a1e2', '8f1d5a55-1b5a-4b3e-a4b1-7f6d0c8a1e2fff']) {
    assert.throws(() => new XdrWriter().writeUuid(bad), /is not a UUID/, bad);
  }
});

test('char arrays are XDR int arrays: one 4-byte word per character (security label)', () => {
  const label = [...Buffer.from('testSecurity\0')];
  const bytes = encoded((w) => encodeRemoteDomainGetSecurityLabelRet(w, { label, enforcing: 1 }));
  assert.deepEqual(bytes, words(13, ...label, 1));
  assert.deepEqual(decodeRemoteDomainGetSecurityLabelRet(new XdrReader(bytes)), { label, enforcing: 1 });
});

test('the typed parameter union encodes its discriminant, then the arm; unknown discriminants are refused', () => {
  const params: RemoteTypedParam[] = [
    { field: 'i', value: { type: 1, i: -1 } },
    { field: 'ul', value: { type: 4, ul: 1n << 40n } },
    { field: 'd', value: { type: 5, d: 2.25 } },
    { field: 's', value: { type: 7, s: 'text' } },
  ];
  for (const p of params) {
    assert.deepEqual(decodeRemoteTypedParam(new XdrReader(encoded((w) => encodeRemoteTypedParam(w, p)))), p);
  }
  assert.throws(() => decodeRemoteTypedParam(new XdrReader(Buffer.concat([words(1), Buffer.from('x\0\0\0'), words(8, 0)]))), /remote_typed_param_value: unknown type 8/);
  assert.throws(() => encoded((w) => encodeRemoteTypedParam(w, { field: 'x', value: { type: 9 } as never })), /unknown type 9/);
});

test('the writer grows from a tiny buffer and can patch a length word written first', () => {
  const w = new XdrWriter(1);
  w.writeUint(0);
  for (let i = 0; i < 1000; i++) w.writeInt(i);
  w.patchUint(0, w.length);
  assert.equal(w.bytes.readUInt32BE(0), 4004);
  assert.equal(w.bytes.readInt32BE(4000), 999);
  assert.throws(() => w.patchUint(4004, 1), XdrError);
});
