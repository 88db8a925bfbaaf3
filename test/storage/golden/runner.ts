// Runs a storage scenario through some virsh (real virsh or tsvirsh) and turns
// what it printed, and what it left on disk, into a transcript where the
// run-specific parts (scratch folder, UUIDs, file times, the host filesystem's
// sizes) are masked, so libvirt's transcript and tsvirt's can be compared.
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { run as runTsvirsh } from '../../../src/cli/main.js';
import type { TestContext } from 'node:test';
import { spawnDaemon, type SpawnedDaemon } from '../../daemon/spawn-daemon.js';
import { virshInstalled } from '../../helpers/libvirt.js';
import type { StorageScenario } from './scenarios.js';

const run = promisify(execFile);

export interface CommandResult {
  readonly out: string;
  readonly err: string;
  readonly rc: number;
}

/** One virsh command string against the connection under test. */
export type Virsh = (command: string) => Promise<CommandResult>;

/** tsvirsh in this process on `uri`, a new connection per command as virsh makes. */
export function tsvirsh(uri: string): Virsh {
  return async (command) => {
    let out = '';
    let err = '';
    const rc = await runTsvirsh(['-c', uri, command], { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
    return { out, err, rc };
  };
}

/** Real virsh on `uri`, one process per command. */
export function realVirsh(uri: string): Virsh {
  return async (command) => {
    try {
      const { stdout, stderr } = await run('virsh', ['-c', uri, command]);
      return { out: stdout, err: stderr, rc: 0 };
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string; code?: number };
      return { out: x.stdout ?? '', err: x.stderr ?? '', rc: typeof x.code === 'number' ? x.code : 1 };
    }
  };
}

export async function shell(command: string, T: string): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run('bash', ['-c', command], { env: { ...process.env, T } });
    return { out: stdout, err: stderr, rc: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { out: x.stdout ?? '', err: x.stderr ?? '', rc: typeof x.code === 'number' ? x.code : 1 };
  }
}

/** What is on disk under `root`: one line per entry, with qemu-img's view of regular files. */
export async function describeFiles(root: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const st = await lstat(full);
      const rel = path.relative(root, full);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (st.isDirectory()) {
        lines.push(`${rel}/ dir ${mode}`);
        await walk(full);
      } else if (st.isSymbolicLink()) {
        lines.push(`${rel} link -> ${await readlink(full)}`);
      } else if (st.isFile()) {
        lines.push(`${rel} file ${mode} size=${st.size} ${await imageInfo(full)}`);
      } else {
        lines.push(`${rel} other ${mode}`);
      }
    }
  };
  await walk(root);
  return lines.join('\n') + '\n';
}

async function imageInfo(file: string): Promise<string> {
  try {
    const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', file]);
    const info = JSON.parse(stdout) as { format: string; 'virtual-size': number; 'backing-filename'?: string; 'format-specific'?: { data?: { compat?: string; 'lazy-refcounts'?: boolean } } };
    const data = info['format-specific']?.data;
    const extra = data?.compat ? ` compat=${data.compat} lazy=${data['lazy-refcounts'] ?? false}` : '';
    return `format=${info.format} virtual=${info['virtual-size']}${info['backing-filename'] ? ` backing=${info['backing-filename']}` : ''}${extra}`;
  } catch {
    return 'unreadable';
  }
}

/** Steps '@NAME' a scenario set adds (beside '@sh' and '@files'): each prints what it inspects. */
export type Inspectors = Readonly<Record<string, () => Promise<string>>>;

/** The transcript of one scenario: each step, its exit status, its output. */
export async function runScenario(scenario: StorageScenario, virsh: Virsh, T: string, inspectors: Inspectors = {}): Promise<string> {
  let transcript = '';
  for (const step of scenario.steps) {
    let command = step.replaceAll('$T', T);
    // $L: the loop device a setup step attached and named in $T/L
    if (command.includes('$L')) command = command.replaceAll('$L', (await readFile(path.join(T, 'L'), 'utf8').catch(() => '')).trim());
    transcript += `$ ${step}\n`;
    if (step === '@files') {
      transcript += await describeFiles(T);
      continue;
    }
    const inspect = inspectors[step.slice(1)];
    if (step.startsWith('@') && inspect) {
      transcript += await inspect();
      continue;
    }
    const r = step.startsWith('@sh ') ? await shell(command.slice(4), T) : await virsh(command);
    const out = step.startsWith('pool-') ? maskPoolSizes(r.out) : r.out;
    transcript += `rc=${r.rc}\n${out}`;
    if (r.err) transcript += `[stderr]\n${r.err}`;
  }
  return normalise(transcript, T);
}

/** A pool's sizes are those of the host filesystem, which changes under the test. */
function maskPoolSizes(text: string): string {
  return text
    .replace(/^(Capacity|Allocation|Available):(\s+).*$/gm, '$1:$2SIZE')
    .replace(/<(capacity|allocation|available) unit='bytes'>\d+</g, "<$1 unit='bytes'>SIZE<");
}

export function normalise(text: string, T: string): string {
  return text
    .replaceAll(T, '$T')
    .replace(/\/dev\/loop\d+/g, '/dev/loopN')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    .replace(/<(atime|mtime|ctime)>[0-9.]+</g, '<$1>TIME<');
}

/**
 * Runs `replayAll` with real virsh on a fresh tsvirtd's qemu:///system, stopping
 * the daemon afterwards; without virsh the test is skipped loudly (an error under CI=true).
 */
export async function throughDaemon(t: TestContext, replayAll: (virsh: Virsh, daemon: SpawnedDaemon) => Promise<void>): Promise<void> {
  if (!virshInstalled()) {
    if (process.env.CI === 'true') throw new Error('virsh is missing (CI=true requires it: scripts/setup.sh installs libvirt-clients)');
    t.skip('SKIPPED LOUDLY: virsh is not installed, the scenarios cannot be replayed through tsvirtd');
    return;
  }
  let daemon: SpawnedDaemon | undefined;
  try {
    daemon = await spawnDaemon();
    await replayAll(realVirsh(daemon.uri('qemu', '/system')), daemon);
  } finally {
    await daemon?.stop();
  }
}
