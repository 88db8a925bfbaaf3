// tsvirsh cpu-baseline / hypervisor-cpu-baseline against real virsh on
// qemu:///system, on the same host: this host's capabilities and domain
// capabilities (as libvirt reports them now, never recorded), CPU definitions
// of our own (guest CPUs with feature policies, several vendors, ARM, ppc64)
// and the baseline inputs of libvirt's tests/cputestdata when its source is
// beside the project, with and without --features / --migratable, and the
// error cases: the same output, errors and exit codes; then the same through
// tsvirtd (and its read-only socket), with tsvirsh and real virsh as clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { libvirtUnavailable, runSystemVirsh, SYSTEM_URI } from '../helpers/libvirt.js';
import { tsvirsh as TSVIRSH } from '../helpers/shared.js';
import { spawnDaemon } from '../daemon/spawn-daemon.js';
import { libvirtSourceMissing, libvirtSrc } from '../helpers/libvirt-source.js';
import { tempDir } from '../helpers/temp-dir.js';

const unavailable = libvirtUnavailable() || (os.arch() !== 'x64' && 'the x86 CPU baselines are compared on an x86_64 host');
if (unavailable) process.stderr.write(`*** cpu-baseline comparison SKIPPED: ${unavailable} ***\n`);
const skip = unavailable ? `real libvirt on x86_64 needed: ${unavailable}` : false;

const cputestdata = path.join(libvirtSrc, 'tests', 'cputestdata');
const noTestData = libvirtSourceMissing('cpu-baseline on libvirt\'s cputestdata', 'tests/cputestdata');

const root = tempDir('cpubaseline');
const EMBED = `qemu:///embed?root=${path.join(root, 'embed')}`;

interface Run { code: number; stdout: string; stderr: string }

