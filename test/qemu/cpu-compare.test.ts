// The guest/host CPU checks on a small hand-written cpu_map and a synthetic
// host CPU: nothing here reads /usr/share/libvirt or the real CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { virErrorMessage } from '../helpers/errors.js';
import { bitKey, featureBits, featureNamesIn, loadX86CpuMap, parseX86CpuMap } from '../../src/conf/cpu-map.js';
import type { X86CpuMap } from '../../src/conf/cpu-map.js';
import { checkForbiddenFeatures, checkX86CpuCompatible } from '../../src/conf/cpu-compare.js';
import { formatDomainCapabilitiesXML } from '../../src/conf/capabilities.js';
import { decodeX86Cpu, makeSignature, signatureParts } from '../../src/conf/cpu-decode.js';
import { decodeQemuHostModel, qemuCpuModels, qemuGuestCpu, qemuHostModel, updatedGuestCpu } from '../../src/drivers/qemu/host-cpu-model.js';
import type { QemuHostCpuModel } from '../../src/drivers/qemu/capabilities.js';
import type { X86CpuData } from '../../src/conf/cpu-compare.js';
import { decodeHostX86Cpu, fullHostCpu, tscKHzFromKernelLog } from '../../src/drivers/qemu/host-cpu.js';
import { fakeQemuCaps } from '../helpers/qemu-caps.js';
import type { CpuSource, CpuidRegisters } from '../../src/drivers/qemu/host-cpu.js';
import { checkGuestCpuCompatible, checkTscFrequency } from '../../src/drivers/qemu/guest-cpu-check.js';
import { parseXml } from '../../src/util/xml.js';

const FILES: Record<string, string> = {
  'index.xml': `<cpus>
  <arch name='x86'>
    <include filename='x86_vendors.xml'/>
    <include filename='x86_features.xml'/>
    <include filename='x86_base.xml'/>
    <include filename='x86_derived.xml'/>
    <include filename='x86_other.xml'/>
  </arch>
  <arch name='arm'>
    <include filename='missing-but-unused.xml'/>
  </arch>
</cpus>`,
  'x86_vendors.xml': `<cpus>
  <vendor name='Intel' string='GenuineIntel'/>
  <vendor name='AMD' string='AuthenticAMD'/>
</cpus>`,
  // map order differs from bit order on purpose: messages follow the map
  'x86_features.xml': `<cpus>
  <!-- standard features, EDX -->
  <feature name='fpu'><cpuid eax_in='0x01' edx='0x00000001'/></feature>
  <feature name='ds'><cpuid eax_in='0x01' edx='0x00200000'/></feature>
  <feature name='monitor'><cpuid eax_in='0x01' ecx='0x00000008'/></feature>
  <feature name='pni'><cpuid eax_in='0x01' ecx='0x00000001'/></feature>
  <feature name='hle'><cpuid eax_in='0x07' ecx_in='0x00' ebx='0x00000010'/></feature>
  <feature name='rtm'><cpuid eax_in='0x07' ecx_in='0x00' ebx='0x00000800'/></feature>
  <feature name='arch-capabilities'><cpuid eax_in='0x07' ecx_in='0x00' edx='0x20000000'/></feature>
  <feature name='svm'><cpuid eax_in='0x80000001' ecx='0x00000004'/></feature>
  <feature name='wdt'><cpuid eax_in='0x80000001' ecx='0x00002000'/></feature>
  <feature name='invtsc' migratable='no'><cpuid eax_in='0x80000007' edx='0x00000100'/></feature>
  <feature name='tsc-scale'><cpuid eax_in='0x8000000a' edx='0x00000010'/></feature>
  <feature name='rdctl-no'><msr index='0x10a' edx='0x00000000' eax='0x00000001'/></feature>
  <feature name='mds-no'><msr index='0x10a' edx='0x00000000' eax='0x00000020'/></feature>
</cpus>`,
  'x86_base.xml': `<cpus>
  <model name='base'>
    <decode host='on' guest='on'/>
    <signature family='6' model='60' stepping='1-3'/>
    <vendor name='Intel'/>
    <feature name='fpu'/>
    <feature name='monitor'/>
    <feature name='pni'/>
    <feature name='ds' removed='yes'/>
  </model>
</cpus>`,
  'x86_derived.xml': `<cpus>
  <model name='derived'>
    <model name='base'/>
    <feature name='hle'/>
    <feature name='rtm'/>
  </model>
</cpus>`,
  'x86_other.xml': `<cpus>
  <model name='generic'>
    <decode host='on' guest='on'/>
    <feature name='fpu'/>
  </model>
  <model name='amdish'>
    <decode host='off' guest='on'/>
    <vendor name='AMD'/>
    <feature name='fpu'/>
    <feature name='pni'/>
    <feature name='svm'/>
  </model>
</cpus>`,
};

function withMapDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-cpumap-'));
  try {
    for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MAP: X86CpuMap = withMapDir(parseX86CpuMap);

function hostWith(names: string[], vendor = 'AMD'): X86CpuData {
  const data = new Set<string>();
  for (const n of names) for (const b of MAP.featureByName.get(n)!.bits) data.add(bitKey(b));
  return { vendor, data };
}

const cpu = (xml: string) => parseXml(xml);

test('the map keeps file order, decodes bits and inherits ancestor models', () => {
  assert.deepEqual(MAP.features.map((f) => f.name), ['fpu', 'ds', 'monitor', 'pni', 'hle', 'rtm', 'arch-capabilities', 'svm', 'wdt', 'invtsc', 'tsc-scale', 'rdctl-no', 'mds-no']);
  assert.deepEqual(MAP.featureByName.get('rtm')!.bits, [{ source: 'cpuid', leaf: 7, subleaf: 0, register: 'ebx', bit: 11 }]);
  assert.deepEqual(MAP.featureByName.get('mds-no')!.bits, [{ source: 'msr', leaf: 0x10a, subleaf: 0, register: 'eax', bit: 5 }]);
  const derived = MAP.models.get('derived')!;
  assert.deepEqual(derived.features, ['fpu', 'monitor', 'pni', 'hle', 'rtm']);
  assert.deepEqual(derived.removedFeatures, ['ds']);
  assert.equal(derived.vendor, 'Intel');
  assert.deepEqual(derived.signatures, [{ family: 6, model: 60, steppings: new Set([1, 2, 3]) }]);
  assert.equal(derived.decodeGuest, true);
  assert.equal(MAP.vendors.get('AMD'), 'AuthenticAMD');
  assert.deepEqual(featureNamesIn(MAP, hostWith(['rtm', 'ds']).data), ['ds', 'rtm']);
});

test('a missing or unreadable map is undefined, never a crash; the folder can be overridden', () => {
  assert.equal(loadX86CpuMap('/nonexistent/cpu_map'), undefined);
  withMapDir((dir) => {
    const saved = process.env.TSVIRT_CPU_MAP_DIR;
    process.env.TSVIRT_CPU_MAP_DIR = dir;
    try {
      assert.deepEqual(loadX86CpuMap()?.models.get('base')?.features, ['fpu', 'monitor', 'pni']);
    } finally {
      if (saved === undefined) delete process.env.TSVIRT_CPU_MAP_DIR;
      else process.env.TSVIRT_CPU_MAP_DIR = saved;
    }
  });
});

test('missing model and required features are listed in map order', () => {
  const host = hostWith(['fpu', 'pni']);
  assert.equal(virErrorMessage(() => checkX86CpuCompatible(MAP, host, cpu("<cpu match='exact'><model>derived</model></cpu>"))),
    'the CPU is incompatible with host CPU: Host CPU does not provide required features: monitor, hle, rtm');
  assert.equal(virErrorMessage(() => checkX86CpuCompatible(MAP, host, cpu("<cpu><model>base</model><feature policy='require' name='ds'/></cpu>"))),
    'the CPU is incompatible with host CPU: Host CPU does not provide required features: ds, monitor');
  // a feature without policy is required
  assert.match(virErrorMessage(() => checkX86CpuCompatible(MAP, hostWith(['fpu', 'monitor', 'pni']), cpu("<cpu><model>base</model><feature name='wdt'/></cpu>"))),
    /required features: wdt$/);
});

test('forced, optional and disabled features are not required', () => {
  const host = hostWith(['fpu', 'pni']);
  checkX86CpuCompatible(MAP, host, cpu(`<cpu><model>derived</model>
    <feature policy='force' name='hle'/><feature policy='optional' name='rtm'/><feature policy='disable' name='monitor'/>
    <feature policy='force' name='ds'/></cpu>`));
  checkX86CpuCompatible(MAP, host, cpu("<cpu mode='host-model'><model fallback='allow'/><feature policy='require' name='pni'/></cpu>"));
});

test('forbidden features, strict match and vendor', () => {
  const host = hostWith(['fpu', 'monitor', 'pni', 'wdt']);
  assert.equal(virErrorMessage(() => checkX86CpuCompatible(MAP, host, cpu("<cpu><model>base</model><feature policy='forbid' name='wdt'/><feature policy='forbid' name='ds'/></cpu>"))),
    'the CPU is incompatible with host CPU: Host CPU provides forbidden features: wdt');
  assert.equal(virErrorMessage(() => checkX86CpuCompatible(MAP, host, cpu("<cpu match='strict'><model>base</model></cpu>"))),
    'the CPU is incompatible with host CPU: Host CPU does not strictly match guest CPU: Extra features: wdt');
  checkX86CpuCompatible(MAP, host, cpu("<cpu match='strict'><model>base</model><feature policy='optional' name='wdt'/></cpu>"));
  assert.equal(virErrorMessage(() => checkX86CpuCompatible(MAP, host, cpu('<cpu><vendor>Intel</vendor><model>base</model></cpu>'))),
    'the CPU is incompatible with host CPU: host CPU vendor does not match required CPU vendor Intel');
});

test('unknown models and features are internal errors', () => {
  const host = hostWith(['fpu']);
  assert.equal(virErrorMessage(() => checkX86CpuCompatible(MAP, host, cpu('<cpu><model>nosuch</model></cpu>'))), 'internal error: Unknown CPU model nosuch');
  assert.equal(virErrorMessage(() => checkX86CpuCompatible(MAP, host, cpu("<cpu><model>base</model><feature name='bogus'/></cpu>"))), 'internal error: Unknown CPU feature bogus');
});

/** A synthetic AMD CPU: leaves as given, everything else zero. */
function source(leaves: Record<string, CpuidRegisters>, extra: Partial<CpuSource> = {}): CpuSource {
  return {
    cpuid: (leaf, subleaf) => leaves[`${leaf.toString(16)}:${subleaf}`] ?? [0, 0, 0, 0],
    msr: () => undefined,
    tscKHz: () => 2596138,
    kvm: () => true,
    ...extra,
  };
}
// "AuthenticAMD" as ebx, edx, ecx
const AMD_LEAF0 = (max: number): CpuidRegisters => [max, 0x68747541, 0x444d4163, 0x69746e65];

test('host CPUID decodes into vendor and features; leaves past the maximum are not read', () => {
  const read: string[] = [];
  const src = source({
    '0:0': AMD_LEAF0(1),
    '1:0': [0, 0, 0x00000009, 0x00200001],
    '7:0': [0, 0xffffffff, 0, 0xffffffff],
    '80000000:0': [0x80000001, 0, 0, 0],
    '80000001:0': [0, 0, 0x00002000, 0],
  });
  const host = decodeHostX86Cpu(MAP, { ...src, cpuid: (l, s) => (read.push(`${l.toString(16)}:${s}`), src.cpuid(l, s)) })!;
  assert.equal(host.vendor, 'AMD');
  assert.deepEqual(featureNamesIn(MAP, host.data), ['fpu', 'ds', 'monitor', 'pni', 'wdt']);
  assert.ok(!read.includes('7:0') && !read.includes('80000007:0'), read.join(' '));
  assert.equal(host.tsc, undefined, 'no invariant TSC, no TSC probe');
});

test('IA32_ARCH_CAPABILITIES is read only when CPUID announces it', () => {
  const leaves = { '0:0': AMD_LEAF0(7), '7:0': [0, 0, 0, 0x20000000] as CpuidRegisters, '80000000:0': [0x80000000, 0, 0, 0] as CpuidRegisters };
  const withMsr = decodeHostX86Cpu(MAP, source(leaves, { msr: (i) => (i === 0x10a ? 0x21n : undefined) }))!;
  assert.deepEqual(featureNamesIn(MAP, withMsr.data), ['arch-capabilities', 'rdctl-no', 'mds-no']);
  const without = decodeHostX86Cpu(MAP, source({ ...leaves, '7:0': [0, 0, 0, 0] }, { msr: () => 0x21n }))!;
  assert.deepEqual(featureNamesIn(MAP, without.data), []);
});

test('the TSC is probed for an invariant TSC with KVM; scaling needs SVM TSC ratio (or VMX scaling)', () => {
  const leaves = (svm: boolean, scale: boolean): Record<string, CpuidRegisters> => ({
    '0:0': AMD_LEAF0(1),
    '80000000:0': [0x8000000a, 0, 0, 0],
    '80000001:0': [0, 0, svm ? 4 : 0, 0],
    '80000007:0': [0, 0, 0, 0x100],
    '8000000a:0': [0, 0, 0, scale ? 0x10 : 0],
  });
  assert.deepEqual(decodeHostX86Cpu(MAP, source(leaves(false, false)))!.tsc, { frequency: 2596138000, scaling: false });
  assert.deepEqual(decodeHostX86Cpu(MAP, source(leaves(true, true)))!.tsc, { frequency: 2596138000, scaling: true });
  assert.deepEqual(decodeHostX86Cpu(MAP, source(leaves(true, false)))!.tsc, { frequency: 2596138000, scaling: false });
  assert.equal(decodeHostX86Cpu(MAP, source(leaves(false, false), { kvm: () => false }))!.tsc, undefined);
  assert.equal(decodeHostX86Cpu(MAP, source(leaves(false, false), { tscKHz: () => undefined }))!.tsc, undefined);
});

test('the TSC frequency comes from the most precise kernel log line', () => {
  const processor = '6,17,57,-;tsc: Detected 2596.152 MHz processor\n';
  const tsc = '6,18,58,-;tsc: Detected 2596.140 MHz TSC\n';
  const refined = '6,300,1500000,-;tsc: Refined TSC clocksource calibration: 2596.138 MHz\n';
  const noise = '6,256,381715,-;clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x256c08e7455\n';
  assert.equal(tscKHzFromKernelLog([processor, noise]), 2596152);
  assert.equal(tscKHzFromKernelLog([processor, tsc, noise]), 2596140);
  assert.equal(tscKHzFromKernelLog([refined, processor, tsc]), 2596138);
  assert.equal(tscKHzFromKernelLog([noise]), undefined);
});

const domain = (type: string, cpuXml: string, clock = '') =>
  parseXml(`<domain type='${type}'><os><type arch='x86_64'>hvm</type></os>${cpuXml}${clock}</domain>`);

test('TSC frequency outside 250 ppm of the host without scaling is refused', () => {
  const def = domain('kvm', '', "<clock offset='utc'><timer name='tsc' frequency='4567890000'/></clock>");
  assert.equal(virErrorMessage(() => checkTscFrequency(def, { frequency: 2596138000, scaling: false })),
    'unsupported configuration: Requested TSC frequency 4567890000 Hz is outside tolerance range ([2595488966, 2596787034] Hz) around host frequency 2596138000 Hz and TSC scaling is not supported by the host CPU');
  checkTscFrequency(def, { frequency: 2596138000, scaling: true });
  checkTscFrequency(def, { frequency: 2596138000 });
  checkTscFrequency(def, undefined);
  checkTscFrequency(domain('kvm', '', "<clock offset='utc'><timer name='tsc' frequency='2596787034'/></clock>"), { frequency: 2596138000, scaling: false });
  assert.throws(() => checkTscFrequency(domain('kvm', '', "<clock offset='utc'><timer name='tsc' frequency='2596787035'/></clock>"), { frequency: 2596138000, scaling: false }));
});

test('x86 guests with check=partial are compared, when the host CPU is known', () => {
  const host = hostWith(['fpu']);
  const refused = domain('kvm', "<cpu mode='custom' match='exact' check='partial'><model>base</model></cpu>");
  assert.match(virErrorMessage(() => checkGuestCpuCompatible(refused, MAP, () => host)), /required features: monitor, pni$/);
  assert.match(virErrorMessage(() => checkGuestCpuCompatible(domain('qemu', "<cpu mode='custom' match='exact' check='partial'><model>base</model></cpu>"), MAP, () => host)), /monitor, pni$/);
  checkGuestCpuCompatible(refused, MAP, () => undefined);
  checkGuestCpuCompatible(parseXml("<domain type='kvm'><os><type arch='aarch64'>hvm</type></os><cpu mode='custom' check='partial'><model>base</model></cpu></domain>"), MAP, () => host);
  checkGuestCpuCompatible(domain('kvm', "<cpu mode='custom' match='exact' check='none'><model>base</model></cpu>"), MAP, () => host);
  checkGuestCpuCompatible(domain('kvm', "<cpu mode='host-passthrough' check='partial'><feature name='wdt'/></cpu>"), MAP, () => host);
  checkGuestCpuCompatible(domain('kvm', "<cpu mode='custom' check='partial'><topology sockets='1' cores='1' threads='1'/></cpu>"), MAP, () => host);
  assert.throws(() => checkGuestCpuCompatible(domain('kvm', "<cpu mode='host-model' check='partial'><feature name='wdt'/></cpu>"), MAP, () => host));
});

test('a forbidden feature the host CPU names is refused by name, before any comparison', () => {
  const host = { ...hostWith(['fpu', 'pni', 'wdt']), listed: new Set(['wdt']) };
  const guest = cpu("<cpu><model>derived</model><feature policy='forbid' name='wdt'/></cpu>");
  assert.equal(virErrorMessage(() => checkForbiddenFeatures(host, guest)), "the CPU is incompatible with host CPU: Host CPU provides forbidden feature 'wdt'");
  checkForbiddenFeatures(hostWith(['fpu', 'pni', 'wdt']), guest);
  const def = domain('kvm', "<cpu mode='custom' match='exact' check='full'><model>derived</model><feature policy='forbid' name='wdt'/></cpu>");
  assert.match(virErrorMessage(() => checkGuestCpuCompatible(def, MAP, () => host)), /forbidden feature 'wdt'$/);
});

test("TCG's host CPU is QEMU's probed 'max' model, QEMU's spellings turned into libvirt's, unknown names left out", () => {
  const caps = fakeQemuCaps('x86_64', {});
  const tcg = (names: string[]) => fullHostCpu(MAP, undefined, { ...caps, hostCpuModels: { tcg: { features: names, nonMigratable: [] } } }, 'tcg');
  // pni and ds under their QEMU names, plus a feature the map does not know
  assert.deepEqual(tcg(['pni', 'ds', 'no-such-flag'])?.data, featureBits(MAP, ['pni', 'ds']));
  assert.equal(fullHostCpu(MAP, undefined, caps, 'tcg'), undefined, 'no probed model: no host CPU, the checks are skipped');
});

const names = (cpu: { features: readonly { name: string; policy: string }[] } | undefined) => cpu?.features.map((f) => `${f.policy}:${f.name}`);

test('decoding picks the allowed model with the shortest feature list, newest first', () => {
  const amd = { ...hostWith(['fpu', 'pni', 'svm', 'wdt']), signature: 0 };
  const host = decodeX86Cpu(MAP, amd, 'host');
  assert.equal(host?.model, 'generic', 'amdish may not name a host CPU, Intel models are the wrong vendor');
  assert.deepEqual(names(host), ['require:pni', 'require:svm', 'require:wdt']);
  const guest = decodeX86Cpu(MAP, amd, 'guest');
  assert.equal(guest?.model, 'amdish');
  assert.deepEqual(names(guest), ['require:wdt']);
});

test('a matching signature wins; host CPUs never disable; broken Intel TSX is ignored', () => {
  assert.deepEqual(signatureParts(0x306c2), { family: 6, model: 60, stepping: 2 });
  const intel = { ...hostWith(['fpu', 'monitor', 'pni', 'hle', 'rtm'], 'Intel'), signature: 0x306c2 };
  const host = decodeX86Cpu(MAP, intel, 'host');
  assert.equal(host?.model, 'base');
  assert.deepEqual(names(host), []);
  // guests spell out the model's removed features
  assert.deepEqual(names(decodeX86Cpu(MAP, intel, 'guest')), ['disable:ds']);
  // the signature outweighs a longer feature list (guests may disable features)
  const bare = { ...hostWith(['fpu'], 'Intel'), signature: 0x306c2 };
  assert.equal(decodeX86Cpu(MAP, bare, 'guest')?.model, 'base');
  assert.deepEqual(names(decodeX86Cpu(MAP, bare, 'guest')), ['disable:monitor', 'disable:pni', 'disable:ds']);
  assert.equal(decodeX86Cpu(MAP, { ...bare, signature: 0x306d2 }, 'guest')?.model, 'generic');
  // stepping 4 is outside the signature (model 60's TSX stays broken)
  assert.equal(decodeX86Cpu(MAP, { ...intel, signature: 0x306c4 }, 'host')?.model, 'base');
  // model 61 matches no signature and its TSX works: derived describes it exactly
  const newer = decodeX86Cpu(MAP, { ...intel, signature: 0x306d4 }, 'host');
  assert.equal(newer?.model, 'derived');
  assert.deepEqual(names(newer), []);
});

test('makeSignature builds the CPUID signature signatureParts reads (extended family and model)', () => {
  assert.equal(makeSignature(25, 17, 1), 0xa10f11);
  assert.deepEqual(signatureParts(makeSignature(25, 17, 1)), { family: 25, model: 17, stepping: 1 });
  assert.equal(makeSignature(6, 60, 2), 0x306c2);
});

const intelHostModel: QemuHostCpuModel = {
  features: ['fpu', 'monitor', 'pni', 'invtsc'], nonMigratable: ['invtsc'], vendor: 'GenuineIntel', family: 6, model: 60, stepping: 2,
};

test("QEMU's host model decodes into a map model; the migratable one leaves out non-migratable features", () => {
  const migratable = decodeQemuHostModel(MAP, intelHostModel, { migratable: true });
  assert.equal(migratable?.model, 'base');
  assert.equal(migratable?.vendor, 'Intel');
  assert.deepEqual(names(migratable), ['disable:ds']);
  assert.deepEqual(names(decodeQemuHostModel(MAP, intelHostModel, { migratable: false })), ['require:invtsc', 'disable:ds']);
  // QEMU's spelling pclmulqdq is libvirt's pclmuldq: unknown to this map, left out
  assert.deepEqual(names(decodeQemuHostModel(MAP, { ...intelHostModel, features: [...intelHostModel.features, 'pclmulqdq'] }, { migratable: true })), ['disable:ds']);
});

test('only models the hypervisor offers are candidates, and their blockers are disabled', () => {
  const amd: QemuHostCpuModel = { features: ['fpu', 'pni', 'svm', 'wdt'], nonMigratable: [], vendor: 'AuthenticAMD' };
  assert.equal(decodeQemuHostModel(MAP, amd, { migratable: true })?.model, 'amdish');
  assert.equal(decodeQemuHostModel(MAP, amd, { migratable: true, hvModels: new Map([['generic', []]]) })?.model, 'generic');
  // svm blocks amdish: disabled, amdish weighs as much as generic with more disabled, generic wins
  const blocked = new Map([['amdish', ['svm']], ['generic', []]]);
  assert.equal(decodeQemuHostModel(MAP, amd, { migratable: true, hvModels: blocked })?.model, 'generic');
  assert.deepEqual(names(decodeQemuHostModel(MAP, amd, { migratable: true, hvModels: new Map([['amdish', ['svm']]]) })), ['require:wdt', 'disable:svm']);
  const caps = { ...fakeQemuCaps('x86_64'), cpuModels: [{ name: 'amdish', unavailableFeatures: ['svm'], deprecated: false, static: false }] };
  assert.deepEqual([...qemuCpuModels(caps, 'tcg')], [['amdish', ['svm']]]);
  assert.deepEqual([...qemuCpuModels(caps, 'kvm')], [['amdish', []]], 'blockers are known only for TCG');
});

test("MSR features are dropped from the host model of a binary without max-x86_64-cpu (libvirt's unavailable-features check)", () => {
  const msrHost: QemuHostCpuModel = { ...intelHostModel, features: ['fpu', 'monitor', 'pni', 'arch-capabilities', 'rdctl-no'] };
  assert.deepEqual(names(decodeQemuHostModel(MAP, msrHost, { migratable: true })), ['require:arch-capabilities', 'require:rdctl-no', 'disable:ds']);
  assert.deepEqual(names(decodeQemuHostModel(MAP, msrHost, { migratable: true, dropMsrFeatures: true })), ['require:arch-capabilities', 'disable:ds']);
  const x86 = fakeQemuCaps('x86_64');
  const offered = [{ name: 'base', deprecated: false, static: false }];
  const withHost = (deviceTypes: string[]) => ({ ...x86, deviceTypes: new Set(deviceTypes), cpuModels: offered, hostCpuModels: { kvm: msrHost } });
  assert.deepEqual(names(qemuHostModel(MAP, withHost(['max-i386-cpu']), 'kvm', true)), ['require:arch-capabilities', 'disable:ds']);
  assert.deepEqual(names(qemuHostModel(MAP, withHost(['max-x86_64-cpu']), 'kvm', true)), ['require:arch-capabilities', 'require:rdctl-no', 'disable:ds']);
  assert.equal(qemuHostModel(MAP, { ...withHost([]), cpuModels: [] }, 'kvm', true), undefined, 'no model offered: nothing decodes');
  assert.equal(qemuHostModel(MAP, x86, 'kvm', true), undefined, 'no probed host model');
});

test("virCPUx86Update: host-model and match='minimum' become the host model with the guest's policies; removed features are disabled", () => {
  const host = decodeQemuHostModel(MAP, { ...intelHostModel, features: ['fpu', 'monitor', 'pni', 'wdt'] }, { migratable: true });
  const hostModel = updatedGuestCpu(MAP, cpu("<cpu mode='host-model'><feature policy='disable' name='wdt'/><feature policy='force' name='svm'/></cpu>"), host);
  assert.deepEqual(hostModel && { model: hostModel.model, features: names(hostModel) }, { model: 'base', features: ['disable:wdt', 'disable:ds', 'force:svm'] });
  const minimum = updatedGuestCpu(MAP, cpu("<cpu match='minimum'><model>generic</model></cpu>"), host);
  assert.equal(minimum?.model, 'base');
  assert.equal(updatedGuestCpu(MAP, cpu("<cpu mode='host-model'/>"), undefined), undefined, 'no host model: nothing to become');
  const custom = updatedGuestCpu(MAP, cpu("<cpu><model>derived</model><feature policy='disable' name='pni'/></cpu>"), host);
  assert.deepEqual(custom && { model: custom.model, features: names(custom) }, { model: 'derived', features: ['disable:pni', 'disable:ds'] });
});

test('the CPU QEMU gets leaves out features libvirt never passes and disabled features QEMU does not know', () => {
  const caps = {
    ...fakeQemuCaps('x86_64'),
    cpuModels: [{ name: 'base', deprecated: false, static: false }],
    hostCpuModels: { tcg: { ...intelHostModel, knownFeatures: ['fpu', 'monitor', 'pni', 'ds', 'invtsc'] } },
  };
  const guest = (xml: string) => names(qemuGuestCpu(MAP, caps, cpu(xml), 'tcg'));
  // wdt is unknown to this QEMU: disabled it is dropped, required it stays (QEMU will complain)
  assert.deepEqual(guest("<cpu><model>base</model><feature policy='disable' name='wdt'/><feature policy='require' name='svm'/></cpu>"), ['require:svm', 'disable:ds']);
  assert.deepEqual(guest("<cpu><model>base</model><feature policy='forbid' name='wdt'/><feature policy='disable' name='osxsave'/><feature policy='require' name='cmt'/></cpu>"), ['disable:ds']);
  assert.deepEqual(guest("<cpu mode='host-model'><feature policy='disable' name='pni'/></cpu>"), ['disable:ds', 'disable:pni'], 'the host model first, guest features after');
  // without probed knowledge nothing unknown can be told apart
  assert.deepEqual(names(qemuGuestCpu(MAP, { ...caps, hostCpuModels: {} }, cpu("<cpu><model>base</model><feature policy='disable' name='wdt'/></cpu>"), 'tcg')), ['disable:wdt', 'disable:ds']);
});

test("domcapabilities' host-model mode: the reported (non-migratable) host model, libvirt's layout", () => {
  const caps = { ...fakeQemuCaps('x86_64'), cpuModels: [{ name: 'base', deprecated: false, static: false }], hostCpuModels: { tcg: intelHostModel } };
  const reported = qemuHostModel(MAP, caps, 'tcg', false);
  assert.deepEqual(names(reported), ['require:invtsc', 'disable:ds']);
  const xml = formatDomainCapabilitiesXML({
    path: '/usr/bin/qemu-system-x86_64', domain: 'qemu', arch: 'x86_64', iothreads: true, os: { supported: false, firmware: [] },
    cpu: { hostPassthrough: false, customModels: [], hostModel: { ...reported!, fallback: 'forbid' } },
    memoryBacking: { supported: false, sourceTypes: [] }, devices: [], features: [],
  });
  assert.match(xml, /<mode name='host-model' supported='yes'>\n {6}<model fallback='forbid'>base<\/model>\n {6}<vendor>Intel<\/vendor>\n {6}<feature policy='require' name='invtsc'\/>\n {6}<feature policy='disable' name='ds'\/>\n {4}<\/mode>\n/);
  assert.match(formatDomainCapabilitiesXML({
    path: '/usr/bin/qemu-system-x86_64', domain: 'qemu', arch: 'x86_64', iothreads: true, os: { supported: false, firmware: [] },
    cpu: { hostPassthrough: false, customModels: [] }, memoryBacking: { supported: false, sourceTypes: [] }, devices: [], features: [],
  }), /<mode name='host-model' supported='no'\/>/);
});

test('optional features follow the host model: required when it has them, disabled otherwise', () => {
  const host = decodeQemuHostModel(MAP, { ...intelHostModel, features: ['fpu', 'monitor', 'pni', 'wdt'] }, { migratable: true });
  const updated = updatedGuestCpu(MAP, cpu("<cpu><model>generic</model><feature policy='optional' name='wdt'/><feature policy='optional' name='svm'/><feature policy='optional' name='pni'/></cpu>"), host);
  assert.deepEqual(names(updated), ['require:wdt', 'disable:svm', 'require:pni']);
  assert.deepEqual(names(updatedGuestCpu(MAP, cpu("<cpu><model>generic</model><feature policy='optional' name='wdt'/></cpu>"), undefined)), ['optional:wdt'], 'no host model: left as written');
});
