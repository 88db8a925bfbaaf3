// tsvirsh entry point: virsh's global options (getopt_long "+:c:d:e:hk:K:l:qrtvV"),
// then either one command string, argv words forming one command, or the
// interactive shell when no command is given.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ArgvTokens, parseCommands, ParseError, StringTokens, type ParsedCommand } from './parser.js';
import { loadHandlers, LOOKUP } from './registry.js';
import { Shell, type Output } from './shell.js';
import { fdOutput } from './fd-output.js';

/** Where the embedded qemu driver keeps its state when no URI is given. */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (uid === 0) return '/var/lib/tsvirt';
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share'), 'tsvirt');
}

/** The URI used when -c is not given: LIBVIRT_DEFAULT_URI, else the embedded qemu driver. */
export function defaultUri(env: NodeJS.ProcessEnv = process.env): string {
  return env.LIBVIRT_DEFAULT_URI || `qemu:///embed?root=${defaultRoot(env)}`;
}

interface GlobalOptions {
  uri?: string;
  quiet: boolean;
  readonly: boolean;
  timing: boolean;
  /** -e: the console's escape sequence, "^X" or one character */
  escape?: string;
  /** warnings about accepted options, printed before anything runs */
  warnings: string[];
  /** the words after the options: one command string, or one command as argv words */
  rest: string[];
}

const LONG_OPTIONS: { name: string; short: string; arg: 'none' | 'required' | 'optional' }[] = [
  { name: 'connect', short: 'c', arg: 'required' },
  { name: 'debug', short: 'd', arg: 'required' },
  { name: 'escape', short: 'e', arg: 'required' },
  { name: 'help', short: 'h', arg: 'none' },
  { name: 'keepalive-interval', short: 'k', arg: 'required' },
  { name: 'keepalive-count', short: 'K', arg: 'required' },
  { name: 'log', short: 'l', arg: 'required' },
  { name: 'quiet', short: 'q', arg: 'none' },
  { name: 'readonly', short: 'r', arg: 'none' },
  { name: 'timing', short: 't', arg: 'none' },
  { name: 'version', short: 'v', arg: 'optional' },
];
const SHORT_WITH_ARG = new Set(['c', 'd', 'e', 'k', 'K', 'l']);
const SHORT_FLAGS = new Set(['h', 'q', 'r', 't', 'v', 'V']);

/** What -h, -v and -V print (help.js, loaded only for them: it lists the whole command table). */
type HelpText = (help: typeof import('./help.js')) => string;

/** Ends the process after a global option was handled (help, version, usage error). */
class Exit {
  constructor(
    readonly code: number,
    readonly stdout: string | HelpText = '',
    readonly stderr = '',
  ) {}
}

function usageError(message: string): Exit {
  return new Exit(1, '', `error: ${message}\n`);
}

function applyOption(o: GlobalOptions, short: string, value: string | undefined, longName?: string): void {
  switch (short) {
    case 'c':
      o.uri = value;
      break;
    case 'd': {
      if (!/^-?\d+$/.test(value ?? '')) throw usageError(`option ${longName ? '--debug' : '-d'} takes a numeric argument`);
      const level = Number(value);
      if (level < 0 || level > 4) o.warnings.push(`ignoring debug level ${level} out of range [0-4]`);
      break;
    }
    case 'k':
    case 'K': {
      const name = longName ? `--${longName}` : `-${short}`;
      if (!/^[-+]?\d+$/.test(value ?? '')) throw usageError(`Invalid value for option ${name}`);
      if (Number(value) < 0) throw usageError(`option ${name} requires a positive integer argument`);
      break;
    }
    case 't':
      o.timing = true;
      break;
    case 'e': {
      // virsh accepts "^" + one of a-z @ A-Z [ \ ] ^ _, or any single other character
      const e = value ?? '';
      if (!/^\^[a-z@-_]$/.test(e) && !(e.length === 1 && e !== '^')) throw usageError(`Invalid string '${e}' for escape sequence`);
      o.escape = e;
      break;
    }
    case 'l':
      break; // the log file does not change tsvirsh's output
    case 'h':
      throw new Exit(0, (help) => help.formatUsage('tsvirsh'));
    case 'q':
      o.quiet = true;
      break;
    case 'r':
      o.readonly = true;
      break;
    case 'v':
      if (value !== 'long') throw new Exit(0, (help) => `${help.VERSION}\n`);
      throw new Exit(0, (help) => help.LONG_VERSION);
    case 'V':
      throw new Exit(0, (help) => help.LONG_VERSION);
  }
}

