// Real virsh (and a python3-libvirt client) against tsvirtd and against libvirtd,
// same client, same host, same run, each part printing times and libvirtd/tsvirtd
// ratios:
//  - define: define + dumpxml --inactive + undefine of every defined gen-* case of
//    the qemu corpus, one virsh process per case, on qemu:///system (tsvirtd --root
//    on a temporary root vs the host's libvirtd) and on test:///default of each;
//  - calls: the same three calls from one python3-libvirt connection, each timed
//    (median per call, bench/per-call.py), and the daemon's CPU time per case;
//  - list: `virsh list --all` with LIST_DOMAINS defined domains (median of runs);
//  - events: the test guest powers itself off; from QEMU's SHUTDOWN timestamp to the
//    client's lifecycle callbacks SHUTDOWN and STOPPED (bench/event-latency.py);
//  - rss: each daemon's own RSS (QEMU not counted) idle, and with RUNNING_GUESTS
//    running test guests.
//
// define, calls and list run --runs times (default 3), the two daemons in
// alternating order, each run printed with the load average (the machine may be shared).
//
//   node dist/bench/daemon.js [--parts define,calls,list,events,rss] [--runs N] [--filter REGEX] [--limit N]

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../test/helpers/shared.js';
import { testGuest } from '../test/e2e/guest.js';
import { processRssKiB } from '../src/util/process.js';
import { sharedDir } from '../test/helpers/shared.js';
import { spawnDaemon } from '../test/daemon/spawn-daemon.js';

const LIBVIRTD_SOCKET = '/run/libvirt/libvirt-sock';
const cases = path.join(sharedDir, 'conformance', 'qemu');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const filter = new RegExp(arg('--filter') ?? '^gen-');
const limit = Number(arg('--limit') ?? Infinity);
const parts = new Set((arg('--parts') ?? 'define,calls,list,events,rss').split(','));
const RUNS = Number(arg('--runs') ?? 3);
const CALL_ROUNDS = 2;
const LIST_DOMAINS = 1000;
const LIST_RUNS = 9;
const EVENT_ROUNDS = 3;
const RUNNING_GUESTS = 20;
/** the bench's domains on the host's libvirtd carry this prefix and are removed afterwards */
const PREFIX = 'tsvirt-bench-';

interface Case {
  readonly dir: string;
  readonly name: string;
}

function definedCases(): Case[] {
  return readdirSync(cases)
    .filter((id) => filter.test(id) && existsSync(path.join(cases, id, 'meta.json')))
    .map((id) => ({ dir: path.join(cases, id), meta: JSON.parse(readFileSync(path.join(cases, id, 'meta.json'), 'utf8')) }))
    .filter((c) => c.meta.outcome === 'defined')
    .map((c) => ({ dir: c.dir, name: c.meta.name as string }))
    .slice(0, limit);
}

function virsh(uri: string, command: string): Promise<boolean> {
  return new Promise((resolve) => execFile('virsh', ['-c', uri, command], { maxBuffer: 16 << 20 }, (e) => resolve(!e)));
}

/** Seconds for the workload over every case, and how many cases failed. */
async function run(uri: string, list: readonly Case[]): Promise<{ seconds: number; failed: number }> {
  const t0 = performance.now();
  let failed = 0;
  for (const c of list) {
    if (!(await virsh(uri, `define ${c.dir}/input.xml; dumpxml --inactive ${c.name}; undefine ${c.name}`))) failed++;
  }
  return { seconds: (performance.now() - t0) / 1000, failed };
}

