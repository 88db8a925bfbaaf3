// The fuzz harness: mutated conformance inputs through the qemu driver's define
// pipeline (parse, post-parse, validation, address assignment), the reload of
// what define would write, and the command-line builder, all in-process.
//
// Pass criteria (issue #6): no exception that is not a VirError, every VirError
// carries a code and a message, no input takes over a second. A definition the
// pipeline accepts must also load back from the file define writes, otherwise
// the domain would vanish on the next start of tsvirsh.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseURI } from '../../src/driver/uri.js';
import { isVirError } from '../../src/util/error.js';
import { parseXml, parseXmlBytes, XmlSyntaxError, type XmlElement } from '../../src/util/xml.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { openQemuDriver, type QemuDriver } from '../../src/drivers/qemu/driver.js';
import { emulatorOf } from '../../src/drivers/qemu/domain-xml.js';
import { domainNativeArgv } from '../../src/drivers/qemu/native-argv.js';
import { mutate, Rng, type Input } from './mutate.js';

export const HANG_MS = 1000;

export interface Finding {
  index: number;
  kind: 'crash' | 'bad-error' | 'hang' | 'memory' | 'reload';
  detail: string;
  ops: string[];
  seedFile: string;
}

export interface FuzzReport {
  inputs: number;
  accepted: number;
  rejected: number;
  /** inputs naming an existing binary that is not a QEMU the harness probed: never executed */
  skipped: number;
  slowestMs: number;
  findings: Finding[];
  /** rejections per error code: shows how far past the parser the inputs got */
  rejectionCodes: Map<number, number>;
}

export interface Seed {
  file: string;
  text: string;
}

