// Every frame virsh and libvirtd 9.0 exchanged in ../shared/conformance/rpc decodes with the generated
// codecs (header by the virnet codec, body by the procedure's args/ret or the error struct) into what
// the corpus's own decoder (decode.mjs) recorded in transcript.json, and re-encodes byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import type { ProcedureInfo } from '../../src/rpc/procedure.js';
import { XdrReader, XdrWriter } from '../../src/rpc/xdr.js';
import {
  VIR_NET_MESSAGE_HEADER_MAX,
  VIR_NET_MESSAGE_LEN_MAX,
  VirNetMessageStatus,
  VirNetMessageType,
  decodeVirNetMessageError,
  decodeVirNetMessageHeader,
  encodeVirNetMessageError,
  encodeVirNetMessageHeader,
  type VirNetMessageHeader,
} from '../../src/rpc/generated/virnet-protocol.js';
import { ADMIN_PROCEDURES, ADMIN_PROCEDURE_BY_NUMBER } from '../../src/rpc/generated/admin-protocol.js';
import { KEEPALIVE_PROCEDURES, KEEPALIVE_PROCEDURE_BY_NUMBER } from '../../src/rpc/generated/keepalive-protocol.js';
import { LXC_PROCEDURES, LXC_PROCEDURE_BY_NUMBER } from '../../src/rpc/generated/lxc-protocol.js';
import { QEMU_PROCEDURES, QEMU_PROCEDURE_BY_NUMBER } from '../../src/rpc/generated/qemu-protocol.js';
import { REMOTE_PROCEDURES, REMOTE_PROCEDURE_BY_NUMBER } from '../../src/rpc/generated/remote-protocol.js';
import { sharedPath } from '../helpers/shared.js';

type AnyProcedure = ProcedureInfo<unknown, unknown>;

/** program id -> procedure number -> procedure, over every generated program table. */
const PROGRAMS = new Map<number, Map<number, AnyProcedure>>();
function register<K extends string>(table: Record<K, AnyProcedure>, byNumber: ReadonlyMap<number, K>): void {
  const procs = new Map<number, AnyProcedure>();
  for (const [n, key] of byNumber) procs.set(n, table[key]);
  PROGRAMS.set(table[byNumber.values().next().value as K].program, procs);
}
register(REMOTE_PROCEDURES as unknown as Record<string, AnyProcedure>, REMOTE_PROCEDURE_BY_NUMBER);
register(QEMU_PROCEDURES as unknown as Record<string, AnyProcedure>, QEMU_PROCEDURE_BY_NUMBER);
register(LXC_PROCEDURES as unknown as Record<string, AnyProcedure>, LXC_PROCEDURE_BY_NUMBER);
register(ADMIN_PROCEDURES as unknown as Record<string, AnyProcedure>, ADMIN_PROCEDURE_BY_NUMBER);
register(KEEPALIVE_PROCEDURES as unknown as Record<string, AnyProcedure>, KEEPALIVE_PROCEDURE_BY_NUMBER);

interface TranscriptMessage {
  dir: 'c2s' | 's2c';
  offset: number;
  length: number;
  procedureName: string | null;
  bodyKind: string;
  body?: unknown;
  problems?: string[];
}

interface Decoded {
  header: VirNetMessageHeader;
  procedure: AnyProcedure | null;
  /** raw: stream data, or a call to a procedure no table knows (its body stays bytes). */
  kind: 'raw' | 'error' | 'args' | 'ret';
  body: unknown;
  /** Bytes after the body that the decoder ignored. */
  trailing: number;
  reencoded: Buffer;
}

function kindOf(header: VirNetMessageHeader, procedure: AnyProcedure | null): Decoded['kind'] {
  if (header.type === VirNetMessageType.VIR_NET_STREAM || header.type === VirNetMessageType.VIR_NET_STREAM_HOLE) return 'raw';
  if (header.status === VirNetMessageStatus.VIR_NET_ERROR) return 'error';
  if (procedure === null) return 'raw';
  return header.type === VirNetMessageType.VIR_NET_REPLY || header.type === VirNetMessageType.VIR_NET_REPLY_WITH_FDS ? 'ret' : 'args';
}

/** Decodes one frame (length word included) and encodes what it read again. */
function roundTrip(frame: Buffer): Decoded {
  const r = new XdrReader(frame, VIR_NET_MESSAGE_LEN_MAX);
  const header = decodeVirNetMessageHeader(r);
  const w = new XdrWriter(frame.length);
  w.writeUint(0);
  encodeVirNetMessageHeader(w, header);
  const procedure = PROGRAMS.get(header.prog)?.get(header.proc) ?? null;
  const kind = kindOf(header, procedure);
  if (header.type === VirNetMessageType.VIR_NET_CALL_WITH_FDS || header.type === VirNetMessageType.VIR_NET_REPLY_WITH_FDS) {
    w.writeUint(r.readUint()); // the number of descriptors passed beside the message
  }
  let body: unknown;
  if (kind === 'raw') {
    body = r.readFixedOpaque(r.remaining);
    w.writeFixedOpaque(body as Buffer, (body as Buffer).length);
  } else if (kind === 'error') {
    const error = decodeVirNetMessageError(r);
    encodeVirNetMessageError(w, error);
    body = error;
  } else if (kind === 'ret') {
    body = procedure!.decodeRet(r);
    procedure!.encodeRet(w, body);
  } else {
    body = procedure!.decodeArgs(r);
    procedure!.encodeArgs(w, body);
  }
  w.patchUint(0, w.length);
  return { header, procedure, kind, body, trailing: r.remaining, reencoded: Buffer.from(w.bytes) };
}

