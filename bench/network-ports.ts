// Network ports, the call a guest's <interface type='network'> makes at start
// and stop: net-port-create + net-port-delete pairs, many in one shell session
// (`cmd ; cmd ; ...`) so that process start-up is amortised: tsvirsh (embedded
// qemu:///embed driver) vs virsh against a private libvirtd
// (test/network/golden/ref-libvirtd.sh), each in its own network namespace on a
// running NAT network, same run. Prints ms per pair and the ratio.
// Root only; nothing changes in the host's namespace.
//
//   node dist/bench/network-ports.js [--pairs N]

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetworkNamespace } from '../test/network/namespace.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = path.join(ROOT, 'test', 'network', 'golden');
const XML = path.join(GOLDEN, 'xml', 'update.xml');
const PORT_XML = path.join(GOLDEN, 'xml', 'port1.xml');
const PORT_UUID = '11111111-2222-3333-4444-555555555501';
const i = process.argv.indexOf('--pairs');
const pairs = i > 0 ? Number(process.argv[i + 1]) : 50;

/** One session of `pairs` create/delete pairs; ms per pair. */
function session(run: (commands: string) => void): number {
  const commands = Array.from({ length: pairs }, () => `net-port-create upd ${PORT_XML} ; net-port-delete upd ${PORT_UUID}`).join(' ; ');
  const t0 = performance.now();
  run(commands);
  return (performance.now() - t0) / pairs;
}

function benchTsvirt(): number {
  const ns = new NetworkNamespace('portbench');
  const root = mkdtempSync(path.join(tmpdir(), 'tsvirt-portbench-'));
  const tsvirsh = [path.join(ROOT, 'bin', 'tsvirsh'), '-q', '-c', `qemu:///embed?root=${root}`];
  try {
    ns.exec([...tsvirsh, 'net-create', XML]);
    return session((commands) => ns.exec([...tsvirsh, commands]));
  } finally {
    ns.delete();
    rmSync(root, { recursive: true, force: true });
  }
}

function benchLibvirt(): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsvirt-portref-'));
  const ns = `tsvt-portref-${process.pid}`;
  const pid = execFileSync(path.join(GOLDEN, 'ref-libvirtd.sh'), ['start', ns, dir], { encoding: 'utf8' }).trim();
  const virsh = (commands: string) => execFileSync('nsenter', ['-t', pid, '-m', '-n', 'virsh', '-q', '-c', 'qemu:///system', commands], { stdio: 'ignore' });
  try {
    virsh(`net-create ${XML}`);
    return session(virsh);
  } finally {
    spawnSync(path.join(GOLDEN, 'ref-libvirtd.sh'), ['stop', ns, dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const tsvirt = benchTsvirt();
const libvirt = benchLibvirt();
console.log(`net-port-create + net-port-delete (${pairs} pairs in one session): tsvirt ${tsvirt.toFixed(1)} ms, libvirt ${libvirt.toFixed(1)} ms per pair, tsvirt/libvirt ${(tsvirt / libvirt).toFixed(2)}`);
