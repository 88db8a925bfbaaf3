// virCPUx86UpdateLive on a small hand-written CPU map: what QEMU enabled beyond
// the model becomes required, what it could not give becomes disabled, in map
// order; a guest that asked for check='full' fails with libvirt's message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { featureBits, parseX86CpuMap } from '../../src/conf/cpu-map.js';
import { liveCpuElement, updateLiveCpu } from '../../src/drivers/qemu/live-guest-cpu.js';
import { formatXml, parseXml } from '../../src/util/xml.js';

const FILES: Record<string, string> = {
  'index.xml': `<cpus><arch name='x86'><include filename='x86_vendors.xml'/><include filename='x86_features.xml'/><include filename='x86_models.xml'/></arch></cpus>`,
  'x86_vendors.xml': `<cpus><vendor name='AMD' string='AuthenticAMD'/></cpus>`,
  'x86_features.xml': `<cpus>
  <feature name='fpu'><cpuid eax_in='0x01' edx='0x00000001'/></feature>
  <feature name='monitor'><cpuid eax_in='0x01' ecx='0x00000008'/></feature>
  <feature name='pni'><cpuid eax_in='0x01' ecx='0x00000001'/></feature>
  <feature name='ds'><cpuid eax_in='0x01' edx='0x00200000'/></feature>
  <feature name='svm'><cpuid eax_in='0x80000001' ecx='0x00000004'/></feature>
</cpus>`,
  'x86_models.xml': `<cpus>
  <model name='m1'><feature name='fpu'/><feature name='monitor'/><feature name='pni'/><feature name='ds' removed='yes'/></model>
</cpus>`,
};

const MAP = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-livecpu-'));
  try {
    for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
    return parseX86CpuMap(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

const data = (enabled: string[], disabled: string[] = []) => ({ enabled: featureBits(MAP, enabled), disabled: featureBits(MAP, disabled) });

test('QEMU\'s extra features become required, missing ones disabled, in map order; removed model features are disabled', () => {
  const live = updateLiveCpu(MAP, { model: 'm1', check: 'none', features: [{ name: 'pni', policy: 'require' }] }, data(['fpu', 'pni', 'svm'], ['monitor']));
  assert.deepEqual(live, {
    model: 'm1', check: 'full',
    features: [{ name: 'pni', policy: 'require' }, { name: 'monitor', policy: 'disable' }, { name: 'svm', policy: 'require' }, { name: 'ds', policy: 'disable' }],
  });
});

test('check=\'full\': any difference keeps the guest from running, with libvirt\'s message', () => {
  const cpu = { model: 'm1', check: 'full', features: [] };
  assert.throws(() => updateLiveCpu(MAP, cpu, data(['fpu', 'pni', 'svm'])), { message: "operation failed: guest CPU doesn't match specification: extra features: svm, missing features: monitor" });
  assert.throws(() => updateLiveCpu(MAP, cpu, data(['fpu', 'monitor', 'pni'], ['svm'])), { message: "operation failed: guest CPU doesn't match specification: missing features: svm" });
  assert.equal(updateLiveCpu(MAP, cpu, data(['fpu', 'monitor', 'pni'])).check, 'full');
});

test('the live element: custom, exact, no fallback; the guest\'s topology and NUMA cells stay in libvirt\'s order', () => {
  const guest = parseXml("<cpu mode='host-model' check='partial'><topology sockets='1' cores='2' threads='1'/><numa><cell id='0' cpus='0-1' memory='1024'/></numa></cpu>");
  const el = liveCpuElement(guest, { model: 'm1', vendor: 'AMD', check: 'full', features: [{ name: 'svm', policy: 'require' }] });
  assert.equal(formatXml(el), `<cpu mode='custom' match='exact' check='full'>
  <model fallback='forbid'>m1</model>
  <vendor>AMD</vendor>
  <topology sockets='1' cores='2' threads='1'/>
  <feature policy='require' name='svm'/>
  <numa>
    <cell id='0' cpus='0-1' memory='1024'/>
  </numa>
</cpu>
`);
});
