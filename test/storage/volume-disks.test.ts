// <disk type='volume'> on qemu:///embed: domxml-to-native gives QEMU the volume's
// file (translated through the storage driver, as libvirt does), an inactive
// pool is refused with libvirt's message, and undefine --remove-all-storage
// deletes the volume the storage driver knows.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/main.js';

async function tsvirsh(uri: string, command: string): Promise<{ out: string; err: string; rc: number }> {
  let out = '';
  let err = '';
  const rc = await run(['-c', uri, command], { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
  return { out, err, rc };
}

/** tsvirsh on `uri` that must succeed: its output. */
function succeeding(uri: string): (command: string) => Promise<string> {
  return async (command) => {
    const r = await tsvirsh(uri, command);
    assert.equal(r.rc, 0, `${command}: ${r.err}`);
    return r.out;
  };
}

const DOMAIN = `<domain type='qemu'><name>voldom</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>
<devices><disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='vp' volume='d.qcow2'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;

/** A fresh embedded root with the domain's XML written and pool 'vp' (dir) defined and built; removed after the test. */
async function poolRoot(t: TestContext, prefix: string): Promise<{ dir: string; uri: string; ok: (command: string) => Promise<string> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const uri = `qemu:///embed?root=${dir}/root`;
  const ok = succeeding(uri);
  await writeFile(`${dir}/dom.xml`, DOMAIN);
  await ok(`pool-define-as vp dir --target ${dir}/pool`);
  await ok('pool-build vp');
  return { dir, uri, ok };
}

test('volume disks resolve through the storage driver and go with undefine --remove-all-storage', async (t) => {
  const { dir, uri, ok } = await poolRoot(t, 'tsvirt-voldisk-');
  const inactive = await tsvirsh(uri, `domxml-to-native qemu-argv ${dir}/dom.xml`);
  assert.match(inactive.err, /storage pool 'vp' containing volume 'd\.qcow2' is not active/);
  await ok('pool-start vp');
  await ok('vol-create-as vp d.qcow2 64M --format qcow2');
  const argv = await ok(`domxml-to-native qemu-argv ${dir}/dom.xml`);
  assert.ok(argv.includes(`"driver":"file","filename":"${dir}/pool/d.qcow2"`), argv);
  await ok(`define ${dir}/dom.xml`);
  assert.match(await ok('dumpxml voldom'), /<disk type='volume' device='disk'>[\s\S]*<source pool='vp' volume='d.qcow2'\/>/);
  const undefined_ = await ok('undefine voldom --remove-all-storage');
  assert.match(undefined_, /Volume 'vda'\(d\.qcow2\) removed\./);
  assert.equal(existsSync(`${dir}/pool/d.qcow2`), false);
});

test('after a reboot, the first command that resolves a volume disk finds its autostart pool started', async (t) => {
  const { dir, ok } = await poolRoot(t, 'tsvirt-voldisk-boot-');
  await ok('pool-autostart vp');
  await ok('pool-start vp');
  await ok('vol-create-as vp d.qcow2 64M --format qcow2');
  await ok('pool-destroy vp');
  // a new boot: the run folder is empty, autostart has not happened yet
  await rm(`${dir}/root/run/storage`, { recursive: true, force: true });
  // the storage driver opens with this command's volume lookup, not at connect
  const argv = await ok(`domxml-to-native qemu-argv ${dir}/dom.xml`);
  assert.ok(argv.includes(`"filename":"${dir}/pool/d.qcow2"`), argv);
  assert.match(await ok('pool-list --all'), /vp\s+active\s+yes/);
});
