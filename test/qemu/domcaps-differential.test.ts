// domcapabilities through the installed libvirt (qemu:///system) and tsvirt on
// the LIVE host, for each guest arch, virt type and a machine of each family:
// the whole document (CPU modes with host-passthrough's migratability, the
// custom models with their usability and vendor, loaders, disk buses, GIC,
// Hyper-V) must come out byte for byte as libvirt prints it, and a combination
// libvirt refuses must be refused with its message; the same for a binary
// without TCG. Runs whenever virsh and a running libvirtd are there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseURI } from '../../src/driver/uri.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { openQemuDriver } from '../../src/drivers/qemu/driver.js';
import { LiveHostFacts } from '../../src/drivers/qemu/host/live.js';
import { domainCapabilities } from './driver-fixtures.js';
import { libvirtUnavailable, systemVirsh } from '../helpers/libvirt.js';

const skip = libvirtUnavailable() || (findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed');
if (skip) console.warn(`SKIPPING domcaps-differential: ${skip}`);

/** Guest arches with the machines asked for besides the default one. */
const ARCHES: ReadonlyArray<[string, string[]]> = [
  ['x86_64', ['q35', 'pc-i440fx-2.0', 'isapc', 'microvm']],
  ['i686', ['q35', 'isapc']],
  ['aarch64', ['virt', 'virt-2.6', 'raspi3b']],
  ['armv7l', ['virt', 'vexpress-a15']],
  ['armv6l', ['virt']],
];

/** A binary built without TCG (KVM only), asked for by path. */
const KVM_ONLY_BINARY = '/usr/bin/qemu-system-x86_64-microvm';

/** libvirt's answer: the document as the API returns it, or the error message without virsh's "error: " lines around it. */
function libvirtDomcaps(arch: string | undefined, virttype: string | undefined, machine: string | undefined, emulator?: string): string {
  const option = (name: string, value: string | undefined) => (value ? [`--${name}`, value] : []);
  const r = systemVirsh('domcapabilities', ...option('emulatorbin', emulator), ...option('arch', arch), ...option('virttype', virttype), ...option('machine', machine));
  // virsh ends the document with a newline of its own
  if (r.ok) return r.out.replace(/\n$/, '');
  return r.error.split('\n').filter((l) => l !== 'error: failed to get emulator capabilities').map((l) => l.replace(/^error: /, '')).join('\n');
}

test('domcapabilities: libvirt\'s document or error, per arch, virt type and machine', { skip }, async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-domcaps-diff-'));
  // the live host explicitly: a TSVIRT_RECORDED_HOST in the environment must not stand in for it
  const driver = await openQemuDriver(parseURI(`qemu:///embed?root=${root}`), { host: new LiveHostFacts() });
  try {
    let compared = 0;
    for (const [arch, machines] of ARCHES) {
      if (!findBinaryForArch(arch)) continue;
      for (const virttype of ['kvm', 'qemu']) {
        for (const machine of [undefined, ...machines]) {
          const expected = libvirtDomcaps(arch, virttype, machine);
          const actual = await domainCapabilities(driver, null, arch, machine, virttype).catch((e: Error) => e.message);
          assert.equal(actual, expected, `${arch} ${virttype} ${machine ?? '(default machine)'}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 0);
    // without KVM neither can probe it (and their probe failures are worded differently)
    if (existsSync(KVM_ONLY_BINARY) && new LiveHostFacts().kvmDeviceUsable()) {
      for (const virttype of [undefined, 'kvm', 'qemu']) {
        const expected = libvirtDomcaps(undefined, virttype, undefined, KVM_ONLY_BINARY);
        const actual = await domainCapabilities(driver, KVM_ONLY_BINARY, null, null, virttype).catch((e: Error) => e.message);
        assert.equal(actual, expected, `${KVM_ONLY_BINARY} ${virttype ?? '(default virt type)'}`);
      }
    }
  } finally {
    await driver.close();
    rmSync(root, { recursive: true, force: true });
  }
});
