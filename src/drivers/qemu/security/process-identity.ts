// Is the pid a status file names still the QEMU tsvirt started? A status file
// is only as trustworthy as its folder, and pids are reused, so a pid is
// signalled only when its start time AND its command line (the QMP socket the
// status file names) match. Anything else is reported and left alone.
import { readFileSync } from 'node:fs';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import { isProcessAlive, processStartTime } from '../../../util/process.js';

export type QemuProcessMatch =
  /** the QEMU tsvirt started */
  | 'same'
  /** that QEMU is gone (no such process, or the pid now belongs to a later one) */
  | 'gone'
  /** a live process the status file cannot be trusted about: never signal it */
  | 'unverified';

/** The command line of a process, or undefined when it is gone. */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * Compares a live process with what the status file recorded when QEMU was
 * spawned: its start time, and the `-chardev socket,id=charmonitor,path=...`
 * argument (held by the spawn's gate and by QEMU after the exec alike).
 */
export function matchQemuProcess(pid: number, startTime: number, monitorPath: string): QemuProcessMatch {
  if (!isProcessAlive(pid)) return 'gone';
  // no start time recorded: the pid cannot be told apart from a reused one
  if (startTime === 0) return 'unverified';
  if (processStartTime(pid) !== startTime) return 'gone';
  const monitorArg = `socket,id=charmonitor,path=${escapeOptionValue(monitorPath)},`;
  return commandLine(pid)?.some((arg) => arg.startsWith(monitorArg)) ? 'same' : 'unverified';
}
