// Running a real guest: tsvirt (library API and tsvirsh), bare QEMU (the same
// argv exec'd directly, driven over QMP by hand) and libvirt 9.0 (`virsh -c
// qemu:///system`, when libvirtd runs). Same machine, same run, same guest
// (test/guest/build-guest.sh), same QEMU binary. Medians of --runs (default 5):
//   start   -> domain running (QMP `cont` done) and -> guest's @@GUEST-UP marker
//   destroy -> the QEMU process is gone
//   hotplug -> attach of a virtio NIC issued until the guest reports the new PCI device
//
//   node dist/bench/qemu-runtime.js [--runs N] [--no-libvirt]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from '../src/api/connection.js';
import { ModificationImpact } from '../src/api/types.js';
import { QmpClient } from '../src/drivers/qemu/qmp.js';
import { isProcessAlive, terminateProcess, waitForExit } from '../src/util/process.js';
import { guestDomainXML, Sandbox, SerialLog, testGuest, waitUntil } from '../test/e2e/guest.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 5);
const withLibvirt = !process.argv.includes('--no-libvirt');
const BOOT_MS = 120_000;

type Sample = Record<string, number>;
const samples: Record<string, Sample[]> = {};
const record = (who: string, s: Sample) => (samples[who] ??= []).push(s);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const guest = testGuest();
if ('skip' in guest) throw new Error(guest.skip);
const sb = new Sandbox();
const serial = new SerialLog(sb.file('serial.log'));
const NAME = 'bench';
const xml = guestDomainXML({ name: NAME, machine: 'q35', serialPath: serial.path, guest });
const nicXml = "<interface type='user'><mac address='52:54:00:be:9c:01'/><model type='virtio'/></interface>";

