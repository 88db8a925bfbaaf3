// QEMU under a root tsvirt (as under qemu:///system; here an embed root opened by
// root, which CI is): it runs as tsvirt's unprivileged user with no capability,
// in a cgroup of its own, and the files it was given (disk image, serial output)
// are the QEMU user's only while it runs (issue #13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { cgroup2Mount } from '../../src/drivers/qemu/security/cgroup.js';
import { guestDomainXML, Sandbox, testGuest, virtioDiskXML } from './guest.js';

const guest = testGuest();

function rootSkip(): string | false {
  if ('skip' in guest) return guest.skip;
  if (process.getuid?.() === 0) return false;
  const message = '*** privilege separation e2e test SKIPPED: needs root (tsvirt drops root for QEMU only when it has it) ***';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true runs as root)`);
  process.stderr.write(`${message}\n`);
  return message;
}
const skip = rootSkip();

/** The id of a user or group (scripts/setup.sh creates tsvirt-qemu). */
const idOf = (flag: '-u' | '-g', user: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());

function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return out;
}

/** The cgroup v2 tree root can make groups in, or why not. */
async function writableCgroup2(): Promise<string | { why: string }> {
  const mount = await cgroup2Mount();
  if (!mount) return { why: 'no cgroup v2 hierarchy mounted' };
  try {
    accessSync(mount, constants.W_OK);
    return mount;
  } catch {
    return { why: `${mount} is not writable` };
  }
}

test('root: QEMU runs as tsvirt-qemu with CapEff 0 in its own cgroup; the disk image goes back to its owner at destroy', { skip }, async (t) => {
  if ('skip' in guest) return;
  const uid = idOf('-u', 'tsvirt-qemu');
  const gid = idOf('-g', 'tsvirt-qemu');
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const image = sb.file('disk.img');
  const disk = virtioDiskXML(image, 'vda');
  // an image only its owner may open: QEMU can use it only through the relabelling
  chownSync(image, 4321, 4322);
  chmodSync(image, 0o600);
  const serial = sb.file('priv.serial.log');
  // a guest agent channel: QEMU binds its socket under the shared lib/qemu/channel/target
  const channel = `<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`;
  await sb.define(guestDomainXML({ name: 'priv', machine: 'q35', serialPath: serial, guest, devices: disk + channel }));
  await sb.ok('start', 'priv');
  const [pid] = sb.qemuPids();
  assert.ok(pid !== undefined, 'QEMU runs');

  const status = procStatus(pid);
  assert.deepEqual(status.Uid!.split(/\s+/).map(Number), [uid, uid, uid, uid], 'real, effective, saved and fs uid');
  assert.deepEqual(status.Gid!.split(/\s+/).map(Number), [gid, gid, gid, gid]);
  assert.ok(status.Groups!.split(/\s+/).map(Number).includes(Number(execFileSync('getent', ['group', 'kvm'], { encoding: 'utf8' }).split(':')[2])) || !existsSync('/dev/kvm'), 'in group kvm (/dev/kvm)');
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(status[set], '0000000000000000', set);

  const cgroupLine = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  const tree = await writableCgroup2();
  if (typeof tree === 'string') {
    assert.match(cgroupLine ?? '', /^0::\/machine\.slice\/machine-qemu\\x2dembed\\x2d[0-9a-f]{8}\\x2d\d+\\x2dpriv\.scope$/);
  } else {
    t.diagnostic(`*** cgroup check SKIPPED: ${tree.why} ***`);
  }

  assert.deepEqual([statSync(image).uid, statSync(image).gid], [uid, gid], 'the image is the QEMU user\'s while the guest runs');
  assert.equal(statSync(serial).mode & 0o777, 0o600, 'serial output is 0600');
  assert.equal(statSync(serial).uid, uid);
  const xml = (await sb.ok('dumpxml', 'priv')).stdout;
  assert.ok(xml.includes(`  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+${uid}:+${gid}</label>
    <imagelabel>+${uid}:+${gid}</imagelabel>
  </seclabel>
`), xml);
  // libvirt's primary model on a host without SELinux/AppArmor is "none": no label line
  assert.match((await sb.ok('dominfo', 'priv')).stdout, /^Security model: none\nSecurity DOI:   0\n$/m);

  await sb.ok('destroy', 'priv');
  assert.deepEqual([statSync(image).uid, statSync(image).gid], [4321, 4322], 'the image has its owner back');
  assert.equal(sb.qemuPids().length, 0);
  if (typeof tree === 'string') assert.ok(!(cgroupLine && existsSync(`${tree}${cgroupLine.slice(3)}`)), 'the cgroup is gone');
});
