// screenshot: virDomainScreenshot's stream written to a file (virsh's cmdScreenshot).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';

/** virshGenFileName: DOMAIN-YYYY-MM-DD-HH:MM:SS with the extension of the image type. */
function defaultFileName(domain: string, mime: string): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}-${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
  const ext = mime === 'image/png' ? '.png' : mime === 'image/x-portable-pixmap' ? '.ppm' : '';
  return `${domain}-${stamp}${ext}`;
}

const screenshot: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const screen = cmd.number('screen', 0, 0xffffffff) ?? 0;
  const { ret, stream } = await dom.connection.invokeStream('domainScreenshot', { dom: dom.ref, screen, flags: 0 });
  if (!ret.mime) throw new CommandError([`could not take a screenshot of ${name}`]);
  const file = cmd.string('file') ?? defaultFileName(name, ret.mime);
  await pipeline(stream, createWriteStream(file, { mode: 0o666 })).catch((e: Error) => {
    throw new CommandError([`cannot create file ${file}`], e);
  });
  ctl.printExtra(`Screenshot saved to ${file}, with type of ${ret.mime}`);
};

export const handlers: Record<string, Handler> = { screenshot };
