// The wire layer: frames split at any byte boundary, hostile lengths refused
// before anything is kept, messages and errors encoded as libvirt sends them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_MAX, FRAME_MIN, FrameLengthError, FrameSplitter } from '../../src/rpc/frame.js';
import { PING, PONG, keepaliveAnswer } from '../../src/rpc/keepalive.js';
import { answerHeader, decodeError, decodeFramePieces, decodeMessage, encodeError, encodeMessage, encodeStreamData, MessageStatus, MessageType, rpcError, toMessageError } from '../../src/rpc/message.js';
import { ErrorCode, ErrorDomain, virError } from '../../src/util/error.js';

// AUTH_LIST call and reply as captured from virsh <-> libvirtd (remote-protocol.md 2.1)
const AUTH_LIST_CALL = Buffer.from('0000001c200080860000000100000042000000000000000000000000', 'hex');
const AUTH_LIST_REPLY = Buffer.from('00000024200080860000000100000042000000010000000000000000' + '0000000100000000', 'hex');

test('frames are split wherever the bytes are cut', () => {
  const stream = Buffer.concat([AUTH_LIST_CALL, AUTH_LIST_REPLY, AUTH_LIST_CALL]);
  for (let cut = 1; cut < stream.length; cut++) {
    const s = new FrameSplitter();
    const frames = [...s.push(stream.subarray(0, cut)), ...s.push(stream.subarray(cut))];
    assert.deepEqual(frames.map((f) => f.toString('hex')), [AUTH_LIST_CALL, AUTH_LIST_REPLY, AUTH_LIST_CALL].map((f) => f.toString('hex')));
    assert.equal(s.pending, 0);
  }
  const bytewise = new FrameSplitter();
  const frames = [...stream].flatMap((b) => bytewise.push(Buffer.from([b])));
  assert.equal(frames.length, 3);
});

test('a length word outside 28 .. 32 MiB + 4 is refused as soon as it arrives', () => {
  const word = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  assert.throws(() => new FrameSplitter().push(word(FRAME_MAX + 1)), FrameLengthError);
  assert.throws(() => new FrameSplitter().push(word(0xffffffff)), FrameLengthError);
  assert.throws(() => new FrameSplitter().push(word(FRAME_MIN - 1)), FrameLengthError);
  assert.throws(() => new FrameSplitter().push(word(3)), FrameLengthError);
  // the largest legal length is accepted and waits for its bytes
  const s = new FrameSplitter();
  assert.deepEqual(s.push(word(FRAME_MAX)), []);
  assert.equal(s.pending, 4);
});

test('messages are encoded byte for byte as libvirt frames them', () => {
  const call = decodeMessage(AUTH_LIST_CALL);
  assert.deepEqual(call.header, { prog: 0x20008086, vers: 1, proc: 66, type: 0, serial: 0, status: 0 });
  const reply = encodeMessage(answerHeader(call.header, MessageType.VIR_NET_REPLY, MessageStatus.VIR_NET_OK), (w) => w.writeArray([0], 20, (t) => w.writeInt(t)));
  assert.equal(reply.toString('hex'), AUTH_LIST_REPLY.toString('hex'));
});

test('errors carry code, domain, message, the template and detail as virRaiseErrorFull fills them', () => {
  assert.deepEqual(toMessageError(rpcError('unknown procedure: 9999')), {
    code: 39, domain: 7, message: 'unknown procedure: 9999', level: 2, dom: null,
    str1: '%s', str2: 'unknown procedure: 9999', str3: null, int1: -1, int2: -1, net: null,
  });
  const invalid = toMessageError(virError(ErrorCode.OPERATION_INVALID, 'domain is not running'));
  assert.equal(invalid.str1, 'Requested operation is not valid: %s');
  assert.equal(invalid.str2, 'domain is not running');
  const bare = toMessageError(virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST));
  assert.deepEqual([bare.code, bare.domain, bare.message, bare.str1, bare.str2], [42, 12, 'Domain not found', 'Domain not found', null]);
  // the captured 112-byte error reply of the test driver's failed lookup (remote-protocol.md 7.1)
  const header = { prog: 0x20008086, vers: 1, proc: 23, type: 1, serial: 6, status: 1 };
  const frame = encodeError(header, virError(ErrorCode.NO_DOMAIN, undefined, ErrorDomain.TEST));
  assert.equal(frame.length, 112);
  const back = decodeError(decodeMessage(frame).body);
  assert.deepEqual([back.code, back.domain, back.message], [42, 12, 'Domain not found']);
});

test('keepalive PING is answered with PONG, PONG with nothing', () => {
  assert.equal(PING.toString('hex'), '0000001c6b65657000000001000000010000000200000000' + '00000000');
  assert.equal(keepaliveAnswer(decodeMessage(PING).header), PONG);
  assert.equal(keepaliveAnswer(decodeMessage(PONG).header), null);
});

test('stream data goes raw after the header, with the call procedure and serial', () => {
  const call = { prog: 0x20008086, vers: 1, proc: 209, type: 0, serial: 7, status: 0 };
  const frame = encodeStreamData(call, Buffer.from('abc'));
  assert.equal(frame.readUInt32BE(0), 31);
  const m = decodeMessage(frame);
  assert.deepEqual(m.header, { ...call, type: MessageType.VIR_NET_STREAM, status: MessageStatus.VIR_NET_CONTINUE });
  assert.equal(m.body.toString(), 'abc');
});

test('a packet split across reads comes as views of the reads; only a split header is joined', () => {
  const call = { prog: 0x20008086, vers: 1, proc: 209, type: 0, serial: 7, status: 0 };
  const payload = Buffer.alloc(300_000, 7);
  const frame = encodeStreamData(call, payload);
  // cut at 10 (inside the header), 100 000 and 200 000 bytes, as three socket reads plus the rest
  const reads = [frame.subarray(0, 10), frame.subarray(10, 100_000), frame.subarray(100_000, 200_000), frame.subarray(200_000)].map((r) => Buffer.from(r));
  const s = new FrameSplitter();
  const pieces = reads.flatMap((r) => s.pushPieces(r));
  assert.equal(pieces.length, 1);
  const m = decodeFramePieces(pieces[0]!);
  assert.deepEqual(m.header, { ...call, type: MessageType.VIR_NET_STREAM, status: MessageStatus.VIR_NET_CONTINUE });
  assert.deepEqual(m.bodyPieces.map((p) => p.length), [100_000 - 28, 100_000, frame.length - 200_000]);
  // the body's pieces share the reads' memory: nothing was copied
  assert.equal(m.bodyPieces[1]!.buffer, reads[2]!.buffer);
  assert.equal(m.bodyPieces[2]!.buffer, reads[3]!.buffer);
  assert.ok(m.body.equals(payload));
  assert.equal(s.pending, 0);
});
