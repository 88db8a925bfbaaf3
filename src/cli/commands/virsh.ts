// Commands of the "Virsh itself" group: help, echo, quit/exit, connect, cd, pwd.
import { CommandError } from '../errors.js';
import { ERRNO_TEXT } from '../files.js';
import { formatAllHelp, formatCommandHelp, formatGroupHelp } from '../help.js';
import { commandByName, groupByName, LOOKUP } from '../registry.js';
import type { Handler } from '../shell.js';

/** virBufferEscapeShell: quote only when the word holds shell metacharacters. */
function shellQuote(s: string): string {
  if (s === '') return "''";
  if (!/[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/.test(s)) return s;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** virBufferEscapeString: XML-escape, silently dropping control characters. */
export function xmlEscape(s: string): string {
  const map: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };
  return s.replace(/[\x01-\x08\x0b\x0c\x0e-\x19"&'<>]/g, (c) => map[c] ?? '');
}

/** vshStringToArray: split on ',' where ',,' stands for a literal comma. */
export function splitCommaList(s: string): string[] {
  const parts = s.split(',');
  const out = [parts[0]!];
  let concat = false;
  for (const p of parts.slice(1)) {
    if (concat) {
      out[out.length - 1] += `,${p}`;
      concat = false;
    } else if (p === '') concat = true;
    else out.push(p);
  }
  if (concat) out.push('');
  return out;
}

const help: Handler = async (ctl, cmd) => {
  const name = cmd.opts.find((o) => o.def.name === 'command')?.value;
  if (!name) {
    ctl.print(formatAllHelp());
    return;
  }
  const def = commandByName(name);
  if (def) {
    ctl.output.out(formatCommandHelp(LOOKUP.command(name)!));
    return;
  }
  const group = groupByName(name);
  if (group) {
    ctl.print(formatGroupHelp(group));
    return;
  }
  throw new CommandError([`command or command group '${name}' doesn't exist`]);
};

const echo: Handler = async (ctl, cmd) => {
  cmd.exclusive('shell', 'xml');
  cmd.exclusive('shell', 'split');
  cmd.exclusive('xml', 'split');
  const words = cmd.argv('string').map((w) => {
    if (cmd.bool('xml')) return xmlEscape(w);
    if (cmd.bool('shell')) return shellQuote(w);
    if (cmd.bool('split')) return splitCommaList(w).map((p) => `${p}\n`).join('');
    return w;
  });
  if (words.length === 0) return;
  const text = words.join(' ');
  if (cmd.bool('err')) ctl.error(text);
  else ctl.print(text);
};

const quit: Handler = async () => {};

const connectCmd: Handler = async (ctl, cmd) => {
  const name = cmd.string('name');
  // reconnecting to the current URI keeps its read-only mode (virshReconnect)
  await ctl.reconnect(name, cmd.bool('readonly') || (name === undefined && ctl.readonly));
};

const cd: Handler = async (ctl, cmd) => {
  if (!ctl.interactive) throw new CommandError(['cd: command valid only in interactive mode']);
  const dir = cmd.string('dir') ?? process.env.HOME ?? '/';
  try {
    process.chdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new CommandError([`cd: ${ERRNO_TEXT[code] ?? code}: ${dir}`]);
  }
};

const pwd: Handler = async (ctl) => {
  ctl.print(`${process.cwd()}\n`);
};

/** complete WORDS...: the candidates for the last word, one a line (used by shell completion scripts). */
const completeCmd: Handler = async (ctl, cmd) => {
  const words = cmd.argv('string');
  if (words.length === 0) throw new CommandError([]);
  await ctl.connection();
  const { complete } = await import('../interactive.js');
  const [hits] = await complete(ctl, words.join(' '));
  for (const h of hits) ctl.print(`${h.endsWith(' ') ? h.slice(0, -1) : h}\n`);
};

export const handlers: Record<string, Handler> = { help, echo, quit, exit: quit, connect: connectCmd, cd, pwd, complete: completeCmd };