function libvirtdPid(): number | undefined {
  try {
    return Number(execFileSync('pidof', ['libvirtd'], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
}

/** One virsh process running `commands` (virsh's `;` syntax); its stdout. */
function virshOut(uri: string, commands: string): Promise<string> {
  return new Promise((resolve, reject) => execFile('virsh', ['-c', uri, commands], { maxBuffer: 64 << 20 }, (e, stdout, stderr) => (e ? reject(new Error(`virsh ${commands.slice(0, 80)}: ${stderr}`)) : resolve(stdout))));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratio = (lv: number | undefined, ts: number | undefined) => (lv !== undefined && ts !== undefined && ts > 0 ? (lv / ts).toFixed(2) : '-');

/** Defines `count` small domains through one virsh process; returns their names. */
async function defineMany(uri: string, dir: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${PREFIX}${i}`);
  for (const name of names) {
    writeFileSync(path.join(dir, `${name}.xml`), `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>\n`);
  }
  for (let i = 0; i < names.length; i += 200) {
    await virshOut(uri, names.slice(i, i + 200).map((n) => `define ${path.join(dir, `${n}.xml`)}`).join(' ; '));
  }
  return names;
}

async function undefineMany(uri: string, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 200) {
    await virshOut(uri, names.slice(i, i + 200).map((n) => `undefine ${n}`).join(' ; ')).catch(() => undefined);
  }
}

const loadavg = () => `load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;

/** A process's CPU time (user + system) in ms, from /proc/PID/stat. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** bench/per-call.py against `uri`: median ms per call, and the daemon's CPU ms per case. */
function perCall(uri: string, pid: number | undefined, list: readonly Case[]): { calls: Map<string, number>; cpu: number | undefined } {
  const before = pid === undefined ? undefined : cpuMs(pid);
  const out = execFileSync('/usr/bin/python3', [path.join(projectRoot, 'bench', 'per-call.py'), uri, String(CALL_ROUNDS), ...list.map((c) => path.join(c.dir, 'input.xml'))], { encoding: 'utf8' });
  const cpu = pid === undefined || before === undefined ? undefined : (cpuMs(pid) - before) / (list.length * CALL_ROUNDS);
  return { calls: new Map([...out.matchAll(/^CALL (\S+) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])])), cpu };
}

/** Median wall time of `virsh list --all` with LIST_DOMAINS domains defined. */
async function listAllMs(uri: string, dir: string): Promise<number> {
  const names = await defineMany(uri, dir, LIST_DOMAINS);
  try {
    const out = await virshOut(uri, 'list --all');
    if (out.split('\n').filter((l) => l.includes(PREFIX)).length !== LIST_DOMAINS) throw new Error(`list --all on ${uri} misses domains`);
    const times: number[] = [];
    for (let i = 0; i < LIST_RUNS; i++) {
      const t0 = performance.now();
      await virshOut(uri, 'list --all');
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    await undefineMany(uri, names);
  }
}

/** The test guest's kernel and initrd where libvirtd's QEMU user may read them. */
function readableGuest(dir: string): { kernel: string; initrd: string } {
  const guest = testGuest();
  if ('skip' in guest) throw new Error(guest.skip);
  chmodSync(dir, 0o755);
  const copy = (file: string) => {
    const to = path.join(dir, path.basename(file));
    copyFileSync(file, to);
    chmodSync(to, 0o644);
    return to;
  };
  return { kernel: copy(guest.kernel), initrd: copy(guest.initrd) };
}

function guestXML(name: string, guest: { kernel: string; initrd: string }): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${guest.kernel}</kernel><initrd>${guest.initrd}</initrd><cmdline>console=ttyS0 quiet panic=-1</cmdline></os>
  <features><acpi/></features><devices><emulator>/usr/bin/qemu-system-x86_64</emulator><serial type='pty'/></devices></domain>\n`;
}

/** Median latencies (ms) from QEMU's SHUTDOWN to the lifecycle SHUTDOWN and STOPPED callbacks. */
function eventLatency(uri: string, xmlFile: string): { shutdown: number; stopped: number } {
  const out = execFileSync('/usr/bin/python3', [path.join(projectRoot, 'bench', 'event-latency.py'), uri, xmlFile, String(EVENT_ROUNDS), '300'], { encoding: 'utf8' });
  const rows = [...out.matchAll(/^LATENCY (\S+) (\S+)$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
  return { shutdown: median(rows.map((r) => r[0])), stopped: median(rows.map((r) => r[1])) };
}

/** The daemon's RSS with RUNNING_GUESTS guests started (not waiting for their boot), then destroyed. */
async function rssWithGuests(uri: string, pid: number, dir: string, guest: { kernel: string; initrd: string }): Promise<number | undefined> {
  const names = Array.from({ length: RUNNING_GUESTS }, (_, i) => `${PREFIX}run-${i}`);
  for (const name of names) writeFileSync(path.join(dir, `${name}.xml`), guestXML(name, guest));
  try {
    await virshOut(uri, names.map((n) => `create ${path.join(dir, `${n}.xml`)}`).join(' ; '));
    await new Promise((r) => setTimeout(r, 5000));
    return processRssKiB(pid);
  } finally {
    await virshOut(uri, names.map((n) => `destroy ${n}`).join(' ; ')).catch(() => undefined);
  }
}

const daemon = await spawnDaemon();
const withLibvirtd = existsSync(LIBVIRTD_SOCKET);
const work = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-bench-'));
const tsQemu = daemon.uri('qemu', '/system');
try {
  if (parts.has('define')) {
    const list = definedCases();
    console.log(`define: ${list.length} cases matching ${filter}${withLibvirtd ? '' : '; no libvirtd on this host'}`);
    // tsvirtd's qemu:///system keeps its state under the daemon's temporary root (OpenOptions.stateRoot)
    const targets: Array<[string, string, string]> = [
      ['qemu:///system', tsQemu, 'qemu:///system'],
      ['test:///default', daemon.uri('test', '/default'), `test+unix:///default?socket=${LIBVIRTD_SOCKET}`],
    ];
    for (const [label, tsUri, lvUri] of targets) {
      // one warm-up call so each side has its capabilities cached and its driver loaded
      await virsh(tsUri, 'capabilities');
      if (withLibvirtd) await virsh(lvUri, 'capabilities');
      const ratios: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const load = loadavg();
        const perCase = (x: { seconds: number; failed: number }) => `${x.seconds.toFixed(2)} s (${((x.seconds * 1000) / list.length).toFixed(1)} ms/case, ${x.failed} failed)`;
        // alternating order: a load that drifts during a run favours neither side
        const lvFirst = withLibvirtd && r % 2 === 1;
        const lvEarly = lvFirst ? await run(lvUri, list) : undefined;
        const ts = await run(tsUri, list);
        const lv = lvEarly ?? (withLibvirtd ? await run(lvUri, list) : undefined);
        let line = `${label.padEnd(16)} run ${r + 1} (${load})   tsvirtd ${perCase(ts)}`;
        if (lv) {
          ratios.push(lv.seconds / ts.seconds);
          line += `   libvirtd ${perCase(lv)}   libvirtd/tsvirtd = ${(lv.seconds / ts.seconds).toFixed(2)}`;
        }
        console.log(line);
      }
      if (ratios.length > 0) console.log(`${label.padEnd(16)} median libvirtd/tsvirtd over ${RUNS} runs = ${median(ratios).toFixed(2)}`);
    }
  }
  if (parts.has('calls')) {
    const list = definedCases();
    const lvPid = withLibvirtd ? libvirtdPid() : undefined;
    const rows = new Map<string, { ts: number[]; lv: number[] }>();
    const add = (name: string, side: 'ts' | 'lv', v: number | undefined) => {
      if (v === undefined) return;
      if (!rows.has(name)) rows.set(name, { ts: [], lv: [] });
      rows.get(name)![side].push(v);
    };
    for (let r = 0; r < RUNS; r++) {
      const load = loadavg();
      const sides: Array<'ts' | 'lv'> = withLibvirtd ? (r % 2 === 0 ? ['ts', 'lv'] : ['lv', 'ts']) : ['ts'];
      const got: Record<string, ReturnType<typeof perCall>> = {};
      for (const side of sides) got[side] = side === 'ts' ? perCall(tsQemu, daemon.pid, list) : perCall('qemu:///system', lvPid, list);
      const fmt = (x: ReturnType<typeof perCall> | undefined) => (x ? `${[...x.calls].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} ms; daemon CPU ${x.cpu?.toFixed(2) ?? '-'} ms/case` : '-');
      console.log(`python3-libvirt per call, run ${r + 1} (${load}, ${list.length} cases x ${CALL_ROUNDS})   tsvirtd: ${fmt(got.ts)}   libvirtd: ${fmt(got.lv)}`);
      for (const side of sides) {
        for (const [name, v] of got[side]!.calls) add(name, side, v);
        add('daemon CPU per case', side, got[side]!.cpu);
      }
    }
    for (const [name, { ts, lv }] of rows) {
      console.log(`python3-libvirt ${name.padEnd(19)} median of ${RUNS}: tsvirtd ${median(ts).toFixed(2)} ms   libvirtd ${lv.length ? median(lv).toFixed(2) : '-'} ms   libvirtd/tsvirtd = ${ratio(lv.length ? median(lv) : undefined, median(ts))}`);
    }
  }
  if (parts.has('list')) {
    const ratios: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const load = loadavg();
      const ts = await listAllMs(tsQemu, work);
      const lv = withLibvirtd ? await listAllMs('qemu:///system', work) : undefined;
      if (lv !== undefined) ratios.push(lv / ts);
      console.log(`list --all (${LIST_DOMAINS} domains, median of ${LIST_RUNS}), run ${r + 1} (${load})   tsvirtd ${ts.toFixed(1)} ms   libvirtd ${lv?.toFixed(1) ?? '-'} ms   libvirtd/tsvirtd = ${ratio(lv, ts)}`);
    }
    if (ratios.length > 0) console.log(`list --all median libvirtd/tsvirtd over ${RUNS} runs = ${median(ratios).toFixed(2)}`);
  }
  let guest: { kernel: string; initrd: string } | undefined;
  if (parts.has('events')) {
    guest ??= readableGuest(work);
    const xmlFile = path.join(work, 'latency.xml');
    writeFileSync(xmlFile, guestXML(`${PREFIX}latency`, guest));
    const ts = eventLatency(tsQemu, xmlFile);
    const lv = withLibvirtd ? eventLatency('qemu:///system', xmlFile) : undefined;
    console.log(`event latency (median of ${EVENT_ROUNDS}, from QEMU's SHUTDOWN)   SHUTDOWN callback: tsvirtd ${ts.shutdown.toFixed(1)} ms, libvirtd ${lv?.shutdown.toFixed(1) ?? '-'} ms   STOPPED callback: tsvirtd ${ts.stopped.toFixed(1)} ms, libvirtd ${lv?.stopped.toFixed(1) ?? '-'} ms   libvirtd/tsvirtd (STOPPED) = ${ratio(lv?.stopped, ts.stopped)}`);
  }
  if (parts.has('rss')) {
    await new Promise((r) => setTimeout(r, 2000));
    const lvPid = withLibvirtd ? libvirtdPid() : undefined;
    const tsIdle = processRssKiB(daemon.pid);
    const lvIdle = lvPid === undefined ? undefined : processRssKiB(lvPid);
    console.log(`idle RSS (${loadavg()})   tsvirtd ${tsIdle} KiB   libvirtd ${lvIdle ?? '-'} KiB   libvirtd/tsvirtd = ${ratio(lvIdle, tsIdle)}`);
    guest ??= readableGuest(work);
    const tsBusy = await rssWithGuests(tsQemu, daemon.pid, work, guest);
    const lvBusy = lvPid === undefined ? undefined : await rssWithGuests('qemu:///system', lvPid, work, guest);
    console.log(`RSS, ${RUNNING_GUESTS} running guests (${loadavg()})   tsvirtd ${tsBusy} KiB   libvirtd ${lvBusy ?? '-'} KiB   libvirtd/tsvirtd = ${ratio(lvBusy, tsBusy)}`);
  }
} finally {
  await daemon.stop();
  rmSync(work, { recursive: true, force: true });
}
