// A pool of type fs: an ext4 image on a loop device, mounted on the pool's
// target by pool-start and unmounted by pool-destroy. Needs root and a free loop
// device; skipped loudly where the host has none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/main.js';
import { attachLoopOrSkip } from './loop-device.js';

async function tsvirsh(uri: string, command: string): Promise<string> {
  let out = '';
  let err = '';
  const rc = await run(['-c', uri, command], { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
  assert.equal(rc, 0, `${command}: ${err}`);
  return out;
}

const mounted = (target: string) => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === target);

test('fs pool on a loop device: build, start mounts, volumes, destroy unmounts', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsvirt-fs-pool-'));
  let loop: string | undefined;
  try {
    execFileSync('truncate', ['-s', '64M', `${dir}/fs.img`]);
    execFileSync('mkfs.ext4', ['-q', '-F', `${dir}/fs.img`]);
    loop = attachLoopOrSkip(t, `${dir}/fs.img`);
    if (!loop) return;
    const uri = `qemu:///embed?root=${dir}/root`;
    const target = `${dir}/mnt`;
    await tsvirsh(uri, `pool-define-as fsp fs --source-dev ${loop} --target ${target}`);
    await tsvirsh(uri, 'pool-build fsp');
    await tsvirsh(uri, 'pool-start fsp');
    assert.ok(mounted(target), 'pool-start mounts the device');
    assert.match(await tsvirsh(uri, 'pool-dumpxml fsp'), /<source>\n {4}<device path='[^']+'\/>\n {4}<format type='auto'\/>\n {2}<\/source>/);
    await tsvirsh(uri, 'vol-create-as fsp v.qcow2 16M --format qcow2');
    assert.match(await tsvirsh(uri, 'vol-list fsp'), /lost\+found[\s\S]*v\.qcow2/);
    await tsvirsh(uri, 'pool-destroy fsp');
    assert.ok(!mounted(target), 'pool-destroy unmounts it');
  } finally {
    if (loop && mounted(`${dir}/mnt`)) execFileSync('umount', [`${dir}/mnt`]);
    if (loop) execFileSync('losetup', ['-d', loop]);
    await rm(dir, { recursive: true, force: true });
  }
});