/** getopt_long with a leading '+': options stop at the first non-option word. */
function parseGlobalOptions(argv: string[]): GlobalOptions {
  const o: GlobalOptions = { quiet: false, readonly: false, timing: false, warnings: [], rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const exact = LONG_OPTIONS.find((l) => l.name === name);
      const prefixed = LONG_OPTIONS.filter((l) => l.name.startsWith(name));
      const opt = exact ?? (prefixed.length === 1 ? prefixed[0] : undefined);
      if (!opt || name === '') throw usageError(`unsupported option '${a}'. See --help.`);
      let value = eq >= 0 ? a.slice(eq + 1) : undefined;
      if (opt.arg === 'none' && value !== undefined) throw usageError(`unsupported option '${a}'. See --help.`);
      if (opt.arg === 'required' && value === undefined) {
        if (i + 1 >= argv.length) throw usageError(`option '-${opt.short}'/'--${opt.name}' requires an argument`);
        value = argv[++i];
      }
      applyOption(o, opt.short, value, opt.name);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if (SHORT_WITH_ARG.has(c)) {
          let value = a.slice(j + 1);
          if (value === '') {
            if (i + 1 >= argv.length) {
              const long = LONG_OPTIONS.find((l) => l.short === c)!;
              throw usageError(`option '-${c}'/'--${long.name}' requires an argument`);
            }
            value = argv[++i]!;
          }
          applyOption(o, c, value);
          break;
        }
        if (!SHORT_FLAGS.has(c)) throw usageError(`unsupported option '-${c}'. See --help.`);
        applyOption(o, c, undefined);
      }
      continue;
    }
    break;
  }
  o.rest = argv.slice(i);
  return o;
}

/** Runs tsvirsh; resolves to the exit status. */
export async function run(argv: string[], output: Output = fdOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: GlobalOptions;
  try {
    opts = parseGlobalOptions(argv);
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    const stdout = typeof e.stdout === 'string' ? e.stdout : e.stdout(await import('./help.js'));
    if (stdout) output.out(stdout);
    if (e.stderr) output.err(e.stderr);
    return e.code;
  }
  for (const w of opts.warnings) output.err(`error: ${w}\n`);
  const interactive = opts.rest.length === 0;
  let commands: ParsedCommand[] = [];
  if (!interactive) {
    // an empty command string is a failure with nothing to report (vshCommandStringParse)
    if (opts.rest.length === 1 && opts.rest[0] === '') return 1;
    try {
      const tokens = opts.rest.length === 1 ? new StringTokens(opts.rest[0]!) : new ArgvTokens(opts.rest);
      commands = parseCommands(tokens, LOOKUP);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      for (const line of e.lines) output.err(`error: ${line}\n`);
      return 1;
    }
  }
  const shell = new Shell(
    { uri: opts.uri, defaultUri: defaultUri(env), quiet: opts.quiet, readonly: opts.readonly, timing: opts.timing, escape: opts.escape, output },
    await loadHandlers(interactive ? undefined : commands.map((c) => c.def.name)),
  );
  // virsh connects up front to a URI given with -c, and lazily to the default one
  if (opts.uri === undefined && env.VIRSH_DEFAULT_CONNECT_URI) shell.uri = env.VIRSH_DEFAULT_CONNECT_URI;
  else if (opts.uri !== undefined) {
    try {
      await shell.reconnect(undefined, opts.readonly);
    } catch (e) {
      shell.report(e);
      return 1;
    }
  }
  try {
    if (interactive) {
      const { runInteractive } = await import('./interactive.js');
      await runInteractive(shell, 'tsvirsh');
      return 0;
    }
    return (await shell.run(commands)) ? 0 : 1;
  } finally {
    await shell.close();
  }
}

/** Process entry used by bin/tsvirsh: exits once all output is flushed. */
export async function main(argv: string[]): Promise<void> {
  let code: number;
  try {
    code = await run(argv);
  } catch (e) {
    fdOutput.err(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    code = 1;
  }
  // every write on Linux's process.stdout/stderr is synchronous: nothing is left to flush
  process.exit(code);
}
