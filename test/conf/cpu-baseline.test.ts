// The baselines of libvirt's own tests (tests/cputest.c DO_TEST_BASELINE):
// the host CPUs of tests/cputestdata/ARCH-baseline-NAME.xml baselined over the
// CPU map of the same source tree, compared with libvirt's expected result
// files, or refused where libvirt's test expects a failure. Needs libvirt's
// source (test/helpers/libvirt-source.ts): skipped loudly without it, failed
// under CI=true. The CPU definition parsing checks need nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePpc64CpuMap, parseX86CpuMap } from '../../src/conf/cpu-map.js';
import { parseCpuDef, parseCpuDefList, type CpuDef } from '../../src/conf/cpu-def-list.js';
import { baselinePpc64Cpu, baselineX86Cpu, expandX86Features, formatBaselineCpu, sortFeatures } from '../../src/conf/cpu-baseline.js';
import { libvirtSourceMissing, libvirtSrc } from '../helpers/libvirt-source.js';

const data = path.join(libvirtSrc, 'tests', 'cputestdata');
const mapDir = path.join(libvirtSrc, 'src', 'cpu_map');
const missing = libvirtSourceMissing('cpu baseline unit test on libvirt\'s cputestdata', 'tests/cputestdata', 'src/cpu_map');

/** cpuTestLoadMultiXML: the /cpuTest/cpu elements, each a host CPU. */
function loadCpus(arch: string, name: string): CpuDef[] {
  const text = readFileSync(path.join(data, `${arch}-baseline-${name}.xml`), 'utf8');
  return [...text.matchAll(/<cpu>[\s\S]*?<\/cpu>/g)].map((m) => parseCpuDef(m[0], 'host'));
}

const expected = (arch: string, name: string, suffix: string) => readFileSync(path.join(data, `${arch}-baseline-${name}-${suffix}.xml`), 'utf8');

test('x86_64 baselines: libvirt\'s expected CPUs, expanded and migratable ones, and refusals', { skip: missing }, () => {
  const map = parseX86CpuMap(mapDir);
  for (const name of ['no-vendor', 'some-vendors', 'simple', 'features', 'Westmere+Nehalem']) {
    const cpus = loadCpus('x86_64', name);
    assert.equal(formatBaselineCpu(baselineX86Cpu(map, cpus, { migratable: false })), expected('x86_64', name, 'result'), name);
  }
  for (const name of ['simple', 'features']) {
    const expanded = sortFeatures(expandX86Features(map, baselineX86Cpu(map, loadCpus('x86_64', name), { migratable: false })));
    assert.equal(formatBaselineCpu(expanded), expected('x86_64', name, 'expanded'), `${name} expanded`);
  }
  const migratable = baselineX86Cpu(map, loadCpus('x86_64', 'Westmere+Nehalem'), { migratable: true });
  assert.equal(formatBaselineCpu(migratable), expected('x86_64', 'Westmere+Nehalem', 'migratable'));
  assert.throws(() => baselineX86Cpu(map, loadCpus('x86_64', 'incompatible-vendors'), { migratable: false }), { message: 'operation failed: CPU vendors do not match' });
});

test('ppc64 baselines: one model, its vendor; other models, unknown vendors and legacy names refused', { skip: missing }, () => {
  const map = parsePpc64CpuMap(mapDir);
  for (const name of ['no-vendor', 'same-model']) {
    assert.equal(formatBaselineCpu(baselinePpc64Cpu(map, loadCpus('ppc64', name))), expected('ppc64', name, 'result'), name);
  }
  const failures: Record<string, string> = {
    'incompatible-vendors': 'operation failed: Unknown CPU vendor Intel',
    'incompatible-models': 'operation failed: CPUs are incompatible',
    legacy: 'operation failed: CPUs are incompatible',
  };
  for (const [name, message] of Object.entries(failures)) {
    assert.throws(() => baselinePpc64Cpu(map, loadCpus('ppc64', name)), { message }, name);
  }
});

test('CPU definition lists: libvirt\'s refusals before any CPU map is read', () => {
  assert.throws(() => parseCpuDefList([], 'host'), { message: 'invalid argument: no CPUs given' });
  assert.throws(() => parseCpuDefList(['<cpu><model>Haswell</model></cpu>'], 'host'), { message: 'XML error: Missing CPU architecture' });
  assert.throws(() => parseCpuDefList(["<cpu mode='custom'><arch>x86_64</arch><model>Haswell</model></cpu>"], 'host'), {
    message: 'unsupported configuration: Attribute mode is only allowed for guest CPU',
  });
  assert.throws(() => parseCpuDefList(["<cpu match='exact'><arch>x86_64</arch><model>Haswell</model></cpu>"], 'auto'), {
    message: "XML error: 'arch' element cannot be used inside 'cpu' element with 'match' attribute'",
  });
  assert.throws(() => parseCpuDefList(['<cpu><vendor>Intel</vendor></cpu>'], 'auto'), { message: 'XML error: CPU vendor specified without CPU model' });
  assert.throws(() => parseCpuDefList(["<cpu><feature name='sse2'/></cpu>"], 'auto'), { message: 'XML error: Non-empty feature list specified without CPU model' });
  assert.throws(() => parseCpuDefList(['<domain/>'], 'auto'), { message: "XML error: XML does not contain expected 'cpu' element" });
  // a host CPU's features have no policy; a guest CPU's default to require
  assert.deepEqual(parseCpuDefList(["<cpu><arch>x86_64</arch><model>Haswell</model><feature policy='disable' name='avx'/></cpu>"], 'auto')[0],
    { type: 'host', arch: 'x86_64', model: 'Haswell', features: [{ name: 'avx' }] });
  assert.deepEqual(parseCpuDefList(["<cpu><model>Haswell</model><vendor>Intel</vendor><feature name='avx'/></cpu>"], 'auto')[0],
    { type: 'guest', model: 'Haswell', vendor: 'Intel', features: [{ name: 'avx', policy: 'require' }] });
});
