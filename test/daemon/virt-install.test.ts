// virt-install, unchanged, against tsvirtd: `--import` of the tiny test guest
// (direct kernel boot, TCG) defines and starts it, and the guest boots (its
// marker line on the serial file). virt-install hands a --disk path to the
// storage driver (and defines a dir pool for its folder); a daemon without a
// storage driver makes virtinst drop the path, so the disk is given only when
// tsvirtd serves storage pools, and the test holds with or without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BOOT_TIMEOUT_MS, SerialLog, testGuest } from '../e2e/guest.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const VIRT_INSTALL = '/usr/bin/virt-install';
const VIRSH = '/usr/bin/virsh';

const guest = testGuest();
const missing = 'skip' in guest ? guest.skip : !existsSync(VIRT_INSTALL) || !existsSync(VIRSH) ? 'virt-install or virsh is not installed (Debian: virtinst, libvirt-clients)' : false;
if (typeof missing === 'string' && !('skip' in guest)) {
  if (process.env.CI === 'true') throw new Error(`virt-install test: ${missing} (CI=true requires it)`);
  process.stderr.write(`*** virt-install test SKIPPED: ${missing} ***\n`);
}

test('virt-install --import of the test guest through tsvirtd: defined, started, booted', { skip: missing, timeout: BOOT_TIMEOUT_MS + 120_000 }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  const servesPools = await run(VIRSH, ['-c', uri, 'pool-list', '--all']).then(() => true, () => false);
  const disk = join(daemon.root, 'disks', 'vi.img');
  if (servesPools) await run('sh', ['-c', `mkdir -p "${join(daemon.root, 'disks')}" && truncate -s 8M "${disk}"`]);
  const serial = join(daemon.root, 'vi.serial');
  const { stdout } = await run(VIRT_INSTALL, [
    '--connect', uri, '--import', '--name', 'vi', '--memory', '256', '--vcpus', '1', '--virt-type', 'qemu',
    '--osinfo', 'detect=on,require=off', '--noautoconsole', '--network', 'none', '--graphics', 'none',
    '--disk', servesPools ? `${disk},bus=virtio` : 'none',
    '--boot', `kernel=${guest.kernel},initrd=${guest.initrd},kernel_args=console=ttyS0 quiet panic=-1`,
    '--serial', `file,path=${serial}`,
  ], { cwd: daemon.root, timeout: 120_000 });
  assert.match(stdout, /Domain creation completed/);
  await new SerialLog(serial).waitFor(/^@@GUEST-UP /, BOOT_TIMEOUT_MS);
  const { stdout: state } = await run(VIRSH, ['-c', uri, 'domstate', 'vi']);
  assert.equal(state.trim(), 'running');
  const { stdout: xml } = await run(VIRSH, ['-c', uri, 'dumpxml', 'vi']);
  assert.match(xml, /<kernel>[^<]*vmlinuz<\/kernel>/);
  if (servesPools) assert.ok(xml.includes(disk), 'the disk is in the domain');
});
