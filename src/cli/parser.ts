// virsh's command grammar (vsh.c vshCommandParse): tokens come either from one
// command string (quotes, escapes, ';' and newlines between commands, '#' comments)
// or from argv words (no quoting, ';' is literal). Options are resolved against the
// declarative command table, so there is one parser for every command.
import type { CommandDef, OptionDef } from './command-types.js';

export class ParseError extends Error {
  override readonly name = 'ParseError';
  /** one virsh error line each (a message may itself contain newlines from the input) */
  readonly lines: string[];
  constructor(...lines: string[]) {
    super(lines.join('\n'));
    this.lines = lines;
  }
}

export type Token = { kind: 'arg'; text: string; start: number; end: number } | { kind: 'sep' } | { kind: 'end' };

export interface TokenSource {
  /** Next token. With report=false (completion) an unterminated quote is tolerated. */
  next(report: boolean): Token;
}

/** Tokens of a command string, exactly as vshCommandStringGetArg splits them. */
export class StringTokens implements TokenSource {
  private pos = 0;
  constructor(private readonly s: string) {}

  get offset(): number {
    return this.pos;
  }

  next(report: boolean): Token {
    const s = this.s;
    let p = this.pos;
    while (s[p] === ' ' || s[p] === '\t' || (s[p] === '\\' && s[p + 1] === '\n')) p += s[p] === '\\' ? 2 : 1;
    if (p >= s.length) {
      this.pos = p;
      return { kind: 'end' };
    }
    if (s[p] === ';' || s[p] === '\n') {
      this.pos = p + 1;
      return { kind: 'sep' };
    }
    if (s[p] === '#') {
      // a word starting with '#' comments out the rest of the line
      while (p < s.length && s[p] !== '\n') p++;
      this.pos = p < s.length ? p + 1 : p;
      return { kind: 'sep' };
    }
    const start = p;
    let single = false;
    let double = false;
    let out = '';
    while (p < s.length) {
      const c = s[p]!;
      if (!single && !double && (c === ' ' || c === '\t' || c === ';' || c === '\n')) break;
      if (!double && c === "'") {
        single = !single;
        p++;
        continue;
      }
      if (!single && c === '\\') {
        p++;
        if (p >= s.length) {
          if (report) throw new ParseError('dangling \\');
          break;
        }
        if (s[p] === '\n') {
          p++;
          continue;
        }
      } else if (!single && c === '"') {
        double = !double;
        p++;
        continue;
      }
      out += s[p]!;
      p++;
    }
    if (double && report) throw new ParseError('missing "');
    this.pos = p;
    return { kind: 'arg', text: out, start, end: p };
  }
}

/** Tokens of argv words: one command, every word literal. */
export class ArgvTokens implements TokenSource {
  private i = 0;
  constructor(private readonly words: readonly string[]) {}
  next(): Token {
    if (this.i >= this.words.length) return { kind: 'end' };
    const text = this.words[this.i++]!;
    return { kind: 'arg', text, start: this.i - 1, end: this.i };
  }
}

export interface ParsedOption {
  def: OptionDef;
  /** undefined for bool options */
  value?: string;
}

export interface ParsedCommand {
  def: CommandDef;
  opts: ParsedOption[];
}

export interface CommandLookup {
  /** The command definition by name, aliases resolved; undefined when unknown. */
  command(name: string): CommandDef | undefined;
}

const HELP_OPTION: OptionDef = { name: 'help', type: 'bool', help: 'print help for this function' };

/** Options that may be filled positionally, in table order (vshCmddefOptParse's opts_need_arg). */
function positionalOptions(def: CommandDef): OptionDef[] {
  return (def.options ?? []).filter((o) => o.type !== 'bool' && o.type !== 'alias' && !o.requireName);
}

/** State of one command being parsed; shared with tab completion. */
export class CommandState {
  readonly opts: ParsedOption[] = [];
  private readonly seen = new Set<string>();
  private readonly needArg: OptionDef[];
  dataOnly = false;

  constructor(readonly def: CommandDef) {
    this.needArg = positionalOptions(def);
  }

  hasSeen(name: string): boolean {
    return this.seen.has(name);
  }

