// Starts the real bin/tsvirtd on a temporary root (as clients meet it) and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../helpers/shared.js';
import { qemuPidsMentioning } from '../helpers/qemu-processes.js';

export interface SpawnedDaemon {
  readonly root: string;
  readonly socket: string;
  readonly readonlySocket: string;
  readonly pid: number;
  /** test+unix:///default?socket=... */
  uri(driver?: string, path?: string): string;
  stop(): Promise<void>;
  /** ends tsvirtd (SIGTERM) and keeps its root, for a restart on it (SpawnOptions.root) */
  kill(): Promise<void>;
  /** stop(), after killing the guests' QEMUs started under the root (tsvirtd leaves running guests running) */
  stopWithGuests(): Promise<void>;
}

export const tsvirtd = join(projectRoot, 'bin', 'tsvirtd');

export interface SpawnOptions {
  /** more tsvirtd arguments, such as --listen */
  readonly args?: readonly string[];
  /** runs on the root before the daemon starts (certificates under DIR/etc/pki) */
  readonly prepare?: (root: string) => void;
  /** tsvirtd's environment (default: this process's) */
  readonly env?: NodeJS.ProcessEnv;
  /** a command that execs tsvirtd's node in turn, e.g. ['ip', 'netns', 'exec', NS] to run it in a network namespace */
  readonly prefix?: readonly string[];
  /** the root of an earlier daemon, killed (a restart): its files are kept and conf is not written */
  readonly root?: string;
  /** another build's bin/tsvirtd (a bench comparing before and after a change) */
  readonly tsvirtd?: string;
}

export async function spawnDaemon(conf = '', options: SpawnOptions = {}): Promise<SpawnedDaemon> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'tsvirtd-')));
  if (options.root === undefined) {
    // a root tsvirtd runs QEMU as its unprivileged user, which must pass through
    await chmod(root, 0o755);
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'tsvirtd.conf'), conf);
    options.prepare?.(root);
  } else {
    // the sockets tell when the new daemon listens: none may be left from the old one
    for (const name of ['libvirt-sock', 'libvirt-sock-ro']) await rm(join(root, 'run', name), { force: true });
  }
  const socket = join(root, 'run', 'libvirt-sock');
  const argv = [...(options.prefix ?? []), process.execPath, options.tsvirtd ?? tsvirtd, '--root', root, ...(options.args ?? [])];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: options.env ?? process.env });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 300 && !existsSync(join(root, 'run', 'libvirt-sock-ro')); i++) {
    if (child.exitCode !== null) throw new Error(`tsvirtd exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!existsSync(join(root, 'run', 'libvirt-sock-ro'))) throw new Error('tsvirtd did not listen within 6 s');
  const kill = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const stop = async () => {
    await kill();
    await rm(root, { recursive: true, force: true });
  };
  return {
    root,
    socket,
    readonlySocket: join(root, 'run', 'libvirt-sock-ro'),
    pid: child.pid!,
    uri: (driver = 'test', path = '/default') => `${driver}+unix://${path}?socket=${socket}`,
    stop,
    kill,
    stopWithGuests: async () => {
      for (const pid of qemuPidsMentioning(root)) process.kill(pid, 'SIGKILL');
      await stop();
    },
  };
}
