// The edit cycle: $EDITOR changes the dumped XML, tsvirsh redefines it; an
// untouched file is reported as not changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/cli/main.js';

async function tsvirsh(editor: string, commands: string): Promise<{ out: string; err: string; rc: number }> {
  let out = '';
  let err = '';
  const saved = process.env.EDITOR;
  process.env.EDITOR = editor;
  try {
    const rc = await run(['-c', 'test:///default', commands], { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
    return { out, err, rc };
  } finally {
    if (saved === undefined) delete process.env.EDITOR;
    else process.env.EDITOR = saved;
  }
}

test('edit redefines the domain from the edited file', async () => {
  const r = await tsvirsh('sed -i s/8388608/4194304/', 'edit test; dumpxml test --inactive --xpath //memory');
  assert.deepEqual(r, { out: "Domain 'test' XML configuration edited.\n\n<memory unit=\"KiB\">4194304</memory>\n\n", err: '', rc: 0 });
});

test('an editor that changes nothing leaves the object alone', async () => {
  assert.deepEqual(await tsvirsh('true', 'edit test'), { out: "Domain 'test' XML configuration not changed.\n\n", err: '', rc: 0 });
});

test('without a terminal a failed redefinition is reported, with the library error', async () => {
  const r = await tsvirsh('sed -i s/currentMemory/nope/', 'edit test');
  assert.equal(r.rc, 1);
  assert.match(r.err, /^error: Failed\.\nerror: \(domain_definition\):\d+: Opening and ending tag mismatch/);
});
