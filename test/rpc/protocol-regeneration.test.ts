// The committed src/rpc/generated/*.ts are what scripts/gen-protocol.ts makes of libvirt's source today.
// Without the source (LIBVIRT_SRC, or ../src-libvirt/libvirt-9.0.0 beside the project) the test is skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { defaultLibvirtSrc, projectRoot } from '../../scripts/gen-protocol.js';

const libvirtSrc = defaultLibvirtSrc();
const present = existsSync(path.join(libvirtSrc, 'src', 'remote', 'remote_protocol.x'));
if (!present) process.stderr.write(`*** ${libvirtSrc} has no libvirt source (set LIBVIRT_SRC): protocol regeneration test SKIPPED ***\n`);

test('regenerating from the libvirt source reproduces the committed modules', { skip: present ? false : `no libvirt source at ${libvirtSrc}` }, (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'tsvirt-gen-protocol-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const summary = execFileSync(process.execPath, [path.join(projectRoot, 'dist', 'scripts', 'gen-protocol.js'), '--libvirt-src', libvirtSrc, '--out', out], {
    encoding: 'utf8',
  });
  assert.match(summary, /^remote-protocol\.ts: 443 procedures \(51 events\)/m);
  const committedDir = path.join(projectRoot, 'src', 'rpc', 'generated');
  const files = readdirSync(committedDir).sort();
  assert.deepEqual(readdirSync(out).sort(), files);
  for (const file of files) {
    const same = readFileSync(path.join(out, file), 'utf8') === readFileSync(path.join(committedDir, file), 'utf8');
    assert.ok(same, `${file} differs from a fresh generation: run node dist/scripts/gen-protocol.js --libvirt-src ${libvirtSrc}`);
  }
});
