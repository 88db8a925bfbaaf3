// virDomainCoreDump / CoreDumpWithFormat on the qemu driver (libvirt's
// qemuDomainCoreDumpWithFormat): the guest's memory as an ELF or kdump file
// (QMP dump-guest-memory, --memory-only), or QEMU's raw migration stream
// (the whole state, as a save without libvirt's header). The guest is paused
// unless --live, and afterwards resumed, reset (--reset) or stopped as crashed
// (--crash). The file is created by this process (mode 0600), as libvirt does.
import { execFile } from 'node:child_process';
import { constants, createWriteStream, openSync } from 'node:fs';
import { chown, mkdtemp, open, rm, unlink } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { DomainState, PausedReason, RunningReason, ShutoffReason } from '../../driver/flags.js';
import { StoppedDetail } from '../../driver/event-numbers.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { systemError } from '../../util/errno-text.js';
import type { QmpClient, QmpEvent } from './qmp.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import { waitForMigration, type RunningDomain } from './lifecycle.js';
import { streamToFile, type QemuOwner } from './migration-stream.js';
import { asOutgoingMigration, DOMAIN_CORE_DUMP } from './migration-jobs.js';
import { asMemoryDump } from './memory-dump-jobs.js';

/** virDomainCoreDumpFlags */
export const DumpFlags = { CRASH: 1 << 0, LIVE: 1 << 1, BYPASS_CACHE: 1 << 2, RESET: 1 << 3, MEMORY_ONLY: 1 << 4 } as const;
/** virDomainCoreDumpFormat, by number: QEMU's dump-guest-memory format names */
const DUMP_FORMATS = ['elf', 'kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'win-dmp'];
const FORMAT_RAW = 0;
/** a dump goes as fast as QEMU can write (libvirt: QEMU_DOMAIN_MIG_BANDWIDTH_MAX) */
const UNLIMITED_BANDWIDTH = Number.MAX_SAFE_INTEGER;

export async function coreDump(driver: QemuDriver, dom: DomainRef, to: string, format: number, flags: number): Promise<void> {
  checkFlags(flags, DumpFlags.LIVE | DumpFlags.CRASH | DumpFlags.BYPASS_CACHE | DumpFlags.RESET | DumpFlags.MEMORY_ONLY, 'qemuDomainCoreDumpWithFormat');
  await driver.runtime.withRunning(dom, async (obj, running) => {
    const runtime = driver.runtime.runtime;
    const resume = running.state === DomainState.RUNNING;
    let paused = false;
    let failure: unknown;
    try {
      if (!(flags & DumpFlags.LIVE) && resume) {
        await runtime.pauseFor(obj.name, PausedReason.DUMP);
        paused = true;
      }
      await writeDump(driver, obj.uuid, running, to, format, flags);
      // a migration to the file leaves QEMU's CPUs stopped, even when live
      paused = true;
    } catch (e) {
      failure = e;
    }
    if (failure === undefined && flags & DumpFlags.CRASH) {
      await runtime.stopFor(obj.name, ShutoffReason.CRASHED, StoppedDetail.CRASHED);
      return;
    }
    if ((resume && paused) || flags & DumpFlags.RESET) {
      if (failure === undefined && flags & DumpFlags.RESET) await runtime.reset(obj.name).catch((e: unknown) => (failure = e));
      if (resume) {
        await runtime.resumeAfter(obj.name, RunningReason.UNPAUSED).catch((e: unknown) => {
          failure ??= virError(ErrorCode.OPERATION_FAILED, `resuming after dump failed: ${(e as Error).message}`, ErrorDomain.QEMU);
        });
      }
    }
    if (failure !== undefined) throw failure;
  });
}

/** doCoreDump: a fresh file; removed again when the dump fails. */
async function writeDump(driver: QemuDriver, uuid: string, running: RunningDomain, to: string, format: number, flags: number): Promise<void> {
  const fh = await open(to, constants.O_CREAT | constants.O_TRUNC | constants.O_WRONLY, 0o600).catch((e: unknown) => {
    throw systemError(`Failed to create file '${to}'`, e, ErrorDomain.QEMU);
  });
  await fh.close();
  try {
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    const owner = driver.runtime.security.qemuOwner(running.live);
    if (flags & DumpFlags.MEMORY_ONLY) {
      const name = DUMP_FORMATS[format];
      if (name === undefined) throw virError(ErrorCode.INVALID_ARG, `unknown dumpformat '${format}'`, ErrorDomain.QEMU);
      await asMemoryDump(driver, uuid, qmp, () => dumpGuestMemory(qmp, to, name, owner));
    } else {
      if (format !== FORMAT_RAW) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'kdump-compressed format is only supported with memory-only dump', ErrorDomain.QEMU);
      // the domain's job: job info reports its progress, an abort cancels it
      await asOutgoingMigration(driver, uuid, qmp, () => migrateToFile(qmp, to, owner), DOMAIN_CORE_DUMP);
    }
  } catch (e) {
    await unlink(to).catch(() => undefined);
    throw e;
  }
}

