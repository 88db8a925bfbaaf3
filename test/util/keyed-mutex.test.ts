// In-process locks by name (src/util/keyed-mutex.ts), what tsvirtd's qemu driver
// takes instead of lock files: exclusive per key, fair, and timing out with the
// message file locks give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedMutex } from '../../src/util/keyed-mutex.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('one holder per key, waiters served in order, other keys never wait', async () => {
  const locks = new KeyedMutex();
  const log: string[] = [];
  const job = (key: string, name: string) => locks.run(key, async () => {
    log.push(`${name} in`);
    await tick();
    log.push(`${name} out`);
  });
  await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1'), job('a', 'a3')]);
  assert.deepEqual(log.filter((l) => l.startsWith('a')), ['a1 in', 'a1 out', 'a2 in', 'a2 out', 'a3 in', 'a3 out']);
  // b ran while a1 held a
  assert.ok(log.indexOf('b1 in') < log.indexOf('a1 out'), log.join(', '));
});

test('a failing holder releases the key', async () => {
  const locks = new KeyedMutex();
  await assert.rejects(locks.run('k', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await locks.run('k', async () => 'free', { timeoutMs: 0 }), 'free');
});

test('a busy key: timeout 0 refuses at once, a timeout refuses later with the file lock message, and the waiter leaves the queue', async () => {
  const locks = new KeyedMutex();
  let release!: () => void;
  const holding = locks.run('k', () => new Promise<void>((r) => (release = r)));
  await assert.rejects(locks.run('k', async () => undefined, { timeoutMs: 0, what: 'state change lock' }), {
    message: `Timed out during operation: cannot acquire state change lock (held by pid=${process.pid})`,
  });
  await assert.rejects(locks.run('k', async () => undefined, { timeoutMs: 20 }), /cannot acquire lock/);
  const next = locks.run('k', async () => 'next');
  release();
  await holding;
  assert.equal(await next, 'next');
  assert.equal(await locks.run('k', async () => 'free', { timeoutMs: 0 }), 'free');
});
