// The committed src/rpc/generated/*.ts are what scripts/gen-protocol.ts makes of libvirt's source today.
// Needs libvirt's source (test/helpers/libvirt-source.ts): skipped loudly without it, failed under CI=true.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { projectRoot } from '../../scripts/gen-protocol.js';
import { libvirtSourceMissing, libvirtSrc } from '../helpers/libvirt-source.js';

const missing = libvirtSourceMissing('protocol regeneration test', 'src/remote/remote_protocol.x');

test('regenerating from the libvirt source reproduces the committed modules', { skip: missing }, (t) => {
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
