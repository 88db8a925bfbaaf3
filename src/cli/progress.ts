// Progress output of long operations. virsh prints its job progress line
// (virshPrintJobProgress: "\rLABEL: [ NN %]" on stderr) for --verbose; tsvirsh
// prints that line unchanged and, only when stderr is a terminal, a bar after
// it. Transfers virsh shows no progress for (vol-upload/download) get the bar
// alone on a terminal. Piped output is always exactly virsh's.
import type { Output } from './shell.js';

const BAR_WIDTH = 40;

/** virshPrintJobProgress: 100 only when nothing remains, else at most 99. */
export function jobPercent(remaining: bigint, total: bigint): number {
  if (remaining === 0n) return 100;
  const pct = Math.trunc(100 - (Number(remaining) * 100) / Number(total));
  return Math.min(pct, 99);
}

function bar(percent: number): string {
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}]`;
}

const onTerminal = () => process.stderr.isTTY === true;

/** Prints virsh's progress line for a job (`label`, e.g. "Block Copy"); a bar follows on a terminal. */
export function printJobProgress(output: Output, label: string, remaining: bigint, total: bigint): void {
  const pct = jobPercent(remaining, total);
  output.err(`\r${label}: [${String(pct).padStart(3)} %]${onTerminal() ? ` ${bar(pct)}` : ''}`);
}

/** A one-line progress bar on stderr for a transfer of `total` units, only when stderr is a terminal. */
export function transferProgressBar(total: bigint): { update(done: bigint): void; finish(): void } {
  if (!onTerminal() || total === 0n) return { update: () => undefined, finish: () => undefined };
  let shown = -1;
  return {
    update: (done) => {
      const pct = Number((done * 100n) / total);
      if (pct === shown) return;
      shown = pct;
      process.stderr.write(`\r${bar(pct)} ${String(pct).padStart(3)}%`);
    },
    finish: () => process.stderr.write('\n'),
  };
}
