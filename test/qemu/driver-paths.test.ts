// State layouts per qemu:/// URI: libvirt's embed layout under the root,
// libvirt's per-user folders for the session, tsvirt's own system tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseURI } from '../../src/driver/uri.js';
import { qemuPathsForURI } from '../../src/drivers/qemu/paths.js';

test('embed: everything under the root, as libvirt lays it out', () => {
  const p = qemuPathsForURI(parseURI('qemu:///embed?root=/srv/lab'));
  assert.equal(p.uri, 'qemu:///embed?root=/srv/lab');
  assert.equal(p.configFile, '/srv/lab/etc/qemu.conf');
  assert.equal(p.configDir, '/srv/lab/etc/qemu');
  assert.equal(p.autostartDir, '/srv/lab/etc/qemu/autostart');
  assert.equal(p.stateDir, '/srv/lab/run/qemu');
  assert.equal(p.cacheDir, '/srv/lab/cache/qemu');
  assert.equal(p.libDir, '/srv/lab/lib/qemu');
  assert.equal(p.logDir, '/srv/lab/log/qemu');
  assert.equal(p.nvramDir, '/srv/lab/lib/qemu/nvram');
  assert.equal(p.channelTargetDir, '/srv/lab/lib/qemu/channel/target');
});

test('session: libvirt\'s per-user folders from the XDG variables', () => {
  const saved = { ...process.env };
  try {
    process.env.XDG_CONFIG_HOME = '/home/u/.config';
    process.env.XDG_CACHE_HOME = '/home/u/.cache';
    process.env.XDG_RUNTIME_DIR = '/run/user/1000';
    const p = qemuPathsForURI(parseURI('qemu:///session'));
    assert.equal(p.configDir, '/home/u/.config/libvirt/qemu');
    assert.equal(p.libDir, '/home/u/.config/libvirt/qemu/lib');
    assert.equal(p.cacheDir, '/home/u/.cache/libvirt/qemu/cache');
    assert.equal(p.logDir, '/home/u/.cache/libvirt/qemu/log');
    assert.equal(p.stateDir, '/run/user/1000/libvirt/qemu/run');
  } finally {
    process.env = saved;
  }
});

test('system: libvirt\'s layout in tsvirt\'s own tree, never libvirt\'s files', () => {
  const p = qemuPathsForURI(parseURI('qemu:///system'));
  for (const dir of [p.configDir, p.stateDir, p.cacheDir, p.libDir, p.logDir, p.autostartDir]) {
    assert.doesNotMatch(dir, /libvirt/, dir);
    assert.match(dir, /tsvirt/, dir);
  }
  assert.equal(p.configDir, '/etc/tsvirt/qemu');
  assert.equal(p.libDir, '/var/lib/tsvirt/qemu');
  assert.equal(p.stateDir, '/run/tsvirt/qemu');
});

test('the command-line options of start and domxml-to-native take the TLS folder from the driver\'s layout', async () => {
  const { driverCommandLineOptions } = await import('../../src/drivers/qemu/command-line-options.js');
  const tapFd = () => 0;
  const embed = qemuPathsForURI(parseURI('qemu:///embed?root=/srv/lab'));
  const options = driverCommandLineOptions(embed, { caps: {} as never, domainId: 7, tapFd });
  assert.equal(options.tlsX509CertDir, '/srv/lab/etc/pki/qemu');
  assert.equal(options.paths, embed);
  assert.equal(options.domainId, 7);
  assert.equal(options.tapFd, tapFd);
  const system = driverCommandLineOptions(qemuPathsForURI(parseURI('qemu:///system')), { caps: {} as never, domainId: -1, tapFd });
  assert.equal(system.tlsX509CertDir, '/etc/pki/qemu');
});

test('a state root (tsvirtd --root DIR): system and session keep their URI, their state goes under DIR as embed lays it out', () => {
  const system = qemuPathsForURI(parseURI('qemu:///system'), '/srv/daemon');
  assert.deepEqual([system.uri, system.mode, system.configDir, system.stateDir, system.libDir, system.lockDir],
    ['qemu:///system', 'system', '/srv/daemon/etc/qemu', '/srv/daemon/run/qemu', '/srv/daemon/lib/qemu', '/srv/daemon/run/qemu/tsvirt-locks']);
  const session = qemuPathsForURI(parseURI('qemu:///session'), '/srv/daemon');
  assert.deepEqual([session.uri, session.configFile], ['qemu:///session', '/srv/daemon/etc/qemu.conf']);
  // an embed URI names its own root
  assert.equal(qemuPathsForURI(parseURI('qemu:///embed?root=/srv/lab'), '/srv/daemon').configDir, '/srv/lab/etc/qemu');
  assert.throws(() => qemuPathsForURI(parseURI('qemu:///bogus'), '/srv/daemon'), { message: "internal error: unexpected QEMU URI path '/bogus', try qemu:///system" });
});
