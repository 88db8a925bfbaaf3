// QEMU capabilities: probed over QMP, cached on disk keyed by the binary's path,
// size and mtime (a later lookup reads the cache, a changed binary is re-probed),
// machine aliases resolved from the probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  QemuCapsCache, canonicalMachineName, defaultMachine, findBinaryForArch, findMachine,
} from '../../src/drivers/qemu/capabilities.js';
import { LiveHostFacts } from '../../src/drivers/qemu/host/live.js';
import { tempDir } from '../helpers/temp-dir.js';

const live = new LiveHostFacts();

const binary = findBinaryForArch('x86_64');
const skip = binary ? false : 'qemu-system-x86_64 is not installed';

test('the probe reports machines, aliases, defaults, device types and CPU models', { skip }, async () => {
  const caps = await new QemuCapsCache(tempDir('caps'), live).get(binary!);
  assert.equal(caps.arch, 'x86_64');
  assert.ok(caps.versionNumber >= 2_000_000);
  const q35 = findMachine(caps, 'q35');
  assert.ok(q35 && q35.alias === 'q35' && q35.name.startsWith('pc-q35-'));
  assert.equal(canonicalMachineName(caps, 'q35'), q35.name);
  assert.equal(canonicalMachineName(caps, 'pc-q35-2.12'), 'pc-q35-2.12', 'versioned names stay');
  // libvirt prefers 'pc' on x86 and lists its default machine first
  assert.equal(defaultMachine(caps), caps.machines[0]);
  assert.equal(caps.machines[0]!.alias, 'pc');
  assert.ok(!caps.machines.some((m) => m.name === 'none'));
  assert.ok(caps.deviceTypes.has('virtio-net-pci') && caps.deviceTypes.has('pcie-root-port'));
  assert.ok(caps.cpuModels.some((c) => c.name === 'qemu64'));
  // libvirt asks QEMU about KVM only where /dev/kvm opens read-write
  if (!live.kvmDeviceUsable()) assert.equal(caps.kvmUsable, false);
  assert.equal(caps.host, live);
});

test('later lookups read the cache; a changed binary is probed again', { skip }, async () => {
  const dir = tempDir('caps');
  // A wrapper stands for the binary: its own path, size and mtime key the cache
  // (a copy of QEMU would not find its modules).
  const copy = path.join(dir, 'qemu-system-x86_64');
  writeFileSync(copy, `#!/bin/sh\nexec ${binary} "$@"\n`, { mode: 0o755 });
  const cacheDir = path.join(dir, 'cache');
  const first = new QemuCapsCache(cacheDir, live);
  const probed = await first.get(copy);
  const file = first.cacheFileFor(copy);

  // Mark the cache entry: a second cache (another process) must return it untouched.
  const entry = JSON.parse(readFileSync(file, 'utf8'));
  entry.caps.version.package = 'from-the-cache';
  writeFileSync(file, JSON.stringify(entry));
  const started = Date.now();
  const cached = await new QemuCapsCache(cacheDir, live).get(copy);
  assert.equal(cached.version.package, 'from-the-cache');
  assert.ok(Date.now() - started < 1000, 'a cache hit does not start QEMU');

  // A new mtime is a new binary.
  const later = new Date(Date.now() + 60_000);
  utimesSync(copy, later, later);
  const reprobed = await new QemuCapsCache(cacheDir, live).get(copy);
  assert.equal(reprobed.version.package, probed.version.package);
});

test('a missing binary gets libvirt\'s error', async () => {
  const cache = new QemuCapsCache(tempDir('caps'), live);
  await assert.rejects(cache.get('/nonexistent/qemu-system-x86_64'), {
    message: 'Cannot check QEMU binary /nonexistent/qemu-system-x86_64: No such file or directory',
  });
});
