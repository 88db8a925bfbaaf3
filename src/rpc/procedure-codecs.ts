// The codecs of the procedures a connection can call (libvirt's remote and QEMU
// programs and tsvirt's own), by key: what the daemon and the remote driver encode and decode with.
// In-process callers need only the facts (src/driver/procedures.ts) and never load this.
import { REMOTE_PROCEDURES, type RemoteProcedures } from './generated/remote-protocol.js';
import { QEMU_PROCEDURES, type QemuProcedures } from './generated/qemu-protocol.js';
import { TSVIRT_PROCEDURES, type TsvirtProcedures } from './generated/tsvirt-protocol.js';
import type { ProcedureInfo } from './procedure.js';

type CodecKey = keyof RemoteProcedures | keyof QemuProcedures | keyof TsvirtProcedures;

const TABLE: Readonly<Record<CodecKey, ProcedureInfo<unknown, unknown>>> = { ...REMOTE_PROCEDURES, ...QEMU_PROCEDURES, ...TSVIRT_PROCEDURES } as never;

/** The procedure's facts and codecs; undefined for a key of none of these programs. */
export function procedureCodecs(key: CodecKey): ProcedureInfo<unknown, unknown> | undefined {
  return Object.hasOwn(TABLE, key) ? TABLE[key] : undefined;
}
