// setmem / setmaxmem / setvcpus / blockresize on a running guest (issue 14),
// the same commands side by side on tsvirt and the installed libvirt
// (qemu:///system): the same output, errors and resulting definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** resize: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** The commands, and what each printed (exit code, output, errors). */
async function resizeSession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  const step = async (...args: string[]) => {
    const r = await run(...args);
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`);
  };
  await step('setmem', name, '200M', '--live');
  await step('setmaxmem', name, '300M', '--live');
  await step('setmaxmem', name, '300M', '--config');
  await step('setvcpus', name, '3', '--live');
  await step('setvcpus', name, '2', '--live');
  await step('setvcpus', name, '3', '--config', '--maximum');
  await step('setvcpus', name, '2', '--config');
  await step('setvcpus', name, '2', '--live', '--maximum');
  await step('vcpucount', name);
  await step('blockresize', name, 'vda', '128M');
  // (what the image file allocates depends on the writes, not on the driver)
  out.push(...(await run('domblkinfo', name, 'vda')).stdout.split('\n').filter((l) => l.startsWith('Capacity:')));
  await step('blockresize', name, 'vdz', '128M');
  const inactive = (await run('dumpxml', name, '--inactive')).stdout;
  out.push(...inactive.split('\n').filter((l) => /<(memory|currentMemory|vcpu) /.test(l)));
  return out;
}

function domainXml(name: string, dir: string, serialPath: string): string {
  const image = path.join(dir, 'a.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
  return guestDomainXML({ name, machine: 'q35', serialPath, guest: guest as TestGuest, devices: disk }).replace('<vcpu>1</vcpu>', "<vcpu current='1'>2</vcpu>");
}

test('setmem, setmaxmem, setvcpus (vCPU hotplug) and blockresize on a running guest, as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = new SerialLog(sb.file('serial.log'));
  await sb.define(domainXml('rs', sb.dir, serial.path));
  await sb.ok('start', 'rs');
  await serial.bootPciDevices(BOOT_TIMEOUT_MS);
  const ours = await resizeSession((...args) => sb.run(...args), 'rs');
  // the new vCPU is in QEMU
  assert.match(ours.join('\n'), /vcpucount rs -> 0\nmaximum {6}config {9}3\nmaximum {6}live {11}2\ncurrent {6}config {9}2\ncurrent {6}live {11}2\n/);
  assert.ok(ours.includes('Capacity:       134217728'));
  assert.ok(ours.includes("  <memory unit='KiB'>307200</memory>"));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-rs-');
  chmodSync(dir, 0o777); // QEMU, as libvirt's user, writes the console file here
  const name = `tsvirt-e2e-rs-${process.pid}`;
  const virsh: Run = runSystemVirsh;
  t.after(async () => {
    await virsh('destroy', name);
    await virsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  const console = new SerialLog(path.join(dir, 'serial.log'));
  writeFileSync(path.join(dir, 'def.xml'), domainXml(name, dir, console.path));
  await virsh('define', path.join(dir, 'def.xml'));
  await virsh('start', name);
  await console.bootPciDevices(BOOT_TIMEOUT_MS);
  const theirs = await resizeSession(virsh, name);
  assert.deepEqual(ours.map((l) => l.replaceAll(' rs ', ' NAME ')), theirs.map((l) => l.replaceAll(` ${name} `, ' NAME ')));
});
