// The hosts the job watcher tests (job-watch*.test.ts) run the same session on:
// the installed libvirt (qemu:///system; skipped loudly without it), tsvirsh
// on qemu:///embed and tsvirsh through tsvirtd; how they run client commands
// off and on a terminal, start the test guest, and check virsh's progress lines.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, SYSTEM_URI } from '../helpers/libvirt.js';
import { projectRoot, tsvirsh } from '../helpers/shared.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';

const guest = testGuest();
export const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) {
  if (process.env.CI === 'true') throw new Error(`libvirt is needed for the job watcher comparison under CI=true: ${noLibvirt}`);
  process.stderr.write(`*** job-watch: the libvirt side is SKIPPED: ${noLibvirt} ***\n`);
}
const PTY_INTERRUPT = path.join(projectRoot, 'test', 'e2e', 'pty-interrupt.py');

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Host {
  kind: string;
  /** a daemon runs the domain: another client (domjobinfo) sees its job; an embed driver is its process's own */
  shared: boolean;
  /** the client's command line up to its command */
  cli: string[];
  name: string;
  dir: string;
}

/** Runs a client command off a terminal (pipes); `once` acts when `shows` first appears on its stderr (the watch runs). */
export function run(host: Host, args: string[], once?: { shows: string; act: (child: ChildProcess) => void }): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(host.cli[0], [...host.cli.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let acted = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (once === undefined || acted || !stderr.includes(once.shows)) return;
      acted = true;
      once.act(child);
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr: once === undefined || acted ? stderr : `(${once.shows} never showed) ${stderr}` }));
  });
}

/** Runs a client command on a terminal and types Ctrl-C once `marker` has shown `count` times: what the terminal showed and the exit code. */
export async function runOnTerminal(host: Host, marker: string, count: number, args: string[]): Promise<{ output: string; code: number }> {
  const r = await run({ ...host, cli: ['python3', PTY_INTERRUPT, marker, String(count), ...host.cli] }, args);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { output: string; code: number };
  // libvirt's client warns about polkit on a terminal; tsvirsh adds a bar to its progress lines there
  return { code: result.code, output: result.output.replace(/^Authorization not available\..*\r\n/, '').replace(/ \[[# ]{40}\]/g, '') };
}

/** virsh's --verbose lines off a terminal: "\rLABEL: [ NN %]" as the job goes, rising, ending with [100 %]. */
export function assertProgress(stderr: string, label: string, what: string): void {
  what += `: ${JSON.stringify(stderr)}`;
  assert.match(stderr, new RegExp(`^(\\r${label}: \\[[ \\d]{2}\\d %\\])+$`), what);
  // the last line is the watcher's own; polls may have seen the job's data all sent before it ended
  assert.ok(stderr.endsWith(`\r${label}: [100 %]`), what);
  const percents = [...stderr.matchAll(/\[ *(\d+) %\]/g)].map((m) => Number(m[1]));
  assert.deepEqual(percents, [...percents].sort((a, b) => a - b), `${what}: rising`);
  assert.ok(percents.some((p) => p < 100), `${what}: a save of seconds shows progress before its end`);
}

/** Defines and starts the test guest with `memoryMiB` of RAM on `host`, and waits for it to boot. */
export async function startGuest(host: Host, memoryMiB: number): Promise<void> {
  const xml = guestDomainXML({ name: host.name, machine: 'q35', serialPath: path.join(host.dir, 'serial.log'), guest: guest as TestGuest });
  writeFileSync(path.join(host.dir, 'def.xml'), xml.replace("<memory unit='MiB'>256</memory>", `<memory unit='MiB'>${memoryMiB}</memory>`));
  await ok(host, 'define', path.join(host.dir, 'def.xml'));
  await ok(host, 'start', host.name);
  // the booted kernel has written its memory map over the RAM: that is what makes a save take seconds
  await new SerialLog(path.join(host.dir, 'serial.log')).bootPciDevices(BOOT_TIMEOUT_MS);
}

export async function ok(host: Host, ...args: string[]): Promise<Outcome> {
  const r = await run(host, args);
  assert.equal(r.code, 0, `${host.kind}: ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** embed, tsvirtd and (where it answers) libvirt, each with a folder and a domain name; all removed after the test. */
export async function sides(t: TestContext, tag: string): Promise<Host[]> {
  const dirs: string[] = [];
  const folder = (tag: string) => {
    // QEMU runs as another user: the images and the console live where it can reach them
    const dir = mkdtempSync(`/var/tmp/tsvirt-e2e-jobwatch-${tag}-`);
    chmodSync(dir, 0o777);
    dirs.push(dir);
    return dir;
  };
  const sandbox = new Sandbox();
  const daemon = await spawnDaemon();
  const hosts: Host[] = [
    { kind: 'embed', shared: false, cli: [process.execPath, tsvirsh, '-c', sandbox.uri], name: `jw-${tag}-embed`, dir: folder('embed') },
    { kind: 'tsvirtd', shared: true, cli: [process.execPath, tsvirsh, '-c', daemon.uri('qemu', '/system')], name: `jw-${tag}-daemon`, dir: folder('daemon') },
  ];
  if (!noLibvirt) hosts.push({ kind: 'libvirt', shared: true, cli: ['virsh', '-c', SYSTEM_URI], name: `tsvirt-e2e-jobwatch-${tag}-${process.pid}`, dir: folder('libvirt') });
  t.after(async () => {
    for (const host of hosts) {
      await run(host, ['destroy', host.name]);
      await run(host, ['undefine', host.name, '--managed-save']);
    }
    await daemon.stopWithGuests();
    await sandbox.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return hosts;
}

/** The outcomes of every host, by host, to compare in one assertion. */
export const bySide = (hosts: Host[], list: Record<string, string>[]) => Object.fromEntries(hosts.map((h, i) => [h.kind, list[i]]));
