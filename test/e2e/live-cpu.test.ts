// The live <cpu> of a running TCG guest side by side with libvirt
// (qemu:///system): without <cpu> (QEMU's default model), with
// mode='host-model' and with a named model this host's TCG can run. libvirt
// takes the started vCPU's features from QEMU; the element must be the same
// byte for byte, and so must the CPU a save image carries (the one the guest
// was started with, when QEMU's view changed it). Without libvirt the live
// element is still checked for what QEMU's view adds (check='full', no fallback).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** live-cpu: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

const CPUS: Array<[label: string, xml: string]> = [
  ['no <cpu>', ''],
  ['host-model', "<cpu mode='host-model'/>"],
  ['custom model', "<cpu mode='custom' match='exact'><model>Haswell-noTSX</model></cpu>"],
];

const cpuElement = (xml: string) => /^ {2}<cpu[^]*?(?:<\/cpu>|\/>)\n/m.exec(xml)?.[0] ?? '';

for (const [label, cpu] of CPUS) {
  test(`live dumpxml <cpu>, ${label}: as libvirt shows it`, { skip }, async (t) => {
    const domainXml = (name: string) => guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, extra: cpu });
    const sb = new Sandbox();
    t.after(() => sb.dispose());
    await sb.define(domainXml('livecpu'));
    await sb.ok('start', 'livecpu');
    const ours = cpuElement((await sb.ok('dumpxml', 'livecpu')).stdout);
    assert.match(ours, /^ {2}<cpu mode='custom' match='exact' check='full'>\n {4}<model fallback='forbid'>/);
    // the persistent definition keeps what was asked for
    assert.doesNotMatch((await sb.ok('dumpxml', '--inactive', 'livecpu')).stdout, /check='full'/);
    await sb.ok('save', 'livecpu', sb.file('livecpu.save'));
    const ourSaved = cpuElement((await sb.ok('save-image-dumpxml', sb.file('livecpu.save'))).stdout);

    if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
    const { name, dir } = await defineOnSystemLibvirt(t, 'livecpu', domainXml);
    const started = await runSystemVirsh('start', name);
    assert.equal(started.code, 0, started.stderr);
    const theirs = cpuElement((await runSystemVirsh('dumpxml', name)).stdout);
    assert.equal(ours, theirs);
    const image = path.join(dir, 'livecpu.save');
    assert.equal((await runSystemVirsh('save', name, image)).code, 0);
    assert.equal(ourSaved, cpuElement((await runSystemVirsh('save-image-dumpxml', image)).stdout), 'the CPU of the save image');
  });
}
