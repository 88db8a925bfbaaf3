// Domain-count scaling in embed mode, one tsvirsh process per call as a script
// would run it, against real virsh on qemu:///system (libvirtd) in the same run:
//   list    = `list --all` with 10 and with 1000 defined domains
//   query   = `dominfo` / `domstate` of one domain among 1000
//   define  = 50 `define`s started at once (50 processes), wall time until all are done
//   floor   = `node -e 0`, what any Node.js process costs here, alone and 50 at once
//   daemon  = the same 50 defines at once through tsvirtd (real virsh and tsvirsh as
//             clients), beside virsh -> libvirtd: the clients' start-up is then C's or Node's
// Medians of --runs (default 5) of wall time, tsvirsh's queries and `node -e 0`
// run in turn; beside it the mean CPU time
// (user + system) of the tsvirsh and node processes, which a loaded host
// inflates far less than wall time (virsh's CPU is not comparable: libvirtd
// does its work). The load average is printed with the results.
// Domains defined on qemu:///system are named tsvirt-scale-PID-* and undefined at the end.
//
//   node dist/bench/domain-scale.js [--runs N] [--domains N] [--no-libvirt] [--no-daemon]

import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnDaemon } from '../test/daemon/spawn-daemon.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 5);
const many = Number(arg('--domains') ?? 1000);
const FEW = 10;
const PARALLEL = 50;
const prefix = `tsvirt-scale-${process.pid}`;

/** How many clock ticks /proc counts per second (getconf CLK_TCK). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (ms) of this process's finished children so far (cutime + cstime of /proc/self/stat), if known. */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Runs `fn` and tells the CPU time its finished children used meanwhile. */
async function withChildrenCpu<T>(fn: () => Promise<T>): Promise<{ result: T; cpu?: number }> {
  const before = childrenCpuMs();
  const result = await fn();
  const after = childrenCpuMs();
  return { result, cpu: before === undefined || after === undefined ? undefined : after - before };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Runs one command line; resolves with its wall time in ms, rejects on failure. */
function timed(file: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 << 20 }, (error, _out, err) => (error ? reject(new Error(`${file} ${args.slice(0, 4).join(' ')}...: ${err || error.message}`)) : resolve(performance.now() - t0)));
  });
}

/** One side of the comparison: how to run its CLI against its connection. */
interface Side {
  run(command: string): Promise<number>;
}

const tsvirsh = (uri: string): Side => ({ run: (command) => timed(process.execPath, [path.join(root, 'bin', 'tsvirsh'), '-c', uri, command]) });
const virsh: Side = { run: (command) => timed('virsh', ['-c', 'qemu:///system', command]) };

function domainXML(name: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='KiB'>65536</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>\n`;
}

/** Writes the XML files of `names` and defines them in batches of one CLI process each. */
async function defineAll(side: Side, dir: string, names: string[]): Promise<void> {
  const files = names.map((name) => {
    const file = path.join(dir, `${name}.xml`);
    writeFileSync(file, domainXML(name));
    return file;
  });
  for (let i = 0; i < files.length; i += 200) await side.run(files.slice(i, i + 200).map((f) => `define ${f}`).join(' ; '));
}

/**
 * The cases run in turn, --runs rounds: a host whose load drifts during the run
 * (this one is shared) then skews them alike. Median wall time and mean CPU time per run of each.
 */
async function runInterleaved(cases: (() => Promise<number>)[]): Promise<{ wall: number; cpu?: number }[]> {
  const samples = cases.map(() => [] as number[]);
  const cpu: (number | undefined)[] = cases.map(() => 0);
  for (let i = 0; i < runs; i++) {
    for (const [j, run] of cases.entries()) {
      const { result, cpu: used } = await withChildrenCpu(run);
      samples[j]!.push(result);
      cpu[j] = used === undefined || cpu[j] === undefined ? undefined : cpu[j]! + used;
    }
  }
  return cases.map((_, j) => ({ wall: median(samples[j]!), cpu: cpu[j] === undefined ? undefined : cpu[j]! / runs }));
}

/** Median wall time of --runs runs, and the mean CPU time per run. */
async function runMedian(side: Side, command: string): Promise<{ wall: number; cpu?: number }> {
  const samples: number[] = [];
  const { cpu } = await withChildrenCpu(async () => {
    for (let i = 0; i < runs; i++) samples.push(await side.run(command));
  });
  return { wall: median(samples), cpu: cpu === undefined ? undefined : cpu / runs };
}

function libvirtAvailable(): boolean {
  if (process.argv.includes('--no-libvirt')) return false;
  try {
    execFileSync('virsh', ['-c', 'qemu:///system', 'uri'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

const names = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${tag}-${String(i).padStart(4, '0')}`);

