// The tsvirsh control object (virsh's vshControl): output rules, the connection,
// option accessors for a parsed command, and the loop that runs parsed commands.
import { connect, type Connection, type Domain } from '../api/connection.js';
import { ErrorCode, ErrorDomain, isVirError, virError, type VirError } from '../util/error.js';
import { XmlSyntaxError } from '../util/xml.js';
import type { CommandDef } from './command-types.js';
import { CommandError, RawDiagnostic } from './errors.js';
import type { ParsedCommand, ParsedOption } from './parser.js';

export type Handler = (ctl: Shell, cmd: Invocation) => Promise<void>;

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** raw bytes on standard output (secret-get-value --plain); outputs without it get the bytes as UTF-8 text */
  outBytes?(data: Uint8Array): void;
}

/** One parsed command with typed access to its options (vshCommandOpt*). */
export class Invocation {
  constructor(
    readonly def: CommandDef,
    readonly opts: ParsedOption[],
  ) {}

  private find(name: string): ParsedOption | undefined {
    return this.opts.find((o) => o.def.name === name);
  }

  bool(name: string): boolean {
    return this.find(name) !== undefined;
  }

  /** vshCommandOptStringReq: undefined when absent; an empty value fails unless the option allows it. */
  string(name: string): string | undefined {
    const o = this.find(name);
    if (!o) return undefined;
    if (o.value === '' && !o.def.emptyOk) throw new CommandError([`Failed to get option '${name}': Option argument is empty`]);
    return o.value;
  }

  /** A string option the table marks required (the parser has checked presence). */
  required(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new CommandError([`Failed to get option '${name}': Mandatory option not present`]);
    return v;
  }

  /** vshCommandOptInt / UInt / ULongLong: decimal integer in [min, max]. */
  number(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const o = this.find(name);
    if (!o) return undefined;
    const v = o.value ?? '';
    const n = /^\s*[-+]?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new CommandError([`Numeric value '${v}' for <${name}> option is malformed or out of range`]);
    }
    return n;
  }

  /**
   * vshCommandOptULongLong: an unsigned 64-bit decimal; with `wrap`
   * (vshCommandOptULongLongWrap, ULWrap) a negative value wraps around, as strtoull makes it.
   */
  unsigned64(name: string, wrap = false): bigint | undefined {
    const o = this.find(name);
    if (!o) return undefined;
    const v = o.value ?? '';
    const m = /^\s*([-+]?)(\d+)$/.exec(v);
    const magnitude = m ? BigInt(m[2]!) : undefined;
    if (magnitude === undefined || magnitude >= 2n ** 64n || (m![1] === '-' && !wrap)) {
      throw new CommandError([`Numeric value '${v}' for <${name}> option is malformed or out of range`]);
    }
    return m![1] === '-' ? (2n ** 64n - magnitude) % 2n ** 64n : magnitude;
  }

  /** vshCommandOptScaledInt: a number with an optional unit suffix, in bytes × `scale` default. */
  scaled(name: string, scale: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const o = this.find(name);
    if (!o) return undefined;
    const v = o.value ?? '';
    try {
      return parseScaled(v, scale, max);
    } catch (e) {
      throw new CommandError([`Scaled numeric value '${v}' for <${name}> option is malformed or out of range`], e instanceof ScaleError ? e.reason : undefined);
    }
  }

  argv(name: string): string[] {
    return this.opts.filter((o) => o.def.name === name && o.def.type === 'argv').map((o) => o.value ?? '');
  }

  /** Fails when both options are given (VSH_EXCLUSIVE_OPTIONS). */
  exclusive(a: string, b: string): void {
    if (this.bool(a) && this.bool(b)) throw new CommandError([`Options --${a} and --${b} are mutually exclusive`]);
  }

  /** Fails when `a` is given without `b` (VSH_REQUIRE_OPTION). */
  requireOption(a: string, b: string): void {
    if (this.bool(a) && !this.bool(b)) throw new CommandError([`Option --${b} is required by option --${a}`]);
  }
}

