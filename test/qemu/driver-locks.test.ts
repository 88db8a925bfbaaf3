// Cross-process locks (src/util/file-lock.ts) and the driver's use of them:
// exclusive, released when the holder dies, and parallel tsvirt processes that
// define clashing domains end with exactly one winner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireFileLock } from '../../src/util/file-lock.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { domainXML } from './driver-fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';

const distSrc = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
const tmp = () => tempDir('lock');

/** Runs an ES module snippet in a new node process; resolves with its exit code and output. */
function runNode(code: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (c) => resolve({ code: c, stdout, stderr }));
  });
}

test('a held lock makes others wait, and times out with libvirt\'s message', async () => {
  const file = path.join(tmp(), 'x.lock');
  const lock = await acquireFileLock(file);
  await assert.rejects(acquireFileLock(file, { timeoutMs: 100, what: 'state change lock' }), {
    message: `Timed out during operation: cannot acquire state change lock (held by pid=${process.pid})`,
  });
  const waiting = acquireFileLock(file, { timeoutMs: 5000 });
  await lock.release();
  await (await waiting).release();
  assert.equal(existsSync(file), false);
});

test('the lock of a dead process is taken over', async () => {
  const file = path.join(tmp(), 'x.lock');
  const dead = spawnSync('true').pid!;
  writeFileSync(file, `${dead} 12345\n`);
  const lock = await acquireFileLock(file, { timeoutMs: 1000 });
  assert.match(readFileSync(file, 'utf8'), new RegExp(`^${process.pid} `));
  await lock.release();

  // A holder killed with SIGKILL while holding the lock.
  const holder = spawn(process.execPath, ['--input-type=module', '-e',
    `const { acquireFileLock } = await import(${JSON.stringify(path.join(distSrc, 'util', 'file-lock.js'))});
     await acquireFileLock(${JSON.stringify(file)}); console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('close', r));
  await (await acquireFileLock(file, { timeoutMs: 2000 })).release();
});

test('processes incrementing a counter under the lock never lose an update', async () => {
  const dir = tmp();
  const counter = path.join(dir, 'counter');
  writeFileSync(counter, '0');
  const code = `
    const { withFileLock } = await import(${JSON.stringify(path.join(distSrc, 'util', 'file-lock.js'))});
    const fs = await import('node:fs');
    for (let i = 0; i < 10; i++) {
      await withFileLock(${JSON.stringify(path.join(dir, 'c.lock'))}, async () => {
        const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
        await new Promise((r) => setTimeout(r, 2));
        fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
      });
    }`;
  const results = await Promise.all([1, 2, 3, 4].map(() => runNode(code)));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(counter, 'utf8'), '40');
});

test('parallel processes defining one name with different uuids: exactly one wins', { skip: findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed' }, async () => {
  const root = tmp();
  const runs = await Promise.all([1, 2, 3, 4].map((i) => runNode(`
    const { connect } = await import(${JSON.stringify(path.join(distSrc, 'api', 'connection.js'))});
    const conn = await connect(${JSON.stringify(`qemu:///embed?root=${root}`)});
    try { await conn.defineDomain(${JSON.stringify(domainXML('race', `00000000-0000-0000-0000-00000000000${i}`))}); console.log('defined'); }
    catch (e) { console.log(e.message); }`)));
  const outputs = runs.map((r) => r.stdout.trim());
  assert.equal(outputs.filter((o) => o === 'defined').length, 1, outputs.join('\n'));
  assert.equal(outputs.filter((o) => /^operation failed: domain 'race' already exists with uuid /.test(o)).length, 3, outputs.join('\n'));
});
