// `console`: the guest's serial console on this terminal (virsh's cmdConsole /
// virshRunConsole): raw passthrough both ways until the escape character.
import type { Duplex } from 'node:stream';
import { DomainConsoleFlags, DomainState } from '../../api/types.js';
import { CommandError } from '../errors.js';
import type { Handler } from '../shell.js';

/** The byte an escape sequence stands for: "^X" is Ctrl + X (virshGetEscapeChar), else the character itself. */
function escapeByte(sequence: string): number {
  return sequence[0] === '^' && sequence.length > 1 ? sequence[1]!.toUpperCase().charCodeAt(0) ^ 0x40 : sequence.charCodeAt(0);
}

const consoleCommand: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  let flags = 0;
  if (cmd.bool('force')) flags |= DomainConsoleFlags.FORCE;
  if (cmd.bool('safe')) flags |= DomainConsoleFlags.SAFE;
  if ((await dom.getState()).state === DomainState.SHUTOFF) throw new CommandError(['The domain is not running']);
  if (!process.stdin.isTTY) throw new CommandError(['Cannot run interactive console without a controlling TTY']);
  const escape = ctl.escape;
  ctl.printExtra(`Connected to domain '${name}'\nEscape character is ${escape}${escape[0] === '^' ? ` (Ctrl + ${escape[1]})` : ''}\n`);
  await passThrough(await dom.openConsole(cmd.string('devname') ?? null, flags), escapeByte(escape));
};

/** Copies the console to stdout and the terminal (raw) to the console until the escape byte, the end of the session or of the guest. */
function passThrough(stream: Duplex, escape: number): Promise<void> {
  const stdin = process.stdin;
  return new Promise((resolve) => {
    const onInput = (data: Buffer) => {
      const at = data.indexOf(escape);
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
