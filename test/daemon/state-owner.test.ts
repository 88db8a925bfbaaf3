// tsvirtd's qemu driver owns its state folders (src/drivers/qemu/state-owner.ts):
// while it runs, an embedded tsvirsh on the same root is refused with a pointer
// to the socket instead of changing files behind the daemon's in-memory list;
// once the daemon is gone (even killed), its stale claim does not block anyone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tsvirsh } from '../helpers/shared.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const skip = findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed (define probes it)';

/** tsvirsh's exit code and output. */
async function tsvirshRun(uri: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [tsvirsh, '-c', uri, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('an embedded driver is refused on the folders a running tsvirtd serves, and welcome once it died', { skip }, async (t) => {
  const daemon = await spawnDaemon();
  t.after(() => daemon.stop());
  const xmlFile = join(daemon.root, 'owned.xml');
  await writeFile(xmlFile, "<domain type='qemu'><name>owned</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>\n");
  const viaDaemon = daemon.uri('qemu', '/system');
  const embed = `qemu:///embed?root=${daemon.root}`;

  // the first connection opens the daemon's driver, which claims the folders
  assert.equal((await tsvirshRun(viaDaemon, 'define', xmlFile)).code, 0);
  const refused = await tsvirshRun(embed, 'list', '--all');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`served by tsvirtd \\(pid ${daemon.pid}\\); connect through its socket`));
  // the daemon's list is its own, unchanged by the refused process
  assert.match((await tsvirshRun(viaDaemon, 'list', '--all', '--name')).stdout, /^owned$/m);

  process.kill(daemon.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  const after = await tsvirshRun(embed, 'list', '--all', '--name');
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stdout, /^owned$/m);
});
