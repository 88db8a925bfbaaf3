// The net-* scenarios recorded from libvirt 9.0 (golden/capture.sh) replayed
// against tsvirsh, each in a fresh network namespace and state root: virsh
// output, net-dumpxml, dnsmasq files, iptables-save, the bridge, port status
// files and MAC maps must read the same after the same normalisation
// (golden/normalise.sed).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NetworkNamespace, namespaceSkipReason } from './namespace.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = join(ROOT, 'test', 'network', 'golden');
const REPLAY = fileURLToPath(new URL('./golden-replay.js', import.meta.url));

function normalise(text: string, root: string): string {
  const sed = spawnSync('sed', ['-E', '-f', join(GOLDEN, 'normalise.sed')], { input: text.split(`${root}/lib/`).join('/var/lib/libvirt/').split(`${root}/run/`).join('/run/libvirt/'), encoding: 'utf8' });
  return sed.stdout;
}

/** One scenario in a fresh namespace and state root, replayed by golden-replay.js running inside the namespace. */
function replay(cmdsFile: string): { actual: string; expected: string } {
  const ns = new NetworkNamespace('golden');
  const root = mkdtempSync(join(tmpdir(), 'tsvirt-net-'));
  try {
    const r = ns.run([process.execPath, REPLAY, root, cmdsFile]);
    if (r.status !== 0) throw new Error(`replay of ${cmdsFile} failed (${r.status}): ${r.stderr}`);
    return { actual: normalise(r.stdout, root), expected: readFileSync(cmdsFile.replace(/\.cmds$/, '.out'), 'utf8') };
  } finally {
    ns.delete();
    rmSync(root, { recursive: true, force: true });
  }
}

const scenarios = readdirSync(join(GOLDEN, 'scenarios')).filter((f) => f.endsWith('.cmds')).sort();

for (const file of scenarios) {
  test(`net scenario ${file.replace(/\.cmds$/, '')} matches libvirt 9.0`, (t) => {
    const skip = namespaceSkipReason();
    if (skip) return t.skip(skip);
    const { actual, expected } = replay(join(GOLDEN, 'scenarios', file));
    assert.equal(actual, expected);
  });
}
