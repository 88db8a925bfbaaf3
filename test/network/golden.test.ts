// The net-* scenarios recorded from libvirt 9.0 (golden/capture.sh) replayed
// against tsvirsh, each in a fresh network namespace and state root: virsh
// output, net-dumpxml, dnsmasq files, iptables-save and the bridge must read
// the same after the same normalisation (golden/normalise.sed).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NetworkNamespace, namespaceSkipReason } from './namespace.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'network', 'golden');
const TSVIRSH = join(ROOT, 'bin', 'tsvirsh');

/** Splits a scenario line into words the way sh does for the quoting the scenarios use. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function probe(ns: NetworkNamespace, root: string, argv: string[]): string {
  const [kind, arg] = argv;
  switch (kind) {
    case '@conf':
      return ['conf', 'hostsfile', 'addnhosts']
        .map((ext) => {
          const file = join(root, 'lib', 'dnsmasq', `${arg}.${ext}`);
          return existsSync(file) ? `== ${arg}.${ext}\n${readFileSync(file, 'utf8')}` : `== ${arg}.${ext} absent\n`;
        })
        .join('');
    case '@fw':
      return ns.exec(['iptables-save']) + ns.exec(['ip6tables-save']);
    case '@link': {
      const link = ns.run(['ip', '-o', 'link', 'show', arg!]);
      if (link.status !== 0) return `${arg} absent\n`;
      const m = /^\d+: ([^:@]+).* mtu (\d+).* state ([A-Z]+)/.exec(link.stdout)!;
      const addrs = ns
        .exec(['ip', '-o', 'addr', 'show', 'dev', arg!])
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/).slice(1, 4).join(' '))
        .filter((l) => !l.includes(' fe80::'));
      return [`${m[1]} mtu ${m[2]} ${m[3]}`, ...addrs].map((l) => `${l}\n`).join('');
    }
    case '@dnsmasq': {
      const running = spawnSync('pgrep', ['-f', `${root}/lib/dnsmasq/${arg}.conf`]).status === 0;
      return `dnsmasq ${arg} ${running ? 'running' : 'absent'}\n`;
    }
    case '@sh':
      ns.run(['sh', '-c', argv.slice(1).join(' ')]);
      return '';
    default:
      throw new Error(`unknown probe ${kind}`);
  }
}

function normalise(text: string, root: string): string {
  const sed = spawnSync('sed', ['-E', '-f', join(GOLDEN, 'normalise.sed')], { input: text.split(`${root}/lib/`).join('/var/lib/libvirt/').split(`${root}/run/`).join('/run/libvirt/'), encoding: 'utf8' });
  return sed.stdout;
}

function replay(cmdsFile: string): { actual: string; expected: string } {
  const ns = new NetworkNamespace('golden');
  const root = mkdtempSync(join(tmpdir(), 'tsvirt-net-'));
  try {
    let out = '';
    for (const line of readFileSync(cmdsFile, 'utf8').split('\n').filter(Boolean)) {
      out += `$ ${line}\n`;
      const argv = words(line);
      if (line.startsWith('@')) {
        out += probe(ns, root, argv);
        continue;
      }
      // one stream, as the recording's `virsh ... 2>&1`
      const r = ns.run(['sh', '-c', 'exec "$@" 2>&1', 'sh', TSVIRSH, '-c', `qemu:///embed?root=${root}`, ...argv], { cwd: join(GOLDEN, 'xml') });
      out += `${r.stdout}rc=${r.status}\n`;
    }
    return { actual: normalise(out, root), expected: readFileSync(cmdsFile.replace(/\.cmds$/, '.out'), 'utf8') };
  } finally {
    ns.delete();
    rmSync(root, { recursive: true, force: true });
  }
}

const scenarios = readdirSync(join(GOLDEN, 'scenarios')).filter((f) => f.endsWith('.cmds')).sort();

for (const file of scenarios) {
  test(`net scenario ${file.replace(/\.cmds$/, '')} matches libvirt 9.0`, (t) => {
    const skip = namespaceSkipReason();
    if (skip) return t.skip(skip);
    const { actual, expected } = replay(join(GOLDEN, 'scenarios', file));
    assert.equal(actual, expected);
  });
}
