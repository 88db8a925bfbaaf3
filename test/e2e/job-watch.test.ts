// virsh's job watcher (virshWatchJob) for save and managedsave, side by side
// on the installed libvirt (qemu:///system), tsvirsh on qemu:///embed and
// tsvirsh through tsvirtd: the --verbose progress lines off a terminal (their
// form and order; the percentages depend on timing), SIGINT (ignored), Ctrl-C
// typed on a terminal (aborts the job, the guest keeps running), and
// domjobinfo while the job runs. The guest has 12 GiB of (untouched) RAM so
// that a save takes seconds; libvirt's side is skipped loudly without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, SYSTEM_URI } from '../helpers/libvirt.js';
import { projectRoot, tsvirsh } from '../helpers/shared.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) {
  if (process.env.CI === 'true') throw new Error(`libvirt is needed for the job watcher comparison under CI=true: ${noLibvirt}`);
  process.stderr.write(`*** job-watch: the libvirt side is SKIPPED: ${noLibvirt} ***\n`);
}
const PTY_INTERRUPT = path.join(projectRoot, 'test', 'e2e', 'pty-interrupt.py');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

interface Host {
  kind: string;
  /** a daemon runs the domain: another client (domjobinfo) sees its job; an embed driver is its process's own */
  shared: boolean;
  /** the client's command line up to its command */
  cli: string[];
  name: string;
  dir: string;
}

