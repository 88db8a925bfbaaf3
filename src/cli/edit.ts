// The edit cycle shared by edit, net-edit, pool-edit, iface-edit and desc --edit
// (virsh-edit.c): dump to a temporary file, run $VISUAL/$EDITOR, compare, make
// sure nobody changed the object meanwhile, redefine, and on failure offer to
// edit again when a terminal is there to ask.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from './errors.js';
import type { Shell } from './shell.js';

/** Characters an editor command may hold to be run without a shell (vsh.c ACCEPTED_CHARS). */
const ACCEPTED = /^[A-Za-z0-9_./+:-]*$/;

/** Runs the user's editor on `file` with the terminal attached (vshEditFile). */
function runEditor(file: string, env: NodeJS.ProcessEnv = process.env): void {
  const editor = env.VISUAL || env.EDITOR || 'vi';
  let result;
  if (ACCEPTED.test(editor)) {
    result = spawnSync(editor, [file], { stdio: 'inherit' });
  } else {
    if (!ACCEPTED.test(file)) {
      throw new CommandError([`${file}: temporary filename contains shell meta or other unacceptable characters (is $TMPDIR wrong?)`]);
    }
    result = spawnSync('sh', ['-c', `${editor} ${file}`], { stdio: 'inherit' });
  }
  if (result.error) throw new CommandError([`Cannot run editor '${editor}': ${result.error.message}`]);
  if (result.status !== 0) throw new CommandError([`Child process (${editor} ${file}) unexpected exit status ${result.status ?? result.signal}`]);
}

/** Reads one key from a raw-mode terminal. */
function readKey(): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.once('data', (data) => {
      stdin.setRawMode(false);
      stdin.pause();
      resolve(data.toString('utf8').toLowerCase());
    });
  });
}

/** vshAskReedit: y (edit again), n (give up), f (define again); undefined without a terminal. */
async function askReedit(ctl: Shell, msg: string, cause: unknown): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  if (cause !== undefined) ctl.report(cause);
  for (;;) {
    ctl.print(`\r${msg} Try again? [y,n,f,?]: `);
    const c = await readKey();
    if (c === '?') {
      ctl.print('\ny - yes, start editor again\nn - no, throw away my changes\nf - force, try to redefine again\n? - print this help\n');
      continue;
    }
    if (c === 'y' || c === 'n' || c === 'f') {
      ctl.print('\r\n');
      return c;
    }
  }
}

/** The inactive definition, or the live one when the driver rejects the INACTIVE flag (older daemons, the test driver). */
export async function inactiveXml(get: (flags: number) => Promise<string>): Promise<string> {
  try {
    return await get(1);
  } catch (e) {
    if ((e as { code?: number }).code !== 8) throw e; // VIR_ERR_INVALID_ARG
    return get(0);
  }
}

export interface EditSpec {
  /** The current XML (re-read before redefining to detect concurrent changes). */
  get(): Promise<string>;
  /** Redefines the object from the edited text. */
  define(text: string): Promise<void>;
  /** What to say when the user saved the file unchanged. */
  notChanged: string;
}

/** Runs the edit cycle; resolves true when the object was redefined, false when unchanged. */
export async function editCycle(ctl: Shell, spec: EditSpec): Promise<boolean> {
  let doc = await spec.get();
  const dir = mkdtempSync(join(process.env.TMPDIR || tmpdir(), 'tsvirsh'));
  const file = join(dir, 'edit.xml');
  try {
    writeFileSync(file, doc, { mode: 0o600 });
    for (;;) {
      runEditor(file);
      const edited = readFileSync(file, 'utf8');
      if (edited === doc) {
        ctl.printExtra(spec.notChanged);
        return false;
      }
      for (;;) {
        let msg: string;
        let cause: unknown;
        const reread = await spec.get();
        if (reread !== doc) {
          msg = 'The XML configuration was changed by another user.';
          doc = reread;
        } else {
          try {
            await spec.define(edited);
            return true;
          } catch (e) {
            msg = 'Failed.';
            cause = e;
          }
        }
        const answer = await askReedit(ctl, msg, cause);
        if (answer === 'f') continue;
        if (answer === 'y') break;
        throw new CommandError(answer === 'n' ? [] : [msg], answer === undefined ? cause : undefined);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
