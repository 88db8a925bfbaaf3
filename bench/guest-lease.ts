// Guest boot until its DHCP lease is listed: `start` of the tiny test guest on a
// NAT network, its console up, busybox udhcpc in the guest, until
// net-dhcp-leases shows the guest's MAC. tsvirsh (embedded driver, in a network
// namespace) vs virsh against a private libvirtd (test/network/golden/ref-libvirtd.sh,
// its own network and mount namespaces), same network and domain XML, same run.
// Root only; nothing changes in the host's namespace. Prints the medians and the ratio.
//
//   node dist/bench/guest-lease.js [--rounds N]

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReadStream } from 'node:tty';
import { fileURLToPath } from 'node:url';
import { NetworkNamespace } from '../test/network/namespace.js';
import { guestDomainXML, testGuest } from '../test/e2e/guest.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GOLDEN = path.join(ROOT, 'test', 'network', 'golden');
const NETWORK_XML = path.join(GOLDEN, 'xml', 'update.xml');
const MAC = '52:54:00:be:0c:01';
const i = process.argv.indexOf('--rounds');
const rounds = i > 0 ? Number(process.argv[i + 1]) : 3;
const DEADLINE_MS = 180_000;
/** Writes udhcpc's hook and asks for a lease, as one console line. */
const DHCP_LINE = String.raw`printf '#!/bin/sh\n[ "$1" = bound ] || exit 0\nip addr add $ip/$mask dev $interface\n' >/tmp/h && chmod +x /tmp/h && ip link set eth0 up && udhcpc -i eth0 -n -q -t 30 -T 1 -s /tmp/h`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One stack's commands: `virsh` runs its CLI where the stack's network lives. */
interface Stack {
  virsh(...args: string[]): string;
}

/** start -> console up -> udhcpc -> lease in net-dhcp-leases; milliseconds. */
async function bootToLease(stack: Stack): Promise<number> {
  const t0 = performance.now();
  stack.virsh('start', 'leaseguest');
  const pty = /<console type='pty' tty='([^']+)'>/.exec(stack.virsh('dumpxml', 'leaseguest'))?.[1];
  if (!pty) throw new Error('the live XML names no console pty');
  const fd = openSync(pty, 'r+');
  const console = new ReadStream(fd);
  let text = '';
  console.on('data', (d: Buffer) => (text += d.toString('utf8')));
  console.on('error', () => undefined);
  try {
    while (!/@@PCI-END/.test(text)) {
      if (performance.now() - t0 > DEADLINE_MS) throw new Error(`the guest did not come up: ${text.slice(-500)}`);
      await sleep(20);
    }
    writeFileSync(fd, `${DHCP_LINE}\n`);
    while (!stack.virsh('net-dhcp-leases', 'upd').includes(MAC)) {
      if (performance.now() - t0 > DEADLINE_MS) throw new Error(`no lease: ${text.slice(-500)}`);
      await sleep(50);
    }
    return performance.now() - t0;
  } finally {
    console.destroy();
    stack.virsh('destroy', 'leaseguest');
  }
}

/** Defines the network and the guest on a stack, then times `rounds` boots. */
async function measure(stack: Stack, domainXml: string, work: string): Promise<number[]> {
  writeFileSync(path.join(work, 'guest.xml'), domainXml);
  stack.virsh('net-define', NETWORK_XML);
  stack.virsh('net-start', 'upd');
  stack.virsh('define', path.join(work, 'guest.xml'));
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) times.push(await bootToLease(stack));
  return times;
}

async function benchTsvirt(domainXml: string, work: string): Promise<number[]> {
  const ns = new NetworkNamespace('leasebench');
  const root = path.join(work, 'tsvirt-root');
  const stack: Stack = { virsh: (...args) => ns.exec([path.join(ROOT, 'bin', 'tsvirsh'), '-c', `qemu:///embed?root=${root}`, ...args]) };
  try {
    return await measure(stack, domainXml, work);
  } finally {
    spawnSync('ip', ['netns', 'exec', ns.name, path.join(ROOT, 'bin', 'tsvirsh'), '-c', `qemu:///embed?root=${root}`, 'destroy', 'leaseguest']);
    ns.delete();
  }
}

async function benchLibvirt(domainXml: string, work: string): Promise<number[]> {
  const dir = path.join(work, 'libvirt');
  const ns = `tsvt-leaseref-${process.pid}`;
  const pid = execFileSync(path.join(GOLDEN, 'ref-libvirtd.sh'), ['start', ns, dir], { encoding: 'utf8' }).trim();
  const stack: Stack = { virsh: (...args) => execFileSync('nsenter', ['-t', pid, '-m', '-n', 'virsh', '-c', 'qemu:///system', ...args], { encoding: 'utf8' }) };
  try {
    return await measure(stack, domainXml, work);
  } finally {
    spawnSync('nsenter', ['-t', pid, '-m', '-n', 'virsh', '-c', 'qemu:///system', 'destroy', 'leaseguest']);
    spawnSync(path.join(GOLDEN, 'ref-libvirtd.sh'), ['stop', ns, dir]);
  }
}

const guest = testGuest();
if ('skip' in guest) throw new Error(guest.skip);
const work = mkdtempSync(path.join(tmpdir(), 'tsvirt-leasebench-'));
// both QEMUs run as unprivileged users: the guest's files are theirs to read
chmodSync(work, 0o755);
const kernel = path.join(work, 'vmlinuz');
const initrd = path.join(work, 'initrd.img');
copyFileSync(guest.kernel, kernel);
copyFileSync(guest.initrd, initrd);
const nic = `<interface type='network'><mac address='${MAC}'/><source network='upd'/><model type='virtio'/></interface>`;
const domainXml = guestDomainXML({ name: 'leaseguest', machine: 'q35', serialPath: 'pty', guest: { kernel, initrd }, devices: nic });
try {
  const tsvirt = median(await benchTsvirt(domainXml, work));
  const libvirt = median(await benchLibvirt(domainXml, work));
  console.log(`guest start -> DHCP lease listed (median of ${rounds}): tsvirt ${tsvirt.toFixed(0)} ms, libvirt ${libvirt.toFixed(0)} ms, tsvirt/libvirt ${(tsvirt / libvirt).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
