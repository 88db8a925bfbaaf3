// virDomainScreenshot (qemuDomainScreenshot): QEMU's screendump writes the
// screen to a file in the domain's private folder, as PNG (QEMU 7.1 and later
// take the format; libvirt then says image/png), and the file's bytes go to
// the caller's stream.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed } from '../../util/xml.js';
import { domainRuntimePaths } from './command-line/context.js';
import type { DomainRef, QemuDriver } from './driver.js';
import { checkFlags } from './driver.js';

export const SCREENSHOT_MIME = 'image/png';

export async function takeScreenshot(driver: QemuDriver, dom: DomainRef, screen: number, flags: number, stream: Duplex): Promise<string> {
  checkFlags(flags, 0, 'qemuDomainScreenshot');
  const image = await driver.runtime.withRunning(dom, async (obj, running) => {
    const videos = childrenNamed(child(running.live, 'devices') ?? running.live, 'video');
    if (videos.length === 0) throw virError(ErrorCode.OPERATION_INVALID, 'no screens to take screenshot from', ErrorDomain.QEMU);
    if (screen > 0) {
      // a screen > 0 is a head of the first video device with several heads, or a later video device
      const heads = Number(child(videos[0]!, 'model')?.attrs.heads ?? 1);
      if (screen >= heads && screen >= videos.length) throw virError(ErrorCode.INVALID_ARG, `Screen ID ${screen} not found`, ErrorDomain.QEMU);
    }
    const file = path.join(domainRuntimePaths(driver.paths, running.id, obj.name).libDir, 'screendump.png');
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    try {
      const device = screen > 0 ? child(videos[0]!, 'alias')?.attrs.name : undefined;
      await qmp.execute('screendump', { filename: file, format: 'png', ...(device !== undefined ? { device, head: screen } : {}) });
      return await readFile(file);
    } finally {
      await rm(file, { force: true });
    }
  });
  stream.end(image);
  return SCREENSHOT_MIME;
}
