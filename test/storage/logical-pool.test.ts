// Logical pools beyond the golden scenarios: lvs' lines as libvirt reads them
// (no LVM needed), and logical volumes made and removed through tsvirsh, which
// needs a loop device and a kernel with device-mapper (skipped loudly without:
// LVM can then build and start a volume group but cannot create a volume in it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseStoragePoolXML } from '../../src/conf/storage-pool.js';
import { parseLogicalVolumes } from '../../src/drivers/storage/logical-backend.js';
import { run } from '../../src/cli/main.js';
import { attachLoopOrSkip } from './loop-device.js';

const POOL = parseStoragePoolXML("<pool type='logical'><name>vg</name><source><name>vg</name></source><target><path>/dev/vg</path></target></pool>");

test('lvs lines: active LVs as block volumes, snapshots backed by their origin, thin pools and inactive LVs left out', () => {
  const lvs = [
    '  RootLV##06UgP5-2rhb-w3Bo-3mdR-WeoL-pytO-SAa2ky#/dev/hda2(0)#linear#1#5234491392#33554432#5234491392#-wi-ao',
    '  Snap#RootLV#UB5hFw-kmlm-LSoX-EI1t-ioVd-h7GL-M0W8Ht#/dev/hda2(187)#linear#1#1040187392#33554432#1040187392#swi-a-',
    '  Off##oHviCK-8Ik0-paqS-V20c-nkhY-Bm1e-zgzU0M#/dev/hda2(156)#linear#1#1040187392#33554432#1040187392#-wi---',
    '  thin##fSLSZH-zAS2-yAIb-n4mV-Al9u-HA3V-oo9K1B#thin_tdata(0)#thin-pool#1#1073741824#4194304#1073741824#twi-a-tz--',
    '  striped##3pg3he-mQsA-5Sui-h0i6-HNmc-Cz7W-QSndcR#/dev/sdc1(10240),/dev/sdd1(0)#striped#2#42949672960#4194304#42949672960#-wi-a-',
    '  striped##3pg3he-mQsA-5Sui-h0i6-HNmc-Cz7W-QSndcR#/dev/sdc1(20480)#linear#1#4194304#4194304#42949672960#-wi-a-',
  ].join('\n');
  const vols = parseLogicalVolumes(lvs, POOL);
  assert.deepEqual(
    vols.map((v) => [v.name, v.key, v.type, v.targetPath, v.capacity, v.backingStore?.path]),
    [
      ['RootLV', '06UgP5-2rhb-w3Bo-3mdR-WeoL-pytO-SAa2ky', 'block', '/dev/vg/RootLV', 5234491392n, undefined],
      ['Snap', 'UB5hFw-kmlm-LSoX-EI1t-ioVd-h7GL-M0W8Ht', 'block', '/dev/vg/Snap', 1040187392n, '/dev/vg/RootLV'],
      ['striped', '3pg3he-mQsA-5Sui-h0i6-HNmc-Cz7W-QSndcR', 'block', '/dev/vg/striped', 42949672960n, undefined],
    ],
  );
});

async function tsvirsh(uri: string, command: string): Promise<string> {
  let out = '';
  let err = '';
  const rc = await run(['-c', uri, command], { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
  assert.equal(rc, 0, `${command}: ${err}`);
  return out;
}

test('logical volumes: vol-create-as makes an LV, vol-delete removes it', async (t) => {
  if (!existsSync('/sys/class/misc/device-mapper')) {
    t.skip('SKIPPED LOUDLY: this kernel has no device-mapper, so LVM cannot create logical volumes (the golden scenario logical-vol-create-without-dm checks the error instead)');
    return;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'tsvirt-logical-'));
  const vg = `tsvirt-test-${process.pid}`;
  let loop: string | undefined;
  try {
    execFileSync('truncate', ['-s', '64M', `${dir}/pv.img`]);
    loop = attachLoopOrSkip(t, `${dir}/pv.img`);
    if (!loop) return;
    const uri = `qemu:///embed?root=${dir}/root`;
    await tsvirsh(uri, `pool-define-as lp logical --source-dev ${loop} --source-name ${vg} --target /dev/${vg}`);
    await tsvirsh(uri, 'pool-build lp');
    await tsvirsh(uri, 'pool-start lp');
    await tsvirsh(uri, 'vol-create-as lp v1 8M');
    assert.match(await tsvirsh(uri, 'vol-list lp'), new RegExp(`v1\\s+/dev/${vg}/v1`));
    await tsvirsh(uri, 'vol-delete --pool lp v1');
    assert.doesNotMatch(await tsvirsh(uri, 'vol-list lp'), /v1/);
    await tsvirsh(uri, 'pool-destroy lp');
    await tsvirsh(uri, 'pool-delete lp');
  } finally {
    if (loop) {
      execFileSync('sh', ['-c', `vgremove -f ${vg} >/dev/null 2>&1; pvremove -ff -y ${loop} >/dev/null 2>&1; true`]);
      execFileSync('losetup', ['-d', loop]);
    }
    await rm(dir, { recursive: true, force: true });
  }
});
