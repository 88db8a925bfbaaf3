// Running a helper program to its end (virCommandRun): a failure is reported
// with libvirt's message naming the command line, its exit status and stderr.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ErrorCode, ErrorDomain, virError } from './error.js';

const exec = promisify(execFile);

/** Runs argv[0] with the rest as arguments; returns its stdout. */
export async function runCommand(argv: readonly string[], domain: ErrorDomain): Promise<string> {
  try {
    return (await exec(argv[0]!, argv.slice(1), { maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' })).stdout;
  } catch (e) {
    const x = e as NodeJS.ErrnoException & { stderr?: string };
    if (x.code === 'ENOENT') throw virError(ErrorCode.INTERNAL_ERROR, `Cannot find '${argv[0]}' in path: No such file or directory`, domain);
    const status = typeof x.code === 'number' ? x.code : 1;
    const stderr = (x.stderr ?? '').trim();
    throw virError(ErrorCode.INTERNAL_ERROR, `Child process (${argv.join(' ')}) unexpected exit status ${status}${stderr ? `: ${stderr}` : ''}`, domain);
  }
}
