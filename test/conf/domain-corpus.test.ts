// Idempotence over libvirt's own output: every expected.xml of the conformance
// corpus is already canonical, so parsing it with the generic pipeline and
// formatting it again must give the same text. One exception, libvirt's own:
// controllers are insert-sorted by type and index when parsed, while the ones
// address assignment added were appended, so their order may change (real
// virsh does the same); controllers are compared as a set. Floors ratchet upwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain.js';

const corpus = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/conformance/qemu');

/** Minimum share of cases that must round-trip exactly, per case family (measured level). */
const FLOORS: Record<string, number> = { gen: 1, suite: 0.99 };

/** The document with its <controller> blocks moved, sorted, to the end. */
function controllersAsSet(xml: string): string {
  const blocks: string[] = [];
  const rest = xml.replace(/^ {4}<controller [^\n]*?(?:\/>|>\n(?:^ {6}.*\n)*? {4}<\/controller>)\n/gm, (b) => {
    blocks.push(b);
    return '';
  });
  return `${rest}\n${blocks.sort().join('')}`;
}

function roundTrip(prefix: string): { passed: number; total: number; failures: string[] } {
  let passed = 0;
  let total = 0;
  const failures: string[] = [];
  for (const id of readdirSync(corpus).filter((d) => d.startsWith(`${prefix}-`)).sort()) {
    const file = join(corpus, id, 'expected.xml');
    if (!existsSync(file)) continue;
    total++;
    const text = readFileSync(file, 'utf8');
    const want = controllersAsSet(text.trim() + '\n');
    try {
      const got = controllersAsSet(formatDomainXML(parseDomainXML(text), { inactive: true, secure: true }));
      if (got === want) passed++;
      else {
        const w = want.split('\n');
        const g = got.split('\n');
        let i = 0;
        while (w[i] === g[i]) i++;
        failures.push(`${id}:${i + 1}: got ${g[i] ?? '<eof>'} want ${w[i] ?? '<eof>'}`);
      }
    } catch (e) {
      failures.push(`${id}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { passed, total, failures };
}

for (const [prefix, floor] of Object.entries(FLOORS)) {
  test(`expected.xml of ${prefix}-* cases round-trips`, (t) => {
    if (!existsSync(corpus)) {
      if (process.env.CI === 'true') assert.fail(`conformance corpus missing at ${corpus}`);
      t.skip(`conformance corpus missing at ${corpus} (SKIPPED)`);
      return;
    }
    const { passed, total, failures } = roundTrip(prefix);
    t.diagnostic(`${prefix}: ${passed}/${total} round-trip exactly`);
    for (const f of failures.slice(0, 10)) t.diagnostic(f);
    assert.ok(total > 0, 'no cases found');
    assert.ok(passed / total >= floor, `${passed}/${total} below the floor ${floor}`);
  });
}
