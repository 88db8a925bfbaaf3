// python3-libvirt's older connection calls (numOfDomains, listDomainsID,
// numOfDefinedDomains, listDefinedDomains, isSecure, isEncrypted, isAlive)
// against tsvirtd's qemu driver, compared with the same script on libvirtd.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../helpers/shared.js';
import { libvirtUnavailable } from '../helpers/libvirt.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SCRIPT = join(projectRoot, 'test', 'daemon', 'python-connection-lists.py');

function pythonLibvirtMissing(): string | false {
  try {
    execFileSync(PYTHON, ['-c', 'import libvirt'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'python3-libvirt is not installed';
  }
}

interface Report {
  num_active: number;
  ids: number[];
  running_listed: boolean;
  num_defined: number;
  defined_listed: boolean;
  names: number;
  secure: number;
  encrypted: number;
  alive: number;
}

async function report(uri: string, prefix: string): Promise<Report> {
  const { stdout } = await run(PYTHON, [SCRIPT, uri, prefix], { timeout: 60_000 });
  return JSON.parse(stdout) as Report;
}

const skip = pythonLibvirtMissing() || libvirtUnavailable();
if (skip) {
  if (process.env.CI === 'true') throw new Error(`python connection lists: ${skip} (CI=true requires it)`);
  process.stderr.write(`*** python connection lists test SKIPPED: ${skip} ***\n`);
}

test('numOfDomains, listDomainsID, listDefinedDomains, isSecure/isEncrypted/isAlive through tsvirtd as on libvirtd', { skip }, async (t) => {
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const ours = await report(daemon.uri('qemu', '/system'), 'tsvirt-pylists');
  const theirs = await report('qemu:///system', 'tsvirt-pylists');
  for (const r of [ours, theirs]) {
    assert.ok(r.running_listed && r.defined_listed, JSON.stringify(r));
    assert.equal(r.num_active, r.ids.length);
    assert.equal(r.num_defined, r.names);
  }
  // tsvirtd's root holds only this test's domains
  assert.deepEqual([ours.num_active, ours.num_defined], [1, 1]);
  assert.deepEqual([ours.secure, ours.encrypted, ours.alive], [theirs.secure, theirs.encrypted, theirs.alive]);
});
