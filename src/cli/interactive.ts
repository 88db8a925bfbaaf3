// The interactive shell: virsh's welcome text and prompt, line editing and
// history from node:readline, and tab completion of commands, options and
// object names driven by the same command table as the parser.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Completion, OptionDef } from './command-types.js';
import { CommandState, ParseError, StringTokens, parseCommands, type ParsedCommand, type Token } from './parser.js';
import { LOOKUP, visibleCommands } from './registry.js';
import type { Shell } from './shell.js';

/** Names the driver can offer for a completion kind; failures just offer nothing. */
async function objectNames(shell: Shell, kind: Completion, state: CommandState): Promise<string[]> {
  const c = shell.connected ? shell.c : await shell.connection().catch(() => undefined);
  if (!c) return [];
  const names = (listing: Promise<{ name: string }[]>) => listing.then((objects) => objects.map((o) => o.name), () => []);
  switch (kind) {
    case 'domain':
      return names(c.listAllDomains());
    case 'network':
      return names(c.listAllNetworks());
    case 'pool':
      return names(c.listAllStoragePools());
    case 'interface':
      return names(c.listAllInterfaces());
    case 'volume': {
      const pool = state.opts.find((o) => o.def.name === 'pool')?.value;
      if (!pool) return [];
      return names(c.lookupStoragePoolByName(pool).then((p) => p.listAllVolumes()));
    }
    case 'snapshot': {
      const domName = state.opts.find((o) => o.def.name === 'domain')?.value;
      if (!domName) return [];
      return names(c.lookupDomainByName(domName).then((d) => d.listAllSnapshots()));
    }
    case 'command':
      return visibleCommands();
    case 'file':
      return [];
  }
}

/** File names in the directory the word points into; directories end in '/'. */
function fileNames(word: string): string[] {
  const slash = word.lastIndexOf('/');
  const typedDir = slash >= 0 ? word.slice(0, slash + 1) : '';
  const dir = typedDir === '' ? '.' : typedDir.startsWith('~/') ? join(homedir(), typedDir.slice(2)) : typedDir;
  try {
    return readdirSync(dir).map((entry) => {
      const isDir = statSync(join(dir, entry)).isDirectory();
      return `${typedDir}${entry}${isDir ? '/' : ''}`;
    });
  } catch {
    return [];
  }
}

/**
 * Completion candidates for the text before the cursor: command names for the
 * first word, --options not yet given, or values for the option being filled.
 */
export async function complete(shell: Shell, line: string): Promise<[string[], string]> {
  // only the last command of the line matters
  const tokens = new StringTokens(line);
  let words: Extract<Token, { kind: 'arg' }>[] = [];
  for (;;) {
    let t: Token;
    try {
      t = tokens.next(false);
    } catch (e) {
      if (e instanceof ParseError) break;
      throw e;
    }
    if (t.kind === 'end') break;
    if (t.kind === 'sep') words = [];
    else words.push(t);
  }
  const endsInSpace = words.length === 0 || words[words.length - 1]!.end < line.length;
  const current = endsInSpace ? '' : words[words.length - 1]!.text;
  const done = endsInSpace ? words : words.slice(0, -1);
  const match = (cands: string[]) => {
    // table order, as virsh's generators offer them
    const hits = [...new Set(cands)].filter((c) => c.startsWith(current));
    return [hits.length === 1 ? [`${hits[0]} `] : hits, current] as [string[], string];
  };
  if (done.length === 0) return match(visibleCommands());
  const def = LOOKUP.command(done[0]!.text);
  if (!def) return [[], current];
  // replay the typed words through the parser's own option logic
  const state = new CommandState(def);
  let pending: OptionDef | undefined;
  for (const w of done.slice(1)) {
    if (pending) {
      state.addNamed(pending, w.text);
      pending = undefined;
    } else if (w.text.startsWith('--') && w.text.length > 2) {
      try {
        const { opt, value } = state.lookupOption(w.text.slice(2), undefined);
        if (opt.type === 'bool' || value !== undefined) state.addNamed(opt, value);
        else pending = opt;
      } catch {
        return [[], current];
      }
    } else {
      state.addPositional(w.text);
    }
  }
  const valueCompletion = async (opt: OptionDef) => {
    if (!opt.complete) return [];
    if (opt.complete === 'file') return fileNames(current);
    return objectNames(shell, opt.complete, state);
  };
  if (pending) return match(await valueCompletion(pending));
  const options = (def.options ?? [])
    .filter((o) => o.type !== 'alias' && (!state.hasSeen(o.name) || o.type === 'argv'))
    .map((o) => `--${o.name}`);
  if (current.startsWith('-')) return match(options);
  const next = state.nextPositional();
  const values = next ? await valueCompletion(next) : [];
  if (next?.complete === 'file') {
    const hits = values.filter((v) => v.startsWith(current));
    // a directory keeps the cursor inside the path
    if (hits.length === 1 && hits[0]!.endsWith('/')) return [hits, current];
  }
  return match(current === '' ? [...values, ...options] : values);
}

