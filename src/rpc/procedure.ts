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

/**
 * A program's procedure facts as the generator writes them: one line per procedure,
 * its fields separated by spaces in FACT_FIELDS order, '-' for null or an empty list,
 * 0/1 for booleans, lists joined by ','. Every tsvirsh call dispatches a few procedures
 * of the hundreds: a line becomes a ProcedureFacts object when first asked for, so a
 * call no longer builds all of them at start-up (a third of the CLI's module set-up).
 */
export const FACT_FIELDS = ['key', 'number', 'name', 'api', 'apiErrorDomain', 'family', 'readonlyRefused', 'priority', 'generate', 'stream', 'sparse', 'event', 'acl', 'aclFilter'] as const;

export class ProcedureFactsTable<K extends string> {
  private lines?: Map<string, string>;
  private readonly decoded = new Map<string, ProcedureFacts>();

  constructor(
    readonly program: number,
    readonly version: number,
    private readonly rows: string,
  ) {}

  /** The facts of `key`, or undefined when the program has no such procedure. */
  get(key: string): ProcedureFacts | undefined {
    let facts = this.decoded.get(key);
    if (facts) return facts;
    const line = this.lines ? this.lines.get(key) : this.lineOf(key);
    if (line === undefined) return undefined;
    facts = this.decode(line);
    this.decoded.set(key, facts);
    return facts;
  }

  keys(): K[] {
    return [...this.lineMap().keys()] as K[];
  }

  /** Every procedure's key by its number. */
  byNumber(): Map<number, K> {
    return new Map(this.keys().map((key) => [this.get(key)!.number, key]));
  }

  /**
   * `key`'s line, searched in the rows themselves: a tsvirsh call asks for a few keys
   * of hundreds, and a map of every line cost more than the searches.
   */
  private lineOf(key: string): string | undefined {
    const head = `${key} `;
    let start = 0;
    if (!this.rows.startsWith(head)) {
      const at = this.rows.indexOf(`\n${head}`);
      if (at < 0) return undefined;
      start = at + 1;
    }
    const end = this.rows.indexOf('\n', start);
    return this.rows.slice(start, end < 0 ? undefined : end);
  }

  private lineMap(): Map<string, string> {
    if (!this.lines) {
      this.lines = new Map();
      for (const line of this.rows.split('\n')) if (line) this.lines.set(line.slice(0, line.indexOf(' ')), line);
    }
    return this.lines;
  }

  private decode(line: string): ProcedureFacts {
    const [key, number, name, api, apiErrorDomain, family, readonlyRefused, priority, generate, stream, sparse, event, acl, aclFilter] = line.split(' ');
    const orNull = (field: string | undefined): string | null => (field === undefined || field === '-' ? null : field);
    const list = (field: string | undefined) => (field === '-' || field === undefined ? [] : field.split(','));
    return {
      key: key!, program: this.program, version: this.version, number: Number(number), name: name!,
      api: orNull(api), apiErrorDomain: Number(apiErrorDomain), family: orNull(family) as DriverFamily | null, readonlyRefused: readonlyRefused === '1',
      priority: priority as ProcedureFacts['priority'], generate: generate as ProcedureFacts['generate'], stream: orNull(stream) as ProcedureFacts['stream'],
      sparse: sparse === '1', event: event === '1', acl: list(acl), aclFilter: list(aclFilter),
    };
  }
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
