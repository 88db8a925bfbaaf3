// Finds QEMU processes by a marker in their command line (a state folder or
// temp folder path that only the processes of one test contain).
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live (not zombie) qemu-system-* processes whose argv contains `marker`. */
export function qemuPidsMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!/^\/usr\/bin\/qemu-system-/.test(argv) || !argv.includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
