// Storage volume operations, real virsh against tsvirtd and against libvirtd
// (qemu:///system) in the same run, on dir pools in the same filesystem:
//   create = vol-create-as of a 10 GiB qcow2
//   clone  = vol-clone of a 1 GiB raw volume with 512 MiB written
//   upload = vol-upload --sparse of a 1 GiB file holding 64 MiB of data
// Medians of --runs (default 3); the two sides take turns run by run. libvirtd's pool is tsvirt-bench-PID, removed at the end.
// Beside the wall times, each daemon's own CPU time per operation (its threads, not
// qemu-img; mean of the runs): on a loaded machine that ratio moves much less than
// the wall times do (libvirtd's also counts whatever other clients ask of it meanwhile).
// Last, each daemon's RSS before the runs and after them (libvirtd's is shared with
// its other clients and guests; tsvirtd's holds what its uploads left to the allocator).
//
// With --baseline CHECKOUT, a second tsvirtd from another built checkout (say the
// main branch) takes its turns too: before and after a change, in the same run.
//
//   node dist/bench/storage.js [--runs N] [--dir DIR] [--baseline CHECKOUT]

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { spawnDaemon } from '../test/daemon/spawn-daemon.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 3);
const base = mkdtempSync(path.join(arg('--dir') ?? '/var/tmp', 'tsvirt-bench-storage-'));
const pool = `tsvirt-bench-${process.pid}`;

function virsh(uri: string, command: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('virsh', ['-c', uri, command], (e, _out, err) => (e ? reject(new Error(`${command}: ${err}`)) : resolve())),
  );
}

async function timed(step: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await step();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Side = { name: string; uri: string; dir: string; upload: string; pid: number; times: Record<string, number[]>; cpu: Record<string, number[]> };

/** A process's user+system CPU time in ms (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A process's resident set in KiB (VmRSS). */
function rssKiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** A fresh dir pool under `dir` with the clone source and the upload target and file. */
async function prepare(name: string, uri: string, pid: number, dir: string): Promise<Side> {
  const v = (c: string) => virsh(uri, c);
  await v(`pool-create-as ${pool} dir --target ${dir} --build`);
  await v(`vol-create-as ${pool} src.img 1G --allocation 0`);
  execFileSync('dd', ['if=/dev/urandom', `of=${dir}/src.img`, 'bs=1M', 'count=512', 'conv=notrunc', 'status=none']);
  const upload = path.join(dir, '..', `upload-${path.basename(dir)}.img`);
  execFileSync('truncate', ['-s', '1G', upload]);
  execFileSync('dd', ['if=/dev/urandom', `of=${upload}`, 'bs=1M', 'count=64', 'seek=256', 'conv=notrunc', 'status=none']);
  await v(`vol-create-as ${pool} up.img 1G --allocation 0`);
  return { name, uri, dir, upload, pid, times: { create: [], clone: [], upload: [] }, cpu: { create: [], clone: [], upload: [] } };
}

/** One run of each operation on one side. */
async function measure({ uri, upload, pid, times, cpu }: Side): Promise<void> {
  const v = (c: string) => virsh(uri, c);
  const step = async (key: string, command: string) => {
    const before = cpuMs(pid);
    times[key]!.push(await timed(() => v(command)));
    cpu[key]!.push(cpuMs(pid) - before);
  };
  await step('create', `vol-create-as ${pool} big.qcow2 10G --format qcow2`);
  await v(`vol-delete --pool ${pool} big.qcow2`);
  await step('clone', `vol-clone --pool ${pool} src.img copy.img`);
  await v(`vol-delete --pool ${pool} copy.img`);
  await step('upload', `vol-upload --pool ${pool} up.img ${upload} --sparse`);
}

const medians = (side: Side) => Object.fromEntries(Object.entries(side.times).map(([k, xs]) => [k, median(xs)]));
const meanCpu = (side: Side, key: string) => side.cpu[key]!.reduce((a, b) => a + b, 0) / side.cpu[key]!.length;

const baseline = arg('--baseline');
const daemons = [await spawnDaemon(), ...(baseline ? [await spawnDaemon('', { tsvirtd: path.resolve(baseline, 'bin', 'tsvirtd') })] : [])];
const libvirtd = Number(execFileSync('pgrep', ['-o', '-x', 'libvirtd'], { encoding: 'utf8' }).trim());
const uris = [...daemons.map((d) => d.uri('qemu', '/system')), 'qemu:///system'];
const sides: Side[] = [];
try {
  const pids = [...daemons.map((d) => d.pid), libvirtd];
  const names = ['tsvirt', ...(baseline ? ['baseline'] : []), 'libvirt'];
  const rssBefore = pids.map(rssKiB);
  for (const [i, name] of names.entries()) sides.push(await prepare(name, uris[i]!, pids[i]!, path.join(base, name)));
  // the sides take turns, so a change in the machine's load falls on all
  for (let i = 0; i < runs; i++) for (const side of i % 2 ? [...sides].reverse() : sides) await measure(side);
  const libvirt = medians(sides.at(-1)!);
  process.stdout.write(`storage bench, median of ${runs} (ms): virsh -> ${baseline ? 'tsvirtd, baseline tsvirtd' : 'tsvirtd'} vs virsh -> libvirtd, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  for (const key of Object.keys(libvirt)) {
    for (const side of sides.slice(0, -1)) {
      const own = medians(side)[key]!;
      const cpu = `daemon CPU ${meanCpu(side, key).toFixed(0)} vs ${meanCpu(sides.at(-1)!, key).toFixed(0)} ms`;
      process.stdout.write(`  ${key.padEnd(7)} ${side.name.padEnd(8)} ${own.toFixed(0).padStart(6)}  libvirt ${libvirt[key]!.toFixed(0).padStart(6)}  ratio ${(own / libvirt[key]!).toFixed(2)}x   (${cpu})\n`);
    }
  }
  const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
  const rss = sides.map((side, i) => `${side.name} ${mib(rssBefore[i]!)} before, ${mib(rssKiB(side.pid))} after`);
  process.stdout.write(`  RSS     ${rss.join('   ')}\n`);
} finally {
  for (const uri of uris) await virsh(uri, `pool-destroy ${pool}`).catch(() => undefined);
  for (const daemon of daemons) await daemon.stop();
  rmSync(base, { recursive: true, force: true });
}
