// The guest cgroup layer on both backends, over folders laid out like the
// kernel's cgroup files (so the backend a host does not have is tested too):
// where the guest's group is found, and libvirt's conversions and checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CPU_QUOTA_MAX, GuestCgroup, MEMORY_UNLIMITED_KIB } from '../../src/drivers/qemu/security/guest-cgroup.js';

function files(dir: string, entries: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(entries)) writeFileSync(path.join(dir, name), text);
}

function sandbox(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-cgroup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('cgroup v2: the unified group, cpu.weight, cpu.max, memory.max/high and io.weight as libvirt reads and writes them', async (t) => {
  const root = sandbox(t);
  const group = path.join(root, 'unified', 'machine.slice', 'machine-qemu\\x2d1\\x2dg.scope');
  files(group, {
    'cgroup.controllers': 'cpuset cpu io memory pids\n',
    'cpu.weight': '100\n',
    'cpu.max': 'max 100000\n',
    'memory.max': 'max\n',
    'memory.high': '1073741824\n',
    'memory.swap.max': 'max\n',
    'io.weight': 'default 100\n',
  });
  const proc = path.join(root, 'cgroup');
  writeFileSync(proc, '0::/machine.slice/machine-qemu\\x2d1\\x2dg.scope\n');
  const cgroup = (await GuestCgroup.ofProcess(1, { v1: new Map(), v2: path.join(root, 'unified') }, proc))!;
  assert.equal(cgroup.version, 2);
  assert.ok(cgroup.has('cpu') && cgroup.has('blkio') && cgroup.has('cpuset') && cgroup.has('memory'));
  assert.equal(await cgroup.cpuShares(), 100n);
  assert.equal(await cgroup.cfsPeriod(), 100000n);
  assert.equal(await cgroup.cfsQuota(), CPU_QUOTA_MAX, "'max' reads as libvirt's quota ceiling");
  await cgroup.setPeriodQuota(50000n, 25000n);
  assert.equal(readFileSync(path.join(group, 'cpu.max'), 'utf8'), '25000');
  await cgroup.setCfsQuota(-1n);
  assert.equal(readFileSync(path.join(group, 'cpu.max'), 'utf8'), 'max');
  await assert.rejects(cgroup.setCpuShares(1n), /shares '1' must be in range \[2, 262144\]/);
  await assert.rejects(cgroup.setCfsPeriod(999n), /cfs_period '999' must be in range \(1000, 1000000\)/);
  assert.equal(await cgroup.memoryLimit('hard'), MEMORY_UNLIMITED_KIB);
  assert.equal(await cgroup.memoryLimit('soft'), 1048576n);
  await cgroup.setMemoryLimit('swap', MEMORY_UNLIMITED_KIB);
  assert.equal(readFileSync(path.join(group, 'memory.swap.max'), 'utf8'), 'max');
  await cgroup.setMemoryLimit('hard', 2048n);
  assert.equal(readFileSync(path.join(group, 'memory.max'), 'utf8'), String(2048 * 1024));
  assert.equal(await cgroup.blkioWeight(), 100);
  await cgroup.setBlkioWeight(300);
  assert.equal(readFileSync(path.join(group, 'io.weight'), 'utf8'), 'default 300');
  assert.equal(cgroup.thread('vcpu', 2).dirOf('cpu'), path.join(group, 'vcpu2'));
  assert.equal(cgroup.thread('vcpu', 2).dirOf('memory'), group, 'memory is not split per thread');
});

test('cgroup v1: per-controller groups found past the emulator subgroup, unlimited as the root group has it', async (t) => {
  const root = sandbox(t);
  const rel = 'machine/qemu-1-g.libvirt-qemu';
  files(path.join(root, 'memory'), { 'memory.limit_in_bytes': '9223372036854771712\n' });
  files(path.join(root, 'memory', rel), { 'memory.limit_in_bytes': '9223372036854771712\n', 'memory.soft_limit_in_bytes': '536870912\n' });
  files(path.join(root, 'cpu', rel), { 'cpu.shares': '1024\n', 'cpu.cfs_period_us': '100000\n', 'cpu.cfs_quota_us': '-1\n' });
  files(path.join(root, 'cpu', rel, 'vcpu0'), { 'cpu.cfs_period_us': '100000\n', 'cpu.cfs_quota_us': '-1\n' });
  files(path.join(root, 'blkio', rel), {});
  const proc = path.join(root, 'cgroup');
  writeFileSync(proc, `7:blkio:/${rel}\n4:memory:/${rel}\n2:cpuacct:/\n1:cpu:/${rel}/emulator\n0::/\n`);
  const mounts = { v1: new Map(['cpu', 'cpuacct', 'memory', 'blkio'].map((c) => [c, path.join(root, c)])) };
  const cgroup = (await GuestCgroup.ofProcess(1, mounts, proc))!;
  assert.equal(cgroup.version, 1);
  assert.equal(cgroup.dirOf('cpu'), path.join(root, 'cpu', rel));
  assert.equal(cgroup.has('cpuacct'), false, 'a controller the guest was not put in');
  assert.equal(await cgroup.supportsCpuBW(), true);
  assert.equal(await cgroup.cfsQuota(), -1n);
  assert.equal(await cgroup.hasThread('vcpu', 0), true);
  assert.equal(await cgroup.hasThread('vcpu', 1), false);
  assert.equal(await cgroup.memoryLimit('hard'), MEMORY_UNLIMITED_KIB);
  assert.equal(await cgroup.memoryLimit('soft'), 524288n);
  await cgroup.setMemoryLimit('soft', MEMORY_UNLIMITED_KIB);
  assert.equal(readFileSync(path.join(root, 'memory', rel, 'memory.soft_limit_in_bytes'), 'utf8'), '-1');
  await assert.rejects(cgroup.blkioWeight(), /blkio device weight is valid only for bfq or cfq scheduler/);
  await assert.rejects(cgroup.cpusetCpus(), /v1 controller 'cpuset' is not enabled for group/);
});

test('a process in no group of its own has no guest cgroup', async (t) => {
  const root = sandbox(t);
  const proc = path.join(root, 'cgroup');
  writeFileSync(proc, '1:cpu:/\n0::/\n');
  assert.equal(await GuestCgroup.ofProcess(1, { v1: new Map([['cpu', root]]), v2: root }, proc), undefined);
});
