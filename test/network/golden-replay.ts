// Replays one recorded net-* scenario (golden/scenarios/NAME.cmds) against
// tsvirsh run in this process, and prints the transcript capture.sh would have
// written, before normalisation. golden.test.ts runs it inside a fresh network
// namespace (`ip netns exec NS node golden-replay.js ROOT CMDS`): one Node
// start per scenario instead of one per command, which was most of the test's time.
// The commands and probes mean what capture.sh says they mean.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';

const GOLDEN = fileURLToPath(new URL('../../../test/network/golden/', import.meta.url));

/** Splits a scenario line into words the way sh does for the quoting the scenarios use. */
export function scenarioWords(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });

function fileOrAbsent(file: string, label: string): string {
  return existsSync(file) ? `== ${label}\n${readFileSync(file, 'utf8')}` : `== ${label} absent\n`;
}

function probe(root: string, argv: string[]): string {
  const [kind, arg] = argv;
  switch (kind) {
    case '@conf':
      return ['conf', 'hostsfile', 'addnhosts'].map((ext) => fileOrAbsent(join(root, 'lib', 'dnsmasq', `${arg}.${ext}`), `${arg}.${ext}`)).join('');
    case '@fw':
      return sh(['iptables-save']).stdout + sh(['ip6tables-save']).stdout;
    case '@link': {
      const link = sh(['ip', '-o', 'link', 'show', arg!]);
      if (link.status !== 0) return `${arg} absent\n`;
      const m = /^\d+: ([^:@]+).* mtu (\d+).* state ([A-Z]+)/.exec(link.stdout)!;
      const addrs = sh(['ip', '-o', 'addr', 'show', 'dev', arg!])
        .stdout.split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/).slice(1, 4).join(' '))
        .filter((l) => !l.includes(' fe80::'));
      return [`${m[1]} mtu ${m[2]} ${m[3]}`, ...addrs].map((l) => `${l}\n`).join('');
    }
    case '@dnsmasq': {
      const running = spawnSync('pgrep', ['-f', `${root}/lib/dnsmasq/${arg}.conf`]).status === 0;
      return `dnsmasq ${arg} ${running ? 'running' : 'absent'}\n`;
    }
    case '@ports': {
      const dir = join(root, 'run', 'network', arg!, 'ports');
      if (!existsSync(dir)) return `${dir} absent\n`;
      return readdirSync(dir)
        .sort()
        .map((f) => `== ${f}\n${readFileSync(join(dir, f), 'utf8')}`)
        .join('');
    }
    case '@macs':
      return fileOrAbsent(join(root, 'lib', 'dnsmasq', `${arg}.macs`), `${arg}.macs`);
    case '@sh':
      spawnSync('sh', ['-c', argv.slice(1).join(' ')]);
      return '';
    default:
      throw new Error(`unknown probe ${kind}`);
  }
}

/** The transcript of `cmdsFile` against the state root `root`. */
export async function replayScenario(root: string, cmdsFile: string): Promise<string> {
  process.chdir(join(GOLDEN, 'xml'));
  let out = '';
  const output = { out: (t: string) => void (out += t), err: (t: string) => void (out += t) };
  for (const line of readFileSync(cmdsFile, 'utf8').split('\n').filter(Boolean)) {
    out += `$ ${line}\n`;
    const argv = scenarioWords(line);
    if (line.startsWith('@')) {
      out += probe(root, argv);
      continue;
    }
    const rc = await run(['-c', `qemu:///embed?root=${root}`, ...argv], output, {});
    out += `rc=${rc}\n`;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [root, cmds] = process.argv.slice(2);
  process.stdout.write(await replayScenario(root!, cmds!));
}
