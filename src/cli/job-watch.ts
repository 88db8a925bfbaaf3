// virshWatchJob: what virsh does while a domain job it started (save,
// managedsave, dump, migrate) runs. It polls the job every 500 ms, printing its
// progress for --verbose, runs a --timeout action once, and prints [100 %] when
// the job succeeds. SIGINT is caught and ignored for the whole watch (the job
// goes on). Only on a terminal can the job be aborted: once QEMU's job has
// started, the terminal stops turning Ctrl-C into SIGINT and the watcher reads
// the character itself, answering it with virDomainAbortJob.
import type { Domain } from '../api/connection.js';
import { printJobProgress } from './progress.js';
import type { Shell } from './shell.js';

/** virshWatchProgress's period */
const POLL_MS = 500;
/** VIR_DOMAIN_JOB_BOUNDED, VIR_DOMAIN_JOB_UNBOUNDED */
const JOB_RUNNING_TYPES = new Set([1, 2]);
/** the terminal's default interrupt character (VINTR) */
const CTRL_C = 0x03;

export interface JobWatch {
  /** virsh's progress label: "Save", "Managedsave", "Dump", "Migration" */
  label: string;
  verbose: boolean;
  /** seconds after which `onTimeout` runs once (migrate --timeout); 0 or absent: never */
  timeoutSecs?: number;
  onTimeout?: () => Promise<unknown>;
}

/**
 * The terminal side of the watch (vshTTYDisableInterrupt + virshWatchInterrupt):
 * raw mode so that Ctrl-C arrives as a character, which aborts the job. A
 * no-op off a terminal and in the interactive shell, whose readline owns stdin.
 */
function interruptByTerminal(ctl: Shell, abort: () => void): { arm(): void; disarm(): void } {
  const stdin = process.stdin;
  if (stdin.isTTY !== true || ctl.interactive) return { arm: () => undefined, disarm: () => undefined };
  let armed = false;
  const onData = (chunk: Buffer) => {
    if (!chunk.includes(CTRL_C)) return;
    // the echo virsh's terminal gives the character (ECHOCTL), which raw mode drops
    ctl.output.err('^C');
    abort();
  };
  return {
    arm() {
      if (armed) return;
      armed = true;
      stdin.setRawMode(true);
      stdin.on('data', onData);
      stdin.resume();
    },
    disarm() {
      if (!armed) return;
      stdin.removeListener('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

/** Watches `job` (the call that runs the domain's job) as virsh does; resolves or rejects as the job does. */
export async function watchJob<T>(ctl: Shell, dom: Domain, job: Promise<T>, watch: JobWatch): Promise<T> {
  let finished = false;
  let aborting = false;
  const terminal = interruptByTerminal(ctl, () => {
    if (aborting) return;
    aborting = true;
    // the job's own failure reports the abort ("operation aborted: ...")
    void dom.connection.invoke('domainAbortJob', { dom: dom.ref }).catch(() => undefined);
  });
  let started = false;
  let poller: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const info = await dom.connection.invoke('domainGetJobInfo', { dom: dom.ref });
      if (finished) return;
      // virsh prints first; arming first keeps a Ctrl-C typed upon the first line from becoming an ignored SIGINT
      const starting = !started && JOB_RUNNING_TYPES.has(info.type);
      if (starting) terminal.arm();
      if (watch.verbose && info.dataTotal > 0n) printJobProgress(ctl.output, watch.label, info.dataRemaining, info.dataTotal);
      if (starting) {
        started = true;
        // without --verbose the poll was only there to see the job start
        if (!watch.verbose) return;
      }
    } catch {
      // no job information (the domain went away, an older server): keep watching
    }
    if (!finished) poller = setTimeout(() => void poll(), POLL_MS);
  };
  poller = setTimeout(() => void poll(), POLL_MS);
  const timeoutSecs = watch.timeoutSecs ?? 0;
  // a failed timeout action (suspend, switch to post-copy) leaves the job to go on as it was
  const timer = timeoutSecs > 0 && watch.onTimeout ? setTimeout(() => void watch.onTimeout!().catch(() => undefined), timeoutSecs * 1000) : undefined;
  const ignoreInterrupt = () => undefined;
  process.on('SIGINT', ignoreInterrupt);
  try {
    const result = await job;
    finished = true;
    if (watch.verbose) printJobProgress(ctl.output, watch.label, 0n, 1n);
    return result;
  } finally {
    finished = true;
    clearTimeout(poller);
    clearTimeout(timer);
    process.removeListener('SIGINT', ignoreInterrupt);
    terminal.disarm();
  }
}
