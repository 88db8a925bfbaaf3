// python3-libvirt, unchanged, against bin/tsvirtd's test:///default: open, listAllDomains,
// define, create, lifecycle event callbacks, destroy, undefine.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../helpers/shared.js';
import { testDriverReady } from './contract-ready.js';
import { spawnDaemon, type SpawnedDaemon } from './spawn-daemon.js';

/** Debian's python3-libvirt lives in the system interpreter, which a pyenv shim in PATH would hide. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function hasPythonLibvirt(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import libvirt'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Report {
  lib: number;
  type: string;
  before: string[];
  running: number;
  state: number[];
  xml_has_name: boolean;
  after: string[];
  lookup_error: [number, number] | null;
  events: Array<[string, number, number]>;
}

async function runScript(daemon: SpawnedDaemon): Promise<Report> {
  const script = join(projectRoot, 'test', 'daemon', 'python-client.py');
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(PYTHON, [script, daemon.uri('test', '/default')], { timeout: 30_000 }, (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))),
  );
  return JSON.parse(stdout) as Report;
}

const skip = hasPythonLibvirt() ? ((await testDriverReady()) ?? false) : 'python3-libvirt is not installed';

test('python3-libvirt drives test:///default through tsvirtd', { skip }, async () => {
  const daemon = await spawnDaemon();
  try {
    const r = await runScript(daemon);
    assert.deepEqual([r.lib, r.type, r.before], [9000000, 'TEST', ['test']]);
    assert.deepEqual([r.running, r.state, r.xml_has_name], [1, [1, 1], true]);
    assert.deepEqual(r.after, ['test']);
    assert.deepEqual(r.lookup_error, [42, 12]);
    // lifecycle events: defined added, started booted, stopped destroyed, undefined removed
    assert.deepEqual(r.events, [['py-ev', 0, 0], ['py-ev', 2, 0], ['py-ev', 5, 1], ['py-ev', 1, 0]]);
  } finally {
    await daemon.stop();
  }
});
