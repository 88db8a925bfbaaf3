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
import { terminateProcess, waitForExit } from '../src/util/process.js';
import { guestDomainXML, Sandbox, SerialLog, testGuest } from '../test/e2e/guest.js';

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

/** One way of running the guest; each step resolves when it is done as its user sees it. */
interface Variant {
  /** resolves once the guest CPU runs; returns QEMU's pid */
  start(): Promise<number>;
  /** asks for a virtio NIC to be hotplugged (the guest reporting it is waited for here) */
  hotplugNic(): Promise<unknown>;
  /** runs after the hotplug is measured, outside the timings */
  afterHotplug?(pid: number): Promise<void>;
  /** destroys the guest (QEMU being gone is waited for here) */
  destroy(): Promise<unknown>;
}

/** `runs` boots of one variant: start -> running -> guest marker, hotplug -> guest sees it, destroy -> QEMU gone. */
async function measure(who: string, log: SerialLog, variant: Variant): Promise<void> {
  for (let i = 0; i < runs; i++) {
    rmSync(log.path, { force: true });
    const t0 = performance.now();
    const pid = await variant.start();
    const running = performance.now() - t0;
    await log.waitFor(/^@@GUEST-UP/, BOOT_MS);
    const marker = performance.now() - t0;
    const from = log.lines().length;
    const t1 = performance.now();
    await variant.hotplugNic();
    await log.waitFor(/^@@PCI-ADD/, 30_000, from);
    const hotplug = performance.now() - t1;
    await variant.afterHotplug?.(pid);
    const t2 = performance.now();
    await variant.destroy();
    await waitForExit(pid, 30_000);
    record(who, { running, marker, hotplug, destroy: performance.now() - t2 });
  }
}

async function benchTsvirt(): Promise<{ args: string[]; env: Record<string, string>; bus: string }> {
  await sb.define(xml);
  const conn = await connect(sb.uri);
  const dom = await conn.lookupDomainByName(NAME);
  let captured: { args: string[]; env: Record<string, string>; bus: string } | undefined;
  const runningPid = () => sb.qemuPids()[0]!;
  await measure('tsvirt (library API)', serial, {
    start: async () => {
      await dom.create();
      return runningPid();
    },
    hotplugNic: () => dom.attachDevice(nicXml, ModificationImpact.LIVE),
    afterHotplug: async (pid) => {
      if (captured) return;
      const live = await dom.getXMLDesc();
      const bus = /<interface[\s\S]*?<address type='pci' domain='0x0000' bus='(0x[0-9a-f]+)'/.exec(live)![1];
      captured = { ...capture(pid), bus: `pci.${Number(bus)}` };
    },
    destroy: () => dom.destroy(),
  });
  await conn.close();
  // the same through tsvirsh: one CLI process per command, as a user runs it
  await measure('tsvirsh (CLI)', serial, {
    start: async () => {
      await sb.ok('start', NAME);
      return runningPid();
    },
    hotplugNic: () => sb.ok('attach-device', NAME, writeTemp('nic.xml', nicXml), '--live'),
    destroy: () => sb.ok('destroy', NAME),
  });
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
  let qmp: QmpClient | undefined;
  let pid = 0;
  await measure('bare QEMU + QMP', serial, {
    start: async () => {
      mkdirSync(libDir, { recursive: true });
      writeFileSync(path.join(libDir, 'master-key.aes'), randomBytes(32), { mode: 0o600 });
      rmSync(monitor, { force: true });
      const child = spawn(cmd.args[0], cmd.args.slice(1), { env: cmd.env, stdio: 'ignore', detached: true });
      child.unref();
      pid = child.pid!;
      qmp = undefined;
      while (!qmp) qmp = await QmpClient.connect(monitor).catch(() => new Promise<undefined>((r) => setTimeout(r, 1)));
      await qmp.execute('cont');
      return pid;
    },
    hotplugNic: async () => {
      await qmp!.execute('netdev_add', { type: 'user', id: 'hostnet-hot' });
      await qmp!.execute('device_add', { driver: 'virtio-net-pci', netdev: 'hostnet-hot', id: 'hot0', mac: '52:54:00:be:9c:01', bus: cmd.bus, addr: '0x0' });
    },
    destroy: async () => {
      qmp!.close();
      await terminateProcess(pid, { graceMs: 10_000 });
    },
  });
  rmSync(libDir, { recursive: true, force: true });
}

function virsh(...args: string[]): void {
  execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
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
    await measure('libvirt 9.0 (virsh, qemu:///system)', lvSerial, {
      start: async () => {
        virsh('start', name);
        return Number(readFileSync(`/run/libvirt/qemu/${name}.pid`, 'utf8'));
      },
      hotplugNic: async () => virsh('attach-device', name, path.join(dir, 'nic.xml'), '--live'),
      destroy: async () => virsh('destroy', name),
    });
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
