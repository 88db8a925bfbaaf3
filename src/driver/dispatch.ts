// The one way a call reaches a driver, for the public API and the daemon alike:
// the key must be in the procedure tables, a read-only connection refuses what
// libvirt's public API refuses, and the family's driver must implement it.
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import type { ConnectionDrivers, DriverMethod } from './families.js';
import { procedureInfo, type ProcArgs, type ProcKey, type ProcRet } from './procedures.js';
import { checkPublicArgs } from './public-checks.js';
import { readOnlyRefusal } from './read-only.js';

export interface DispatchTarget {
  readonly drivers: ConnectionDrivers;
  readonly readonly: boolean;
}

/** Calls procedure `key` on the connection's drivers. */
export async function dispatch<K extends ProcKey>(target: DispatchTarget, key: K, args: ProcArgs<K>, stream?: Duplex): Promise<ProcRet<K>> {
  const info = procedureInfo(key);
  if (!info || info.family === null || info.event) {
    throw virError(ErrorCode.INVALID_ARG, `unknown procedure: ${String(key)}`, ErrorDomain.NONE);
  }
  if (target.readonly) {
    const refusal = readOnlyRefusal(key, info, args);
    if (refusal !== undefined) throw virError(ErrorCode.OPERATION_DENIED, refusal, info.apiErrorDomain);
  }
  checkPublicArgs(key, args);
  const family = info.family;
  const driver = (target.drivers[family] ?? (family === 'hypervisor' ? undefined : await target.drivers.openFamily?.(family))) as Partial<Record<K, DriverMethod<K>>> | undefined;
  const method = driver?.[key] as ((a: ProcArgs<K>, s?: Duplex) => Promise<ProcRet<K>>) | undefined;
  if (typeof method !== 'function') throw virError(ErrorCode.NO_SUPPORT, info.api ?? String(key), info.apiErrorDomain);
  if ((info.stream !== null) !== (stream !== undefined)) {
    throw virError(ErrorCode.INVALID_ARG, `${info.api ?? String(key)} ${info.stream !== null ? 'needs' : 'takes no'} stream`, ErrorDomain.NONE);
  }
  return method.call(driver, args, stream);
}