/**
 * Our decoded value against decode.mjs's rendering: 64-bit integers as decimal strings, char arrays
 * as strings (up to the NUL), opaques as hex.
 */
function sameAsTranscript(ours: unknown, theirs: unknown, where: string): void {
  if (ours === undefined) return assert.equal(theirs ?? null, null, `${where}: a void body`);
  if (typeof ours === 'bigint') return assert.equal(theirs, ours.toString(), where);
  if (Buffer.isBuffer(ours)) return assert.equal(theirs, ours.toString('hex'), where);
  if (Array.isArray(ours) && typeof theirs === 'string') {
    return assert.equal(String.fromCharCode(...(ours as number[])).replace(/\0$/, ''), theirs, where);
  }
  if (Array.isArray(ours)) {
    assert.ok(Array.isArray(theirs) && theirs.length === ours.length, `${where}: ${JSON.stringify(theirs)}`);
    ours.forEach((v, i) => sameAsTranscript(v, (theirs as unknown[])[i], `${where}[${i}]`));
    return;
  }
  if (ours !== null && typeof ours === 'object') {
    assert.ok(theirs !== null && typeof theirs === 'object', `${where}: ${JSON.stringify(theirs)}`);
    assert.deepEqual(Object.keys(theirs as object).sort(), Object.keys(ours).sort(), where);
    for (const [k, v] of Object.entries(ours)) sameAsTranscript(v, (theirs as Record<string, unknown>)[k], `${where}.${k}`);
    return;
  }
  assert.equal(ours, theirs, where);
}

function splitFrames(stream: Buffer): { offset: number; length: number }[] {
  const frames: { offset: number; length: number }[] = [];
  for (let offset = 0; offset < stream.length; ) {
    const length = stream.readUInt32BE(offset);
    assert.ok(length >= VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX && offset + length <= stream.length, `frame at ${offset}`);
    frames.push({ offset, length });
    offset += length;
  }
  return frames;
}

const corpus = sharedPath('conformance/rpc');

test('every captured frame decodes as decode.mjs read it and re-encodes byte for byte', { skip: 'skip' in corpus ? corpus.skip : false }, (t) => {
  if (!('path' in corpus)) return;
  const totals = { frames: 0, connections: 0, unknown: [] as string[], trailing: [] as string[] };
  const procedures = new Set<string>();
  for (const scenario of readdirSync(corpus.path).sort()) {
    const dir = path.join(corpus.path, scenario);
    if (!existsSync(path.join(dir, 'scenario.json'))) continue;
    for (const conn of readdirSync(dir).filter((d) => /^conn\d+$/.test(d))) {
      totals.connections++;
      const transcript = JSON.parse(readFileSync(path.join(dir, conn, 'transcript.json'), 'utf8')) as { messages: TranscriptMessage[] };
      for (const direction of ['c2s', 's2c'] as const) {
        const stream = readFileSync(path.join(dir, conn, `${direction}.bin`));
        const expected = transcript.messages.filter((m) => m.dir === direction);
        assert.deepEqual(splitFrames(stream), expected.map((m) => ({ offset: m.offset, length: m.length })), `${scenario}/${conn}/${direction} framing`);
        for (const m of expected) {
          const where = `${scenario}/${conn}/${direction}@${m.offset}`;
          const frame = stream.subarray(m.offset, m.offset + m.length);
          const d = roundTrip(frame);
          totals.frames++;
          // Ignored trailing bytes are the one thing re-encoding drops (and the length word with them).
          const kept = Buffer.from(frame.subarray(0, frame.length - d.trailing));
          kept.writeUInt32BE(kept.length, 0);
          assert.deepEqual(d.reencoded, kept, `${where}: re-encoding differs`);
          if (d.trailing) totals.trailing.push(`${where} ${d.procedure?.name}: ${d.trailing} bytes`);
          assert.equal(d.procedure?.name ?? null, m.procedureName, where);
          if (d.procedure) procedures.add(d.procedure.name);
          if (d.kind === 'raw' && d.header.type !== VirNetMessageType.VIR_NET_STREAM) {
            totals.unknown.push(`${where} program ${d.header.prog.toString(16)} procedure ${d.header.proc}`);
          } else if (d.kind !== 'raw') {
            sameAsTranscript(d.body, m.body, where);
          }
        }
      }
    }
  }
  // Only the hand-written probe sends what a daemon cannot decode (README: unknown procedure 9999,
  // unknown program, junk trailing argument bytes).
  assert.deepEqual(totals.unknown.map((u) => u.replace(/\/conn\d+\/c2s@\d+/, '')), [
    'raw-daemon-edge-cases program 20008086 procedure 9999',
    'raw-daemon-edge-cases program 12345678 procedure 1',
  ]);
  assert.deepEqual(totals.trailing.map((t) => t.replace(/\/conn\d+\/c2s@\d+/, '')), ['raw-daemon-edge-cases REMOTE_PROC_CONNECT_GET_HOSTNAME: 4 bytes']);
  const summary = `${totals.frames} frames, ${procedures.size} procedures in ${totals.connections} connections`;
  t.diagnostic(summary);
  assert.ok(totals.frames > 1500 && procedures.size > 50, summary);
});
