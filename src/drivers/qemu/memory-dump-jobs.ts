// The memory-only core dumps (QMP dump-guest-memory, detached) a driver runs
// right now. Like an outgoing migration, a dump holds its domain's lock from
// start to end; job info finds it here, without that lock, and asks QEMU's
// query-dump for its progress through the dump's monitor connection.
import type { QmpClient } from './qmp.js';
import { perDriverMap } from './per-driver-map.js';

export interface MemoryDump {
  readonly qmp: QmpClient;
  /** Date.now() when QEMU's dump was issued */
  readonly startedMs: number;
}

/** query-dump: bytes written of the guest memory to dump */
export interface DumpProgress {
  status?: string;
  completed?: number;
  total?: number;
}

const dumpsOf = perDriverMap<MemoryDump>();

/** The running memory-only dump of the domain with `uuid`, if any. */
export function memoryDump(driver: object, uuid: string): MemoryDump | undefined {
  return dumpsOf(driver).get(uuid);
}

/** Runs `fn` as the domain's memory-only dump. */
export async function asMemoryDump<T>(driver: object, uuid: string, qmp: QmpClient, fn: () => Promise<T>): Promise<T> {
  const dumps = dumpsOf(driver);
  dumps.set(uuid, { qmp, startedMs: Date.now() });
  try {
    return await fn();
  } finally {
    dumps.delete(uuid);
  }
}

export function queryDumpProgress(dump: MemoryDump): Promise<DumpProgress> {
  return dump.qmp.execute<DumpProgress>('query-dump');
}
