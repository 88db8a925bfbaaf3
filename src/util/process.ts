// Child processes that outlive their parent (QEMU must keep running after the
// tsvirsh that started it exits), plus liveness checks and killing by pid for
// processes the current Node process did not start, and their (and their
// threads') CPU times, memory, scheduling and affinity from /proc.
import type { Socket } from 'node:net';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseBitmap } from './bitmap.js';
import { ErrorCode, ErrorDomain, virError } from './error.js';

export interface DetachedSpawn {
  binary: string;
  args: string[];
  env: Record<string, string>;
  /** stdout and stderr are appended to this file (created with its folder). */
  logPath: string;
  cwd?: string;
  /** A command the binary is exec'ed through (e.g. one that drops privileges); it must exec in place. */
  execPrefix?: string[];
}

export interface SpawnedProcess {
  pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat), to detect pid reuse. */
  startTime: number;
  /** Size of the log once the header was written: where the process's own output starts. */
  logOffset: number;
  /**
   * Lets the process become `binary` (it waits until then). Until this is called
   * the pid is a waiting shell; if the caller dies first, the shell exits and the
   * binary never runs, so a record of the pid written before the release always
   * covers the binary's whole life.
   */
  release(): void;
}

/** Quotes an argument the way libvirt's log shows command lines. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The gate: wait for "go" on stdin, then exec the binary ("$@", never parsed by
 * the shell) with stdin from /dev/null; end-of-file (the caller died) exits instead.
 * exec keeps the pid and start time, so they identify the binary afterwards.
 */
const GATE = 'read -r answer && [ "$answer" = go ] && exec "$@" </dev/null; exit 1';

/**
 * Starts `binary` in its own session so that it survives the caller (and its
 * terminal's signals), held at a gate until release(). The log gets a header
 * with the command line, as libvirt's per-domain log does, then whatever the
 * process writes.
 */
