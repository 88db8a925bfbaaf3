import { test } from 'node:test';
import assert from 'node:assert/strict';
import { virErrorMessage } from '../helpers/errors.js';
import { formatDomainXML, parseDomainXML, type DomainParseHooks } from '../../src/conf/domain.js';
import type { QemuCaps } from '../../src/drivers/qemu/capabilities.js';
import { fakeQemuCaps, type TestArch } from '../helpers/qemu-caps.js';
import { qemuDomainPostParse, qemuDomainPostParseBasic, qemuValidateDomain } from '../../src/drivers/qemu/domain-defaults.js';
import { SECURITY_MODELS } from '../../src/drivers/qemu/security/process-label.js';

const caps = (arch: TestArch) => fakeQemuCaps(arch, { kvmPresent: arch === 'x86_64', kvmUsable: arch === 'x86_64' });

function hooks(c: QemuCaps): DomainParseHooks {
  return {
    defaultSecurityModel: SECURITY_MODELS[0],
    postParseBasic: (d) => qemuDomainPostParseBasic(d, (arch) => `/usr/bin/qemu-system-${arch}`),
    postParse: (d) => qemuDomainPostParse(d, c, '/nv'),
    validate: (d) => qemuValidateDomain(d, c),
  };
}

const domain = (body: string, type = 'qemu', os = "<type arch='x86_64' machine='q35'>hvm</type>") =>
  `<domain type='${type}'><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid><memory>1</memory><os>${os}</os>${body}</domain>`;

function define(xml: string, arch: 'x86_64' | 'aarch64' = 'x86_64'): string {
  return formatDomainXML(parseDomainXML(xml, { hooks: hooks(caps(arch)) }), { inactive: true });
}

function rejection(xml: string, arch: 'x86_64' | 'aarch64' = 'x86_64'): string {
  return virErrorMessage(() => define(xml, arch));
}

test('machine alias becomes the canonical name; the default CPU model is made explicit', () => {
  const xml = define(domain(''));
  assert.match(xml, /<type arch='x86_64' machine='pc-q35-7.2'>hvm<\/type>/);
  assert.match(xml, /<cpu mode='custom' match='exact' check='none'>\n {4}<model fallback='forbid'>qemu64<\/model>\n {2}<\/cpu>/);
  assert.match(xml, /<emulator>\/usr\/bin\/qemu-system-x86_64<\/emulator>/);
});

test('no machine: the binary default; ARM virt gets GICv2 under TCG', () => {
  assert.match(define(domain('', 'qemu', "<type arch='x86_64'>hvm</type>")), /machine='pc-i440fx-7.2'/);
  const arm = define(domain('', 'qemu', "<type arch='aarch64' machine='virt'>hvm</type>"), 'aarch64');
  assert.match(arm, /<features>\n {4}<gic version='2'\/>\n {2}<\/features>/);
  assert.match(arm, /<model fallback='forbid'>cortex-a15<\/model>/);
});

test('host-passthrough gets migratable from the probed max CPU type, check none', () => {
  assert.match(define(domain("<cpu mode='host-passthrough'/>", 'kvm')), /<cpu mode='host-passthrough' check='none' migratable='on'\/>/);
});

test('seclabel without model takes the driver default', () => {
  assert.match(define(domain("<seclabel type='dynamic' relabel='yes'/>")), /<seclabel type='none' model='none'\/>/);
});

test('read-only pflash loader gets the per-domain NVRAM path', () => {
  const os = "<type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>/fw/CODE.fd</loader>";
  assert.match(define(domain('<features><acpi/></features>', 'qemu', os)), /<nvram>\/nv\/g_VARS.fd<\/nvram>/);
});

test('validation messages', () => {
  assert.equal(rejection(domain('', 'kvm', "<type arch='aarch64' machine='virt'>hvm</type>"), 'aarch64'),
    "unsupported configuration: Emulator '/usr/bin/qemu-system-aarch64' does not support virt type 'kvm'");
  assert.equal(rejection(domain('', 'qemu', "<type arch='x86_64' machine='pc-0.12'>hvm</type>")),
    "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support machine type 'pc-0.12'");
  assert.equal(rejection(domain("<vcpu>3</vcpu><cpu><topology sockets='1' cores='2' threads='1'/></cpu>")),
    "unsupported configuration: CPU topology doesn't match maximum vcpu count");
  assert.equal(rejection(domain("<features><hpt/></features>")),
    "unsupported configuration: The 'hpt' feature is not supported for architecture 'x86_64' or machine type 'pc-q35-7.2'");
  assert.equal(rejection(domain("<maxMemory slots='2'>4</maxMemory>")),
    'unsupported configuration: At least one numa node has to be configured when enabling memory hotplug');
  const efi = "<type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>/fw/CODE.fd</loader>";
  assert.equal(rejection(domain('', 'qemu', efi)), 'unsupported configuration: UEFI requires ACPI on this architecture');
  assert.equal(rejection(domain("<features><smm><tseg unit='KiB'>1000</tseg></smm></features>")),
    'unsupported configuration: SMM TSEG size must be divisible by 1 MiB');
});

test('generic checks: firmware, scheduler overlap, hugepages', () => {
  assert.equal(rejection(domain('<features><acpi/></features>', 'qemu', "<type arch='x86_64' machine='q35'>hvm</type><loader type='pflash'/>")),
    'no loader path specified and firmware auto selection disabled');
  assert.equal(rejection(domain("<vcpu>2</vcpu><cputune><vcpusched vcpus='0-1' scheduler='idle'/><vcpusched vcpus='1' scheduler='batch'/></cputune>")),
    "'vcpusched' attributes 'vcpus' must not overlap");
  assert.match(define(domain("<vcpu>2</vcpu><cputune><vcpusched vcpus='0-1' scheduler='fifo' priority='1'/></cputune>")),
    /<vcpusched vcpus='0' scheduler='fifo' priority='1'\/>\n {4}<vcpusched vcpus='1' scheduler='fifo' priority='1'\/>/);
  assert.equal(rejection(domain("<memoryBacking><hugepages><page size='2' unit='M'/><page size='1' unit='G'/></hugepages></memoryBacking>")),
    'two master hugepages detected: 1048576 and 2048');
});