/** The conformance inputs (qemu/<case>/input.xml) under `corpusDir`. */
export function loadSeeds(corpusDir: string): Seed[] {
  return readdirSync(corpusDir)
    .sort()
    .map((id) => join(corpusDir, id, 'input.xml'))
    .filter((file) => existsSync(file))
    .map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

/** One embedded driver in a scratch folder, its capabilities probed once for every installed QEMU the seeds use. */
export class FuzzPipeline {
  private constructor(
    private readonly driver: QemuDriver,
    private readonly root: string,
    private readonly probed: ReadonlySet<string>,
  ) {}

  static async open(): Promise<FuzzPipeline> {
    const root = mkdtempSync(join(tmpdir(), 'tsvirt-fuzz-'));
    const driver = await openQemuDriver(parseURI(`qemu:///embed?root=${root}`), { warn: () => {} });
    const probed = new Set<string>();
    for (const arch of ['x86_64', 'i386', 'aarch64']) {
      const binary = findBinaryForArch(arch);
      if (!binary) continue;
      await driver.caps.get(binary);
      probed.add(binary);
    }
    return new FuzzPipeline(driver, root, probed);
  }

  async close(): Promise<void> {
    await this.driver.close();
    rmSync(this.root, { recursive: true, force: true });
  }

  /**
   * Runs one input. Returns 'accepted' / 'rejected' / 'skipped', or throws what
   * the pipeline threw when it is not an acceptable rejection.
   */
  async run(input: Input): Promise<{ outcome: 'accepted' | 'rejected' | 'skipped'; code?: number; reloadError?: unknown }> {
    let text: string;
    if (input.kind === 'bytes') {
      // the raw-bytes entry of the parser must only ever report syntax errors
      try {
        parseXmlBytes(input.bytes);
      } catch (e) {
        if (!(e instanceof XmlSyntaxError) && !isVirError(e)) throw e;
      }
      text = input.bytes.toString('utf8'); // what tsvirsh does with a file it reads
    } else {
      text = input.text;
    }
    let root: XmlElement | undefined;
    try {
      root = parseXml(text);
    } catch {
      root = undefined; // the pipeline reports it
    }
    const emulator = root && emulatorOf(root).emulator;
    // libvirt would execute whatever <emulator> names to probe it; the fuzzer must not
    if (emulator && !this.probed.has(emulator) && existsSync(emulator)) return { outcome: 'skipped' };
    let def: XmlElement;
    try {
      def = await this.driver.xml.parseNew(text, { validateSchema: false });
    } catch (e) {
      checkRejection(e);
      return { outcome: 'rejected', code: (e as { code: number }).code };
    }
    let reloadError: unknown;
    try {
      this.driver.xml.parseConfig(this.driver.xml.format(def, { secure: true }), join(this.root, 'fuzz.xml'));
    } catch (e) {
      reloadError = e;
    }
    try {
      await domainNativeArgv({ caps: this.driver.caps, paths: this.driver.paths, parseDefinition: async () => def }, def);
    } catch (e) {
      checkRejection(e);
      return { outcome: 'rejected', code: (e as { code: number }).code, reloadError };
    }
    return { outcome: 'accepted', reloadError };
  }
}

class BadRejection extends Error {}

/** A rejection must be libvirt-style: a VirError with a numeric code and a message. */
function checkRejection(e: unknown): void {
  if (!isVirError(e)) throw e;
  if (typeof e.code !== 'number' || !(e.code > 0) || typeof e.message !== 'string' || e.message.trim() === '') {
    throw new BadRejection(`VirError without code or message: code=${String(e.code)} message=${JSON.stringify(e.message)}`);
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message.slice(0, 300)}\n${(e.stack ?? '').split('\n').slice(1, 5).join('\n')}`;
  return String(e);
}

export interface FuzzRange {
  seed: number;
  /** first input to run; earlier ones are generated (to advance the PRNG) but not run */
  from: number;
  count: number;
  /** inputs known to hang the pipeline: reported already, not run again */
  skip?: ReadonlySet<number>;
}

export interface FuzzHooks {
  /** told of each input before it runs */
  onInput?: (index: number, input: Input, seedFile: string) => void;
  /** receives the results so far every `every` inputs (and at the end), then counting restarts */
  flush?: { every: number; to: (part: FuzzReport, lastIndex: number) => void };
}

/** Inputs `from`..`count`-1 of the sequence derived from `seed`; `onInput` is told of each before it runs. */
export async function fuzz(pipeline: FuzzPipeline, seeds: readonly Seed[], range: FuzzRange, hooks: FuzzHooks = {}): Promise<FuzzReport> {
  const rng = new Rng(range.seed);
  const parsed = seeds.map((s) => parseXml(s.text));
  let report = emptyReport();
  for (let index = 0; index < range.count; index++) {
    const pick = rng.int(seeds.length);
    const input = mutate(rng, seeds[pick]!.text, [parsed[rng.int(parsed.length)]!]);
    if (index < range.from || range.skip?.has(index)) continue;
    const finding = (kind: Finding['kind'], detail: string) => report.findings.push({ index, kind, detail, ops: input.ops, seedFile: seeds[pick]!.file });
    hooks.onInput?.(index, input, seeds[pick]!.file);
    const started = performance.now();
    try {
      const result = await pipeline.run(input);
      report[result.outcome]++;
      if (result.code !== undefined) report.rejectionCodes.set(result.code, (report.rejectionCodes.get(result.code) ?? 0) + 1);
      if (result.reloadError !== undefined) finding('reload', describe(result.reloadError));
    } catch (e) {
      finding(e instanceof BadRejection ? 'bad-error' : 'crash', describe(e));
    }
    const ms = performance.now() - started;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (ms > HANG_MS) finding('hang', `${ms.toFixed(0)} ms`);
    report.inputs++;
    if (hooks.flush && (report.inputs >= hooks.flush.every || index === range.count - 1)) {
      hooks.flush.to(report, index);
      report = emptyReport();
    }
  }
  return report;
}

export function emptyReport(): FuzzReport {
  return { inputs: 0, accepted: 0, rejected: 0, skipped: 0, slowestMs: 0, findings: [], rejectionCodes: new Map() };
}

/** Adds `part` (a later stretch of the same run) into `total`. */
export function mergeReport(total: FuzzReport, part: FuzzReport): void {
  total.inputs += part.inputs;
  total.accepted += part.accepted;
  total.rejected += part.rejected;
  total.skipped += part.skipped;
  total.slowestMs = Math.max(total.slowestMs, part.slowestMs);
  total.findings.push(...part.findings);
  for (const [code, n] of part.rejectionCodes) total.rejectionCodes.set(code, (total.rejectionCodes.get(code) ?? 0) + n);
}

/** Findings grouped by kind and first line, the way the report lists them. */
export function summarize(report: FuzzReport): string {
  const groups = new Map<string, Finding[]>();
  for (const f of report.findings) {
    const key = `${f.kind}: ${f.detail.split('\n')[0]!.replace(/'[^']*'/g, "'…'").slice(0, 160)}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const lines = [
    `${report.inputs} inputs: ${report.accepted} accepted, ${report.rejected} rejected, ${report.skipped} skipped; slowest ${report.slowestMs.toFixed(0)} ms; ${report.findings.length} findings`,
    `rejections by code: ${[...report.rejectionCodes].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code}:${n}`).join(' ')}`,
  ];
  for (const [key, list] of [...groups].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`  ${list.length}x ${key}`);
    for (const f of list.slice(0, 3)) lines.push(`     e.g. #${f.index} from ${f.seedFile}: ${f.ops.join('; ')}`);
    lines.push(...list[0]!.detail.split('\n').slice(1).map((l) => `     ${l.trim()}`));
  }
  return lines.join('\n');
}
