// Firmware: UEFI code/vars flash as -blockdev nodes wired to the machine's
// pflash0/pflash1, or a BIOS ROM (-bios).
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import type { BuildContext } from './context.js';
import { networkStorageProps } from './disks.js';

function loaderOf(ctx: BuildContext): XmlElement | undefined {
  return child(ctx.view.os, 'loader');
}

/** Old-style UEFI: a pflash loader given by path (firmware autoselection fills one in too). */
export function pflashNodes(ctx: BuildContext): string[] {
  const loader = loaderOf(ctx);
  if (!loader || loader.attrs.type !== 'pflash' || !loader.text.trim()) return [];
  const nvram = child(ctx.view.os, 'nvram');
  return nvram && (nvram.text.trim() || child(nvram, 'source')) ? ['pflash0', 'pflash1'] : ['pflash0'];
}

/** The pflash -blockdev pairs, emitted before -machine. */
export function buildPflashBlockdevs(ctx: BuildContext): void {
  const loader = loaderOf(ctx);
  for (const node of pflashNodes(ctx)) {
    const nvram = child(ctx.view.os, 'nvram');
    const readOnly = node === 'pflash0' ? loader!.attrs.readonly === 'yes' : false;
    const source = node === 'pflash1' ? child(nvram!, 'source') : undefined;
    const storage = node === 'pflash1' && nvram!.attrs.type === 'network' && source
      ? networkStorageProps(source)
      : { driver: 'file', filename: node === 'pflash0' ? loader!.text.trim() : (nvram!.text.trim() || source?.attrs.file || '') };
    ctx.cmd.json('-blockdev', { ...storage, 'node-name': `libvirt-${node}-storage`, 'auto-read-only': true, discard: 'unmap' });
    ctx.cmd.json('-blockdev', { 'node-name': `libvirt-${node}-format`, 'read-only': readOnly, driver: 'raw', file: `libvirt-${node}-storage` });
  }
}

/** -bios for a ROM loader; Secure Boot locks the flash against the OS (qemuBuildDomainLoaderCommandLine). */
export function buildLoader(ctx: BuildContext): void {
  const loader = loaderOf(ctx);
  if (!loader) return;
  if (loader.attrs.type === 'rom' && loader.text.trim()) ctx.cmd.add('-bios', loader.text.trim());
  else if (loader.attrs.type === 'pflash' && loader.attrs.secure === 'yes') ctx.cmd.add('-global', 'driver=cfi.pflash01,property=secure,value=on');
}
