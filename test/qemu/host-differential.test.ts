// The same inputs through the installed libvirt (qemu:///system) and tsvirt,
// both on the LIVE host: whatever this machine offers (KVM or not, swtpm or
// not), the kvm virt type and the TPM emulator must be offered, refused and
// reported alike by define, capabilities and domcapabilities. Runs whenever
// virsh and a running libvirtd are there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseURI } from '../../src/driver/uri.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { openQemuDriver, type QemuDriver } from '../../src/drivers/qemu/driver.js';
import { domainCapabilities } from './driver-fixtures.js';
import { LiveHostFacts } from '../../src/drivers/qemu/host/live.js';
import { libvirtUnavailable, systemVirsh } from '../helpers/libvirt.js';
import { tempDir } from '../helpers/temp-dir.js';

const binary = findBinaryForArch('x86_64');
const skip = libvirtUnavailable() || (binary ? false : 'qemu-system-x86_64 is not installed');
if (skip) console.warn(`SKIPPING host-differential: ${skip}`);
const dir = tempDir('host-diff');

function liveDriver(): Promise<QemuDriver> {
  // the live host explicitly: a TSVIRT_RECORDED_HOST in the environment must not stand in for it
  return openQemuDriver(parseURI(`qemu:///embed?root=${mkdtempSync(path.join(dir, 'root-'))}`), { host: new LiveHostFacts() });
}

/** libvirt's define of `xml` (undefined again at once): the error message, or 'defined'. */
function libvirtDefine(name: string, xml: string): string {
  const file = path.join(dir, `${name}.xml`);
  writeFileSync(file, xml);
  const r = systemVirsh('define', file);
  if (!r.ok) return r.error.split('\n').filter((l) => !l.startsWith('error: Failed to define')).map((l) => l.replace(/^error: /, '')).join('\n');
  systemVirsh('undefine', name);
  return 'defined';
}

async function tsvirtDefine(driver: QemuDriver, xml: string): Promise<string> {
  return driver.domainDefineXML({ xml }).then(() => 'defined', (e: Error) => e.message);
}

/** A domain name no one else uses on the shared libvirtd. */
const unique = (what: string) => `tsvirt-hostdiff-${what}-${process.pid}`;
const domainXml = (name: string, type: string, arch: string, devices = '') => `<domain type='${type}'><name>${name}</name><memory>131072</memory>
<os><type arch='${arch}'>hvm</type></os><devices>${devices}</devices></domain>`;

test('define: a kvm domain is accepted or refused as libvirt does on this host', { skip }, async () => {
  const driver = await liveDriver();
  for (const arch of ['x86_64', 'i686', 'aarch64'].filter((a) => findBinaryForArch(a))) {
    const name = unique(`kvm-${arch}`);
    const xml = domainXml(name, 'kvm', arch);
    assert.equal(await tsvirtDefine(driver, xml), libvirtDefine(name, xml), `kvm on ${arch}`);
  }
  await driver.close();
});

test('define: an emulated TPM is accepted or refused as libvirt does with this host\'s swtpm', { skip }, async () => {
  const driver = await liveDriver();
  for (const version of ['1.2', '2.0']) {
    const name = unique(`tpm-${version.replace('.', '')}`);
    const xml = domainXml(name, 'qemu', 'x86_64', `<tpm model='tpm-tis'><backend type='emulator' version='${version}'/></tpm>`);
    assert.equal(await tsvirtDefine(driver, xml), libvirtDefine(name, xml), `TPM ${version}`);
  }
  await driver.close();
});

test('capabilities: the same domain types per guest arch as libvirt on this host', { skip }, async () => {
  const driver = await liveDriver();
  const domainTypes = (xml: string) => [...xml.matchAll(/<arch name='([^']+)'>[\s\S]*?<\/arch>/g)].map((m) => `${m[1]}: ${[...m[0].matchAll(/<domain type='([^']+)'/g)].map((d) => d[1]).join(',')}`);
  const libvirt = systemVirsh('capabilities');
  assert.ok(libvirt.ok);
  assert.deepEqual(domainTypes((await driver.connectGetCapabilities()).capabilities), domainTypes(libvirt.out));
  await driver.close();
});

test('domcapabilities: the default virt type and the TPM backends libvirt reports on this host', { skip }, async () => {
  const driver = await liveDriver();
  const facts = (xml: string) => ({
    domain: /<domain>(.*)<\/domain>/.exec(xml)?.[1],
    tpm: /<tpm supported[\s\S]*?<\/tpm>/.exec(xml)?.[0].replace(/\s+/g, ' '),
  });
  const libvirt = systemVirsh('domcapabilities', '--emulatorbin', binary!, '--machine', 'q35');
  assert.ok(libvirt.ok);
  assert.deepEqual(facts(await domainCapabilities(driver, binary, 'x86_64', 'q35', null)), facts(libvirt.out));
  await driver.close();
});
