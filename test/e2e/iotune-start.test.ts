// A disk's <iotune> reaches QEMU when the guest starts (libvirt applies it with
// block_set_io_throttle right after launch, as -blockdev cannot carry it):
// blkdeviotune's live view after start, side by side on tsvirt and the
// installed libvirt (qemu:///system).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** iotune-start: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

function domainXml(name: string, dir: string): string {
  for (const image of ['a.qcow2', 'b.qcow2']) {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, image), '16M']);
    chmodSync(path.join(dir, image), 0o666);
  }
  const iotune = '<iotune><total_bytes_sec>1048576</total_bytes_sec><read_iops_sec>200</read_iops_sec><write_iops_sec>100</write_iops_sec>' +
    '<write_iops_sec_max>150</write_iops_sec_max><write_iops_sec_max_length>5</write_iops_sec_max_length><group_name>grp</group_name></iotune>';
  const disk = (image: string, dev: string, extra: string) =>
    `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${path.join(dir, image)}'/><target dev='${dev}' bus='virtio'/>${extra}</disk>`;
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: disk('a.qcow2', 'vda', iotune) + disk('b.qcow2', 'vdb', '') });
}

async function iotuneSession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const args of [['vda'], ['vdb'], ['vda', '--config']]) {
    const r = await run('blkdeviotune', name, ...args);
    out.push(`blkdeviotune ${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`);
  }
  return out;
}

test('a disk <iotune> is in force once the guest started, as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('iot', sb.dir));
  await sb.ok('start', 'iot');
  const ours = await iotuneSession((...args) => sb.run(...args), 'iot');
  assert.match(ours[0], /total_bytes_sec: 1048576\n[^]*write_iops_sec_max: 150\n[^]*group_name\s*: grp\n[^]*write_iops_sec_max_length: 5\n/, ours[0]);
  assert.match(ours[1], /total_bytes_sec: 0\n/, ours[1]);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-iotune-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-iot-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'dom.xml'), domainXml(name, dir));
  await runSystemVirsh('define', path.join(dir, 'dom.xml'));
  const started = await runSystemVirsh('start', name);
  assert.equal(started.code, 0, started.stderr);
  assert.deepEqual(ours, await iotuneSession(runSystemVirsh, name));
});