function run(argv: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const tsvirsh = (uri: string, args: readonly string[]) => run([process.execPath, TSVIRSH, '-c', uri, ...args]);
const virsh = (uri: string, args: readonly string[]) => run(['virsh', '-c', uri, ...args]);

/** Each command line run by both, two at a time (the machine is shared); the first difference fails. */
async function compareAll(commands: readonly (readonly string[])[], ours: (args: readonly string[]) => Promise<Run>): Promise<void> {
  const queue = [...commands];
  const worker = async () => {
    for (let args = queue.shift(); args; args = queue.shift()) {
      const [mine, theirs] = await Promise.all([ours(args), virsh(SYSTEM_URI, args)]);
      assert.deepEqual(mine, theirs, args.join(' '));
    }
  };
  await Promise.all([worker(), worker()]);
}

const OWN: Record<string, string> = {
  // guest CPUs: every policy, a vendor on the second only, a model the hypervisor decodes differently
  'guests.xml': "<cpu match='exact'><model>Haswell-noTSX</model><feature policy='disable' name='avx2'/><feature policy='optional' name='aes'/><feature policy='force' name='vmx'/></cpu>\n"
    + "<cpu><model>Skylake-Client</model><vendor>Intel</vendor><feature policy='forbid' name='fma'/></cpu>",
  'one-model.xml': "<?xml version='1.0'?>\n<cpu><arch>x86_64</arch><model>Westmere</model><vendor>Intel</vendor><feature name='invtsc'/><feature name='osxsave'/></cpu>",
  'domain.xml': "<domain type='kvm'><name>d</name><cpu mode='custom' match='exact'><model>Nehalem</model></cpu></domain>",
  'host-model-domain.xml': "<domain type='kvm'><name>d</name><cpu mode='host-model'/></domain>",
  'incompatible.xml': "<cpu><arch>x86_64</arch><model>486</model><feature name='fpu'/></cpu>\n<cpu><arch>x86_64</arch><model>Opteron_G1</model><vendor>AMD</vendor></cpu>",
  'vendors.xml': "<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor></cpu>\n<cpu><arch>x86_64</arch><model>Opteron_G3</model><vendor>AMD</vendor></cpu>",
  'model-vendor.xml': "<cpu><arch>x86_64</arch><model>qemu64</model></cpu>\n<cpu><arch>x86_64</arch><model>Haswell</model><vendor>AMD</vendor></cpu>",
  'unknown-vendor.xml': "<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Foo</vendor></cpu>",
  'unknown-model.xml': "<cpu><arch>x86_64</arch><model>NoSuch</model></cpu>",
  'unknown-feature.xml': "<cpu><arch>x86_64</arch><model>Haswell</model><feature name='nosuch'/></cpu>",
  'duplicate-feature.xml': "<cpu><arch>x86_64</arch><model>Haswell</model><feature name='sse2'/><feature name='sse2'/></cpu>",
  'bad-policy.xml': "<cpu><model>Haswell</model><feature policy='bogus' name='avx2'/></cpu>",
  'no-model.xml': "<cpu><arch>x86_64</arch><vendor>Intel</vendor></cpu>",
  'arch-and-match.xml': "<cpu match='exact'><arch>x86_64</arch><model>Haswell</model></cpu>",
  'unknown-arch.xml': '<cpu><arch>foo</arch><model>x</model></cpu>',
  'empty-arch.xml': '<cpu><arch></arch><model>x</model></cpu>',
  'nameless-feature.xml': "<cpu><arch>x86_64</arch><model>Haswell</model><feature policy='require'/></cpu>",
  'no-cpu-driver.xml': '<cpu><arch>sparc</arch><model>x</model></cpu>',
  's390.xml': '<cpu><arch>s390x</arch><model>z13</model></cpu>',
  'arm.xml': "<cpu><arch>aarch64</arch><model>cortex-a57</model><vendor>ARM</vendor><feature name='pmu'/></cpu>\n<cpu><arch>aarch64</arch><model>cortex-a53</model></cpu>",
  'ppc64.xml': '<cpu><arch>ppc64</arch><model>POWER8</model><vendor>IBM</vendor></cpu>\n<cpu><arch>ppc64</arch><model>POWER8</model></cpu>',
  'ppc64-models.xml': '<cpu><arch>ppc64</arch><model>POWER8</model></cpu>\n<cpu><arch>ppc64</arch><model>POWER9</model></cpu>',
  'syntax.xml': "<cpu><arch>x86_64</arch><model>Haswell</model>\n",
  'none.xml': '<foo/>',
};

/** Files whose CPUs baseline (rather than fail at once): each runs with every flag combination. */
const SUCCEEDING = new Set(['caps.xml', 'domcaps.xml', 'guests.xml', 'one-model.xml', 'incompatible.xml', 'arm.xml', 'ppc64.xml']);
const FLAGS = [[], ['--features'], ['--migratable'], ['--features', '--migratable']];

function writeInputs(files: Record<string, string>): string[] {
  return Object.entries(files).map(([name, text]) => {
    writeFileSync(path.join(root, name), text);
    return path.join(root, name);
  });
}

/** This host's capabilities and domain capabilities, as libvirt reports them now. */
async function liveInputs(): Promise<string[]> {
  const files: Record<string, string> = {};
  for (const [name, args] of [['caps.xml', ['capabilities']], ['domcaps.xml', ['domcapabilities']]] as const) {
    const r = await runSystemVirsh(...args);
    assert.equal(r.code, 0, r.stderr);
    files[name] = r.stdout;
  }
  return writeInputs(files);
}

/** cpu-baseline and hypervisor-cpu-baseline (TCG, and KVM where the host has it) of each file. */
function commandsFor(files: readonly string[], hypervisor: readonly (readonly string[])[]): string[][] {
  const commands: string[][] = [];
  for (const file of files) {
    const flagSets = SUCCEEDING.has(path.basename(file)) ? FLAGS : [[]];
    for (const flags of flagSets) {
      commands.push(['cpu-baseline', file, ...flags]);
      for (const extra of hypervisor) commands.push(['hypervisor-cpu-baseline', file, ...extra, ...flags]);
    }
  }
  return commands;
}

const HYPERVISORS = [['--virttype', 'qemu'], []];

test('cpu-baseline and hypervisor-cpu-baseline: libvirt\'s CPUs, errors and exit codes (tsvirsh embed)', { skip, timeout: 600_000 }, async () => {
  const files = [...(await liveInputs()), ...writeInputs(OWN)];
  const commands = commandsFor(files, HYPERVISORS);
  commands.push(
    ['hypervisor-cpu-baseline', '--model', 'Haswell-noTSX', '--virttype', 'qemu'],
    ['hypervisor-cpu-baseline', '--model', 'Skylake-Client', '--virttype', 'qemu', '--features'],
    ['hypervisor-cpu-baseline', '--model', 'NoSuch', '--virttype', 'qemu'],
    ['hypervisor-cpu-baseline', '--virttype', 'qemu'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--model', 'Haswell'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--arch', 'aarch64', '--virttype', 'qemu'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--virttype', 'foo'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--machine', 'nosuch'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--arch', 'foo'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--emulator', '/usr/bin/qemu-system-i386'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--emulator', '/usr/bin/qemu-system-aarch64'],
    ['hypervisor-cpu-baseline', path.join(root, 'guests.xml'), '--arch', 'i686', '--virttype', 'qemu', '--migratable'],
  );
  await compareAll(commands, (args) => tsvirsh(EMBED, args));
  // a baseline that is not an error message: the host's own CPU comes back as a guest CPU of its model
  const own = await tsvirsh(EMBED, ['cpu-baseline', path.join(root, 'caps.xml')]);
  assert.match(own.stdout, /^<cpu mode='custom' match='exact'>\n {2}<model fallback='forbid'>/);
});

test('cpu-baseline on libvirt\'s tests/cputestdata baseline inputs', { skip: skip || noTestData, timeout: 600_000 }, async () => {
  const inputs: Record<string, string> = {};
  for (const name of ['Westmere+Nehalem', 'features', 'incompatible-vendors', 'no-vendor', 'simple', 'some-vendors']) {
    // a <cpuTest> wraps the CPUs there; virsh reads top-level <cpu>s
    const text = readFileSync(path.join(cputestdata, `x86_64-baseline-${name}.xml`), 'utf8');
    inputs[`cputestdata-${name}.xml`] = text.replace(/<\/?cpuTest>/g, '');
  }
  const files = writeInputs(inputs);
  await compareAll(files.flatMap((file) => FLAGS.flatMap((flags) => [
    ['cpu-baseline', file, ...flags],
    ['hypervisor-cpu-baseline', file, '--virttype', 'qemu', ...flags],
  ])), (args) => tsvirsh(EMBED, args));
});

test('cpu-baseline and hypervisor-cpu-baseline through tsvirtd: tsvirsh and real virsh as clients', { skip, timeout: 600_000 }, async (t) => {
  const daemon = await spawnDaemon();
  t.after(() => daemon.stop());
  const uri = daemon.uri('qemu', '/system');
  const [caps, domcaps] = await liveInputs();
  const guests = writeInputs({ 'guests.xml': OWN['guests.xml']!, 'vendors.xml': OWN['vendors.xml']! });
  const commands = [
    ['cpu-baseline', caps!, '--features'],
    ['cpu-baseline', caps!, '--migratable'],
    ['cpu-baseline', guests[1]!],
    ['hypervisor-cpu-baseline', domcaps!, '--virttype', 'qemu', '--migratable'],
    ['hypervisor-cpu-baseline', guests[0]!, '--virttype', 'qemu', '--features'],
    ['hypervisor-cpu-baseline', guests[0]!],
  ];
  await compareAll(commands, (args) => tsvirsh(uri, args));
  await compareAll(commands, (args) => virsh(uri, args));
  // the read-only socket serves cpu-baseline and refuses hypervisor-cpu-baseline, as libvirtd's does
  const readOnly = [['-r', 'cpu-baseline', caps!], ['-r', 'hypervisor-cpu-baseline', caps!]];
  const roUri = `qemu+unix:///system?socket=${daemon.readonlySocket}`;
  await compareAll(readOnly, (args) => tsvirsh(roUri, args));
  await compareAll(readOnly, (args) => virsh(roUri, args));
});
