// A restarted tsvirtd finds a guest on a virtual network still running and
// hands its interface's network port back to the network driver with RECLAIM,
// as libvirtd's qemuProcessReconnect does: a port whose status file was lost in
// between is registered again, under the uuid the live XML names, with its plug,
// and a tap that left its bridge is put back on it.
// tsvirtd runs inside a network namespace the test creates, so the network's
// bridge, firewall rules, dnsmasq and the guest's tap exist only there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsvirsh } from '../helpers/shared.js';
import { guestDomainXML, testGuest } from '../e2e/guest.js';
import { NetworkNamespace, namespaceSkipReason } from '../network/namespace.js';
import { spawnDaemon, type SpawnedDaemon } from './spawn-daemon.js';

const NETWORK = `<network>
  <name>lan</name>
  <forward mode='nat'/>
  <ip address='192.168.251.1' netmask='255.255.255.0'/>
</network>
`;

function skipReason(): string | false {
  const guest = testGuest();
  if ('skip' in guest) return guest.skip;
  return namespaceSkipReason() ?? false;
}

test('a restarted tsvirtd reclaims the network port of a running guest', { skip: skipReason() }, async (t) => {
  const guest = testGuest();
  if ('skip' in guest) return;
  const ns = new NetworkNamespace('netreclaim');
  const prefix = ['ip', 'netns', 'exec', ns.name];
  let daemon: SpawnedDaemon = await spawnDaemon('', { prefix });
  t.after(async () => {
    virsh('destroy', 'reclaim');
    virsh('net-destroy', 'lan');
    await daemon.stopWithGuests();
    ns.delete();
  });
  const virsh = (...args: string[]) => spawnSync(process.execPath, [tsvirsh, '-c', daemon.uri('qemu', '/system'), ...args], { encoding: 'utf8' });
  const ok = (...args: string[]) => {
    const r = virsh(...args);
    assert.equal(r.status, 0, `tsvirsh ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  writeFileSync(join(daemon.root, 'lan.xml'), NETWORK);
  ok('net-create', join(daemon.root, 'lan.xml'));
  const nic = "<interface type='network'><mac address='52:54:00:5e:02:01'/><source network='lan'/><model type='virtio'/></interface>";
  writeFileSync(join(daemon.root, 'guest.xml'), guestDomainXML({ name: 'reclaim', machine: 'q35', serialPath: join(daemon.root, 'serial.log'), guest, devices: nic }));
  ok('create', join(daemon.root, 'guest.xml'), '--paused');
  const portid = /<source network='lan' portid='([0-9a-f-]{36})' bridge='virbr0'\/>/.exec(ok('dumpxml', 'reclaim'))?.[1];
  assert.ok(portid, 'the live XML names the port');
  assert.equal(ok('net-port-list', 'lan', '--uuid').trim(), portid);

  // the daemon goes, and with it (as after a crash that lost it) the port's status file
  await daemon.kill();
  const portFiles = spawnSync('find', [daemon.root, '-path', `*/network/lan/ports/${portid}.xml`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  assert.equal(portFiles.length, 1, `one status file for the port: ${portFiles.join(', ')}`);
  rmSync(portFiles[0]!);
  assert.deepEqual(readdirSync(join(portFiles[0]!, '..')), []);
  // and the tap left its bridge (as when the bridge was made anew)
  ns.exec(['ip', 'link', 'set', 'dev', 'vnet0', 'nomaster']);

  daemon = await spawnDaemon('', { prefix, root: daemon.root });
  assert.match(ok('domstate', 'reclaim'), /^paused$/m, 'the guest ran on');
  assert.equal(ok('net-port-list', 'lan', '--uuid').trim(), portid, 'the port is back under its uuid');
  assert.match(ns.exec(['ip', 'link', 'show', 'vnet0']), /master virbr0 /, 'the tap is back on its bridge');
  const portXML = ok('net-port-dumpxml', 'lan', portid);
  assert.match(portXML, /<name>reclaim<\/name>[\s\S]*<mac address='52:54:00:5e:02:01'\/>\n\s*<plug type='network' bridge='virbr0'\/>/, portXML);

  ok('destroy', 'reclaim');
  assert.equal(ok('net-port-list', 'lan', '--uuid').trim(), '', 'destroy deletes the reclaimed port');
});
