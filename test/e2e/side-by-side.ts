// The same virsh session on tsvirt (embed) and on the installed libvirt
// (qemu:///system), each with the tiny test guest defined on a 16 MiB qcow2
// disk: the hosts, libvirt's asynchronous virsh, the normalisation of what may
// differ between them, and the rows that differ.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, SerialLog, type TestGuest } from './guest.js';
import { SYSTEM_URI, systemVirsh } from '../helpers/libvirt.js';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** One host under test: runs a virsh command line, knows its domain name and image folder. */
export interface SideHost {
  run(...args: string[]): Promise<Outcome>;
  name: string;
  dir: string;
}

export interface Side {
  host: SideHost;
  image: string;
  serial: SerialLog;
}

/** virsh on qemu:///system without blocking, so that both hosts run their sessions at once. */
export async function systemVirshAsync(...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)('virsh', ['-c', SYSTEM_URI, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

export function qcow2(file: string): string {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
  chmodSync(file, 0o666);
  return file;
}

/** What may differ between the hosts: the names, folders, times and uuids. */
export function normalise(host: SideHost, o: Outcome): Outcome {
  const n = (s: string) =>
    s
      .replaceAll(host.dir, 'DIR')
      .replaceAll(host.name, 'DOM')
      .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME')
      // a table's rule is as wide as its longest cell (the folders differ)
      .replace(/^-{10,}$/gm, '---')
      .replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
  return { code: o.code === 0 ? 0 : 1, stdout: n(o.stdout), stderr: n(o.stderr) };
}

/**
 * The guest `tsvirt-TAG-guest` in a sandbox and `tsvirt-e2e-TAG-PID` on libvirt,
 * each defined with its own qcow2 disk vda and serial log; removed after the
 * test (libvirt's with `undefineFlags`). Returns [tsvirt, libvirt] and the sandbox.
 */
export async function qcow2GuestSides(t: TestContext, tag: string, guest: TestGuest, undefineFlags: string[]): Promise<{ sides: [Side, Side]; sandbox: Sandbox }> {
  const sandbox = new Sandbox();
  // libvirt's QEMU runs as another user: its images and console live in a folder it can reach
  const dir = mkdtempSync(`/var/tmp/tsvirt-e2e-${tag}-`);
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-${tag}-${process.pid}`;
  t.after(async () => {
    systemVirsh('destroy', name);
    systemVirsh('undefine', name, ...undefineFlags);
    await sandbox.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const sides: [Side, Side] = [
    { host: { run: (...a: string[]) => sandbox.run(...a), name: `tsvirt-${tag}-guest`, dir: sandbox.dir }, image: qcow2(sandbox.file('disk.qcow2')), serial: new SerialLog(sandbox.file('serial.log')) },
    { host: { run: systemVirshAsync, name, dir }, image: qcow2(path.join(dir, 'disk.qcow2')), serial: new SerialLog(path.join(dir, 'serial.log')) },
  ];
  for (const { host, image, serial } of sides) {
    const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
    const file = path.join(host.dir, 'def.xml');
    writeFileSync(file, guestDomainXML({ name: host.name, machine: 'q35', serialPath: serial.path, guest, devices: disk }));
    assert.equal((await host.run('define', file)).code, 0);
  }
  return { sides, sandbox };
}

/** The rows whose outcomes differ between the hosts: none when the sessions match. */
export function differingRows(ours: Outcome[], theirs: Outcome[]): { row: number; tsvirt: Outcome; libvirt: Outcome | undefined }[] {
  return ours.flatMap((o, i) => (JSON.stringify(o) === JSON.stringify(theirs[i]) ? [] : [{ row: i, tsvirt: o, libvirt: theirs[i] }]));
}
