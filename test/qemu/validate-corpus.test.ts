// Every input libvirt 9.0 refused at define time (the corpus's define-error
// cases) goes through the embedded qemu driver, probed QEMU binaries included,
// on the host the corpus was recorded on: it must be refused too, with
// libvirt's exact message, but the expected differences (levels 'errors' and
// 'message' of expected-differences.json).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/api/connection.js';
import { RECORDED_HOST_ENV } from '../../src/drivers/qemu/host/select.js';
import { expectedDifferences, qemuCorpus, recordedHostDir, unexpectedOutcomes } from '../helpers/corpus.js';

interface CaseEntry {
  id: string;
  outcome: string;
}

/** libvirt's message: the expected stderr without virsh's prefixes and its "Failed to define" line. */
function expectedMessage(corpus: string, id: string): string {
  return readFileSync(join(corpus, id, 'expected.err'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('error: Failed to define domain from'))
    .map((l) => l.replace(/^error: /, ''))
    .join('\n');
}

test('define-error cases are refused with libvirt\'s message on the recorded host', async (t) => {
  const corpus = qemuCorpus();
  if ('skip' in corpus) return t.skip(corpus.skip);
  // connect() opens the driver of this process: it takes the host from the environment, as tsvirsh does
  process.env[RECORDED_HOST_ENV] = recordedHostDir(corpus.path);
  const index = JSON.parse(readFileSync(join(corpus.path, 'index.json'), 'utf8')) as { cases: CaseEntry[] };
  const cases = index.cases.filter((c) => c.outcome === 'define-error');
  const root = mkdtempSync(join(tmpdir(), 'tsvirt-validate-'));
  const conn = await connect(`qemu:///embed?root=${root}`);
  const refused = new Map<string, { pass: boolean; detail?: string }>();
  const exact = new Map<string, { pass: boolean; detail?: string }>();
  try {
    for (const c of cases) {
      const want = expectedMessage(corpus.path, c.id);
      try {
        const dom = await conn.defineDomain(readFileSync(join(corpus.path, c.id, 'input.xml'), 'utf8'));
        refused.set(c.id, { pass: false, detail: `accepted, libvirt said: ${want}` });
        await dom.undefine();
      } catch (e) {
        const got = (e as Error).message;
        refused.set(c.id, { pass: true });
        exact.set(c.id, got === want ? { pass: true } : { pass: false, detail: `got "${got}", libvirt said "${want}"` });
      }
    }
  } finally {
    await conn.close();
    rmSync(root, { recursive: true, force: true });
  }
  const count = (m: Map<string, { pass: boolean }>) => [...m.values()].filter((o) => o.pass).length;
  t.diagnostic(`${count(refused)}/${cases.length} refused, ${count(exact)} with libvirt's exact message`);
  assert.ok(cases.length > 0, 'no define-error cases found');
  const expected = expectedDifferences();
  assert.deepEqual([...unexpectedOutcomes('errors', refused, expected), ...unexpectedOutcomes('message', exact, expected)], []);
});
