// Autostart once per host boot: the boot id marker under the run folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUTOSTART_MARKER, autostartOncePerBoot, type AutostartHost } from '../../src/drivers/qemu/autostart.js';

function fixture(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-autostart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bootIdFile = path.join(dir, 'boot_id');
  writeFileSync(bootIdFile, 'boot-1\n');
  const started: string[] = [];
  const warnings: string[] = [];
  const host: AutostartHost = {
    stateDir: dir,
    lockDir: dir,
    bootIdFile,
    pendingDomains: async () => ['web', 'broken', 'db'],
    start: async (name) => {
      if (name === 'broken') throw new Error('internal error: no kernel');
      started.push(name);
    },
    warn: (m) => warnings.push(m),
  };
  return { dir, bootIdFile, host, started, warnings };
}

test('the first open after a boot starts the autostart domains, later opens of the same boot do not', async (t) => {
  const f = fixture(t);
  assert.deepEqual(await autostartOncePerBoot(f.host), ['web', 'db']);
  assert.deepEqual(f.warnings, ["Failed to autostart VM 'broken': internal error: no kernel"]);
  assert.equal(readFileSync(path.join(f.dir, AUTOSTART_MARKER), 'utf8'), 'boot-1\n');
  assert.deepEqual(await autostartOncePerBoot(f.host), []);
  assert.deepEqual(f.started, ['web', 'db']);

  writeFileSync(f.bootIdFile, 'boot-2\n'); // the host rebooted
  assert.deepEqual(await autostartOncePerBoot(f.host), ['web', 'db']);
  assert.equal(readFileSync(path.join(f.dir, AUTOSTART_MARKER), 'utf8'), 'boot-2\n');
});

test('concurrent first opens start each domain once', async (t) => {
  const f = fixture(t);
  const results = await Promise.all(Array.from({ length: 5 }, () => autostartOncePerBoot(f.host)));
  assert.deepEqual(f.started, ['web', 'db']);
  assert.equal(results.filter((r) => r.length > 0).length, 1);
});