const HISTSIZE_MAX = 500000;

/** History size from $VIRSH_HISTSIZE (default 500), as vshReadlineInit reads it. */
function historySize(shell: Shell, env: NodeJS.ProcessEnv): number | undefined {
  const text = env.VIRSH_HISTSIZE;
  if (text === undefined) return 500;
  if (!/^\s*[-+]?\d+$/.test(text)) {
    shell.error('Bad $VIRSH_HISTSIZE value.');
    return undefined;
  }
  const n = Number(text);
  if (n < 0 || n > HISTSIZE_MAX) {
    shell.error(`$VIRSH_HISTSIZE value should be between 0 and ${HISTSIZE_MAX}`);
    return undefined;
  }
  return n;
}

/** $XDG_CACHE_HOME/<progname>/history, where the shell keeps its history between sessions. */
function historyFile(progname: string, env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), progname, 'history');
}

/** virsh's interactive mode. The prompt names tsvirsh (virsh names itself there). */
export async function runInteractive(shell: Shell, progname: string): Promise<void> {
  shell.interactive = true;
  if (!shell.quiet) {
    shell.print(`Welcome to ${progname}, the virtualization interactive terminal.\n\n`);
    shell.print("Type:  'help' for help with commands\n       'quit' to quit\n\n");
  }
  const size = historySize(shell, process.env);
  if (size === undefined) return;
  const histFile = historyFile(progname, process.env);
  let saved: string[] = [];
  try {
    saved = readFileSync(histFile, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    // no history yet
  }
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY === true,
    historySize: size,
    // node keeps the newest entry first; the file has the oldest first, like readline's
    history: saved.slice(-size).reverse(),
    completer: (line: string, callback: (err: Error | null, result: [string[], string]) => void) => {
      complete(shell, line).then(
        (r) => callback(null, r),
        () => callback(null, [[], line]),
      );
    },
  });
  const prompt = () => {
    rl.setPrompt(shell.readonly ? `${progname} > ` : `${progname} # `);
    rl.prompt();
  };
  const terminal = process.stdin.isTTY === true;
  let eof = true;
  try {
    prompt();
    // the iterator queues lines, so piped input is read one command line at a time
    for await (const line of rl) {
      if (!terminal) shell.print(`${line}\n`); // readline echoes what it read from a non-terminal
      if (line !== '') {
        let commands: ParsedCommand[];
        try {
          commands = parseCommands(new StringTokens(line), LOOKUP);
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
          for (const l of e.lines) shell.error(l);
          commands = [];
        }
        await shell.run(commands);
        if (shell.stopped) {
          eof = false;
          break;
        }
      }
      prompt();
    }
  } finally {
    const history = (rl as unknown as { history: string[] }).history;
    rl.close();
    try {
      mkdirSync(join(histFile, '..'), { recursive: true, mode: 0o755 });
      writeFileSync(histFile, [...history].reverse().map((l) => `${l}\n`).join(''));
    } catch (e) {
      shell.error(`Failed to create '${join(histFile, '..')}': ${(e as Error).message}`);
    }
  }
  // a line break after the lone prompt at EOF; virsh also ends piped input with one after quit
  if (eof || !terminal) shell.print('\n');
}
