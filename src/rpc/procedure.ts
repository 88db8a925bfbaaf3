// What the generated protocol tables say about one RPC procedure (src/rpc/generated/*-protocol.ts).

import type { XdrReader, XdrWriter } from './xdr.js';

/** libvirt's virConnectDriver families: which src/driver-*.h declares the procedure's driver method. */
export type DriverFamily = 'hypervisor' | 'network' | 'storage' | 'interface' | 'nodedev' | 'secret' | 'nwfilter';

/** What a procedure is, without its codecs (src/rpc/generated/*-procedures.ts: cheap to load). */
export interface ProcedureFacts {
  /** The driver method name, e.g. 'domainGetXMLDesc' (libvirt's virDrvDomainGetXMLDesc without the prefix). */
  readonly key: string;
  readonly program: number;
  readonly version: number;
  readonly number: number;
  /** The .x enum member, e.g. 'REMOTE_PROC_DOMAIN_GET_XML_DESC'. */
  readonly name: string;
  /** The public API of that name in libvirt-*.c, e.g. 'virDomainGetXMLDesc'; null when there is none. */
  readonly api: string | null;
  /** The virErrorDomain of the public API's errors (read-only refusal, not supported); 0 without an API. */
  readonly apiErrorDomain: number;
  /** The driver family whose src/driver-*.h declares virDrv<Key>; null when none does (auth, events, ...). */
  readonly family: DriverFamily | null;
  /** The public API refuses the call on a read-only connection (it calls virCheckReadOnlyGoto). */
  readonly readonlyRefused: boolean;
  readonly priority: 'high' | 'low';
  readonly generate: 'both' | 'server' | 'client' | 'none';
  /** @readstream / @writestream: the call opens a stream in that direction (seen from the client). */
  readonly stream: null | 'read' | 'write' | 'both';
  /** @sparseflag: the stream may carry holes. */
  readonly sparse: boolean;
  /** @acl rules, as written in the .x ('domain:write', 'domain:save:!VIR_DOMAIN_AFFECT_CONFIG', ...). */
  readonly acl: readonly string[];
  /** @aclfilter rules: the access check that filters a returned list. */
  readonly aclFilter: readonly string[];
  /** Sent as a MESSAGE and never answered: an event or callback from the server, or keepalive PING/PONG. Only args travel. */
  readonly event: boolean;
}

/** A procedure's facts and its argument/return codecs (src/rpc/generated/*-protocol.ts). */
export interface ProcedureInfo<A, R> extends ProcedureFacts {
  readonly encodeArgs: (w: XdrWriter, v: A) => void;
  readonly decodeArgs: (r: XdrReader) => A;
  readonly encodeRet: (w: XdrWriter, v: R) => void;
  readonly decodeRet: (r: XdrReader) => R;
}

/** The codec of an absent argument or return structure: nothing on the wire. */
export function encodeVoid(_w: XdrWriter, _v: void): void {}

export function decodeVoid(_r: XdrReader): void {}
