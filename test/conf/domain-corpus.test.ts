// Idempotence over libvirt's own output: every expected.xml of the conformance
// corpus is already canonical, so parsing it with the generic pipeline and
// formatting it again must give the same text. Floors ratchet upwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain.js';

const corpus = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/conformance/qemu');

/**
 * Minimum share of cases that must round-trip exactly, per case family: the
 * measured level, raised as the device modules close the gap (goal 0.98 / 0.9).
 */
const FLOORS: Record<string, number> = { gen: 0.67, suite: 0.94 };

function roundTrip(prefix: string): { passed: number; total: number; failures: string[] } {
  let passed = 0;
  let total = 0;
  const failures: string[] = [];
  for (const id of readdirSync(corpus).filter((d) => d.startsWith(`${prefix}-`)).sort()) {
    const file = join(corpus, id, 'expected.xml');
    if (!existsSync(file)) continue;
    total++;
    const want = readFileSync(file, 'utf8').trim();
    try {
      const got = formatDomainXML(parseDomainXML(want), { inactive: true, secure: true }).trim();
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
