// The security pieces of the qemu driver without QEMU: qemu.conf user/group,
// machine (cgroup scope) names, what DAC labels (backing chains from qcow2
// headers), owner memory and restore, trusted state folders, and telling the
// QEMU a status file names from any other process (issue #13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConf } from '../../src/drivers/qemu/config.js';
import { configuredIdentity, dacLabel, dropPrivilegesCommand } from '../../src/drivers/qemu/security/identity.js';
import { machineName, machineScopeName } from '../../src/drivers/qemu/security/cgroup.js';
import { DacLabels, labelTargets } from '../../src/drivers/qemu/security/dac.js';
import { checkStateFolders } from '../../src/drivers/qemu/security/trusted-folders.js';
import { matchQemuProcess } from '../../src/drivers/qemu/security/process-identity.js';
import { qemuPathsForURI } from '../../src/drivers/qemu/paths.js';
import { parseURI } from '../../src/driver/uri.js';
import { parseXml } from '../../src/util/xml.js';
import { processStartTime } from '../../src/util/process.js';

const isRoot = process.getuid?.() === 0;
function rootOnly(what: string): string | false {
  if (isRoot) return false;
  const message = `*** ${what} SKIPPED: needs root (chown, folders owned by others) ***`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true runs as root)`);
  process.stderr.write(`${message}\n`);
  return message;
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-sec-'));
  chmodSync(dir, 0o755);
  return dir;
}

test('qemu.conf user/group: names from the databases, +N as numbers, libvirt\'s error for an unknown name', () => {
  const dir = tempDir();
  try {
    const passwd = path.join(dir, 'passwd');
    const group = path.join(dir, 'group');
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\ntsvirt-qemu:x:995:995::/nonexistent:/usr/sbin/nologin\n');
    writeFileSync(group, 'root:x:0:\nkvm:x:107:tsvirt-qemu\ntsvirt-qemu:x:995:\n');
    const files = { passwd, group };
    assert.deepEqual(configuredIdentity(new Map(), files), { uid: 995, gid: 995, named: true });
    assert.deepEqual(configuredIdentity(parseConf('user = "+64055"\ngroup = "kvm"\n', 'qemu.conf'), files), { uid: 64055, gid: 107, named: false });
    assert.throws(() => configuredIdentity(parseConf('user = "nosuchuser"\n', 'qemu.conf'), files), /Failed to parse user 'nosuchuser'/);
    assert.throws(() => configuredIdentity(parseConf('group = "+x1"\n', 'qemu.conf'), files), /Failed to parse group '\+x1'/);
    assert.equal(dacLabel({ uid: 995, gid: 107 }), '+995:+107');
    // a bare +UID has no passwd entry to take supplementary groups from
    assert.deepEqual(dropPrivilegesCommand({ uid: 64055, gid: 107, named: false }).slice(1), ['--reuid=64055', '--regid=107', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('machine names and cgroup scopes as libvirt makes them', () => {
  assert.equal(machineName(3, 'vm1'), 'qemu-3-vm1');
  assert.equal(machineName(1, '..a--b..c_d é-'), 'qemu-1-a-b.cd');
  assert.match(machineName(7, 'web', '/srv/root'), /^qemu-embed-[0-9a-f]{8}-7-web$/);
  assert.notEqual(machineName(7, 'web', '/srv/a'), machineName(7, 'web', '/srv/b'));
  assert.equal(machineName(1, 'x'.repeat(100)).length, 64);
  assert.equal(machineScopeName('qemu-3-vm.1'), 'machine-qemu\\x2d3\\x2dvm.1.scope');
});

test('DAC targets: disks with their qcow2 backing chain, kernel/initrd/nvram, file chardevs (created) and connect sockets', () => {
  const dir = tempDir();
  try {
    const base = path.join(dir, 'base.raw');
    const mid = path.join(dir, 'mid.qcow2');
    const top = path.join(dir, 'top.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', base, '1M']);
    // the relative backing name resolves against the image's folder
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'base.raw', mid]);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', mid, top]);
    const live = parseXml(`<domain><os><kernel>/k</kernel><initrd>/i</initrd><nvram>/n</nvram></os><devices>
      <disk type='file'><source file='${top}'/></disk>
      <disk type='file'><source file='/explicit'/><backingStore type='file'><source file='/below'/><backingStore/></backingStore></disk>
      <disk type='network'><source protocol='nbd' name='x'/></disk>
      <serial type='file'><source path='/s.log'/><log file='/s.chardevlog'/></serial>
      <channel type='unix'><source mode='bind' path='/bound'/></channel>
      <channel type='unix'><source mode='connect' path='/peer'/></channel>
    </devices></domain>`);
    assert.deepEqual(labelTargets(live), [
      { path: top, create: false }, { path: mid, create: false }, { path: base, create: false },
      { path: '/explicit', create: false }, { path: '/below', create: false },
      { path: '/s.log', create: true }, { path: '/s.chardevlog', create: true },
      { path: '/peer', create: false },
      { path: '/k', create: false }, { path: '/i', create: false }, { path: '/n', create: false },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DAC labels: owners remembered durably, given back when the last holder stops; output files 0600, never through a link', { skip: rootOnly('DAC label test') }, async () => {
  const dir = tempDir();
  try {
    const state = path.join(dir, 'run');
    mkdirSync(state);
    const labels = new DacLabels(state, state);
    const image = path.join(dir, 'img');
    writeFileSync(image, '');
    chownSync(image, 1234, 1235);
    await labels.label('a', [{ path: image, create: false }], 995, 996);
    await labels.label('b', [{ path: image, create: false }], 995, 996);
    assert.equal(statSync(image).uid, 995);
    await labels.restore('a');
    assert.equal(statSync(image).uid, 995, 'b still runs');
    // another process (a later tsvirsh) reads the memory from the state folder
    await new DacLabels(state, state).restore('b');
    assert.deepEqual([statSync(image).uid, statSync(image).gid], [1234, 1235]);

    const out = path.join(dir, 'serial.log');
    await labels.label('c', [{ path: out, create: true }], 995, 996);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(statSync(out).uid, 995);
    await labels.restore('c');
    assert.equal(statSync(out).uid, 0, 'a created file goes back to root');

    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, path.join(dir, 'planted.log'));
    await assert.rejects(labels.label('d', [{ path: path.join(dir, 'planted.log'), create: true }], 995, 996), /refusing to follow a symbolic link/);
    assert.equal(statSync(victim).uid, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('root refuses an embed root another user owns or can write, naming the folder', { skip: rootOnly('trusted folder test') }, async () => {
  const dir = tempDir();
  try {
    const open = (root: string) => checkStateFolders(qemuPathsForURI(parseURI(`qemu:///embed?root=${root}`)));
    const foreign = path.join(dir, 'foreign');
    mkdirSync(foreign);
    chownSync(foreign, 65534, 65534);
    await assert.rejects(open(path.join(foreign, 'root')), /refusing to use state folder '[^']*\/foreign\/root' \(its folder '[^']*\/foreign'\) as root: it is owned by uid 65534, not root/);
    const open777 = path.join(dir, 'open');
    mkdirSync(open777);
    chmodSync(open777, 0o777);
    await assert.rejects(open(open777), /'[^']*\/open' as root: it is writable by other users \(mode 0777\)/);
    // a sticky, world-writable folder above (like /tmp) is fine; the root itself is not
    chmodSync(open777, 0o1777);
    await assert.rejects(open(open777), /writable by other users \(mode 1777\)/);
    mkdirSync(path.join(open777, 'root'));
    await open(path.join(open777, 'root'));
    // a state folder inside a good root
    const good = path.join(dir, 'good');
    mkdirSync(path.join(good, 'etc', 'qemu'), { recursive: true });
    chownSync(path.join(good, 'etc', 'qemu'), 65534, 65534);
    await assert.rejects(open(good), /'[^']*\/good\/etc\/qemu' as root: it is owned by uid 65534/);
    // a link owned by another user in a sticky folder
    symlinkSync(good, path.join(open777, 'link'));
    lchownSync(path.join(open777, 'link'), 65534, 65534);
    await assert.rejects(open(path.join(open777, 'link')), /owned by uid 65534/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a status file pid is the QEMU only when start time and command line match', async (t) => {
  const monitor = '/run/x/domain-1-a/monitor.sock';
  // processes whose command lines do and do not carry the monitor argument
  const idle = ['-e', 'setTimeout(() => {}, 30000)'];
  const proc = spawn(process.execPath, [...idle, `socket,id=charmonitor,path=${monitor},server=on,wait=off`]);
  const other = spawn(process.execPath, idle);
  t.after(() => {
    proc.kill();
    other.kill();
  });
  await new Promise((r) => setTimeout(r, 300));
  const start = processStartTime(proc.pid!)!;
  assert.equal(matchQemuProcess(proc.pid!, start, monitor), 'same');
  assert.equal(matchQemuProcess(proc.pid!, 0, monitor), 'unverified', "starttime='0' proves nothing");
  assert.equal(matchQemuProcess(proc.pid!, start, '/run/x/domain-2-b/monitor.sock'), 'unverified');
  assert.equal(matchQemuProcess(other.pid!, processStartTime(other.pid!)!, monitor), 'unverified', 'an unrelated process');
  assert.equal(matchQemuProcess(proc.pid!, start + 1, monitor), 'gone', 'the pid was reused: that QEMU is gone');
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
  assert.equal(matchQemuProcess(proc.pid!, start, monitor), 'gone');
});
