// tsvirsh nodecpustats / nodememstats / freecell / freepages /
// node-memory-tune / cpu-models on the qemu driver against real virsh on
// qemu:///system, live on the same host: same rows and errors;
// CPU times (monotonic) must fall between two virsh samples taken around
// tsvirsh's, memory figures within a tolerance (the host keeps moving).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';
import { tempDir } from '../helpers/temp-dir.js';

const TSVIRSH = fileURLToPath(new URL('../../../bin/tsvirsh', import.meta.url));
const unavailable = libvirtUnavailable();
if (unavailable) console.warn(`SKIPPING node-stats comparison: ${unavailable}`);
const skip = unavailable ? `real libvirt needed: ${unavailable}` : false;

const root = tempDir('nodestats');

function tsvirsh(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TSVIRSH, '-c', `qemu:///embed?root=${root}`, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** "label: value" rows of a stats listing, in order. */
function rows(out: string): Array<[string, bigint]> {
  return out.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('---')).map((l) => {
    const m = /^(.*?:)\s+(\d+)/.exec(l);
    assert.ok(m, `unexpected line ${JSON.stringify(l)}`);
    return [m[1]!, BigInt(m[2]!)];
  });
}

/** The same output shape: every line with its digits blanked. */
const shape = (out: string) => out.replace(/\d+(\.\d)?/g, (d) => (d.includes('.') ? 'N.N' : 'N')).replace(/ +/g, ' ');

for (const args of [['nodecpustats'], ['nodecpustats', '--cpu', '0']]) {
  test(`${args.join(' ')}: virsh's rows, times between two virsh samples`, { skip }, async () => {
    const before = await runSystemVirsh(...args);
    const ours = tsvirsh(...args);
    const after = await runSystemVirsh(...args);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout.replace(/\d+/g, 'N'), before.stdout.replace(/\d+/g, 'N'));
    const [b, o, a] = [rows(before.stdout), rows(ours.stdout), rows(after.stdout)];
    o.forEach(([label, v], i) => {
      assert.ok(b[i]![1] <= v && v <= a[i]![1], `${label} ${v} not within [${b[i]![1]}, ${a[i]![1]}]`);
    });
  });
}

test('nodecpustats --percent: virsh\'s rows, shares of one second', { skip }, async () => {
  const [theirs, ours] = await Promise.all([runSystemVirsh('nodecpustats', '--percent'), Promise.resolve().then(() => tsvirsh('nodecpustats', '--percent'))]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(shape(ours.stdout), shape(theirs.stdout));
  for (const line of ours.stdout.trim().split('\n')) {
    const pct = Number(/([\d.]+)%$/.exec(line)?.[1]);
    assert.ok(pct >= 0 && pct <= 100, line);
  }
});

for (const args of [['nodememstats'], ['nodememstats', '--cell', '0'], ['freecell', '--all'], ['freecell', '--cellno', '0'], ['freecell']]) {
  test(`${args.join(' ')}: virsh's rows, totals equal, the rest within 5% of memory`, { skip }, async () => {
    const theirs = await runSystemVirsh(...args);
    const ours = tsvirsh(...args);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout.replace(/\d+/g, 'N').replace(/ +/g, ' '), theirs.stdout.replace(/\d+/g, 'N').replace(/ +/g, ' '));
    const tolerance = BigInt(Math.round(os.totalmem() / 1024 / 20));
    const t = rows(theirs.stdout);
    rows(ours.stdout).forEach(([label, v], i) => {
      const [, w] = t[i]!;
      if (label.startsWith('total')) assert.equal(v, w, label);
      else assert.ok((v > w ? v - w : w - v) <= tolerance, `${label} ${v} vs libvirt's ${w}`);
    });
  });
}

for (const args of [['freepages', '--all'], ['freepages', '--all', '--pagesize', '4'], ['freepages', '--cellno', '0', '--pagesize', '2M'], ['freepages', '--cellno', '-1', '--pagesize', '4']]) {
  test(`${args.join(' ')}: virsh's page sizes, counts within 5% of memory`, { skip }, async () => {
    const theirs = await runSystemVirsh(...args);
    const ours = tsvirsh(...args);
    assert.equal(ours.code, 0, ours.stderr);
    const sizes = (out: string) => out.replace(/: \d+$/gm, ': N');
    assert.equal(sizes(ours.stdout), sizes(theirs.stdout));
    const count = (out: string) => [...out.matchAll(/^(\d+)KiB: (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
    const t = count(theirs.stdout);
    count(ours.stdout).forEach(([size, n], i) => {
      const tolerance = os.totalmem() / 1024 / size / 20;
      assert.ok(Math.abs(n - t[i]![1]) <= tolerance, `${size}KiB: ${n} vs libvirt's ${t[i]![1]}`);
    });
  });
}

test('node-memory-tune: the KSM knobs as virsh prints them', { skip }, async () => {
  const theirs = await runSystemVirsh('node-memory-tune');
  const ours = tsvirsh('node-memory-tune');
  assert.equal(ours.code, 0, ours.stderr);
  // the tunables must match exactly; counters may move between the two reads
  const tunablesOnly = (out: string) => out.replace(/^(\tshm_(pages_(shared|sharing|unshared|volatile)|full_scans) +)\d+$/gm, '$1N');
  assert.equal(tunablesOnly(ours.stdout), tunablesOnly(theirs.stdout));
});

test('node-memory-tune --shm-pages-to-scan: libvirt reads back what tsvirt set', { skip }, async () => {
  const read = async () => Number(/shm_pages_to_scan +(\d+)/.exec((await runSystemVirsh('node-memory-tune')).stdout)?.[1]);
  const before = await read();
  try {
    const ours = tsvirsh('node-memory-tune', '--shm-pages-to-scan', String(before + 1));
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(await read(), before + 1);
  } finally {
    await runSystemVirsh('node-memory-tune', '--shm-pages-to-scan', String(before));
  }
});

const absentCpu = String(os.cpus().length + 3);
for (const args of [
  ['nodecpustats', '--cpu', absentCpu], ['nodememstats', '--cell', '97'], ['freecell', '--cellno', '97'],
  ['freepages'], ['freepages', '--cellno', '0'], ['node-memory-tune', '--shm-sleep-millisecs', 'x'], ['freepages', '--cellno', '0', '--pagesize', '3'], ['freepages', '--cellno', '97', '--pagesize', '4'],
]) {
  test(`${args.join(' ')}: libvirt's error`, { skip }, async () => {
    const theirs = await runSystemVirsh(...args);
    const ours = tsvirsh(...args);
    assert.notEqual(theirs.code, 0);
    assert.equal(ours.code, theirs.code);
    assert.equal(ours.stderr.trim(), theirs.stderr.trim());
  });
}

for (const arch of ['x86_64', 'i686', 'ppc64le', 's390x', 'aarch64', 'mips', 'foo', 'none']) {
  test(`cpu-models ${arch}: virsh's listing, message or error`, { skip }, async () => {
    const theirs = await runSystemVirsh('cpu-models', arch);
    const ours = tsvirsh('cpu-models', arch);
    assert.deepEqual(ours, theirs);
  });
}