/** A number that is not a valid scaled integer; `reason` is libvirt's error when it reports one. */
export class ScaleError extends Error {
  constructor(readonly reason?: VirError) {
    super(reason?.message ?? 'malformed number');
  }
}

const POWERS = ['k', 'm', 'g', 't', 'p', 'e'];

/**
 * virStrToLong_ullp + virScaleInteger: "10", "10M", "2GiB", "1KB", "5 bytes"
 * (the bare number is in units of `scale`). Throws ScaleError.
 */
export function parseScaled(text: string, scale: number, max = Number.MAX_SAFE_INTEGER): number {
  const { digits, suffix, factor } = splitScaled(text, scale);
  const value = Number(digits);
  if (value && value > max / factor) throw new ScaleError(virError(ErrorCode.OVERFLOW, `value too large: ${digits}${suffix}`, ErrorDomain.NONE));
  return value * factor;
}

/** parseScaled for the full unsigned 64-bit range (vshCommandOptScaledInt on volume sizes). */
export function parseScaledBigInt(text: string, scale: number): bigint {
  const { digits, suffix, factor } = splitScaled(text, scale);
  const value = BigInt(digits) * BigInt(factor);
  if (value > 0xffffffffffffffffn) throw new ScaleError(virError(ErrorCode.OVERFLOW, `value too large: ${digits}${suffix}`, ErrorDomain.NONE));
  return value;
}

/** A scaled integer's digits, its suffix and the factor the suffix stands for (virScaleInteger). */
function splitScaled(text: string, scale: number): { digits: string; suffix: string; factor: number } {
  const m = /^\s*\+?(\d+)(.*)$/s.exec(text);
  if (!m) throw new ScaleError();
  const suffix = m[2]!;
  if (suffix === '') return { digits: m[1]!, suffix, factor: scale };
  if (['b', 'byte', 'bytes'].includes(suffix.toLowerCase())) return { digits: m[1]!, suffix, factor: 1 };
  const rest = suffix.slice(1).toLowerCase();
  const base = rest === '' || rest === 'ib' ? 1024 : rest === 'b' ? 1000 : 0;
  const power = POWERS.indexOf(suffix[0]!.toLowerCase());
  if (!base || power < 0) throw new ScaleError(virError(ErrorCode.INVALID_ARG, `unknown suffix '${suffix}'`, ErrorDomain.NONE));
  return { digits: m[1]!, suffix, factor: base ** (power + 1) };
}

/** Which ways virsh may interpret a domain argument (VIRSH_BYID | VIRSH_BYUUID | VIRSH_BYNAME). */
export interface LookupBy {
  id?: boolean;
  uuid?: boolean;
  name?: boolean;
}
export const ALL_LOOKUPS: LookupBy = { id: true, uuid: true, name: true };

export interface ShellOptions {
  uri: string | undefined;
  /** the URI used when none was given, opened lazily on first need */
  defaultUri: string;
  quiet: boolean;
  readonly: boolean;
  /** -t: print each command's duration instead of the separator line */
  timing?: boolean;
  /** -e: the console escape sequence (default ^]) */
  escape?: string;
  output: Output;
}

export class Shell {
  quiet: boolean;
  readonly: boolean;
  timing: boolean;
  readonly escape: string;
  uri: string | undefined;
  private conn: Connection | undefined;
  /** true in the interactive shell (some commands, e.g. cd, only work there) */
  interactive = false;
  /** set by `quit`/`exit`: stop reading commands */
  stopped = false;
  readonly output: Output;
  private readonly defaultUri: string;

  constructor(
    opts: ShellOptions,
    private readonly handlers: Map<string, Handler>,
  ) {
    this.quiet = opts.quiet;
    this.readonly = opts.readonly;
    this.uri = opts.uri;
    this.defaultUri = opts.defaultUri;
    this.output = opts.output;
    this.timing = opts.timing ?? false;
    this.escape = opts.escape ?? '^]';
  }

  /** vshPrint: always printed. */
  print(text: string): void {
    this.output.out(text);
  }