interface Row {
  what: string;
  ts: number;
  /** CPU time of tsvirsh: per process, or of all processes for the parallel defines */
  tsCpu?: number;
  lv?: number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-scale-'));
  const withLibvirt = libvirtAvailable();
  const defined: string[] = [];
  const rows: Row[] = [];
  // virsh is measured as its domains are defined; tsvirsh's queries and node -e 0 in turn, at the end
  const queries: { row: Row; uri: string; command: string }[] = [];
  const measure = async (what: string, uri: string, command: string) => {
    const row: Row = { what, ts: 0 };
    if (withLibvirt) row.lv = (await runMedian(virsh, command)).wall;
    queries.push({ row, uri, command });
    rows.push(row);
    return row;
  };
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`${runs} run(s) per median (tsvirsh's queries and node -e 0 interleaved); libvirt: ${withLibvirt ? 'virsh -c qemu:///system' : 'not available'}; ${os.cpus().length} CPUs, load average ${load()}`);
  try {
    const uriOf = (tag: string) => {
      const dir = path.join(work, tag);
      mkdirSync(path.join(dir, 'xml'), { recursive: true });
      return { uri: `qemu:///embed?root=${dir}/state`, xml: path.join(dir, 'xml') };
    };

    // N domains defined on each side; libvirt's list shows both sets, as does a shared host
    const few = uriOf('few');
    const fewNames = names('few', FEW);
    await tsvirsh(few.uri).run('capabilities'); // capabilities probed and cached outside the timings
    await defineAll(tsvirsh(few.uri), few.xml, fewNames);
    if (withLibvirt) {
      await defineAll(virsh, few.xml, fewNames);
      defined.push(...fewNames);
    }
    const listFew = await measure(`list --all, ${FEW} domains`, few.uri, 'list --all');

    const lots = uriOf('many');
    const manyNames = names('many', many - FEW);
    await tsvirsh(lots.uri).run('capabilities');
    await defineAll(tsvirsh(lots.uri), lots.xml, [...fewNames, ...manyNames]);
    if (withLibvirt) {
      await defineAll(virsh, lots.xml, manyNames);
      defined.push(...manyNames);
    }
    const probe = fewNames[3]!;
    const listMany = await measure(`list --all, ${many} domains`, lots.uri, 'list --all');
    const dominfo = await measure(`dominfo, ${many} domains`, lots.uri, `dominfo ${probe}`);
    const domstate = await measure(`domstate, ${many} domains`, lots.uri, `domstate ${probe}`);
    const nodeFloor = () => timed(process.execPath, ['-e', '0']);
    const [floorRun, ...queryRuns] = await runInterleaved([nodeFloor, ...queries.map((q) => () => tsvirsh(q.uri).run(q.command))]);
    const { wall: floor, cpu: floorCpu } = floorRun!;
    queries.forEach((q, i) => Object.assign(q.row, { ts: queryRuns[i]!.wall, tsCpu: queryRuns[i]!.cpu }));

    // 50 defines at once into the 10-domain folder
    const parallelNames = names('par', PARALLEL);
    for (const name of parallelNames) writeFileSync(path.join(few.xml, `${name}.xml`), domainXML(name));
    const parallel = async (side: Side) => {
      const t0 = performance.now();
      await Promise.all(parallelNames.map((name) => side.run(`define ${path.join(few.xml, `${name}.xml`)}`)));
      return performance.now() - t0;
    };
    const parallelFloor = await withChildrenCpu(() => parallel({ run: () => timed(process.execPath, ['-e', '0']) }));
    const parallelDefines = await withChildrenCpu(() => parallel(tsvirsh(few.uri)));
    const defineRow: Row = { what: `${PARALLEL} parallel defines`, ts: parallelDefines.result, tsCpu: parallelDefines.cpu };
    if (withLibvirt) {
      defined.push(...parallelNames);
      defineRow.lv = await parallel(virsh);
    }
    rows.push(defineRow);

    // the same defines through tsvirtd, each client in turn on a fresh daemon root
    const viaDaemon: { client: string; ms: number }[] = [];
    if (!process.argv.includes('--no-daemon')) {
      for (const [client, sideOf] of [['virsh', (uri: string): Side => ({ run: (command) => timed('virsh', ['-c', uri, command]) })], ['tsvirsh', tsvirsh]] as const) {
        const daemon = await spawnDaemon();
        try {
          const side = sideOf(daemon.uri('qemu', '/system'));
          await side.run('capabilities'); // the daemon's capabilities probe, outside the timing
          viaDaemon.push({ client, ms: await parallel(side) });
        } finally {
          await daemon.stop();
        }
      }
    }

    const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;
    const cpuOf = (x: number | undefined) => (x === undefined ? '' : ` (cpu ${ms(x)})`);
    console.log(`load average after the runs: ${load()}`);
    console.log(`${'node -e 0'.padEnd(32)} ${ms(floor)}${cpuOf(floorCpu)}`);
    console.log(`${`${PARALLEL} x node -e 0 at once`.padEnd(32)} ${ms(parallelFloor.result)}${cpuOf(parallelFloor.cpu)}`);
    for (const r of rows) console.log(`${r.what.padEnd(32)} tsvirsh ${ms(r.ts)}${cpuOf(r.tsCpu)}${r.lv === undefined ? '' : `   virsh ${ms(r.lv)}   tsvirsh/virsh ${(r.ts / r.lv).toFixed(2)}`}`);
    for (const d of viaDaemon) console.log(`${`${PARALLEL} parallel defines, tsvirtd`.padEnd(32)} ${d.client.padEnd(7)} ${ms(d.ms)}${defineRow.lv === undefined ? '' : `   (${d.client} -> tsvirtd)/(virsh -> libvirtd) ${(d.ms / defineRow.lv).toFixed(2)}`}`);
    const verdict = (ok: boolean) => (ok ? 'ok  ' : 'MISS');
    console.log('targets (issue #11):');
    console.log(`  ${verdict(listMany.ts <= 500)} list --all with ${many} domains <= 500 ms per process: ${ms(listMany.ts)}`);
    console.log(`  ${verdict(listMany.ts <= 1.5 * listFew.ts)} ... and <= 1.5x the ${FEW}-domain time: ${(listMany.ts / listFew.ts).toFixed(2)}x`);
    if (defineRow.lv !== undefined) console.log(`  ${verdict(defineRow.ts <= 3 * defineRow.lv)} ${PARALLEL} parallel defines <= 3x libvirt: ${(defineRow.ts / defineRow.lv).toFixed(2)}x`);
    // below this, no Node.js client reaches libvirt's time on this host: 50 bare Node processes alone
    if (defineRow.lv !== undefined) console.log(`       (Node's floor: ${PARALLEL} x node -e 0 at once = ${(parallelFloor.result / defineRow.lv).toFixed(2)}x libvirt's ${PARALLEL} defines)`);
    console.log(`       ${PARALLEL} parallel defines / ${PARALLEL} x node -e 0 at once: ${(defineRow.ts / parallelFloor.result).toFixed(2)}x`);
    for (const r of [listMany, dominfo, domstate]) console.log(`  ${verdict(r.ts <= floor + 50)} ${r.what} <= node -e 0 + 50 ms: +${(r.ts - floor).toFixed(0)} ms`);
    // the same targets in CPU time, which a busy host distorts far less than wall time
    if (floorCpu !== undefined && listFew.tsCpu !== undefined && listMany.tsCpu !== undefined) {
      console.log('the same in CPU time:');
      console.log(`  ${verdict(listMany.tsCpu <= 1.5 * listFew.tsCpu)} list --all with ${many} domains <= 1.5x the ${FEW}-domain CPU: ${(listMany.tsCpu / listFew.tsCpu).toFixed(2)}x`);
      for (const r of [listFew, listMany, dominfo, domstate]) if (r.tsCpu !== undefined) console.log(`  ${verdict(r.tsCpu <= floorCpu + 50)} ${r.what} <= node -e 0 + 50 ms CPU: +${(r.tsCpu - floorCpu).toFixed(0)} ms`);
      if (defineRow.tsCpu !== undefined && parallelFloor.cpu !== undefined) console.log(`  ${PARALLEL} parallel defines: ${(defineRow.tsCpu / PARALLEL).toFixed(0)} ms CPU per process (node -e 0: ${(parallelFloor.cpu / PARALLEL).toFixed(0)} ms)`);
    }
  } finally {
    if (defined.length) {
      for (let i = 0; i < defined.length; i += 200) {
        await virsh.run(defined.slice(i, i + 200).map((n) => `undefine ${n}`).join(' ; ')).catch((e: Error) => console.error(`cleanup: ${e.message}`));
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
