// The committed src/rpc/generated/*.ts are what scripts/gen-protocol.ts makes of libvirt's source today.
// Without the source (LIBVIRT_SRC, or ../src-libvirt/libvirt-9.0.0 beside the project) the test is skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { defaultLibvirtSrc, generateProtocolModules, projectRoot } from '../../scripts/gen-protocol.js';

const libvirtSrc = defaultLibvirtSrc();
const present = existsSync(path.join(libvirtSrc, 'src', 'remote', 'remote_protocol.x'));
if (!present) process.stderr.write(`*** ${libvirtSrc} has no libvirt source (set LIBVIRT_SRC): protocol regeneration test SKIPPED ***\n`);

test('regenerating from the libvirt source reproduces the committed modules', { skip: present ? false : `no libvirt source at ${libvirtSrc}` }, () => {
  const committedDir = path.join(projectRoot, 'src', 'rpc', 'generated');
  const modules = generateProtocolModules(libvirtSrc);
  assert.deepEqual(modules.map((m) => m.fileName).sort(), readdirSync(committedDir).sort());
  for (const m of modules) {
    assert.ok(m.text === readFileSync(path.join(committedDir, m.fileName), 'utf8'), `${m.fileName} differs: run node dist/scripts/gen-protocol.js --libvirt-src ${libvirtSrc}`);
  }
});
