// One RPC message as libvirt frames it (virnetprotocol.x): the length word, the
// header, then a body whose meaning depends on type and status. Errors travel as
// virNetMessageError, built here from tsvirt's VirError and back.
import { ErrorCode, ErrorDomain, VirError, errorTemplate, isVirError } from '../util/error.js';
import {
  VirNetMessageStatus,
  VirNetMessageType,
  decodeVirNetMessageError,
  decodeVirNetMessageHeader,
  decodeVirNetStreamHole,
  encodeVirNetMessageError,
  encodeVirNetMessageHeader,
  encodeVirNetStreamHole,
  type VirNetMessageError,
  type VirNetMessageHeader,
  type VirNetStreamHole,
} from './generated/virnet-protocol.js';
import { XdrError, XdrReader, XdrWriter } from './xdr.js';

export { VirNetMessageStatus as MessageStatus, VirNetMessageType as MessageType };
export type { VirNetMessageHeader as MessageHeader };

/** VIR_ERR_ERROR: the only level libvirt's daemon sends. */
const ERROR_LEVEL = 2;

export interface DecodedMessage {
  readonly header: VirNetMessageHeader;
  /** The body's bytes (a view into the frame). */
  readonly body: Buffer;
  /** The body as it arrived, in uncopied pieces (stream data goes on this way); body joins them. */
  readonly bodyPieces: readonly Buffer[];
}

/** Decodes the header of a whole frame (length word included, as FrameSplitter returns it). */
export function decodeMessage(frame: Buffer): DecodedMessage {
  return decodeFramePieces([frame]);
}

/** Decodes the header of a frame received in pieces (FrameSplitter.pushPieces: the first holds length word and header). */
export function decodeFramePieces(pieces: readonly Buffer[]): DecodedMessage {
  const r = new XdrReader(pieces[0]!, 4);
  const header = decodeVirNetMessageHeader(r);
  const bodyPieces = [pieces[0]!.subarray(r.offset), ...pieces.slice(1)].filter((p) => p.length > 0);
  let body: Buffer | undefined;
  return {
    header,
    bodyPieces,
    get body() {
      body ??= bodyPieces.length === 1 ? bodyPieces[0]! : Buffer.concat(bodyPieces);
      return body;
    },
  };
}

/** Frames a message: length word, header, then whatever writeBody puts in. */
export function encodeMessage(header: VirNetMessageHeader, writeBody?: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(256);
  w.writeUint(0);
  encodeVirNetMessageHeader(w, header);
  writeBody?.(w);
  w.patchUint(0, w.length);
  return Buffer.from(w.bytes);
}

/** A reply or stream packet answering `call` (same program, version, procedure and serial). */
export function answerHeader(call: VirNetMessageHeader, type: VirNetMessageType, status: VirNetMessageStatus): VirNetMessageHeader {
  return { prog: call.prog, vers: call.vers, proc: call.proc, type, serial: call.serial, status };
}

/** A body reader that, like libvirt's decoder, ignores bytes after the structure. */
export function bodyReader(body: Buffer): XdrReader {
  return new XdrReader(body);
}

/** virNetMessageError for any failure: a VirError keeps code, domain and text; a bad payload is an RPC error. */
export function toMessageError(e: unknown): VirNetMessageError {
  let code: number;
  let domain: number;
  let message: string;
  if (isVirError(e)) {
    ({ code, domain, message } = e);
  } else if (e instanceof XdrError) {
    [code, domain, message] = [ErrorCode.RPC, ErrorDomain.RPC, `Unable to decode message payload: ${e.message}`];
  } else {
    [code, domain, message] = [ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: ${e instanceof Error ? e.message : String(e)}`];
  }
  const { template, detail } = errorTemplate(code, message);
  return { code, domain, message, level: ERROR_LEVEL, dom: null, str1: template, str2: detail, str3: null, int1: -1, int2: -1, net: null };
}

/** libvirt's error for an RPC-level failure (unknown procedure or program). */
export function rpcError(message: string): VirError {
  return new VirError(ErrorCode.RPC, ErrorDomain.RPC, message);
}

export function encodeError(header: VirNetMessageHeader, e: unknown): Buffer {
  return encodeMessage(header, (w) => encodeVirNetMessageError(w, toMessageError(e)));
}

/** The VirError a client raises from an error body, as libvirt's client does with the same code, domain and text. */
export function decodeError(body: Buffer): VirError {
  const err = decodeVirNetMessageError(bodyReader(body));
  return new VirError(err.code, err.domain, err.message ?? '');
}

export function encodeHole(header: VirNetMessageHeader, hole: VirNetStreamHole): Buffer {
  return encodeMessage(header, (w) => encodeVirNetStreamHole(w, hole));
}

export function decodeHole(body: Buffer): VirNetStreamHole {
  return decodeVirNetStreamHole(bodyReader(body));
}

/** A STREAM packet carrying raw data (status CONTINUE): the bytes go unencoded, no length, no padding. */
export function encodeStreamData(call: VirNetMessageHeader, data: Buffer): Buffer {
  const head = encodeMessage(answerHeader(call, VirNetMessageType.VIR_NET_STREAM, VirNetMessageStatus.VIR_NET_CONTINUE));
  const frame = Buffer.concat([head, data]);
  frame.writeUInt32BE(frame.length, 0);
  return frame;
}