  /** Resolves --name (aliases followed); returns the option and an implied value. */
  lookupOption(name: string, inlineValue: string | undefined): { opt: OptionDef; value: string | undefined } {
    if (name === 'help') return { opt: HELP_OPTION, value: inlineValue };
    let wanted = name;
    let value = inlineValue;
    for (const opt of this.def.options ?? []) {
      if (opt.name !== wanted) continue;
      if (opt.type === 'alias') {
        const eq = opt.help.indexOf('=');
        if (eq >= 0) {
          if (value !== undefined) throw new ParseError(`invalid '=' after option --${opt.name}`);
          value = opt.help.slice(eq + 1);
          wanted = opt.help.slice(0, eq);
        } else {
          wanted = opt.help;
        }
        continue;
      }
      if (this.seen.has(opt.name) && opt.type !== 'argv') throw new ParseError(`option --${wanted} already seen`);
      return { opt, value };
    }
    throw new ParseError(`command '${this.def.name}' doesn't support option --${wanted}`);
  }

  /** Records an option given by name (its positional slot is then taken). */
  addNamed(opt: OptionDef, value: string | undefined): void {
    this.seen.add(opt.name);
    if (opt.type !== 'argv') {
      const i = this.needArg.indexOf(opt);
      if (i >= 0) this.needArg.splice(i, 1);
    }
    this.opts.push({ def: opt, value });
  }

  /** The option a bare word fills next (vshCmddefGetData), or undefined. */
  nextPositional(): OptionDef | undefined {
    return this.needArg[0];
  }

  addPositional(value: string): OptionDef | undefined {
    const opt = this.needArg[0];
    if (!opt) return undefined;
    if (opt.type !== 'argv') this.needArg.shift();
    this.seen.add(opt.name);
    this.opts.push({ def: opt, value });
    return opt;
  }

  missingRequired(): OptionDef[] {
    return (this.def.options ?? []).filter((o) => o.required && !this.seen.has(o.name));
  }
}

/**
 * Parses every command of the input before any runs (a syntax error anywhere
 * aborts all of them), as virsh does.
 */
export function parseCommands(src: TokenSource, lookup: CommandLookup): ParsedCommand[] {
  const commands: ParsedCommand[] = [];
  for (;;) {
    let state: CommandState | undefined;
    let tok: Token;
    for (;;) {
      tok = src.next(true);
      if (tok.kind !== 'arg') break;
      const text = tok.text;
      if (!state) {
        if (text.startsWith('#')) {
          // argv form: a first word starting with '#' comments out the command
          do tok = src.next(false);
          while (tok.kind === 'arg');
          break;
        }
        const def = lookup.command(text);
        if (!def) throw new ParseError(`unknown command: '${text}'`);
        state = new CommandState(def);
        continue;
      }
      if (!state.dataOnly && text.startsWith('--') && /^[A-Za-z0-9]/.test(text.slice(2))) {
        const eq = text.indexOf('=', 2);
        const name = eq >= 0 ? text.slice(2, eq) : text.slice(2);
        let inline = eq >= 0 ? text.slice(eq + 1) : undefined;
        let found: { opt: OptionDef; value: string | undefined };
        try {
          found = state.lookupOption(name, inline);
        } catch (e) {
          if (state.def.name === 'help') continue; // help ignores spurious options
          throw e;
        }
        const { opt } = found;
        inline = found.value;
        if (opt.type === 'bool') {
          if (inline !== undefined) throw new ParseError(`invalid '=' after option --${opt.name}`);
          state.addNamed(opt, undefined);
        } else {
          let value = inline;
          if (value === undefined) {
            const t = src.next(true);
            if (t.kind !== 'arg') {
              throw new ParseError(`expected syntax: --${opt.name} <${opt.type === 'int' ? 'number' : 'string'}>`);
            }
            value = t.text;
          }
          state.addNamed(opt, value);
        }
        continue;
      }
      if (!state.dataOnly && text === '--') {
        state.dataOnly = true;
        continue;
      }
      if (!state.addPositional(text) && state.def.name !== 'help') throw new ParseError(`unexpected data '${text}'`);
    }
    if (state) commands.push(finishCommand(state, lookup));
    if (tok.kind === 'end') return commands;
  }
}

/** Applies --help (turns the command into `help CMD`) and checks required options. */
function finishCommand(state: CommandState, lookup: CommandLookup): ParsedCommand {
  if (state.opts.some((o) => o.def === HELP_OPTION)) {
    const help = lookup.command('help')!;
    return { def: help, opts: [{ def: help.options![0]!, value: state.def.name }] };
  }
  const missing = state.missingRequired();
  if (missing.length) {
    // one error line per missing option, like vshCommandCheckOpts
    throw new ParseError(
      ...missing.map((o) =>
        o.type === 'data' || o.type === 'argv'
          ? `command '${state.def.name}' requires <${o.name}> option`
          : `command '${state.def.name}' requires --${o.name} option`,
      ),
    );
  }
  return { def: state.def, opts: state.opts };
}
