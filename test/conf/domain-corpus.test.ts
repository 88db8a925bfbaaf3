// Idempotence over libvirt's own output: every expected.xml of the conformance
// corpus is already canonical, so parsing it with the generic pipeline and
// formatting it again must give the same text. One exception, libvirt's own:
// controllers are insert-sorted by type and index when parsed, while the ones
// address assignment added were appended, so their order may change (real
// virsh does the same); controllers are compared as a set. Every case must
// round-trip but the expected differences (level 'roundtrip').

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain.js';
import { expectedDifferences, qemuCorpus, unexpectedOutcomes } from '../helpers/corpus.js';

/** The document with its <controller> blocks moved, sorted, to the end. */
function controllersAsSet(xml: string): string {
  const blocks: string[] = [];
  const rest = xml.replace(/^ {4}<controller [^\n]*?(?:\/>|>\n(?:^ {6}.*\n)*? {4}<\/controller>)\n/gm, (b) => {
    blocks.push(b);
    return '';
  });
  return `${rest}\n${blocks.sort().join('')}`;
}

/** Per case: round-trips, or where the first differing line is. */
function roundTrip(corpus: string): Map<string, { pass: boolean; detail?: string }> {
  const outcomes = new Map<string, { pass: boolean; detail?: string }>();
  for (const id of readdirSync(corpus).sort()) {
    const file = join(corpus, id, 'expected.xml');
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const want = controllersAsSet(text.trim() + '\n');
    try {
      const got = controllersAsSet(formatDomainXML(parseDomainXML(text), { inactive: true, secure: true }));
      if (got === want) outcomes.set(id, { pass: true });
      else {
        const w = want.split('\n');
        const g = got.split('\n');
        let i = 0;
        while (w[i] === g[i]) i++;
        outcomes.set(id, { pass: false, detail: `line ${i + 1}: got ${g[i] ?? '<eof>'} want ${w[i] ?? '<eof>'}` });
      }
    } catch (e) {
      outcomes.set(id, { pass: false, detail: (e as Error).message.split('\n')[0] ?? '' });
    }
  }
  return outcomes;
}

test('expected.xml of every corpus case round-trips', (t) => {
  const corpus = qemuCorpus();
  if ('skip' in corpus) return t.skip(corpus.skip);
  const outcomes = roundTrip(corpus.path);
  t.diagnostic(`${[...outcomes.values()].filter((o) => o.pass).length}/${outcomes.size} round-trip exactly`);
  assert.ok(outcomes.size > 0, 'no cases found');
  assert.deepEqual(unexpectedOutcomes('roundtrip', outcomes, expectedDifferences()), []);
});