  /** vshPrintExtra: informational output that -q suppresses. */
  printExtra(text: string): void {
    if (!this.quiet) this.output.out(text);
  }

  error(message: string): void {
    this.output.err(`error: ${message}\n`);
  }

  /** Prints any failure the way virsh reports it. */
  report(e: unknown): void {
    if (e instanceof CommandError) {
      for (const line of e.lines) this.error(line);
      if (e.reason !== undefined) this.report(e.reason);
    } else if (e instanceof RawDiagnostic) {
      this.output.err(e.message);
    } else if (isVirError(e)) {
      this.error(e.message);
    } else if (e instanceof XmlSyntaxError) {
      this.error(e.format('(null)'));
    } else if (e instanceof Error) {
      this.error(e.message);
    } else {
      this.error(String(e));
    }
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** Opens (or reopens) the connection; on failure prints virsh's message and the cause. */
  async reconnect(uri: string | undefined, readonly: boolean): Promise<void> {
    if (this.conn) {
      await this.conn.close().catch(() => undefined);
      this.conn = undefined;
    }
    const target = uri ?? this.uri ?? this.defaultUri;
    try {
      this.conn = await connect(target, { readonly });
    } catch (e) {
      throw new CommandError(['failed to connect to the hypervisor'], e);
    }
    if (uri !== undefined) this.uri = uri;
    this.readonly = readonly;
  }

  /** The open connection, connecting to the default URI on first use. */
  async connection(): Promise<Connection> {
    if (!this.conn) await this.reconnect(undefined, this.readonly);
    return this.conn!;
  }

  /** The connection once a command is running (commands without noConnect always have one). */
  get c(): Connection {
    if (!this.conn) throw new Error('not connected');
    return this.conn;
  }

  async close(): Promise<void> {
    if (this.conn) await this.conn.close().catch(() => undefined);
    this.conn = undefined;
  }

  /**
   * Looks a domain up as virsh does: by id when the text is a non-negative
   * integer, then by UUID when it has a UUID's length, then by name.
   */
  async domain(cmd: Invocation, by: LookupBy = ALL_LOOKUPS, option = 'domain'): Promise<{ dom: Domain; name: string }> {
    const name = cmd.required(option);
    return { dom: await this.lookupDomain(name, by), name };
  }

  async lookupDomain(name: string, by: LookupBy = ALL_LOOKUPS): Promise<Domain> {
    const conn = this.c;
    if (by.id && /^\s*[-+]?\d+$/.test(name) && Number(name) >= 0 && Number(name) <= 0x7fffffff) {
      const dom = await conn.lookupDomainByID(Number(name)).catch(() => undefined);
      if (dom) return dom;
    }
    if (by.uuid && name.length === 36) {
      const dom = await conn.lookupDomainByUUID(name).catch(() => undefined);
      if (dom) return dom;
    }
    if (by.name) {
      const dom = await conn.lookupDomainByName(name).catch(() => undefined);
      if (dom) return dom;
    }
    throw new CommandError([`failed to get domain '${name}'`]);
  }

  /** Runs commands in order; the result is the last command's success (vshCommandRun). */
  async run(commands: ParsedCommand[]): Promise<boolean> {
    let ok = true;
    for (const parsed of commands) {
      const cmd = new Invocation(parsed.def, parsed.opts);
      ok = true;
      const started = process.hrtime.bigint();
      try {
        if (!parsed.def.noConnect) await this.connection();
        const handler = this.handlers.get(parsed.def.name);
        if (!handler) throw new CommandError([`command '${parsed.def.name}' is not implemented by tsvirsh`]);
        await handler(this, cmd);
      } catch (e) {
        ok = false;
        this.report(e);
      }
      if (parsed.def.name === 'quit' || parsed.def.name === 'exit') {
        this.stopped = true;
        return ok;
      }
      if (this.timing) this.print(`\n(Time: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(3)} ms)\n\n`);
      else this.printExtra('\n');
    }
    return ok;
  }
}

