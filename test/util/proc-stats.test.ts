// What the statistics read from /proc, checked against this very process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { processCpuTimeNs, processRssKiB, processStatInfo, processThreads, threadAffinity, threadRunDelayNs, threadWaitNs } from '../../src/util/process.js';

test('processStatInfo: CPU times in ns for a pid, pid 0 meaning this process, and a thread of it', () => {
  const end = Date.now() + 30;
  while (Date.now() < end); // burn a little CPU
  const own = processStatInfo(process.pid)!;
  assert.ok(own.userNs + own.systemNs > 0n && (own.userNs + own.systemNs) % 10_000_000n === 0n, 'ticks of 10 ms');
  assert.ok(own.lastCpu >= 0);
  const self = processStatInfo(0)!;
  assert.ok(self.userNs >= own.userNs, '/proc/self is this process');
  assert.ok(processStatInfo(process.pid, process.pid), 'the main thread is a task too');
  assert.equal(processCpuTimeNs(process.pid)! >= own.userNs + own.systemNs, true);
  assert.equal(processStatInfo(process.pid, 2 ** 30), undefined);
});

test('RSS, run-queue delay, wait time and affinity of this process', () => {
  const rss = processRssKiB(process.pid)!;
  assert.ok(rss > 1024 && rss < 16 * 1024 * 1024, `${rss} KiB`);
  assert.ok(threadRunDelayNs(process.pid, process.pid) >= 0n);
  assert.ok(threadWaitNs(process.pid, process.pid) >= 0n);
  const cpus = threadAffinity(process.pid, process.pid)!;
  assert.ok(cpus.length >= 1 && cpus.every((cpu) => cpu < availableParallelism() * 64));
  assert.deepEqual(cpus, [...cpus].sort((a, b) => a - b));
  assert.equal(threadAffinity(process.pid, 2 ** 30), undefined);
});

test('processThreads: every thread with its name, the main thread among them', () => {
  const threads = processThreads(process.pid);
  assert.ok(threads.length > 1, 'node runs helper threads');
  assert.ok(threads.some((t) => t.tid === process.pid && t.name.length > 0 && !t.name.endsWith('\n')));
  assert.deepEqual(processThreads(2 ** 30), []);
});
