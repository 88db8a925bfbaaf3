// The generated conformance corpus through tsvirsh and through real virsh
// (qemu:///system, when installed), same machine, same run, one CLI process
// per case as a script would do it. Two workloads:
//   define  = define input.xml; dumpxml --inactive NAME; undefine NAME
//   argv    = domxml-to-native qemu-argv --xml input.xml
// Prints wall time per workload and the virsh/tsvirsh ratio.
//
//   node dist/bench/cli-corpus.js [--filter REGEX] [--jobs N]

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cases = path.resolve(root, '..', 'shared', 'conformance', 'qemu');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const filter = new RegExp(arg('--filter') ?? '^gen-');
const jobs = Number(arg('--jobs') ?? 1);

interface Case {
  dir: string;
  name: string;
}

function definedCases(): Case[] {
  return readdirSync(cases)
    .filter((id) => filter.test(id) && existsSync(path.join(cases, id, 'meta.json')))
    .map((id) => ({ dir: path.join(cases, id), meta: JSON.parse(readFileSync(path.join(cases, id, 'meta.json'), 'utf8')) }))
    .filter((c) => c.meta.outcome === 'defined')
    .map((c) => ({ dir: c.dir, name: c.meta.name as string }));
}

function runOne(cli: string[], uri: string, command: string): Promise<void> {
  return new Promise((resolve) => {
    execFile(cli[0]!, [...cli.slice(1), '-c', uri, command], { maxBuffer: 16 << 20 }, () => resolve());
  });
}

async function timeWorkload(cli: string[], uri: string, list: Case[], command: (c: Case) => string): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (next < list.length) await runOne(cli, uri, command(list[next++]!));
    }),
  );
  return (performance.now() - t0) / 1000;
}

function virshAvailable(): boolean {
  try {
    execFileSync('virsh', ['-c', 'qemu:///system', 'uri'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  if (!existsSync(cases)) throw new Error(`${cases} is absent: the benchmark needs ../shared beside the project`);
  const list = definedCases();
  const state = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-bench-'));
  const tsvirsh = [path.join(root, 'bin', 'tsvirsh')];
  const tsUri = `qemu:///embed?root=${state}`;
  const workloads: Record<string, (c: Case) => string> = {
    define: (c) => `define ${c.dir}/input.xml; dumpxml --inactive ${c.name}; undefine ${c.name}`,
    argv: (c) => `domxml-to-native qemu-argv --xml ${c.dir}/input.xml`,
  };
  const withVirsh = virshAvailable();
  console.log(`${list.length} cases matching ${filter}, ${jobs} job(s)${withVirsh ? '' : '; real virsh (qemu:///system) not available'}`);
  try {
    // one warm-up call so both sides have their QEMU capabilities cached
    await runOne(tsvirsh, tsUri, 'capabilities');
    if (withVirsh) await runOne(['virsh'], 'qemu:///system', 'capabilities');
    for (const [name, command] of Object.entries(workloads)) {
      const ts = await timeWorkload(tsvirsh, tsUri, list, command);
      let line = `${name.padEnd(7)} tsvirsh ${ts.toFixed(2)} s (${((ts * 1000) / list.length).toFixed(1)} ms/case)`;
      if (withVirsh) {
        const lv = await timeWorkload(['virsh'], 'qemu:///system', list, command);
        line += `   virsh ${lv.toFixed(2)} s (${((lv * 1000) / list.length).toFixed(1)} ms/case)   virsh/tsvirsh = ${(lv / ts).toFixed(2)}`;
      }
      console.log(line);
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

await main();
