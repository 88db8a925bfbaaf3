// domrename side by side on tsvirt and the installed libvirt (qemu:///system):
// a shut-off domain with autostart takes its new name (list, autostart, dominfo),
// and libvirt's refusals: to itself, to a taken name, a name with '/', a running
// domain. On tsvirt the config file and autostart link move with the name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** rename: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Renames `a` to `a`-new and back, and the refusals; names in the output become A, B. */
async function renameSession(run: Run, a: string, b: string): Promise<string[]> {
  const out: string[] = [];
  const anon = (s: string) => s.replaceAll(`${a}-new`, 'A-new').replaceAll(a, 'A').replaceAll(b, 'B');
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(anon(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`));
  };
  await run('autostart', a);
  await record('domrename', a, a);
  await record('domrename', a, b);
  await record('domrename', a, 'x/y');
  await record('domrename', a, `${a}-new`);
  await record('dominfo', a);
  const listed = (await run('list', '--all', '--autostart')).stdout.split('\n').filter((l) => l.includes(a)).map((l) => anon(l.replace(/ +/g, ' ').trim()));
  out.push(...listed);
  await record('domrename', `${a}-new`, a);
  await run('start', b);
  await record('domrename', b, `${b}-x`);
  await run('destroy', b);
  await run('autostart', '--disable', a);
  return out;
}

function domainXml(name: string): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest });
}

test('domrename: renamed shut off with its autostart link, refusals as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('ren-a'));
  await sb.define(domainXml('ren-b'));
  const ours = await renameSession((...args) => sb.run(...args), 'ren-a', 'ren-b');
  assert.ok(ours.includes('domrename A A-new -> 0\nDomain successfully renamed\n\n'), ours.join('\n'));
  // after renaming there and back, the files are under the original name again
  const etc = path.join(sb.root, 'etc', 'qemu');
  assert.ok(existsSync(path.join(etc, 'ren-a.xml')) && !existsSync(path.join(etc, 'ren-a-new.xml')));
  await sb.ok('autostart', 'ren-a');
  await sb.ok('domrename', 'ren-a', 'ren-c');
  assert.equal(readlinkSync(path.join(etc, 'autostart', 'ren-c.xml')), path.join(etc, 'ren-c.xml'));
  assert.ok(!existsSync(path.join(etc, 'autostart', 'ren-a.xml')));
  assert.match((await sb.ok('dumpxml', 'ren-c')).stdout, /<name>ren-c<\/name>/);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-rename-');
  chmodSync(dir, 0o777);
  const [a, b] = [`tsvirt-e2e-ren-a-${process.pid}`, `tsvirt-e2e-ren-b-${process.pid}`];
  const virsh: Run = runSystemVirsh;
  t.after(async () => {
    for (const n of [a, `${a}-new`, b]) {
      await virsh('destroy', n);
      await virsh('undefine', n);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  for (const n of [a, b]) {
    writeFileSync(path.join(dir, `${n}.xml`), domainXml(n));
    await virsh('define', path.join(dir, `${n}.xml`));
  }
  const theirs = await renameSession(virsh, a, b);
  assert.deepEqual(ours.map((l) => l.replace(/UUID: +\S+/, 'UUID')), theirs.map((l) => l.replace(/UUID: +\S+/, 'UUID')));
});

/** Snapshots a domain with a qcow2 disk, renames it and reads its snapshots under the new name. */
async function snapshotRenameSession(run: Run, a: string, image: string): Promise<string[]> {
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(`${args.join(' ').replaceAll(a, 'A')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(a, 'A'));
  };
  await record('snapshot-create-as', a, 's1');
  await record('snapshot-create-as', a, 's2');
  await record('domrename', a, `${a}-new`);
  await record('snapshot-list', `${a}-new`, '--name');
  await record('snapshot-current', `${a}-new`, '--name');
  await record('snapshot-parent', `${a}-new`, 's2');
  await record('snapshot-delete', `${a}-new`, '--metadata', 's2');
  await record('snapshot-list', `${a}-new`, '--name');
  await record('domrename', `${a}-new`, a);
  await record('snapshot-list', a, '--name');
  out.push(execFileSync('qemu-img', ['snapshot', '-U', '-l', image], { encoding: 'utf8' }).split('\n').slice(2).map((l) => l.split(/\s+/)[1] ?? '').filter(Boolean).sort().join(','));
  return out;
}

function qcow2DomainXml(name: string, image: string): string {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);
  chmodSync(image, 0o666);
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: disk });
}

test('domrename: the snapshot metadata moves to the new name, as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const image = sb.file('snap.qcow2');
  await sb.define(qcow2DomainXml('ren-s', image));
  const ours = await snapshotRenameSession((...args) => sb.run(...args), 'ren-s', image);
  assert.ok(ours.includes('snapshot-list A-new --name -> 0\ns1\ns2\n\n'), ours.join('\n'));
  const snapDir = path.join(sb.root, 'lib', 'qemu', 'snapshot');
  assert.deepEqual(readdirSync(snapDir), ['ren-s']);
  assert.deepEqual(readdirSync(path.join(snapDir, 'ren-s')), ['s1.xml']);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-rename-');
  chmodSync(dir, 0o777);
  const a = `tsvirt-e2e-ren-s-${process.pid}`;
  const virsh: Run = runSystemVirsh;
  t.after(async () => {
    for (const n of [a, `${a}-new`]) await virsh('undefine', n, '--snapshots-metadata');
    rmSync(dir, { recursive: true, force: true });
  });
  const theirImage = path.join(dir, 'snap.qcow2');
  writeFileSync(path.join(dir, `${a}.xml`), qcow2DomainXml(a, theirImage));
  await virsh('define', path.join(dir, `${a}.xml`));
  assert.deepEqual(ours, await snapshotRenameSession(virsh, a, theirImage));
});