/** Captures the argv and environment of a running QEMU, to exec it by hand later. */
function capture(pid: number): { args: string[]; env: Record<string, string> } {
  const split = (f: string) => readFileSync(`/proc/${pid}/${f}`, 'utf8').split('\0').filter((s) => s !== '');
  const env = Object.fromEntries(split('environ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { args: split('cmdline'), env };
}

async function benchTsvirt(): Promise<{ args: string[]; env: Record<string, string>; bus: string }> {
  await sb.define(xml);
  const conn = await connect(sb.uri);
  const dom = await conn.lookupDomainByName(NAME);
  let captured: { args: string[]; env: Record<string, string>; bus: string } | undefined;
  for (let i = 0; i < runs; i++) {
    rmSync(serial.path, { force: true });
    const t0 = performance.now();
    await dom.create();
    const running = performance.now() - t0;
    await serial.waitFor(/^@@GUEST-UP/, BOOT_MS);
    const marker = performance.now() - t0;
    const [pid] = sb.qemuPids();
    const from = serial.lines().length;
    const t1 = performance.now();
    await conn.invoke('domainAttachDeviceFlags', dom.ref, nicXml, ModificationImpact.LIVE);
    await serial.waitFor(/^@@PCI-ADD/, 30_000, from);
    const hotplug = performance.now() - t1;
    if (!captured) {
      const live = await conn.invoke<string>('domainGetXMLDesc', dom.ref, 0);
      const bus = /<interface[\s\S]*?<address type='pci' domain='0x0000' bus='(0x[0-9a-f]+)'/.exec(live)![1];
      captured = { ...capture(pid), bus: `pci.${Number(bus)}` };
    }
    const t2 = performance.now();
    await conn.invoke('domainDestroy', dom.ref, 0);
    await waitUntil('QEMU gone', 30_000, () => (isProcessAlive(pid) ? undefined : true));
    const destroy = performance.now() - t2;
    record('tsvirt (library API)', { running, marker, hotplug, destroy });
  }
  await conn.close();
  // the same through tsvirsh: one CLI process per command, as a user runs it
  for (let i = 0; i < runs; i++) {
    rmSync(serial.path, { force: true });
    const t0 = performance.now();
    await sb.ok('start', NAME);
    const running = performance.now() - t0;
    await serial.waitFor(/^@@GUEST-UP/, BOOT_MS);
    const marker = performance.now() - t0;
    const [pid] = sb.qemuPids();
    const from = serial.lines().length;
    const t1 = performance.now();
    await sb.ok('attach-device', NAME, writeTemp('nic.xml', nicXml), '--live');
    await serial.waitFor(/^@@PCI-ADD/, 30_000, from);
    const hotplug = performance.now() - t1;
    const t2 = performance.now();
    await sb.ok('destroy', NAME);
    await waitUntil('QEMU gone', 30_000, () => (isProcessAlive(pid) ? undefined : true));
    record('tsvirsh (CLI)', { running, marker, hotplug, destroy: performance.now() - t2 });
  }
  return captured!;
}

function writeTemp(name: string, text: string): string {
  writeFileSync(sb.file(name), text);
  return sb.file(name);
}

/** The captured argv exec'd directly: what tsvirt's own overhead is measured against. */
async function benchBareQemu(cmd: { args: string[]; env: Record<string, string>; bus: string }): Promise<void> {
  const monitor = /path=([^,]+monitor\.sock)/.exec(cmd.args.join('\n'))![1];
  const libDir = path.dirname(monitor);
  for (let i = 0; i < runs; i++) {
    rmSync(serial.path, { force: true });
    mkdirSync(libDir, { recursive: true });
    writeFileSync(path.join(libDir, 'master-key.aes'), randomBytes(32), { mode: 0o600 });
    rmSync(monitor, { force: true });
    const t0 = performance.now();
    const child = spawn(cmd.args[0], cmd.args.slice(1), { env: cmd.env, stdio: 'ignore', detached: true });
    child.unref();
    let qmp: QmpClient | undefined;
    while (!qmp) qmp = await QmpClient.connect(monitor).catch(() => new Promise<undefined>((r) => setTimeout(r, 1)));
    await qmp.execute('cont');
    const running = performance.now() - t0;
    await serial.waitFor(/^@@GUEST-UP/, BOOT_MS);
    const marker = performance.now() - t0;
    const from = serial.lines().length;
    const t1 = performance.now();
    await qmp.execute('netdev_add', { type: 'user', id: 'hostnet-hot' });
    await qmp.execute('device_add', { driver: 'virtio-net-pci', netdev: 'hostnet-hot', id: 'hot0', mac: '52:54:00:be:9c:01', bus: cmd.bus, addr: '0x0' });
    await serial.waitFor(/^@@PCI-ADD/, 30_000, from);
    const hotplug = performance.now() - t1;
    qmp.close();
    const t2 = performance.now();
    await terminateProcess(child.pid!, { graceMs: 10_000 });
    record('bare QEMU + QMP', { running, marker, hotplug, destroy: performance.now() - t2 });
  }
  rmSync(libDir, { recursive: true, force: true });
}

function virsh(...args: string[]): number {
  const t0 = performance.now();
  execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return performance.now() - t0;
}

async function benchLibvirt(): Promise<void> {
  const name = `tsvirt-bench-${process.pid}`;
  // libvirt's QEMU runs as another user: it must reach its files (libvirt chowns them itself).
  const dir = sb.file('libvirt');
  mkdirSync(dir, { mode: 0o777 });
  chmodSync(sb.dir, 0o711);
  const lvSerial = new SerialLog(path.join(dir, 'serial.log'));
  writeFileSync(path.join(dir, 'dom.xml'), guestDomainXML({ name, machine: 'q35', serialPath: lvSerial.path, guest: guest as { kernel: string; initrd: string } }));
  writeFileSync(path.join(dir, 'nic.xml'), nicXml);
  virsh('define', path.join(dir, 'dom.xml'));
  try {
    for (let i = 0; i < runs; i++) {
      rmSync(lvSerial.path, { force: true });
      const t0 = performance.now();
      virsh('start', name);
      const running = performance.now() - t0;
      await lvSerial.waitFor(/^@@GUEST-UP/, BOOT_MS);
      const marker = performance.now() - t0;
      const pid = Number(readFileSync(`/run/libvirt/qemu/${name}.pid`, 'utf8'));
      const from = lvSerial.lines().length;
      const t1 = performance.now();
      virsh('attach-device', name, path.join(dir, 'nic.xml'), '--live');
      await lvSerial.waitFor(/^@@PCI-ADD/, 30_000, from);
      const hotplug = performance.now() - t1;
      const t2 = performance.now();
      virsh('destroy', name);
      await waitForExit(pid, 30_000);
      record('libvirt 9.0 (virsh, qemu:///system)', { running, marker, hotplug, destroy: performance.now() - t2 });
    }
  } finally {
    try {
      virsh('destroy', name);
    } catch {
      // not running
    }
    virsh('undefine', name);
  }
}

try {
  const cmd = await benchTsvirt();
  await benchBareQemu(cmd);
  if (withLibvirt) await benchLibvirt().catch((e: Error & { stderr?: Buffer }) => console.error(`libvirt skipped: ${e.message} ${e.stderr ?? ''}`));
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`medians of ${runs} runs, ms (TCG, q35, 256 MiB; load average at the end: ${load})`);
  console.log('| who | start -> running | start -> guest marker | hotplug virtio NIC -> guest sees it | destroy -> QEMU gone |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [who, list] of Object.entries(samples)) {
    const m = (k: string) => median(list.map((s) => s[k])).toFixed(0);
    console.log(`| ${who} | ${m('running')} | ${m('marker')} | ${m('hotplug')} | ${m('destroy')} |`);
  }
} finally {
  await sb.dispose();
}
