// Network namespaces for the network tests: everything a test changes (bridges,
// addresses, iptables rules, dnsmasq) happens inside one it creates and deletes.
// Outside CI a machine without root or `ip netns` skips loudly; CI (root) must run.

import { execFileSync, spawnSync } from 'node:child_process';

/** Why namespace tests cannot run here, or undefined when they can. */
export function namespaceSkipReason(): string | undefined {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = 'network namespace tests need root';
  else if (spawnSync('ip', ['netns', 'list']).status !== 0) reason = "network namespace tests need iproute2's `ip netns`";
  else if (spawnSync('dnsmasq', ['--version']).error || spawnSync('iptables', ['-V']).error) reason = 'network tests need dnsmasq and iptables';
  if (reason && process.env.CI === 'true') throw new Error(`${reason} (CI=true requires it)`);
  if (reason) console.error(`SKIPPING: ${reason}`);
  return reason;
}

export class NetworkNamespace {
  readonly name: string;

  constructor(label: string) {
    this.name = `tsvt-${label}-${process.pid}`;
    execFileSync('ip', ['netns', 'add', this.name]);
    this.exec(['ip', 'link', 'set', 'lo', 'up']);
  }

  /** Runs argv inside the namespace; stdout, stderr and the exit status. */
  run(argv: string[], options: { cwd?: string } = {}): { stdout: string; stderr: string; status: number } {
    const r = spawnSync('ip', ['netns', 'exec', this.name, ...argv], { encoding: 'utf8', cwd: options.cwd });
    return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
  }

  exec(argv: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...argv], { encoding: 'utf8' });
  }

  /** Kills what still runs in the namespace (dnsmasq) and deletes it. */
  delete(): void {
    const pids = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}
