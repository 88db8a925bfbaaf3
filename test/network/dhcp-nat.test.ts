// A NAT network at work, without QEMU: inside a host namespace tsvirsh starts a
// NAT network; a "guest" namespace plugged into its bridge by a veth pair gets
// a DHCP lease from the network's dnsmasq (busybox udhcpc), which the lease
// helper records for net-dhcp-leases; the guest pings the gateway and, through
// libvirt's masquerading rules, a test host in a third namespace that has no
// route back. net-destroy then leaves no bridge, rule or dnsmasq behind.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NAT_LAN_XML as NETWORK } from './nat-lan.js';
import { NetworkNamespace, namespaceSkipReason } from './namespace.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSVIRSH = join(ROOT, 'bin', 'tsvirsh');
const GUEST_MAC = '52:54:00:11:22:33';


/** udhcpc's hook: configure what the lease says. */
const UDHCPC_SCRIPT = `#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/$mask" dev "$interface"
[ -n "$router" ] && ip route add default via "$router"
exit 0
`;

test('a NAT network leases an address, routes to the gateway and masquerades to the outside', (t) => {
  const skip = namespaceSkipReason() ?? (spawnSync('busybox', ['udhcpc', '--help']).error ? 'busybox (udhcpc) is missing' : undefined);
  if (skip) return t.skip(skip);
  const host = new NetworkNamespace('nathost');
  const guest = new NetworkNamespace('natguest');
  const outside = new NetworkNamespace('natout');
  const dir = mkdtempSync(join(tmpdir(), 'tsvirt-natnet-'));
  const tsvirsh = (...args: string[]) => host.run([TSVIRSH, '-c', `qemu:///embed?root=${dir}`, ...args]);
  try {
    writeFileSync(join(dir, 'lan.xml'), NETWORK);
    writeFileSync(join(dir, 'udhcpc.sh'), UDHCPC_SCRIPT, { mode: 0o755 });
    assert.equal(tsvirsh('net-define', join(dir, 'lan.xml')).status, 0);
    const started = tsvirsh('net-start', 'lan');
    assert.equal(started.status, 0, started.stderr);

    // the outside: a directly connected test host that knows no route to the NAT network
    spawnSync('ip', ['link', 'add', 'up0', 'netns', host.name, 'type', 'veth', 'peer', 'name', 'out0', 'netns', outside.name]);
    host.exec(['ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'up0']);
    host.exec(['ip', 'link', 'set', 'up0', 'up']);
    outside.exec(['ip', 'addr', 'add', '10.99.0.2/24', 'dev', 'out0']);
    outside.exec(['ip', 'link', 'set', 'out0', 'up']);

    // the guest's NIC, plugged into the network's bridge as a tap would be
    spawnSync('ip', ['link', 'add', 'vg0', 'netns', host.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', guest.name]);
    host.exec(['ip', 'link', 'set', 'vg0', 'master', 'virbr0', 'up']);
    guest.exec(['ip', 'link', 'set', 'eth0', 'address', GUEST_MAC, 'up']);
    const dhcp = guest.run(['busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', '10', '-T', '1', '-s', join(dir, 'udhcpc.sh')]);
    assert.equal(dhcp.status, 0, `udhcpc: ${dhcp.stdout}${dhcp.stderr}`);
    const address = /inet (192\.168\.250\.\d+)\/24/.exec(guest.exec(['ip', '-4', 'addr', 'show', 'eth0']))?.[1];
    assert.ok(address, 'the guest got an address in the network');

    // the helper records the lease shortly after dnsmasq hands it out
    const status = join(dir, 'lib', 'dnsmasq', 'virbr0.status');
    for (let i = 0; i < 50 && !(existsSync(status) && readFileSync(status, 'utf8').includes(GUEST_MAC)); i++) spawnSync('sleep', ['0.1']);
    const leases = tsvirsh('net-dhcp-leases', 'lan').stdout;
    assert.match(leases, new RegExp(`${GUEST_MAC}\\s+ipv4\\s+${address.replace(/\./g, '\\.')}/24`));

    assert.equal(guest.run(['busybox', 'ping', '-c', '1', '-W', '2', '192.168.250.1']).status, 0, 'the guest reaches its gateway');
    assert.equal(guest.run(['busybox', 'ping', '-c', '1', '-W', '2', '10.99.0.2']).status, 0, 'the guest reaches the outside through NAT');

    assert.equal(tsvirsh('net-destroy', 'lan').status, 0);
    assert.notEqual(host.run(['ip', 'link', 'show', 'virbr0']).status, 0, 'no bridge left');
    assert.doesNotMatch(host.exec(['iptables-save']), /virbr0|192\.168\.250/, 'no rule left');
    assert.notEqual(spawnSync('pgrep', ['-f', `${dir}/lib/dnsmasq/lan.conf`]).status, 0, 'no dnsmasq left');
  } finally {
    for (const ns of [guest, outside, host]) ns.delete();
    rmSync(dir, { recursive: true, force: true });
  }
});
