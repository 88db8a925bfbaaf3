// virsh capabilities / domcapabilities of the qemu driver against libvirt's
// recorded output for the recorded host (../shared/conformance/qemu/_host),
// the driver working on that host (TSVIRT_RECORDED_HOST): its kvm domain type,
// its TPM backends (no swtpm there), its host-model CPU, its custom CPU models
// and Hyper-V enlightenments must come out as libvirt printed them. Left out:
// KVM's per-model usability (the record does not say what blocks a model).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { formatHostSysinfo } from '../../src/drivers/qemu/host-capabilities.js';
import { RECORDED_HOST_ENV } from '../../src/drivers/qemu/host/select.js';
import { qemuCorpus, recordedHostDir } from '../helpers/corpus.js';
import { tempDir } from '../helpers/temp-dir.js';

const corpus = qemuCorpus();
const host = 'path' in corpus ? { path: recordedHostDir(corpus.path) } : corpus;
// connect() opens the driver of this process, which takes its host from the environment as tsvirsh does
if ('path' in host) process.env[RECORDED_HOST_ENV] = host.path;
/** The recording is only comparable with the same QEMU build. */
function sameQemu(dir: string): boolean {
  const recorded = JSON.parse(readFileSync(path.join(dir, 'versions.json'), 'utf8'))['qemu-system-x86_64'] as string;
  const binary = findBinaryForArch('x86_64');
  return binary !== undefined && execFileSync(binary, ['--version'], { encoding: 'utf8' }) === recorded;
}
const skip = 'skip' in host ? host.skip : sameQemu(host.path) ? false : 'installed QEMU differs from the recorded one';
const dir = 'path' in host ? host.path : '';

const open = () => connect(`qemu:///embed?root=${tempDir('caps')}`);

/** The <guest> sections. */
const guests = (xml: string) => xml.slice(xml.indexOf('  <guest>'), xml.lastIndexOf('</guest>'));

test('capabilities: guests, machines and aliases as libvirt lists them', { skip }, async () => {
  const xml = await (await open()).getCapabilities();
  const expected = readFileSync(path.join(dir, 'capabilities.xml'), 'utf8');
  assert.equal(guests(xml), guests(expected));
  assert.match(xml, /^<capabilities>\n\n  <host>\n    <uuid>[0-9a-f-]{36}<\/uuid>\n    <cpu>\n      <arch>x86_64<\/arch>/);
});

test('capabilities: the host UUID stays the same across connections', { skip }, async () => {
  const root = tempDir('caps');
  const uuidOf = async () => /<uuid>(.*)<\/uuid>/.exec(await (await connect(`qemu:///embed?root=${root}`)).getCapabilities())![1];
  assert.equal(await uuidOf(), await uuidOf());
});

/** domcapabilities, without the usability of KVM's custom models where the virt type is kvm. */
const comparable = (xml: string, virttype: string) => (virttype === 'kvm' ? xml.replace(/<model usable='[a-z]+'/g, '<model') : xml).trimEnd();

for (const [file, args] of [
  ['domcapabilities-x86_64-q35-tcg.xml', ['/usr/bin/qemu-system-x86_64', 'x86_64', 'q35', 'qemu']],
  ['domcapabilities-x86_64-pc-tcg.xml', ['/usr/bin/qemu-system-x86_64', 'x86_64', 'pc', 'qemu']],
  ['domcapabilities-x86_64-q35.xml', ['/usr/bin/qemu-system-x86_64', 'x86_64', 'q35', 'kvm']],
  ['domcapabilities-x86_64-pc.xml', ['/usr/bin/qemu-system-x86_64', 'x86_64', 'pc', 'kvm']],
  ['domcapabilities-aarch64-virt.xml', ['/usr/bin/qemu-system-aarch64', 'aarch64', 'virt', 'qemu']],
] as const) {
  test(`domcapabilities matches libvirt's ${file}`, { skip }, async () => {
    const [emulatorbin, arch, machine, virttype] = args;
    const { capabilities: xml } = await (await open()).invoke('connectGetDomainCapabilities', { emulatorbin, arch, machine, virttype, flags: 0 });
    const recorded = readFileSync(path.join(dir, file), 'utf8');
    assert.equal(comparable(xml, virttype), comparable(recorded, virttype));
  });
}

test('domcapabilities: libvirt\'s errors for what the host cannot serve', { skip }, async () => {
  const conn = await open();
  await assert.rejects(conn.invoke('connectGetDomainCapabilities', { emulatorbin: null, arch: 'x86_64', machine: 'no-such', virttype: 'qemu', flags: 0 }), {
    message: `invalid argument: the machine 'no-such' is not supported by emulator '${findBinaryForArch('x86_64')}'`,
  });
  await assert.rejects(conn.invoke('connectGetDomainCapabilities', { emulatorbin: '/usr/bin/qemu-system-aarch64', arch: 'x86_64', machine: null, virttype: null, flags: 0 }), {
    message: "invalid argument: architecture from emulator 'aarch64' doesn't match given architecture 'x86_64'",
  });
  await assert.rejects(conn.invoke('connectGetDomainCapabilities', { emulatorbin: null, arch: 'x86_64', machine: null, virttype: 'xen', flags: 0 }), { message: 'invalid argument: unknown virttype: xen' });
});

test('nodeinfo describes this host', async () => {
  const info = await (await open()).getNodeInfo();
  assert.equal(info.cpus, os.cpus().length);
  assert.equal(info.sockets * info.cores * info.threads * info.nodes, info.cpus);
  assert.ok(info.memory > 0 && info.memory <= os.totalmem() / 1024);
});

test('sysinfo: the kernel\'s SMBIOS export in libvirt\'s format, libvirt\'s error without SMBIOS', () => {
  const dmi = tempDir('dmi');
  writeFileSync(path.join(dmi, 'bios_vendor'), 'SeaBIOS\n');
  writeFileSync(path.join(dmi, 'bios_version'), '1.16.0\n');
  writeFileSync(path.join(dmi, 'sys_vendor'), 'QEMU & co\n');
  writeFileSync(path.join(dmi, 'product_name'), 'Standard PC\n');
  assert.equal(formatHostSysinfo(dmi), [
    "<sysinfo type='smbios'>",
    '  <bios>', "    <entry name='vendor'>SeaBIOS</entry>", "    <entry name='version'>1.16.0</entry>", '  </bios>',
    '  <system>', "    <entry name='manufacturer'>QEMU &amp; co</entry>", "    <entry name='product'>Standard PC</entry>", '  </system>',
    '</sysinfo>', '',
  ].join('\n'));
  assert.throws(() => formatHostSysinfo(path.join(dmi, 'absent')), { message: 'unsupported configuration: Host SMBIOS information is not available' });
});
