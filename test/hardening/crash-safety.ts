// Crash safety and races (issue #6): tsvirsh killed with SIGKILL at random
// moments of define/undefine/start/destroy/attach/detach loops, and parallel
// tsvirsh processes doing conflicting operations. After each kill and after each
// race round the state folder must be whole: every config and status file
// parses, every QEMU of this state folder has a status file naming its pid, no
// domain vanished that nobody undefined.
//
//   node dist/test/hardening/crash-safety.js [--kills 200] [--races 20] [--seed N]
//
// QEMUs are found by their command line, which holds the state folder's unique
// path; only those pids are ever killed.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { parseURI } from '../../src/driver/uri.js';
import { openQemuDriver } from '../../src/drivers/qemu/driver.js';
import { loadStatuses } from '../../src/drivers/qemu/status-file.js';
import { Rng } from '../fuzz/mutate.js';
import { qemuPidsMentioning } from '../helpers/qemu-processes.js';
import { tsvirsh } from '../helpers/shared.js';

const DOMAINS = ['crash0', 'crash1', 'crash2'];

function domainXML(name: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>` +
    `<os><type arch='x86_64' machine='q35'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>` +
    `<graphics type='vnc' autoport='no' port='-1' listen='127.0.0.1'/></devices></domain>`;
}

export interface CrashReport {
  kills: number;
  operations: number;
  raceRounds: number;
  problems: string[];
}

/** A temporary folder QEMU can pass through: a root tsvirt runs QEMU as its unprivileged user. */
function passableTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export class StateFolder {
  readonly root = passableTempDir('tsvirt-crash-');
  readonly uri = `qemu:///embed?root=${this.root}`;

  /** Runs tsvirsh; with `killAfterMs`, SIGKILLs it then. Resolves when it is gone. */
  tsvirsh(command: string, killAfterMs?: number): Promise<{ killed: boolean; code: number | null; stderr: string; ms: number }> {
    const started = Date.now();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [tsvirsh, '-c', this.uri, command], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let killed = false;
      const timer = killAfterMs === undefined ? undefined : setTimeout(() => {
        killed = child.kill('SIGKILL');
      }, killAfterMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ killed: killed && code === null, code, stderr, ms: Date.now() - started });
      });
    });
  }

  /** Pids of the QEMUs running for this state folder (their argv holds its path). */
  qemuPids(): number[] {
    return qemuPidsMentioning(this.root);
  }

  /** Checks every invariant; returns the domains present and the problems found. */
  async check(): Promise<{ domains: Set<string>; persistent: Set<string>; problems: string[] }> {
    const problems: string[] = [];
    const driver = await openQemuDriver(parseURI(this.uri), { warn: (m) => problems.push(`config: ${m}`) });
    const domains = new Set((await driver.connectListAllDomains({ need_results: 1, flags: 0 })).domains.map((d) => d.name));
    await driver.close();
    const { statuses, broken } = await loadStatuses(path.join(this.root, 'run', 'qemu'));
    for (const name of broken) problems.push(`status file of ${name} does not parse`);
    const statusPids = new Set([...statuses.values()].map((s) => s.pid));
    for (const pid of this.qemuPids()) {
      if (!statusPids.has(pid)) problems.push(`QEMU ${pid} runs without a status file pointing at it`);
    }
    const perDomain = new Map<string, number>();
    for (const pid of this.qemuPids()) {
      const name = /-name\0guest=([^,\0]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? '?';
      perDomain.set(name, (perDomain.get(name) ?? 0) + 1);
    }
    for (const [name, n] of perDomain) if (n > 1) problems.push(`${n} QEMUs run for ${name}`);
    const persistent = new Set([...domains].filter((name) => existsSync(path.join(this.root, 'etc', 'qemu', `${name}.xml`))));
    return { domains, persistent, problems };
  }

  /** Destroys what runs, then kills any QEMU of this folder that is left, and removes the folder. */
  async cleanup(): Promise<void> {
    for (const name of DOMAINS) await this.tsvirsh(`destroy ${name}`);
    for (const pid of this.qemuPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A virtio NIC on the user network with a fixed MAC, so that detach-device finds what attach-device added. */
const NIC_XML = "<interface type='user'><mac address='52:54:00:c4:a5:01'/><model type='virtio'/></interface>";

const OPERATIONS: Array<(name: string, inputs: string) => string> = [
  (name, inputs) => `define ${path.join(inputs, `${name}.xml`)}`,
  (name) => `undefine ${name}`,
  (name) => `start ${name} --paused`,
  (name) => `destroy ${name}`,
  (name, inputs) => `attach-device ${name} ${path.join(inputs, 'nic.xml')} --live`,
  (name, inputs) => `detach-device ${name} ${path.join(inputs, 'nic.xml')} --live`,
  (name, inputs) => `attach-device ${name} ${path.join(inputs, 'nic.xml')} --config`,
];

/** A folder with each domain's XML and the NIC's, for the operations above. */
function writeInputs(prefix: string): string {
  const dir = passableTempDir(prefix);
  for (const name of DOMAINS) writeFileSync(path.join(dir, `${name}.xml`), domainXML(name));
  writeFileSync(path.join(dir, 'nic.xml'), NIC_XML);
  return dir;
}

/**
 * `kills` random operations, checked after every one. Each is SIGKILLed after a
 * random delay up to 1.3 times what a whole tsvirsh run takes lately, so kills
 * land anywhere from process start-up to the last write (and some runs finish).
 */
export async function crashLoop(state: StateFolder, kills: number, seed: number, report: CrashReport, log = (_: string) => {}): Promise<void> {
  const rng = new Rng(seed);
  const xmlDir = writeInputs('tsvirt-crash-xml-');
  let before = await state.check();
  let typicalMs = 1500;
  while (report.kills < kills) {
    const name = rng.pick(DOMAINS);
    const op = rng.pick(OPERATIONS)(name, xmlDir);
    const result = await state.tsvirsh(op, rng.int(Math.round(typicalMs * 1.3)));
    // killed every time: the runs take longer than the delays, so the delays grow
    typicalMs = result.killed ? typicalMs * 1.1 : 0.7 * typicalMs + 0.3 * result.ms;
    report.operations++;
    if (result.killed) report.kills++;
    const after = await state.check();
    const { domains, problems } = after;
    for (const gone of before.domains) {
      // undefine removes the domain unless it runs; destroy removes a running domain that has no config
      const removedByOp = gone === name && (op.startsWith('undefine') || (op.startsWith('destroy') && !before.persistent.has(gone)));
      if (!domains.has(gone) && !removedByOp) problems.push(`domain ${gone} vanished`);
    }
    for (const p of problems) report.problems.push(`after '${op}' (${result.killed ? 'killed' : `exit ${result.code}`}): ${p}`);
    const why = result.code ? ` (${result.stderr.trim().split('\n').at(-1)})` : '';
    log(`${report.kills}/${kills} kills: ${op} ${result.killed ? 'killed' : `exit ${result.code}${why}`}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
    before = after;
  }
  rmSync(xmlDir, { recursive: true, force: true });
}

/** `rounds` rounds of 6 parallel tsvirsh processes with conflicting operations on two domains. */
export async function races(state: StateFolder, rounds: number, seed: number, report: CrashReport, log = (_: string) => {}): Promise<void> {
  const rng = new Rng(seed);
  const xmlDir = writeInputs('tsvirt-race-xml-');
  for (let round = 0; round < rounds; round++) {
    const ops = Array.from({ length: 6 }, () => {
      const name = rng.pick(DOMAINS.slice(0, 2));
      return rng.pick(OPERATIONS.slice(0, 5))(name, xmlDir);
    });
    const results = await Promise.all(ops.map((op) => state.tsvirsh(op)));
    const crashed = results.filter((r) => /TypeError|ReferenceError|RangeError|at .*\.js:\d+/.test(r.stderr));
    const { problems } = await state.check();
    for (const r of crashed) problems.push(`a process crashed: ${r.stderr.split('\n').slice(0, 2).join(' ')}`);
    for (const p of problems) report.problems.push(`race round ${round} (${ops.join(' | ')}): ${p}`);
    report.raceRounds++;
    log(`race ${round + 1}/${rounds}: ${ops.join(' | ')}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
  }
  rmSync(xmlDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kills: { type: 'string', default: '200' }, races: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' } } });
  const report: CrashReport = { kills: 0, operations: 0, raceRounds: 0, problems: [] };
  const state = new StateFolder();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    await crashLoop(state, Number(values.kills), Number(values.seed), report, log);
    await races(state, Number(values.races), Number(values.seed), report, log);
  } finally {
    await state.cleanup();
  }
  process.stdout.write(`${report.operations} operations, ${report.kills} kills survived, ${report.raceRounds} race rounds, ${report.problems.length} problems\n${report.problems.join('\n')}\n`);
  process.exit(report.problems.length ? 1 : 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
