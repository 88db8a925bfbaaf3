// The qemu driver on injected hosts: KVM present or not, swtpm present or
// not, a recorded host. Define, capabilities and domcapabilities must agree
// with each other the way libvirt's do (its QEMU_CAPS_KVM decides all three),
// with libvirt's messages. The QEMU binary is the installed one, probed for real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { parseURI } from '../../src/driver/uri.js';
import { findBinaryForArch, QemuCapsCache } from '../../src/drivers/qemu/capabilities.js';
import { openQemuDriver, type QemuDriver } from '../../src/drivers/qemu/driver.js';
import { domainCapabilities } from './driver-fixtures.js';
import type { HostFacts } from '../../src/drivers/qemu/host/facts.js';
import { RecordedHostFacts } from '../../src/drivers/qemu/host/recorded.js';
import { hostFactsFromEnvironment, RECORDED_HOST_ENV } from '../../src/drivers/qemu/host/select.js';
import { LiveHostFacts } from '../../src/drivers/qemu/host/live.js';
import { checkTscFrequency } from '../../src/drivers/qemu/guest-cpu-check.js';
import { parseXml } from '../../src/util/xml.js';
import { fakeHostFacts } from '../helpers/host-facts.js';
import { qemuCorpus, recordedHostDir } from '../helpers/corpus.js';
import { tempDir } from '../helpers/temp-dir.js';

const binary = findBinaryForArch('x86_64');
const skip = binary ? false : 'qemu-system-x86_64 is not installed';
/** One probe cache for the file: a probe per host identity, not per test. */
const cacheRoot = tempDir('host-facts');

/** A KVM the way QEMU reports it on a host with /dev/kvm: enabled, with a host CPU model. */
const withKvm = (extra: Partial<HostFacts> = {}) => fakeHostFacts({
  identity: 'fake-kvm',
  kvmDeviceUsable: () => true,
  hardwareVirtualization: () => true,
  kvm: async () => ({ enabled: true, hostCpuModel: { features: ['sse2', 'x2apic'], nonMigratable: [] } }),
  ...extra,
});
const withoutKvm = (extra: Partial<HostFacts> = {}) => fakeHostFacts({ identity: 'fake-no-kvm', ...extra });

async function driverOn(host: HostFacts): Promise<QemuDriver> {
  const root = mkdtempSync(path.join(cacheRoot, 'root-'));
  return openQemuDriver(parseURI(`qemu:///embed?root=${root}`), { host });
}

const domain = (type: string, devices = '') => `<domain type='${type}'><name>hf-${type}</name><memory>131072</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`;

test('no usable KVM: a kvm domain is refused at define with libvirt\'s message, capabilities and domcapabilities agree', { skip }, async () => {
  const driver = await driverOn(withoutKvm());
  await assert.rejects(driver.domainDefineXML({ xml: domain('kvm') }), {
    message: `unsupported configuration: Emulator '${binary}' does not support virt type 'kvm'`,
  });
  const caps = (await driver.connectGetCapabilities()).capabilities;
  assert.doesNotMatch(caps, /<domain type='kvm'\/>/);
  await assert.rejects(domainCapabilities(driver, binary, 'x86_64', 'pc', 'kvm'), {
    message: `invalid argument: the accel 'kvm' is not supported by '${binary}' on this host`,
  });
  assert.match(await domainCapabilities(driver, binary, 'x86_64', 'pc', null), /<domain>qemu<\/domain>/);
  await driver.domainDefineXML({ xml: domain('qemu') });
  await driver.close();
});

test('KVM present: a kvm domain is defined, capabilities list kvm, domcapabilities default to kvm', { skip }, async () => {
  const driver = await driverOn(withKvm());
  await driver.domainDefineXML({ xml: domain('kvm') });
  assert.match((await driver.connectGetCapabilities()).capabilities, /<domain type='kvm'\/>/);
  assert.match(await domainCapabilities(driver, binary, 'x86_64', 'pc', null), /<domain>kvm<\/domain>/);
  await driver.close();
});

test('the live host asks QEMU about KVM only where /dev/kvm opens read-write (libvirt\'s virQEMUCapsKVMUsable)', async () => {
  class KvmDeviceClosed extends LiveHostFacts {
    override kvmDeviceUsable(): boolean {
      return false;
    }
  }
  let probed = false;
  const kvm = await new KvmDeviceClosed().kvm('x86_64', async () => { probed = true; return { enabled: true }; });
  assert.deepEqual(kvm, { enabled: false });
  assert.equal(probed, false);
});