/** qemuDumpToFd: a format QEMU lacks is refused before anything is written. */
async function dumpGuestMemory(qmp: QmpClient, to: string, format: string, owner: QemuOwner): Promise<void> {
  // QEMU dumps ELF when no format is given
  if (format !== 'elf') {
    const caps = await qmp.execute<{ formats: string[] }>('query-dump-guest-memory-capability');
    if (!caps.formats.includes(format)) throw virError(ErrorCode.INVALID_ARG, `unsupported dumpformat '${format}' for this QEMU binary`, ErrorDomain.QEMU);
  }
  const relay = await dumpRelay(to, owner);
  const completed = dumpCompletion(qmp);
  try {
    await qmp.execute('dump-guest-memory', { paging: false, protocol: `file:${relay.fifo}`, detach: true, ...(format === 'elf' ? {} : { format }) });
    // QEMU has opened the FIFO by now: its closing ends the stream
    await relay.qemuOpened();
    // qemuDumpWaitForCompletion
    const error = (await completed.done).data.error;
    if (typeof error === 'string') throw virError(ErrorCode.OPERATION_FAILED, `memory-only dump failed: ${error}`, ErrorDomain.QEMU);
    await relay.written;
  } finally {
    completed.cancel();
    await relay.close();
  }
}

/** QEMU's DUMP_COMPLETED event, waited for without limit as libvirt does; QEMU's end fails it. */
function dumpCompletion(qmp: QmpClient): { done: Promise<QmpEvent>; cancel(): void } {
  let cancel = () => undefined as void;
  const done = new Promise<QmpEvent>((resolve, reject) => {
    const onClose = () => reject(virError(ErrorCode.OPERATION_FAILED, 'memory-only dump failed for unknown reason', ErrorDomain.QEMU));
    cancel = () => {
      qmp.off('DUMP_COMPLETED', resolve);
      qmp.off('close', onClose);
    };
    qmp.once('DUMP_COMPLETED', resolve);
    qmp.once('close', onClose);
  });
  done.catch(() => undefined); // awaited unless the command itself fails
  return { done, cancel };
}

/**
 * libvirt hands QEMU the file's descriptor; Node cannot pass one over QMP, and
 * QEMU (maybe another user) must not need access to the file's folder. So QEMU
 * writes into a FIFO in a private folder of its user and this process copies
 * to the file. A writer end held here until QEMU has opened the FIFO keeps the
 * reader from seeing an early end (and lets it end when QEMU never opens it).
 */
async function dumpRelay(to: string, owner: QemuOwner) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsvirt-dump-'));
  const fifo = path.join(dir, 'f');
  await promisify(execFile)('mkfifo', ['-m', '0600', fifo]);
  if (owner) await Promise.all([chown(dir, owner.uid, owner.gid), chown(fifo, owner.uid, owner.gid)]);
  // a plain descriptor: the socket wrapping it closes it
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const holder = await open(fifo, constants.O_WRONLY);
  const input = new net.Socket({ fd: reader, readable: true, writable: false });
  const written = pipeline(input, createWriteStream(to, { flags: 'r+' }));
  written.catch(() => undefined); // awaited by the caller
  let held = true;
  const release = async () => {
    if (held) await holder.close();
    held = false;
  };
  return {
    fifo,
    written,
    qemuOpened: release,
    close: async () => {
      await release();
      await written.catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** qemuMigrationSrcToFile: QEMU's migration stream, nothing before it. */
async function migrateToFile(qmp: QmpClient, to: string, owner: QemuOwner): Promise<void> {
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED_BANDWIDTH });
  const stream = await streamToFile(to, owner);
  try {
    await qmp.execute('migrate', { uri: stream.uri });
    await waitForMigration(qmp, 'domain core dump');
    await stream.written;
  } finally {
    await stream.close();
  }
}
