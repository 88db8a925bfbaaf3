// tsvirsh cpu-compare / hypervisor-cpu-compare against real virsh on
// qemu:///system, on the same host: the host CPU libvirt reports (capabilities,
// domcapabilities' host-model), CPUs of domain definitions, strict matching,
// forbidden features, unknown models, another vendor and a file without a
// CPU, with and without --error: the same output, errors and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';
import { tempDir } from '../helpers/temp-dir.js';

const TSVIRSH = fileURLToPath(new URL('../../../bin/tsvirsh', import.meta.url));
const unavailable = libvirtUnavailable() || (os.arch() !== 'x64' && 'CPU comparison is x86 only');
if (unavailable) console.warn(`SKIPPING cpu-compare comparison: ${unavailable}`);
const skip = unavailable ? `real libvirt on x86_64 needed: ${unavailable}` : false;

const root = tempDir('cpucompare');

function tsvirsh(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TSVIRSH, '-c', `qemu:///embed?root=${path.join(root, 'embed')}`, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const FIXED: Record<string, string> = {
  'domain.xml': "<domain type='qemu'><name>d</name><cpu mode='custom' match='exact'><model>Haswell-noTSX</model></cpu></domain>",
  'strict.xml': "<cpu mode='custom' match='strict'><model>qemu64</model></cpu>",
  'minimum.xml': "<cpu match='minimum'><model>qemu64</model><feature policy='disable' name='svm'/><feature policy='optional' name='pni'/></cpu>",
  'forbid.xml': "<cpu match='exact'><model>qemu64</model><feature policy='forbid' name='sse2'/></cpu>",
  'unknown-model.xml': "<cpu match='exact'><model>NoSuch</model></cpu>",
  'unknown-feature.xml': "<cpu match='exact'><model>qemu64</model><feature name='nosuch'/></cpu>",
  'vendor.xml': "<?xml version='1.0'?>\n<cpu match='exact'><model>qemu64</model><vendor>AMD</vendor></cpu>",
  'other-arch.xml': '<cpu><arch>aarch64</arch><model>qemu64</model></cpu>',
  'none.xml': '<foo/>',
};

test('cpu-compare and hypervisor-cpu-compare: libvirt\'s results, messages and exit codes', { skip }, async () => {
  const files: string[] = [];
  for (const [name, text] of Object.entries(FIXED)) {
    writeFileSync(path.join(root, name), text);
    files.push(path.join(root, name));
  }
  for (const [name, args] of [['caps.xml', ['capabilities']], ['domcaps.xml', ['domcapabilities']]] as const) {
    const r = await runSystemVirsh(...args);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(path.join(root, name), r.stdout);
    files.push(path.join(root, name));
  }
  for (const command of ['cpu-compare', 'hypervisor-cpu-compare']) {
    for (const file of files) {
      for (const extra of [[], ['--error']]) {
        const args = [command, file, ...extra];
        assert.deepEqual(tsvirsh(...args), await runSystemVirsh(...args), args.join(' '));
      }
    }
  }
  const identical = tsvirsh('cpu-compare', path.join(root, 'caps.xml'));
  assert.match(identical.stdout, /is identical to host CPU/);
  for (const extra of [['--virttype', 'foo'], ['--arch', 'aarch64', '--virttype', 'qemu'], ['--machine', 'nosuch'], ['--emulator', '/usr/bin/qemu-system-i386', '--arch', 'x86_64']]) {
    const args = ['hypervisor-cpu-compare', path.join(root, 'strict.xml'), ...extra];
    assert.deepEqual(tsvirsh(...args), await runSystemVirsh(...args), args.join(' '));
  }
});
