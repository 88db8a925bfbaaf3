// domcapabilities through the installed libvirt (qemu:///system) and tsvirt on
// the LIVE host, for each guest arch, virt type and machine family libvirt
// serves here: the CPU modes (host-passthrough's migratability, the custom
// models with their usability and vendor) must come out byte for byte as
// libvirt prints them, and a combination libvirt refuses must be refused with
// its message. Runs whenever virsh and a running libvirtd are there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
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
  ['x86_64', ['q35', 'pc', 'isapc']],
  ['i686', ['q35']],
  ['aarch64', ['virt']],
  ['armv7l', ['virt']],
  ['armv6l', []],
];

/** libvirt's answer: the document, or the error message without virsh's "error: " lines around it. */
function libvirtDomcaps(arch: string, virttype: string, machine: string | undefined): string {
  const r = systemVirsh('domcapabilities', '--arch', arch, '--virttype', virttype, ...(machine ? ['--machine', machine] : []));
  if (r.ok) return r.out;
  return r.error.split('\n').filter((l) => l !== 'error: failed to get emulator capabilities').map((l) => l.replace(/^error: /, '')).join('\n');
}

const cpuSection = (xml: string) => /  <cpu>\n[\s\S]*?\n  <\/cpu>\n/.exec(xml)?.[0] ?? xml;

test('domcapabilities: the CPU modes and custom models libvirt offers, per arch, virt type and machine', { skip }, async () => {
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
          assert.equal(cpuSection(actual), cpuSection(expected), `${arch} ${virttype} ${machine ?? '(default machine)'}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 0);
  } finally {
    await driver.close();
    rmSync(root, { recursive: true, force: true });
  }
});
