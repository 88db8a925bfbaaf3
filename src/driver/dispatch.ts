// The one way a call reaches a driver, for the public API and the daemon alike:
// the key must be in the procedure tables, a read-only connection refuses what
// libvirt's public API refuses, and the family's driver must implement it.
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import type { ConnectionDrivers, DriverMethod } from './families.js';
import { procedureInfo, type ProcArgs, type ProcedureFacts, type ProcKey, type ProcRet } from './procedures.js';
import { checkPublicArgs } from './public-checks.js';
import { readOnlyRefusal } from './read-only.js';

export interface DispatchTarget {
  readonly drivers: ConnectionDrivers;
  readonly readonly: boolean;
}

/**
 * Calls procedure `key` on the connection's drivers. Not async itself: the driver's
 * own promise is the call's (list --all makes a call per domain, and an async layer
 * that returns a promise costs a promise and three ticks); a refusal is a rejection.
 */
export function dispatch<K extends ProcKey>(target: DispatchTarget, key: K, args: ProcArgs<K>, stream?: Duplex): Promise<ProcRet<K>> {
  try {
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
    const driver = target.drivers[family];
    // a shared driver (network, storage, ...) joins the connection at its family's first call
    if (driver === undefined && family !== 'hypervisor' && target.drivers.openFamily) {
      return target.drivers.openFamily(family).then((opened) => callDriver(opened, key, info, args, stream));
    }
    return callDriver(driver, key, info, args, stream);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Calls the method of `key` on `driver`, which must implement it. Throws when it does not. */
function callDriver<K extends ProcKey>(driver: object | undefined, key: K, info: ProcedureFacts, args: ProcArgs<K>, stream: Duplex | undefined): Promise<ProcRet<K>> {
  const method = (driver as Partial<Record<K, DriverMethod<K>>> | undefined)?.[key] as ((a: ProcArgs<K>, s?: Duplex) => Promise<ProcRet<K>>) | undefined;
  if (typeof method !== 'function') throw virError(ErrorCode.NO_SUPPORT, info.api ?? String(key), info.apiErrorDomain);
  if ((info.stream !== null) !== (stream !== undefined)) {
    throw virError(ErrorCode.INVALID_ARG, `${info.api ?? String(key)} ${info.stream !== null ? 'needs' : 'takes no'} stream`, ErrorDomain.NONE);
  }
  return method.call(driver, args, stream);
}