test('swtpm absent: no TPM emulator backend, and an emulated TPM is refused with libvirt\'s message', { skip }, async () => {
  const driver = await driverOn(withKvm({ swtpmVersions: () => undefined }));
  const domcaps = await domainCapabilities(driver, binary, 'x86_64', 'q35', 'kvm');
  assert.match(domcaps, /<enum name='backendModel'>\n\s*<value>passthrough<\/value>\n\s*<\/enum>/);
  assert.doesNotMatch(domcaps, /backendVersion/);
  await assert.rejects(driver.domainDefineXML({ xml: domain('kvm', "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>") }), {
    message: "unsupported configuration: TPM version '2.0' is not supported",
  });
  await driver.close();
});

test('swtpm present: the emulator backends and versions it announces, and an emulated TPM is defined', { skip }, async () => {
  const driver = await driverOn(withKvm({ identity: 'fake-kvm-swtpm', swtpmVersions: () => ['2.0'] }));
  const domcaps = await domainCapabilities(driver, binary, 'x86_64', 'q35', 'kvm');
  assert.match(domcaps, /<value>emulator<\/value>\n\s*<value>external<\/value>/);
  assert.match(domcaps, /<enum name='backendVersion'>\n\s*<value>2.0<\/value>/);
  await driver.domainDefineXML({ xml: domain('kvm', "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>") });
  await driver.close();
});

test('the capabilities cache keeps hosts apart: a recorded host\'s KVM never answers for another host', { skip }, async () => {
  const dir = path.join(cacheRoot, 'shared-cache');
  const kvm = await new QemuCapsCache(dir, withKvm()).get(binary!);
  const noKvm = await new QemuCapsCache(dir, withoutKvm()).get(binary!);
  assert.equal(kvm.kvmUsable, true);
  assert.equal(noKvm.kvmUsable, false);
  assert.notEqual(new QemuCapsCache(dir, withKvm()).cacheFileFor(binary!), new QemuCapsCache(dir, withoutKvm()).cacheFileFor(binary!));
});

test('the host TSC decides a requested TSC frequency', () => {
  const def = parseXml("<domain><clock><timer name='tsc' frequency='3000000000'/></clock></domain>");
  assert.throws(() => checkTscFrequency(def, { frequency: 2596138000, scaling: false }), {
    message: 'unsupported configuration: Requested TSC frequency 3000000000 Hz is outside tolerance range ([2595488966, 2596787034] Hz) around host frequency 2596138000 Hz and TSC scaling is not supported by the host CPU',
  });
  assert.doesNotThrow(() => checkTscFrequency(def, { frequency: 2596138000, scaling: true }));
  assert.doesNotThrow(() => checkTscFrequency(def, undefined));
});

const corpus = qemuCorpus();
const recordSkip = 'skip' in corpus ? corpus.skip : false;

test('the recorded host answers from its record: KVM, CPU with TSC, NUMA, no swtpm', { skip: recordSkip }, async () => {
  if ('skip' in corpus) return;
  const host: HostFacts = new RecordedHostFacts(recordedHostDir(corpus.path), fakeHostFacts());
  assert.equal(host.identity, `recorded:${recordedHostDir(corpus.path)}`);
  assert.equal(host.kvmDeviceUsable(), true);
  assert.equal(host.swtpmVersions(), undefined);
  assert.deepEqual([...host.numaNodes()], [0]);
  const cpu = host.x86Cpu();
  if (cpu) {
    assert.deepEqual(cpu.host?.tsc, { frequency: 2596138000, scaling: false });
    assert.equal(cpu.host?.vendor, 'AMD');
  }
  let probed = false;
  const kvm = await host.kvm('x86_64', async () => { probed = true; return { enabled: false }; });
  assert.equal(probed, false, 'a recorded host never asks QEMU about KVM');
  assert.equal(kvm.enabled, true);
  if (cpu) assert.ok(kvm.hostCpuModel?.features.includes('lm') && kvm.hostCpuModel.nonMigratable.includes('invtsc'));
  const i386 = await host.kvm('i686', async () => ({ enabled: false }));
  if (cpu) assert.ok(!i386.hostCpuModel?.features.includes('lm'), 'a 32-bit QEMU offers no long mode');
});

test('TSVIRT_RECORDED_HOST selects a recorded host; unset, the live host; a bad folder gets a clear error', () => {
  assert.equal(hostFactsFromEnvironment({}).identity, 'live');
  assert.throws(() => hostFactsFromEnvironment({ [RECORDED_HOST_ENV]: '/nonexistent/_host' }), /recorded host '\/nonexistent\/_host': cannot read capabilities.xml/);
  if ('path' in corpus) assert.match(hostFactsFromEnvironment({ [RECORDED_HOST_ENV]: recordedHostDir(corpus.path) }).identity, /^recorded:/);
});
