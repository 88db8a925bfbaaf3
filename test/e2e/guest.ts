// End-to-end test support: the tiny test guest (test/guest/build-guest.sh),
// tsvirsh runs against a private embed root, the guest's serial console, and
// a safety net that kills every QEMU a test left behind.
//
// The guest needs QEMU, busybox-static and cpio. Missing ones are installed when
// running as root; otherwise the tests skip loudly (and fail when CI=true).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { child, parseXml } from '../../src/util/xml.js';
import { projectRoot, tsvirsh } from '../helpers/shared.js';
import { qemuPidsMentioning } from '../helpers/qemu-processes.js';

export const QEMU = '/usr/bin/qemu-system-x86_64';
/** Generous: a loaded 2-core CI machine boots the guest in 2.5 s, sometimes in 15 s. */
export const BOOT_TIMEOUT_MS = 90_000;

export interface TestGuest {
  kernel: string;
  initrd: string;
}

const NEEDED: Array<[file: string, pkg: string]> = [[QEMU, 'qemu-system-x86'], ['/bin/busybox', 'busybox-static'], ['/usr/bin/cpio', 'cpio']];

let prepared: TestGuest | { skip: string } | undefined;

/** Builds (or reuses) the test guest; a skip reason when this host cannot run it. */
export function testGuest(): TestGuest | { skip: string } {
  prepared ??= prepareGuest();
  return prepared;
}

function skipOrFail(why: string): { skip: string } {
  const message = `*** end-to-end QEMU tests SKIPPED: ${why} ***`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true requires them)`);
  process.stderr.write(`${message}\n`);
  return { skip: message };
}

function prepareGuest(): TestGuest | { skip: string } {
  const missing = NEEDED.filter(([file]) => !existsSync(file)).map(([, pkg]) => pkg);
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) return skipOrFail(`missing ${missing.join(', ')} and not root to install them`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
    const install = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
    if (!install || install.status !== 0) return skipOrFail(`apt-get install ${missing.join(' ')} failed`);
  }
  try {
    const out = execFileSync('sh', [path.join(projectRoot, 'test', 'guest', 'build-guest.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const dir = out.trim().split('\n').pop()!;
    return { kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
  } catch (e) {
    return skipOrFail(`building the test guest failed: ${(e as Error).message}`);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The sandbox folder: mkdtemp makes it 0700, but a root tsvirt runs QEMU as its
 * unprivileged user, which must pass through to the embed root and the images.
 */
function sandboxDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-e2e-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** A private qemu:///embed root with its tsvirsh, serial logs and cleanup. */
export class Sandbox {
  readonly dir = sandboxDir();
  readonly root = path.join(this.dir, 'root');
  readonly uri = `qemu:///embed?root=${this.root}`;

  /** Runs `tsvirsh -c URI args...`. */
  run(...args: string[]): Promise<RunResult> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [tsvirsh, '-c', this.uri, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }));
    });
  }

  /** Like run(), but a failure throws with tsvirsh's output. */
  async ok(...args: string[]): Promise<RunResult> {
    const r = await this.run(...args);
    if (r.code !== 0) throw new Error(`tsvirsh ${args.join(' ')} failed (${r.code}):\n${r.stdout}${r.stderr}`);
    return r;
  }

  /** Defines a domain from XML text. */
  async define(xml: string): Promise<void> {
    const file = path.join(this.dir, `def-${randomUUID()}.xml`);
    writeFileSync(file, xml);
    await this.ok('define', file);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  statusFile(name: string): string {
    return path.join(this.root, 'run', 'qemu', `${name}.xml`);
  }

  /** Pids of the QEMUs started under this sandbox (their argv names its root). */
  qemuPids(): number[] {
    return qemuPidsMentioning(this.root);
  }

  /** Kills whatever QEMU is left and removes the sandbox. */
  async dispose(): Promise<void> {
    for (const pid of this.qemuPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls until `check` returns a value (not undefined) or the timeout passes. */
export async function waitUntil<T>(what: string, timeoutMs: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The guest's serial console, written by QEMU to a file (<serial type='file'>). */
export class SerialLog {
  constructor(readonly path: string) {}

  /** The guest's complete protocol lines ("@@..."), \r stripped. */
  lines(): string[] {
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    // The UART writes byte by byte: a last line without its newline is still being written.
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    return complete.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.startsWith('@@'));
  }

  /** Waits for a line matching `re` at or after line index `from`; returns it and its index. */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<{ line: string; index: number }> {
    return waitUntil(`${re} on ${this.path}`, timeoutMs, () => {
      const lines = this.lines();
      for (let i = from; i < lines.length; i++) if (re.test(lines[i])) return { line: lines[i], index: i };
      return undefined;
    });
  }

  /** The PCI devices the guest listed at boot: "0000:01:00.0" -> "1af4:1041". */
  async bootPciDevices(timeoutMs: number): Promise<Map<string, string>> {
    const end = await this.waitFor(/^@@PCI-END /, timeoutMs);
    const devices = new Map<string, string>();
    for (const line of this.lines().slice(0, end.index)) {
      const m = /^@@PCI (\S+) (\S+)/.exec(line);
      if (m) devices.set(m[1], m[2]);
    }
    return devices;
  }
}

export interface GuestDomainOptions {
  name: string;
  machine: 'q35' | 'pc';
  /** the file the serial console is written to, or 'pty' for a console to connect to */
  serialPath: string;
  guest: TestGuest;
  /** extra XML inside <devices> */
  devices?: string;
  /** extra XML inside <domain> (lifecycle actions ...) */
  extra?: string;
}

/** A domain running the test guest by direct kernel boot, its console on a file. */
export function guestDomainXML(o: GuestDomainOptions): string {
  return `<domain type='qemu'>
  <name>${o.name}</name>
  <uuid>${randomUUID()}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='${o.machine}'>hvm</type>
    <kernel>${o.guest.kernel}</kernel>
    <initrd>${o.guest.initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/></features>
  ${o.extra ?? ''}
  <devices>
    <emulator>${QEMU}</emulator>
    ${o.serialPath === 'pty' ? "<serial type='pty'/>" : `<serial type='file'><source path='${o.serialPath}'/></serial>`}
    ${o.devices ?? ''}
  </devices>
</domain>
`;
}

/** A virtio disk on a fresh sparse raw image. */
export function virtioDiskXML(image: string, dev: string, sizeMiB = 8): string {
  execFileSync('truncate', ['-s', `${sizeMiB}M`, image]);
  return `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${image}'/><target dev='${dev}' bus='virtio'/></disk>`;
}

/** Every PCI address of a device in a domain's XML, as the guest names it ("0000:01:00.0"). */
export function pciAddressesOf(domainXml: string): Array<{ address: string; device: string }> {
  const devices = child(parseXml(domainXml), 'devices');
  const out: Array<{ address: string; device: string }> = [];
  for (const device of devices?.children ?? []) {
    const a = child(device, 'address');
    if (a?.attrs.type !== 'pci') continue;
    const n = (v: string | undefined) => Number.parseInt(v ?? '0', 16);
    const hex = (v: string | undefined, width: number) => n(v).toString(16).padStart(width, '0');
    const model = device.attrs.model ?? device.attrs.type ?? '';
    out.push({ device: `${device.name}[${model}]`, address: `${hex(a.attrs.domain, 4)}:${hex(a.attrs.bus, 2)}:${hex(a.attrs.slot, 2)}.${n(a.attrs.function)}` });
  }
  return out;
}
