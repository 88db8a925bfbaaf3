// The API surface: every procedure of libvirt's remote protocol (with its QEMU
// program, libvirt-qemu's API, and tsvirt's own program), typed from the generated tables. A call names a procedure key; its
// argument and result types follow from the key, and a name that is not in the
// tables cannot be called.
// Only the lean facts tables are loaded here: in-process calls never need the codecs.
import type { DriverFamily, ProcedureFacts } from '../rpc/procedure.js';
import { REMOTE_PROCEDURE_FACTS } from '../rpc/generated/remote-procedures.js';
import type { RemoteProcedures } from '../rpc/generated/remote-protocol.js';
import { QEMU_PROCEDURE_FACTS } from '../rpc/generated/qemu-procedures.js';
import type { QemuProcedures } from '../rpc/generated/qemu-protocol.js';
import { TSVIRT_PROCEDURE_FACTS } from '../rpc/generated/tsvirt-procedures.js';
import type { TsvirtProcedures } from '../rpc/generated/tsvirt-protocol.js';

export type { DriverFamily, ProcedureFacts };

/** Every procedure a client can call, by key (libvirt's driver method names: 'domainGetXMLDesc'). */
export type Procedures = RemoteProcedures & QemuProcedures & TsvirtProcedures;
export type ProcKey = keyof Procedures;
export type ProcArgs<K extends ProcKey> = Procedures[K]['args'];
export type ProcRet<K extends ProcKey> = Procedures[K]['ret'];

/** The keys served by one driver family (virHypervisorDriver, virNetworkDriver, ...). */
export type FamilyKeys<F extends DriverFamily> = { [K in ProcKey]: Procedures[K]['family'] extends F ? K : never }[ProcKey];

/** Procedures that carry a data stream after their reply (console, screenshot, volume upload/download). */
export type StreamKeys = { [K in ProcKey]: Procedures[K]['stream'] extends null ? never : K }[ProcKey];

/** The programs' tables (their keys are distinct), each decoding a procedure's facts when first asked. */
const TABLES = [REMOTE_PROCEDURE_FACTS, QEMU_PROCEDURE_FACTS, TSVIRT_PROCEDURE_FACTS];

/** The procedure's facts, or undefined for a key that is not in the tables (checked at run time too: keys may come from plain JavaScript). */
export function procedureInfo(key: ProcKey): ProcedureFacts | undefined {
  // indexed: every call passes here, in V8's interpreter in a short process, where for-of makes an iterator result per step
  for (let i = 0; i < TABLES.length; i++) {
    const facts = TABLES[i]!.get(key);
    if (facts) return facts;
  }
  return undefined;
}
