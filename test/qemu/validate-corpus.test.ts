// Every input libvirt 9.0 refused at define time (the corpus's define-error
// cases) goes through the embedded qemu driver, probed QEMU binaries included:
// it must be refused too, with libvirt's exact message. Floors ratchet upwards.
// Suite cases with a TPM emulator depend on the host: libvirt accepts them
// when swtpm is installed, and the corpus was recorded on a host without it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/api/connection.js';

const corpus = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/conformance/qemu');

/** Minimum shares of define-error cases refused, and refused with libvirt's exact message. */
const FLOORS: Record<string, { refused: number; exact: number }> = {
  gen: { refused: 1, exact: 1 },
  suite: { refused: 0.95, exact: 0.95 },
};

interface CaseEntry {
  id: string;
  outcome: string;
}

/** libvirt's message: the expected stderr without virsh's prefixes and its "Failed to define" line. */
function expectedMessage(id: string): string {
  return readFileSync(join(corpus, id, 'expected.err'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('error: Failed to define domain from'))
    .map((l) => l.replace(/^error: /, ''))
    .join('\n');
}

for (const [prefix, floor] of Object.entries(FLOORS)) {
  test(`define-error ${prefix}-* cases are refused with libvirt's message`, async (t) => {
    if (!existsSync(corpus)) {
      if (process.env.CI === 'true') assert.fail(`conformance corpus missing at ${corpus}`);
      t.skip(`conformance corpus missing at ${corpus} (SKIPPED)`);
      return;
    }
    const index = JSON.parse(readFileSync(join(corpus, 'index.json'), 'utf8')) as { cases: CaseEntry[] };
    const cases = index.cases.filter((c) => c.outcome === 'define-error' && c.id.startsWith(`${prefix}-`));
    const root = mkdtempSync(join(tmpdir(), 'tsvirt-validate-'));
    const conn = await connect(`qemu:///embed?root=${root}`);
    let refused = 0;
    let exact = 0;
    try {
      for (const c of cases) {
        const want = expectedMessage(c.id);
        try {
          const dom = await conn.defineDomain(readFileSync(join(corpus, c.id, 'input.xml'), 'utf8'));
          t.diagnostic(`${c.id}: accepted, libvirt said: ${want}`);
          await dom.undefine();
        } catch (e) {
          refused++;
          const got = (e as Error).message;
          if (got === want) exact++;
          else t.diagnostic(`${c.id}: got "${got}", libvirt said "${want}"`);
        }
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    t.diagnostic(`${prefix}: ${refused}/${cases.length} refused, ${exact} with libvirt's exact message`);
    assert.ok(cases.length > 0, 'no define-error cases found');
    assert.ok(refused / cases.length >= floor.refused, `${refused}/${cases.length} refused, below ${floor.refused}`);
    assert.ok(exact / cases.length >= floor.exact, `${exact}/${cases.length} exact, below ${floor.exact}`);
  });
}
