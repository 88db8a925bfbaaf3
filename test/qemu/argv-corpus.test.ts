// Builds the QEMU command line for every recorded libvirt case from its
// canonical XML (expected.xml) and compares it with what libvirt 9.0 printed
// (expected.argv), using the conformance runner's own argv normalisation,
// on the host the corpus was recorded on (its _host/ record), so that the
// result does not depend on this machine's CPU, KVM or swtpm. Every case
// must match, except the expected differences listed with their reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { parseXml } from '../../src/util/xml.js';
import { nativeArgvText } from '../../src/drivers/qemu/native-argv.js';
import { probeHostResources } from '../../src/drivers/qemu/host-resources.js';
import { QemuCapsCache } from '../../src/drivers/qemu/capabilities.js';
import type { QemuCaps } from '../../src/drivers/qemu/capabilities.js';
import { child } from '../../src/util/xml.js';
import { tempDir } from '../helpers/temp-dir.js';
import { expectedDifferences, qemuCorpus, recordedHost, unexpectedOutcomes } from '../helpers/corpus.js';

type Comparator = (expected: string, actual: string, name: string) => { ok: boolean; diff?: string };

/** Loads compareArgv and its helpers from run.mjs (the "argv level" section) without running the runner. */
function loadComparator(runMjs: string): Comparator {
  const src = readFileSync(runMjs, 'utf8');
  const start = src.indexOf('// ---------------------------------------------------------------- argv level');
  const end = src.indexOf('// ---------------------------------------------------------------- error text');
  assert.ok(start > 0 && end > start, 'run.mjs no longer has the argv-level section');
  const context = vm.createContext({ opt: { argvIgnore: [], uri: '' } });
  vm.runInContext(`${src.slice(start, end)}\nglobalThis.compareArgv = compareArgv;`, context);
  return context.compareArgv as Comparator;
}

/** qemu:///system's folders, which the recorded argv refers to. */
const PATHS = { libDir: '/var/lib/libvirt/qemu', stateDir: '/run/libvirt/qemu', channelTargetDir: '/var/lib/libvirt/qemu/channel/target', memoryBackingDir: '/var/lib/libvirt/qemu/ram', nvramDir: '/var/lib/libvirt/qemu/nvram' };

interface Meta { id: string; name: string; arch: string; outcome: string; skip_argv?: boolean }

test('argv built from canonical XML matches libvirt 9.0 for the recorded corpus', { timeout: 10 * 60_000 }, async (t) => {
  const corpus = qemuCorpus();
  if ('skip' in corpus) return t.skip(corpus.skip);
  // Real QMP probes of the installed binaries on the recorded host, once per binary in this run.
  const recorded = recordedHost(corpus.path);
  const capsCache = new QemuCapsCache(tempDir('argv-corpus-caps'), recorded);
  // The corpus was recorded with no secrets, networks or pools defined.
  const host = probeHostResources(recorded);
  const compare = loadComparator(path.join(corpus.path, '..', 'run.mjs'));
  const tally = { gen: { pass: 0, total: 0 }, suite: { pass: 0, total: 0 } };
  const outcomes = new Map<string, { pass: boolean; detail?: string }>();
  for (const id of readdirSync(corpus.path).sort()) {
    const dir = path.join(corpus.path, id);
    if (!existsSync(path.join(dir, 'meta.json'))) continue;
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
    if (meta.outcome === 'define-error' || meta.skip_argv) continue;
    const family = id.startsWith('gen-') ? 'gen' : 'suite';
    tally[family].total++;
    let actual: string | undefined;
    let error: unknown;
    try {
      const def = parseXml(readFileSync(path.join(dir, 'expected.xml'), 'utf8'));
      const emulator = child(child(def, 'devices')!, 'emulator')!.text.trim();
      const caps: QemuCaps = await capsCache.get(emulator);
      actual = nativeArgvText(def, { caps, paths: PATHS, domainId: -1, hostEnv: { PATH: '/usr/bin:/bin' }, tapFd: (_net, i) => 24 + 2 * i, host, tlsX509CertDir: '/etc/pki/qemu' });
    } catch (e) {
      error = e;
    }
    let ok: boolean;
    let diff = '';
    if (meta.outcome === 'argv-error') {
      ok = actual === undefined;
      diff = 'libvirt refuses to build this command line, tsvirt built one';
    } else if (actual === undefined) {
      ok = false;
      diff = `threw ${(error as Error).message}`;
    } else {
      const r = compare(readFileSync(path.join(dir, 'expected.argv'), 'utf8'), actual, meta.name);
      ok = r.ok;
      diff = r.diff ?? '';
    }
    if (ok) tally[family].pass++;
    outcomes.set(id, ok ? { pass: true } : { pass: false, detail: diff });
  }
  const line = (['gen', 'suite'] as const).map((f) => `${f}: ${tally[f].pass}/${tally[f].total}`).join('; ');
  t.diagnostic(line);
  process.stderr.write(`argv corpus (recorded host): ${line}\n`);
  assert.deepEqual(unexpectedOutcomes('argv', outcomes, expectedDifferences()), []);
});
