// qemu.conf: libvirt's virconf syntax and tsvirt's hotplug_pcie_spare_ports setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadQemuDriverConfig, parseConf } from '../../src/drivers/qemu/config.js';
import { tempDir } from '../helpers/temp-dir.js';

test('virconf values: strings, integers, lists, comments', () => {
  const conf = parseConf('# comment\nvnc_listen = "0.0.0.0"  # trailing\nlog_timestamp=0\ncgroup_controllers = [ "cpu", \n "memory" ]\nuser = \'qemu\'\n', 'qemu.conf');
  assert.deepEqual([...conf], [['vnc_listen', '0.0.0.0'], ['log_timestamp', 0], ['cgroup_controllers', ['cpu', 'memory']], ['user', 'qemu']]);
  assert.throws(() => parseConf('a = "x\nb = 1\n', 'f.conf'), { message: 'configuration file syntax error: f.conf:1: unterminated string' });
  assert.throws(() => parseConf('a 1\n', 'f.conf'), { message: 'configuration file syntax error: f.conf:1: expecting an assignment' });
  assert.throws(() => parseConf('\n\na = [ 1 2 ]\n', 'f.conf'), { message: 'configuration file syntax error: f.conf:3: expecting a separator in list' });
});

test('hotplug_pcie_spare_ports defaults to libvirt\'s 1 and is range checked', async () => {
  const dir = tempDir('conf');
  const file = path.join(dir, 'qemu.conf');
  assert.equal((await loadQemuDriverConfig(file)).hotplugPcieSparePorts, 1, 'no file: defaults');
  writeFileSync(file, 'hotplug_pcie_spare_ports = 8\n');
  assert.equal((await loadQemuDriverConfig(file)).hotplugPcieSparePorts, 8);
  writeFileSync(file, 'hotplug_pcie_spare_ports = -1\n');
  await assert.rejects(loadQemuDriverConfig(file), { message: `internal error: ${file}: expected an unsigned integer for 'hotplug_pcie_spare_ports' parameter` });
  writeFileSync(file, 'hotplug_pcie_spare_ports = "8"\n');
  await assert.rejects(loadQemuDriverConfig(file), { message: /expected an unsigned integer/ });
  writeFileSync(file, 'hotplug_pcie_spare_ports = 300\n');
  await assert.rejects(loadQemuDriverConfig(file), { message: /must be in range 0:255/ });
});
