// net-start until dnsmasq serves (DHCP socket bound in the network's namespace):
// tsvirsh (embedded qemu:///embed driver) vs virsh against a private libvirtd
// (test/network/golden/ref-libvirtd.sh), each in its own network namespace, same
// NAT network definition, same run. Prints the medians and the ratio.
// Root only; nothing changes in the host's namespace.
//
//   node dist/bench/virtual-network.js [--rounds N]

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetworkNamespace } from '../test/network/namespace.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = path.join(ROOT, 'test', 'network', 'golden');
const XML = path.join(GOLDEN, 'xml', 'update.xml');
const i = process.argv.indexOf('--rounds');
const rounds = i > 0 ? Number(process.argv[i + 1]) : 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `cmd` argv prefixed with `enter`, then polls until UDP port 67 is bound; milliseconds. */
function startUntilServing(enter: string[], start: string[]): number {
  const t0 = performance.now();
  execFileSync(enter[0]!, [...enter.slice(1), ...start], { stdio: 'ignore' });
  for (;;) {
    const ss = spawnSync(enter[0]!, [...enter.slice(1), 'ss', '-Hlun', 'sport', '= :67'], { encoding: 'utf8' });
    if (ss.stdout.trim()) return performance.now() - t0;
  }
}

function benchTsvirt(): number[] {
  const ns = new NetworkNamespace('bench');
  const root = mkdtempSync(path.join(tmpdir(), 'tsvirt-netbench-'));
  const tsvirsh = [path.join(ROOT, 'bin', 'tsvirsh'), '-c', `qemu:///embed?root=${root}`];
  const enter = ['ip', 'netns', 'exec', ns.name];
  try {
    ns.exec([...tsvirsh, 'net-define', XML]);
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      times.push(startUntilServing(enter, [...tsvirsh, 'net-start', 'upd']));
      ns.exec([...tsvirsh, 'net-destroy', 'upd']);
    }
    return times;
  } finally {
    ns.delete();
    rmSync(root, { recursive: true, force: true });
  }
}

function benchLibvirt(): number[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsvirt-netref-'));
  const ns = `tsvt-benchref-${process.pid}`;
  const pid = execFileSync(path.join(GOLDEN, 'ref-libvirtd.sh'), ['start', ns, dir], { encoding: 'utf8' }).trim();
  const enter = ['nsenter', '-t', pid, '-m', '-n'];
  const virsh = ['virsh', '-c', 'qemu:///system'];
  try {
    execFileSync(enter[0]!, [...enter.slice(1), ...virsh, 'net-define', XML], { stdio: 'ignore' });
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      times.push(startUntilServing(enter, [...virsh, 'net-start', 'upd']));
      execFileSync(enter[0]!, [...enter.slice(1), ...virsh, 'net-destroy', 'upd'], { stdio: 'ignore' });
    }
    return times;
  } finally {
    spawnSync(path.join(GOLDEN, 'ref-libvirtd.sh'), ['stop', ns, dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const tsvirt = median(benchTsvirt());
const libvirt = median(benchLibvirt());
console.log(`net-start -> dnsmasq serving (median of ${rounds}): tsvirt ${tsvirt.toFixed(0)} ms, libvirt ${libvirt.toFixed(0)} ms, tsvirt/libvirt ${(tsvirt / libvirt).toFixed(2)}`);
