// The end of a disk image's backing chain, as libvirt records it in the live
// XML of a running domain: an image known to have no backing file gets an
// empty <backingStore/> after its <source>, and its QEMU format node is then
// opened with "backing": null (QEMU looks for no backing file itself).
//
// libvirt probes the whole chain (qemuDomainDetermineDiskChain). tsvirt reads
// only the top image's header: a raw image has no backing file, a qcow2 image
// has one when its header names one. An image with a backing file is left
// unmarked, and QEMU opens its chain as the image says.
import { open } from 'node:fs/promises';
import { child, element, type XmlElement } from '../../util/xml.js';

/** qcow2 header: magic "QFI\xfb", then version (u32), then backing_file_offset (u64, big-endian). */
const QCOW2_MAGIC = 0x514649fb;

/** Whether the image at `file` (in `format`) is known to have no backing file. */
async function hasNoBackingFile(file: string, format: string): Promise<boolean> {
  if (format === 'raw') return true;
  if (format !== 'qcow2') return false;
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const header = Buffer.alloc(16);
    const { bytesRead } = await fh.read(header, 0, 16, 0);
    return bytesRead === 16 && header.readUInt32BE(0) === QCOW2_MAGIC && header.readBigUInt64BE(8) === 0n;
  } finally {
    await fh.close();
  }
}

/** Adds <backingStore/> to every local disk image of `disks` known to have no backing file. */
export async function markChainEnds(disks: XmlElement[]): Promise<void> {
  for (const disk of disks) {
    if (child(disk, 'backingStore')) continue;
    const source = child(disk, 'source');
    const file = disk.attrs.type === 'block' ? source?.attrs.dev : disk.attrs.type === 'file' || disk.attrs.type === undefined ? source?.attrs.file : undefined;
    if (!source || file === undefined) continue;
    if (!(await hasNoBackingFile(file, child(disk, 'driver')?.attrs.type ?? 'raw'))) continue;
    disk.children.splice(disk.children.indexOf(source) + 1, 0, element('backingStore', {}));
  }
}
