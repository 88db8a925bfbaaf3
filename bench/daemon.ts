// Real virsh against tsvirtd and against libvirtd, same client, same host, same
// run: define + dumpxml --inactive + undefine of every defined gen-* case of the
// qemu corpus, one virsh process per case, on qemu:///system (tsvirtd --root on a
// temporary root vs the host's libvirtd) and on test:///default of each daemon;
// then the idle RSS of both daemons. Prints times and libvirtd/tsvirtd ratios.
//
//   node dist/bench/daemon.js [--filter REGEX] [--limit N]

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
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

const list = definedCases();
const daemon = await spawnDaemon();
const withLibvirtd = existsSync(LIBVIRTD_SOCKET);
console.log(`${list.length} cases matching ${filter}${withLibvirtd ? '' : '; no libvirtd on this host'}`);
try {
  // tsvirtd's qemu:///system keeps its state under the daemon's temporary root (OpenOptions.stateRoot)
  const targets: Array<[string, string, string]> = [
    ['qemu:///system', daemon.uri('qemu', '/system'), 'qemu:///system'],
    ['test:///default', daemon.uri('test', '/default'), `test+unix:///default?socket=${LIBVIRTD_SOCKET}`],
  ];
  for (const [label, tsUri, lvUri] of targets) {
    // one warm-up call so each side has its capabilities cached and its driver loaded
    await virsh(tsUri, 'capabilities');
    const ts = await run(tsUri, list);
    let line = `${label.padEnd(16)} tsvirtd ${ts.seconds.toFixed(2)} s (${((ts.seconds * 1000) / list.length).toFixed(1)} ms/case, ${ts.failed} failed)`;
    if (withLibvirtd) {
      await virsh(lvUri, 'capabilities');
      const lv = await run(lvUri, list);
      line += `   libvirtd ${lv.seconds.toFixed(2)} s (${((lv.seconds * 1000) / list.length).toFixed(1)} ms/case, ${lv.failed} failed)   libvirtd/tsvirtd = ${(lv.seconds / ts.seconds).toFixed(2)}`;
    }
    console.log(line);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const tsRss = processRssKiB(daemon.pid);
  const lvPid = libvirtdPid();
  const lvRss = lvPid === undefined ? undefined : processRssKiB(lvPid);
  console.log(`idle RSS         tsvirtd ${tsRss} KiB   libvirtd ${lvRss ?? '-'} KiB${tsRss && lvRss ? `   libvirtd/tsvirtd = ${(lvRss / tsRss).toFixed(2)}` : ''}`);
} finally {
  await daemon.stop();
}
