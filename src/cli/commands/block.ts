// Block device commands that change a running domain's disks (blockresize).
import { attempt } from '../errors.js';
import type { Handler } from '../shell.js';

/** VIR_DOMAIN_BLOCK_RESIZE_BYTES */
const RESIZE_BYTES = 1;

const blockresize: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const path = cmd.required('path');
  const bytes = cmd.scaled('size', 1024)!;
  // virsh prefers the older KiB interface when the size allows it
  const [size, flags] = bytes % 1024 === 0 ? [bytes / 1024, 0] : [bytes, RESIZE_BYTES];
  await attempt(`Failed to resize block device '${path}'`, dom.connection.invoke('domainBlockResize', { dom: dom.ref, disk: path, size: BigInt(size), flags }));
  ctl.printExtra(`Block device '${path}' is resized`);
};

export const handlers: Record<string, Handler> = { blockresize };
