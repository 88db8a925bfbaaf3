// The RPC programs tsvirtd serves and how a (program, version, procedure) of a
// header finds its procedure, with libvirt's errors for what it does not know.
import { QEMU_PROCEDURES, QEMU_PROGRAM, QEMU_PROTOCOL_VERSION } from '../rpc/generated/qemu-protocol.js';
import { REMOTE_PROCEDURES, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from '../rpc/generated/remote-protocol.js';
import { TSVIRT_PROCEDURES, TSVIRT_PROGRAM, TSVIRT_PROTOCOL_VERSION } from '../rpc/generated/tsvirt-protocol.js';
import { rpcError } from '../rpc/message.js';
import type { ProcedureInfo } from '../rpc/procedure.js';

type Table = Readonly<Record<string, ProcedureInfo<unknown, unknown>>>;

function byNumber(table: Table): ReadonlyMap<number, ProcedureInfo<unknown, unknown>> {
  return new Map(Object.values(table).map((info) => [info.number, info]));
}

/** program id -> its version and procedures by number. */
const PROGRAMS: ReadonlyMap<number, { version: number; procedures: ReadonlyMap<number, ProcedureInfo<unknown, unknown>> }> = new Map([
  [REMOTE_PROGRAM, { version: REMOTE_PROTOCOL_VERSION, procedures: byNumber(REMOTE_PROCEDURES as unknown as Table) }],
  [TSVIRT_PROGRAM, { version: TSVIRT_PROTOCOL_VERSION, procedures: byNumber(TSVIRT_PROCEDURES as unknown as Table) }],
  [QEMU_PROGRAM, { version: QEMU_PROTOCOL_VERSION, procedures: byNumber(QEMU_PROCEDURES as unknown as Table) }],
]);

/** The procedure a call names; libvirt's RPC errors for an unknown program, version or procedure, or a message number. */
export function findProcedure(prog: number, vers: number, proc: number): ProcedureInfo<unknown, unknown> {
  const program = PROGRAMS.get(prog);
  if (!program || program.version !== vers) throw rpcError(`Cannot find program ${prog} version ${vers}`);
  const info = program.procedures.get(proc);
  if (!info) throw rpcError(`unknown procedure: ${proc}`);
  return info;
}
