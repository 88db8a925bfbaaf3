// `console`: the guest's serial console on this terminal (virsh's cmdConsole /
// virshRunConsole): raw passthrough both ways until the escape character.
import type { Duplex } from 'node:stream';
import { DomainConsoleFlags, DomainState } from '../../api/types.js';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';

/** virsh's default escape sequence, ^] (Ctrl + ]). */
const ESCAPE_CHAR = '^]';
const ESCAPE_BYTE = 0x1d;

const consoleCommand: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  let flags = 0;
  if (cmd.bool('force')) flags |= DomainConsoleFlags.FORCE;
  if (cmd.bool('safe')) flags |= DomainConsoleFlags.SAFE;
  if ((await dom.getState()).state === DomainState.SHUTOFF) throw new CommandError(['The domain is not running']);
  if (!process.stdin.isTTY) throw new CommandError(['Cannot run interactive console without a controlling TTY']);
  ctl.printExtra(`Connected to domain '${name}'\nEscape character is ${ESCAPE_CHAR} (Ctrl + ${ESCAPE_CHAR[1]})\n`);
  await passThrough(await dom.openConsole(cmd.string('devname') ?? null, flags));
};

/** Copies the console to stdout and the terminal (raw) to the console until ^], the end of the session or of the guest. */
function passThrough(stream: Duplex): Promise<void> {
  const stdin = process.stdin;
  return new Promise((resolve) => {
    const onInput = (data: Buffer) => {
      const at = data.indexOf(ESCAPE_BYTE);
      if (at > 0) stream.write(data.subarray(0, at));
      if (at >= 0) finish();
      else stream.write(data);
    };
    // The session ends when the stream closes: after ^] (destroy() below), a
    // forced takeover, or EIO once QEMU closed the pty because the domain stopped.
    const finish = () => stream.destroy();
    stream.once('close', () => {
      stdin.off('data', onInput);
      stdin.setRawMode(false);
      stdin.pause();
      resolve();
    });
    stream.on('error', finish);
    stream.on('data', (d: Buffer) => process.stdout.write(d));
    stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.resume();
  });
}

export const handlers = { console: consoleCommand };
