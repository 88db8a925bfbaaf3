// virDomainBlockPeek / MemoryPeek on the qemu driver (libvirt's
// qemuDomainBlockPeek, qemuDomainMemoryPeek): bytes of a raw disk image read
// from the file, and bytes of the guest's memory that QEMU saves to a file
// (QMP pmemsave/memsave) for this process to read back.
import { constants } from 'node:fs';
import { chown, mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findDiskByName } from '../../conf/device-lookup.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { systemError } from '../../util/errno-text.js';
import { child } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** virDomainMemoryFlags */
const MEMORY_VIRTUAL = 1 << 0;
const MEMORY_PHYSICAL = 1 << 1;

const invalidArg = (message: string) => virError(ErrorCode.INVALID_ARG, message, ErrorDomain.QEMU);
const unsupported = (message: string) => virError(ErrorCode.OPERATION_UNSUPPORTED, message, ErrorDomain.QEMU);

/** qemuDomainBlockPeek: the disk of the current definition (live when running); only raw local images. */
export async function blockPeek(driver: QemuDriver, dom: DomainRef, name: string, offset: bigint, size: number, flags: number): Promise<Buffer> {
  checkFlags(flags, 0, 'qemuDomainBlockPeek');
  const disk = await driver.runtime.withDomain(dom, async (obj, running) => findDiskByName(running?.live ?? obj.def, name), { monitor: false });
  if (!disk) throw invalidArg(`disk '${name}' not found in domain`);
  if (disk.attrs.type === 'vhostuser') throw unsupported('peeking is not supported for vhostuser disk');
  const format = child(disk, 'driver')?.attrs.type ?? 'none';
  if (format !== 'raw') throw unsupported(`peeking is only supported for disk with 'raw' format not '${format}'`);
  const source = child(disk, 'source');
  const file = disk.attrs.type === 'block' ? source?.attrs.dev : disk.attrs.type === 'file' ? source?.attrs.file : undefined;
  if (file === undefined) {
    const protocol = source?.attrs.protocol ?? 'none';
    throw virError(ErrorCode.INTERNAL_ERROR, `storage file reading is not supported for storage type ${disk.attrs.type ?? 'file'} (protocol: ${protocol})`, ErrorDomain.QEMU);
  }
  const fh = await open(file, 'r').catch((e: unknown) => {
    throw systemError(`Failed to open file '${file}'`, e, ErrorDomain.STORAGE);
  });
  try {
    // virFileReadHeaderFD refuses to read nothing
    if (size === 0) throw systemError(`cannot read header '${file}'`, Object.assign(new Error(), { code: 'EINVAL' }), ErrorDomain.STORAGE);
    const buffer = Buffer.alloc(size);
    let nread = 0;
    while (nread < size) {
      const { bytesRead } = await fh.read(buffer, nread, size - nread, Number(offset) + nread);
      if (bytesRead === 0) break;
      nread += bytesRead;
    }
    if (nread < size) throw invalidArg(`'${name}' starting from ${offset} has only ${nread} bytes available`);
    return buffer;
  } finally {
    await fh.close();
  }
}

/**
 * qemuDomainMemoryPeek: QEMU saves the range to a file in a private folder of
 * QEMU's user (libvirt: a temporary file in the domain's lib folder, labelled for QEMU).
 */
export async function memoryPeek(driver: QemuDriver, dom: DomainRef, offset: bigint, size: number, flags: number): Promise<Buffer> {
  checkFlags(flags, MEMORY_VIRTUAL | MEMORY_PHYSICAL, 'qemuDomainMemoryPeek');
  if (flags !== MEMORY_VIRTUAL && flags !== MEMORY_PHYSICAL) throw invalidArg('flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL');
  return driver.runtime.withRunning(dom, async (_obj, running) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsvirt-mem-'));
    try {
      const owner = driver.runtime.security.qemuOwner(running.live);
      if (owner) await chown(dir, owner.uid, owner.gid);
      const filename = path.join(dir, 'qemu.mem');
      const qmp = await driver.runtime.runtime.ensureMonitor(running);
      // QMP's val is an int: a u64 offset beyond 2^63 is passed as its two's complement, as libvirt's JSON does
      const val = offset >= 2n ** 63n ? offset - 2n ** 64n : offset;
      await qmp.execute(flags === MEMORY_VIRTUAL ? 'memsave' : 'pmemsave', { val: Number(val), size, filename });
      // the folder is QEMU's user's: what stands at the name is not trusted (no link, no FIFO, a plain file)
      const fh = await open(filename, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((e: unknown) => {
        throw systemError(`unable to read temporary file '${filename}'`, e, ErrorDomain.QEMU);
      });
      try {
        if (!(await fh.stat()).isFile()) throw virError(ErrorCode.INTERNAL_ERROR, `temporary file '${filename}' is not a regular file`, ErrorDomain.QEMU);
        // past what QEMU wrote, the range reads as zeros
        return (await fh.read(Buffer.alloc(size), 0, size, 0)).buffer;
      } finally {
        await fh.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