/** Runs a client command off a terminal (pipes); `once` acts when `shows` first appears on its stderr (the watch runs). */
function run(host: Host, args: string[], once?: { shows: string; act: (child: ChildProcess) => void }): Promise<Outcome> {
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
async function runOnTerminal(host: Host, marker: string, count: number, args: string[]): Promise<{ output: string; code: number }> {
  const r = await run({ ...host, cli: ['python3', PTY_INTERRUPT, marker, String(count), ...host.cli] }, args);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { output: string; code: number };
  // libvirt's client warns about polkit on a terminal; tsvirsh adds a bar to its progress lines there
  return { code: result.code, output: result.output.replace(/^Authorization not available\..*\r\n/, '').replace(/ \[[# ]{40}\]/g, '') };
}

/** virsh's --verbose lines off a terminal: "\rLABEL: [ NN %]" as the job goes, rising, ending with [100 %]. */
function assertProgress(stderr: string, label: string, what: string): void {
  what += `: ${JSON.stringify(stderr)}`;
  assert.match(stderr, new RegExp(`^(\\r${label}: \\[[ \\d]{2}\\d %\\])+$`), what);
  // the last line is the watcher's own; polls may have seen the job's data all sent before it ended
  assert.ok(stderr.endsWith(`\r${label}: [100 %]`), what);
  const percents = [...stderr.matchAll(/\[ *(\d+) %\]/g)].map((m) => Number(m[1]));
  assert.deepEqual(percents, [...percents].sort((a, b) => a - b), `${what}: rising`);
  assert.ok(percents.some((p) => p < 100), `${what}: a save of seconds shows progress before its end`);
}

function bigGuestXML(host: Host): string {
  const xml = guestDomainXML({ name: host.name, machine: 'q35', serialPath: path.join(host.dir, 'serial.log'), guest: guest as TestGuest });
  return xml.replace("<memory unit='MiB'>256</memory>", "<memory unit='MiB'>12288</memory>");
}

async function ok(host: Host, ...args: string[]): Promise<Outcome> {
  const r = await run(host, args);
  assert.equal(r.code, 0, `${host.kind}: ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** The session every host goes through; its outcomes, normalised, for comparison. */
async function session(host: Host): Promise<Record<string, string>> {
  const n = (s: string) => s.replaceAll(host.dir, 'DIR').replaceAll(host.name, 'DOM');
  const seen: Record<string, string> = {};
  writeFileSync(path.join(host.dir, 'def.xml'), bigGuestXML(host));
  await ok(host, 'define', path.join(host.dir, 'def.xml'));
  await ok(host, 'start', host.name);
  // the booted kernel has written its memory map over the 12 GiB: that is what makes the save take seconds
  await new SerialLog(path.join(host.dir, 'serial.log')).bootPciDevices(BOOT_TIMEOUT_MS);

  // save --verbose, with domjobinfo asked meanwhile where another client can
  const image = path.join(host.dir, 'saved.img');
  let info: Promise<Outcome> | undefined;
  const saved = await run(host, ['save', host.name, image, '--verbose'], { shows: 'Save: [', act: () => (info = host.shared ? run(host, ['domjobinfo', host.name]) : undefined) });
  // the figures depend on timing: the lines and their order must match
  if (info) seen.domjobinfo = (await info).stdout.replace(/\d+(\.\d+)? ?(B|KiB|MiB|GiB)?/g, 'N').replace(/ +/g, ' ').replace(/ $/gm, '');
  assert.equal(saved.code, 0, `${host.kind}: ${saved.stderr}`);
  assertProgress(saved.stderr, 'Save', `${host.kind} save`);
  seen.saved = n(saved.stdout);
  await ok(host, 'restore', image);

  // Ctrl-C typed on a terminal once the job runs: libvirt aborts it, the guest runs on. virsh
  // turns the terminal's Ctrl-C into a character just after its first progress line (tsvirsh
  // just before): on a loaded machine, typing upon virsh's first line can still be an ignored SIGINT.
  const aborted = path.join(host.dir, 'aborted.img');
  const typed = await runOnTerminal(host, 'Save: [', host.kind === 'libvirt' ? 2 : 1, ['save', host.name, aborted, '--verbose']);
  assert.equal(typed.code, 1, `${host.kind}: ${typed.output}`);
  const [progress, rest] = [typed.output.slice(0, typed.output.indexOf('^C')), typed.output.slice(typed.output.indexOf('^C'))];
  assert.match(progress, /^(\rSave: \[[ \d]{2}\d %\])+$/, `${host.kind}: ${typed.output}`);
  seen.aborted = n(rest);
  seen.abortedState = (await ok(host, 'domstate', host.name, '--reason')).stdout;
  seen.abortedImage = existsSync(aborted) ? 'left' : 'removed';

  // SIGINT off a terminal is caught and ignored: managedsave completes
  const managed = await run(host, ['managedsave', host.name, '--verbose'], { shows: 'Managedsave: [', act: (child) => child.kill('SIGINT') });
  assertProgress(managed.stderr, 'Managedsave', `${host.kind} managedsave`);
  seen.managedsave = `${managed.code} ${n(managed.stdout)}`;
  seen.managedState = (await ok(host, 'domstate', host.name, '--reason')).stdout;
  return seen;
}

test('save and managedsave --verbose, Ctrl-C and SIGINT: tsvirsh (embed and through tsvirtd) as virsh on libvirt', { skip, timeout: 240_000 }, async (t) => {
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
    { kind: 'embed', shared: false, cli: [process.execPath, tsvirsh, '-c', sandbox.uri], name: 'jw-embed', dir: folder('embed') },
    { kind: 'tsvirtd', shared: true, cli: [process.execPath, tsvirsh, '-c', daemon.uri('qemu', '/system')], name: 'jw-daemon', dir: folder('daemon') },
  ];
  const libvirt: Host = { kind: 'libvirt', shared: true, cli: ['virsh', '-c', SYSTEM_URI], name: `tsvirt-e2e-jobwatch-${process.pid}`, dir: folder('libvirt') };
  if (!noLibvirt) hosts.push(libvirt);
  t.after(async () => {
    for (const host of hosts) {
      await run(host, ['destroy', host.name]);
      await run(host, ['undefine', host.name, '--managed-save']);
    }
    await daemon.stopWithGuests();
    await sandbox.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const sessions = await Promise.all(hosts.map((h) => session(h)));
  const expected: Record<string, string> = {
    saved: "\nDomain 'DOM' saved to DIR/saved.img\n\n",
    aborted: "^Cerror: Failed to save domain 'DOM' to DIR/aborted.img\r\nerror: operation aborted: job 'domain save' canceled by client\r\n\r\n",
    abortedState: 'running (save canceled)\n\n',
    abortedImage: 'removed',
    managedsave: "0 \nDomain 'DOM' state saved by libvirt\n\n",
    managedState: 'shut off (saved)\n\n',
  };
  const expectedShared = {
    domjobinfo: [
      'Job type: Unbounded', 'Operation: Save', 'Time elapsed: N ms',
      'Data processed: N', 'Data remaining: N', 'Data total: N',
      'Memory processed: N', 'Memory remaining: N', 'Memory total: N', 'Memory bandwidth: N/s',
      'Dirty rate: N pages/s', 'Page size: N bytes', 'Iteration: N', 'Postcopy requests: N',
      'Constant pages: N', 'Normal pages: N', 'Normal data: N', 'Expected downtime: N ms', 'Setup time: N ms', '', '',
    ].join('\n'),
    ...expected,
  };
  const bySide = (list: Record<string, string>[]) => Object.fromEntries(hosts.map((h, i) => [h.kind, list[i]]));
  assert.deepEqual(bySide(sessions), bySide(hosts.map((h) => (h.shared ? expectedShared : expected))));
});