export async function spawnDetached(spec: DetachedSpawn): Promise<SpawnedProcess> {
  mkdirSync(path.dirname(spec.logPath), { recursive: true });
  // never through a link planted at the log's name
  const logFd = openSync(spec.logPath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    const envText = Object.entries(spec.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
    writeSync(logFd, `${new Date().toISOString()}: starting up\n${[...envText, spec.binary, ...spec.args.map(shellQuote)].join(' \\\n')}\n`);
    const logOffset = fstatSync(logFd).size;
    const exec = [...(spec.execPrefix ?? []), spec.binary, ...spec.args];
    // child_process is loaded when a process is started, not by every query that imports this module
    const { spawn } = await import('node:child_process');
    const child = spawn('/bin/sh', ['-c', GATE, spec.binary, ...exec], {
      env: spec.env,
      cwd: spec.cwd ?? '/',
      detached: true,
      stdio: ['pipe', logFd, logFd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', reject);
    });
    child.unref();
    // The gate never keeps this process alive: should it end before release(),
    // the gate reads end-of-file and exits. A gate already gone must not take
    // this process down with EPIPE either.
    const gate = child.stdin as Socket;
    gate.unref();
    gate.on('error', () => {});
    const release = () => gate.end('go\n');
    return { pid, startTime: processStartTime(pid) ?? 0, logOffset, release };
  } finally {
    closeSync(logFd);
  }
}

/** Field 22 of /proc/PID/stat, or undefined when the process does not exist. */
export function processStartTime(pid: number): number | undefined {
  const stat = readProcStat(pid);
  return stat === undefined ? undefined : Number(stat[19]);
}

/** Linux reports process times in USER_HZ ticks, 100 per second on every architecture it runs QEMU on. */
const USER_HZ = 100;

/** CPU time (user + system) a process has used, in nanoseconds; undefined when it does not exist. */
export function processCpuTimeNs(pid: number): bigint | undefined {
  const info = processStatInfo(pid);
  return info && info.userNs + info.systemNs;
}

/** What virProcessGetStatInfo reads from /proc/PID[/task/TID]/stat. */
export interface ProcessStatInfo {
  userNs: bigint;
  systemNs: bigint;
  /** The CPU the process (thread) last ran on. */
  lastCpu: number;
}

/** CPU times and last CPU of a process, or of one of its threads; pid 0 means this process (/proc/self), as in libvirt. */
export function processStatInfo(pid: number, tid?: number): ProcessStatInfo | undefined {
  const stat = readProcStat(pid, tid);
  if (stat === undefined) return undefined;
  const tickNs = BigInt(1e9 / USER_HZ);
  // fields 14, 15 and 39 of /proc/PID/stat: utime, stime, processor
  return { userNs: BigInt(stat[11]!) * tickNs, systemNs: BigInt(stat[12]!) * tickNs, lastCpu: Number(stat[36]) };
}

/** Resident memory in KiB: VmRSS of /proc/PID/status, the stat file's rss field in pages times the page size. */
export function processRssKiB(pid: number): number | undefined {
  const kib = /^VmRSS:\s*(\d+)/m.exec(readProcFile(pid, undefined, 'status') ?? '')?.[1];
  return kib === undefined ? undefined : Number(kib);
}

function readProcFile(pid: number, tid: number | undefined, name: string): string | undefined {
  try {
    return readFileSync(`${procDir(pid, tid)}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** /proc/PID, /proc/PID/task/TID, or /proc/self for pid 0. */
function procDir(pid: number, tid?: number): string {
  const base = pid === 0 ? '/proc/self' : `/proc/${pid}`;
  return tid === undefined ? base : `${base}/task/${tid}`;
}

/** The fields after "(comm)" of /proc/PID/stat: [0] is the state letter. */
function readProcStat(pid: number, tid?: number): string[] | undefined {
  const text = readProcFile(pid, tid, 'stat');
  return text?.slice(text.lastIndexOf(')') + 2).trim().split(' ');
}

/** Time a thread waited on a run queue in ns (/proc/.../schedstat, second field); 0 without CONFIG_SCHED_INFO. */
export function threadRunDelayNs(pid: number, tid: number): bigint {
  return BigInt(readProcFile(pid, tid, 'schedstat')?.trim().split(/\s+/)[1] ?? '0');
}

/** se.statistics.wait_sum (ms) of /proc/.../sched in ns; 0 without CONFIG_SCHED_DEBUG / CONFIG_SCHEDSTATS. */
export function threadWaitNs(pid: number, tid: number): bigint {
  const m = /^(?:se\.statistics\.wait_sum|se\.wait_sum)\s*:\s*([\d.]+)/m.exec(readProcFile(pid, tid, 'sched') ?? '');
  return m ? BigInt(Math.trunc(Number(m[1]) * 1e6)) : 0n;
}

/** A process's threads and their names (/proc/PID/task/TID/comm); empty when the process is gone. */
export function processThreads(pid: number): { tid: number; name: string }[] {
  let tids: string[];
  try {
    tids = readdirSync(`${procDir(pid)}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    const name = readProcFile(pid, Number(tid), 'comm');
    return name === undefined ? [] : [{ tid: Number(tid), name: name.trimEnd() }];
  });
}

/** The CPUs a thread may run on (sched_getaffinity), from Cpus_allowed_list of its status file. */
export function threadAffinity(pid: number, tid: number): number[] | undefined {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readProcFile(pid, tid, 'status') ?? '')?.[1];
  const cpus = list === undefined ? undefined : parseBitmap(list, Number.MAX_SAFE_INTEGER);
  return cpus && [...cpus].sort((a, b) => a - b);
}

/**
 * Restricts a thread to `cpus` (sched_setaffinity, virProcessSetAffinity):
 * Node has no binding for the syscall, util-linux's taskset makes it. The
 * error carries taskset's reason (e.g. "Invalid argument", "No such process").
 */
export async function setThreadAffinity(tid: number, cpus: ReadonlySet<number>): Promise<void> {
  const list = [...cpus].sort((a, b) => a - b).join(',');
  try {
    const { execFile } = await import('node:child_process');
    await promisify(execFile)('taskset', ['-p', '-c', list, String(tid)], { encoding: 'utf8' });
  } catch (e) {
    const x = e as NodeJS.ErrnoException & { stderr?: string };
    const reason = x.code === 'ENOENT' ? 'taskset (util-linux) is not installed' : /: ([^:\n]+)\s*$/.exec(x.stderr ?? '')?.[1] ?? x.message;
    throw virError(ErrorCode.SYSTEM_ERROR, `cannot set CPU affinity on process ${tid}: ${reason}`, ErrorDomain.NONE);
  }
}

/**
 * True when `pid` runs (a zombie counts as dead) and, if `startTime` is given,
 * is still the same process rather than a later one that reused the pid.
 */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  const stat = readProcStat(pid);
  if (stat === undefined || stat[0] === 'Z' || stat[0] === 'X') return false;
  return startTime === undefined || startTime === 0 || Number(stat[19]) === startTime;
}

/** Polls until the process is gone; false when it is still alive after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, startTime?: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let interval = 2;
  while (isProcessAlive(pid, startTime)) {
    if (Date.now() >= deadline) return false;
    await sleep(interval);
    interval = Math.min(interval * 2, 50);
  }
  return true;
}

/**
 * Kills like libvirt's virProcessKillPainfully: SIGTERM, and SIGKILL if the
 * process is still there after `graceMs`. Resolves once it is gone.
 */
export async function terminateProcess(pid: number, options: { graceMs: number; startTime?: number; force?: boolean }): Promise<void> {
  if (!isProcessAlive(pid, options.startTime)) return;
  if (!options.force) {
    signal(pid, 'SIGTERM');
    if (await waitForExit(pid, options.graceMs, options.startTime)) return;
  }
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 5000, options.startTime))) {
    throw new Error(`Failed to terminate process ${pid} with SIGKILL`);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
