// The tiny test guest on a NAT network, end to end. tsvirsh runs inside a
// network namespace the test creates (`ip netns exec`), so the network's bridge,
// firewall rules and dnsmasq and the guest's tap exist only there. The guest
// asks for a lease (busybox udhcpc over its serial console), which appears in
// net-dhcp-leases and domifaddr; it pings its gateway and, through libvirt's
// masquerading, a test host in a second namespace that has no route back. A
// hotplugged NIC gets a second lease; domif-setlink takes a link down and up;
// every NIC has its network port (net-port-list), and unplug and destroy leave
// no tap and no port behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { openConsoleSession } from '../../src/drivers/qemu/console.js';
import { projectRoot, tsvirsh } from '../helpers/shared.js';
import { NAT_LAN_XML as NETWORK } from '../network/nat-lan.js';
import { NetworkNamespace, namespaceSkipReason } from '../network/namespace.js';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil, type RunResult } from './guest.js';

const FIRST_MAC = '52:54:00:5e:00:01';
const SECOND_MAC = '52:54:00:5e:00:02';
const OUTSIDE_HOST = '10.99.0.2';
/** udhcpc's hook inside the guest, written by one console line: configure what the lease says. */
const DHCP_HOOK = String.raw`printf '#!/bin/sh\n[ "$1" = bound ] || exit 0\nip addr add $ip/$mask dev $interface\n[ -n "$router" ] && ip route add default via $router\nexit 0\n' >/tmp/dhcp-hook && chmod +x /tmp/dhcp-hook`;

function skipReason(): string | false {
  const guest = testGuest();
  if ('skip' in guest) return guest.skip;
  return namespaceSkipReason() ?? false;
}

/** The guest's serial console: commands in, their output and exit status out. */
class GuestShell {
  private text = '';
  private seq = 0;

  constructor(private readonly console: Duplex) {
    console.on('data', (d: Buffer) => (this.text += d.toString('utf8').replace(/\r/g, '')));
    console.on('error', () => undefined); // EIO when QEMU goes away
  }

  seen(re: RegExp): boolean {
    return re.test(this.text);
  }

  /** Runs a shell line in the guest; its output and exit status. */
  async run(line: string, timeoutMs = 60_000): Promise<{ rc: number; out: string }> {
    const tag = `@@RC-${++this.seq}`;
    const from = this.text.length;
    this.console.write(`${line}; echo ${tag} $?\n`);
    const m = await waitUntil(`'${line}' in the guest`, timeoutMs, () => new RegExp(`^${tag} (\\d+)$`, 'm').exec(this.text.slice(from)) ?? undefined);
    // the console loop's own "@@DONE" of the previous line may arrive after this one was sent
    const out = this.text.slice(from, from + m.index).split('\n').filter((l) => !l.startsWith('@@DONE')).join('\n');
    return { rc: Number(m[1]), out };
  }
}

test('a guest on a NAT network gets leases, reaches its gateway and the outside, and a hotplugged NIC gets its own lease', { skip: skipReason() }, async (t) => {
  const guest = testGuest();
  if ('skip' in guest) return;
  const sb = new Sandbox();
  const host = new NetworkNamespace('netguest');
  const outside = new NetworkNamespace('netout');
  const virsh = (...args: string[]): Promise<RunResult> => new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('ip', ['netns', 'exec', host.name, process.execPath, tsvirsh, '-c', sb.uri, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }));
  });
  const ok = async (...args: string[]) => {
    const r = await virsh(...args);
    assert.equal(r.code, 0, `tsvirsh ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  // the guest and the network go first, then their namespaces, then the sandbox
  t.after(async () => {
    await virsh('destroy', 'netguest');
    await virsh('net-destroy', 'lan');
    for (const ns of [outside, host]) ns.delete();
    await sb.dispose();
  });

  // the outside: a directly connected test host that knows no route to the NAT network
  spawnSync('ip', ['link', 'add', 'up0', 'netns', host.name, 'type', 'veth', 'peer', 'name', 'out0', 'netns', outside.name]);
  host.exec(['ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'up0']);
  host.exec(['ip', 'link', 'set', 'up0', 'up']);
  outside.exec(['ip', 'addr', 'add', `${OUTSIDE_HOST}/24`, 'dev', 'out0']);
  outside.exec(['ip', 'link', 'set', 'out0', 'up']);

  writeFileSync(sb.file('lan.xml'), NETWORK);
  await ok('net-define', sb.file('lan.xml'));
  const nic = (mac: string) => `<interface type='network'><mac address='${mac}'/><source network='lan'/><model type='virtio'/></interface>`;
  await sb.define(guestDomainXML({ name: 'netguest', machine: 'q35', serialPath: 'pty', guest, devices: nic(FIRST_MAC) }));
  const refused = await virsh('start', 'netguest');
  assert.match(refused.stderr, /error: Requested operation is not valid: network 'lan' is not active/, 'a network that is not running is refused as libvirt does');
  assert.doesNotMatch(host.exec(['ip', '-br', 'link']), /vnet/, 'the refused start left no tap');
  await ok('net-start', 'lan');
  await ok('start', 'netguest');

  const live = await ok('dumpxml', 'netguest');
  const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
  const firstPort = new RegExp(`<source network='lan' portid='(${UUID})' bridge='virbr0'/>\\n\\s*<target dev='vnet0'/>`).exec(live)?.[1];
  assert.ok(firstPort, `the live XML names the network port, the bridge and the tap as libvirt's does: ${live}`);
  /** The network's ports (net-port-list --uuid), sorted. */
  const ports = async () => (await ok('net-port-list', 'lan', '--uuid')).split('\n').filter(Boolean).sort();
  assert.deepEqual(await ports(), [firstPort], "net-port-list shows the guest's port");
  const portXML = await ok('net-port-dumpxml', 'lan', firstPort);
  assert.match(portXML, new RegExp(`<owner>\\n\\s*<name>netguest</name>\\n\\s*<uuid>${UUID}</uuid>\\n\\s*</owner>\\n\\s*<mac address='${FIRST_MAC}'/>\\n\\s*<plug type='network' bridge='virbr0'/>`), portXML);
  const tap = host.exec(['ip', '-d', 'link', 'show', 'vnet0']);
  assert.match(tap, /link\/ether fe:54:00:5e:00:01 /, "the tap has the guest's MAC with libvirt's fe: first byte");
  assert.match(tap, /master virbr0 /, 'the tap is a port of the bridge');
  assert.match(tap, /tun type tap .*user tsvirt-qemu/, "the tap is QEMU's user's");
  assert.match(await ok('domiflist', 'netguest'), /^ vnet0\s+network\s+lan\s+virtio\s+52:54:00:5e:00:01$/m);

  const pty = /<console type='pty' tty='([^']+)'>/.exec(live)?.[1];
  assert.ok(pty, 'the live XML names the console pty');
  const shell = new GuestShell(await openConsoleSession(pty, sb.file('console.owner'), true));
  await waitUntil('the guest up', BOOT_TIMEOUT_MS, () => (shell.seen(/^@@PCI-END /m) ? true : undefined));
  assert.equal((await shell.run(DHCP_HOOK)).rc, 0);

  /** udhcpc on a guest NIC; the address it configured. */
  const lease = async (ifname: string): Promise<string> => {
    const dhcp = await shell.run(`ip link set ${ifname} up && udhcpc -i ${ifname} -n -q -t 20 -T 1 -s /tmp/dhcp-hook && ip -4 addr show ${ifname}`);
    assert.equal(dhcp.rc, 0, `udhcpc on ${ifname}: ${dhcp.out}`);
    const address = /inet (192\.168\.250\.\d+)\/24/.exec(dhcp.out)?.[1];
    assert.ok(address, `${ifname} got an address in the network: ${dhcp.out}`);
    return address;
  };
  const first = await lease('eth0');
  /** Waits for the lease helper to record the address, then checks what net-dhcp-leases and domifaddr say. */
  const leaseListed = async (mac: string, address: string, tapName: string) => {
    const row = new RegExp(`${mac}\\s+ipv4\\s+${address.replace(/\./g, '\\.')}/24`);
    await waitUntil(`the lease of ${mac} in net-dhcp-leases`, 20_000, async () => (row.test((await virsh('net-dhcp-leases', 'lan')).stdout) ? true : undefined));
    assert.match(await ok('domifaddr', 'netguest'), new RegExp(`^ ${tapName}\\s+${mac}\\s+ipv4\\s+${address.replace(/\./g, '\\.')}/24$`, 'm'));
  };
  await leaseListed(FIRST_MAC, first, 'vnet0');
  // the tap's counters, seen from the guest: its DHCP traffic was received
  assert.match(await ok('domifstat', 'netguest', 'vnet0'), /^vnet0 rx_bytes [1-9]\d*$/m);

  assert.equal((await shell.run('ping -c 1 -W 5 192.168.250.1')).rc, 0, 'the guest reaches its gateway');
  const outsidePing = await shell.run(`ping -c 1 -W 5 ${OUTSIDE_HOST}`);
  assert.equal(outsidePing.rc, 0, `the guest reaches the outside host through NAT: ${outsidePing.out}`);
  assert.match(await ok('domifaddr', 'netguest', '--source', 'arp'), new RegExp(`^ vnet0\\s+${FIRST_MAC}\\s+ipv4\\s+${first.replace(/\./g, '\\.')}/0$`, 'm'));

  // domif-setlink: QEMU takes the guest's link down and up again; the live XML and domif-getlink say so
  await ok('domif-setlink', 'netguest', FIRST_MAC, 'down');
  assert.match(await ok('domif-getlink', 'netguest', FIRST_MAC), new RegExp(`^${FIRST_MAC} down$`, 'm'));
  await waitUntil('the carrier lost in the guest', 20_000, async () => ((await shell.run('cat /sys/class/net/eth0/carrier')).out.trim() === '0' ? true : undefined));
  await ok('domif-setlink', 'netguest', 'vnet0', 'up');
  assert.match(await ok('dumpxml', 'netguest'), /<link state='up'\/>/);
  await waitUntil('the carrier back in the guest', 20_000, async () => ((await shell.run('cat /sys/class/net/eth0/carrier')).out.trim() === '1' ? true : undefined));

  await ok('attach-interface', 'netguest', 'network', 'lan', '--model', 'virtio', '--mac', SECOND_MAC);
  assert.match(host.exec(['ip', 'link', 'show', 'vnet1']), /master virbr0 /, 'the hotplugged NIC has its own tap on the bridge');
  const secondPort = new RegExp(`<mac address='${SECOND_MAC}'/>\\n\\s*<source network='lan' portid='(${UUID})' bridge='virbr0'/>`).exec(await ok('dumpxml', 'netguest'))?.[1];
  assert.ok(secondPort, 'the hotplugged NIC has its own network port');
  assert.deepEqual(await ports(), [firstPort, secondPort].sort());
  await waitUntil('the hotplugged NIC in the guest', 30_000, async () => ((await shell.run('ip link show eth1')).rc === 0 ? true : undefined));
  const second = await lease('eth1');
  assert.notEqual(second, first);
  await leaseListed(SECOND_MAC, second, 'vnet1');

  await ok('detach-interface', 'netguest', 'network', '--mac', SECOND_MAC);
  await waitUntil('the unplugged tap gone', 20_000, () => (host.run(['ip', 'link', 'show', 'vnet1']).status !== 0 ? true : undefined));
  assert.deepEqual(await ports(), [firstPort], "the unplugged NIC's port is deleted");
  await ok('destroy', 'netguest');
  assert.notEqual(host.run(['ip', 'link', 'show', 'vnet0']).status, 0, 'no tap left after destroy');
  assert.deepEqual(await ports(), [], 'no port left after destroy');
});

test("bridge and ethernet interfaces: taps on a host bridge and alone, an administrator's tap used and kept, a missing bridge refused", { skip: skipReason() }, async (t) => {
  const guest = testGuest();
  if ('skip' in guest) return;
  const sb = new Sandbox();
  const host = new NetworkNamespace('nettaps');
  t.after(async () => {
    host.delete();
    await sb.dispose();
  });
  const virsh = (...args: string[]) => host.run([process.execPath, tsvirsh, '-c', sb.uri, ...args]);
  host.exec(['ip', 'link', 'add', 'brtest', 'type', 'bridge']);
  host.exec(['ip', 'link', 'set', 'brtest', 'mtu', '1400', 'up']);
  // the administrator's tap, QEMU's user may open it
  host.exec(['ip', 'tuntap', 'add', 'dev', 'admintap0', 'mode', 'tap', 'user', 'tsvirt-qemu']);
  const nics = `<interface type='bridge'><mac address='52:54:00:5e:01:01'/><source bridge='brtest'/><model type='virtio'/></interface>
    <interface type='ethernet'><mac address='fe:54:00:5e:01:02'/><model type='virtio'/></interface>
    <interface type='ethernet'><mac address='52:54:00:5e:01:03'/><target dev='admintap0' managed='no'/><model type='virtio'/></interface>`;
  await sb.define(guestDomainXML({ name: 'taps', machine: 'q35', serialPath: sb.file('serial.log'), guest, devices: nics }));
  const started = virsh('start', 'taps', '--paused');
  assert.equal(started.status, 0, started.stderr);
  t.after(() => virsh('destroy', 'taps'));

  const live = virsh('dumpxml', 'taps').stdout;
  assert.match(live, /<source bridge='brtest'\/>\n\s*<target dev='vnet0'\/>/);
  assert.match(live, /<mac address='fe:54:00:5e:01:02'\/>\n\s*<target dev='vnet1'\/>/);
  assert.match(live, /<target dev='admintap0' managed='no'\/>/);
  const bridged = host.exec(['ip', '-d', 'link', 'show', 'vnet0']);
  assert.match(bridged, /mtu 1400 .*master brtest /, "the bridge's port, with the bridge's MTU");
  assert.match(bridged, /link\/ether fe:54:00:5e:01:01 /);
  const alone = host.exec(['ip', '-d', 'link', 'show', 'vnet1']);
  assert.doesNotMatch(alone, /master/);
  assert.match(alone, /link\/ether fa:54:00:5e:01:02 /, 'a guest MAC starting with fe gives the tap fa');
  assert.match(alone, /state (UP|UNKNOWN|DOWN)/);
  assert.equal(virsh('destroy', 'taps').status, 0);
  assert.doesNotMatch(host.exec(['ip', '-br', 'link']), /vnet/, 'the taps tsvirt made are gone');
  assert.equal(host.run(['ip', 'link', 'show', 'admintap0']).status, 0, "the administrator's tap stays");

  await sb.define(guestDomainXML({ name: 'nobridge', machine: 'q35', serialPath: sb.file('serial2.log'), guest, devices: "<interface type='bridge'><source bridge='nosuchbr'/></interface>" }));
  const refused = virsh('start', 'nobridge', '--paused');
  assert.match(refused.stderr, /^error: Unable to add bridge nosuchbr port vnet\d+: No such device$/m);
  assert.doesNotMatch(host.exec(['ip', '-br', 'link']), /vnet/, 'the refused start left no tap');

  // <bandwidth>: libvirt's tc commands; a kernel without the police action refuses them as it refuses libvirt's
  const shapedNic = "<interface type='bridge'><source bridge='brtest'/><bandwidth><outbound average='128' peak='256' burst='256'/></bandwidth></interface>";
  await sb.define(guestDomainXML({ name: 'shaped', machine: 'q35', serialPath: sb.file('serial3.log'), guest, devices: shapedNic }));
  const shaped = virsh('start', 'shaped', '--paused');
  if (shaped.status === 0) {
    const tap = /<target dev='(vnet\d+)'\/>/.exec(virsh('dumpxml', 'shaped').stdout)![1]!;
    assert.match(host.exec(['tc', 'filter', 'show', 'dev', tap, 'parent', 'ffff:']), /police/, 'the outbound rate polices what the tap receives');
    assert.equal(virsh('destroy', 'shaped').status, 0);
  } else {
    assert.match(shaped.stderr, /^error: internal error: Child process \(tc filter add dev vnet\d+ parent ffff: protocol all u32 match u32 0 0 police rate 128kbps burst 256kb mtu 64kb drop flowid :1\) unexpected exit status 2: /m);
  }
  assert.doesNotMatch(host.exec(['ip', '-br', 'link']), /vnet/, 'no tap left');
});

test("a guest's network port as libvirt 9.0 shows it: live <interface>, net-port-list, net-port-dumpxml, none after destroy", { skip: skipReason() }, async (t) => {
  // recorded from libvirt by test/network/golden/guest-port/capture.sh, from the same two files
  const golden = join(projectRoot, 'test', 'network', 'golden', 'guest-port');
  const sb = new Sandbox();
  const host = new NetworkNamespace('netport');
  const virsh = (...args: string[]) => host.run([process.execPath, tsvirsh, '-c', sb.uri, ...args]);
  t.after(async () => {
    virsh('destroy', 'netguest');
    virsh('net-destroy', 'lan');
    host.delete();
    await sb.dispose();
  });
  const ok = (...args: string[]) => {
    const r = virsh(...args);
    assert.equal(r.status, 0, `tsvirsh ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  ok('net-create', join(golden, 'lan.xml'));
  ok('create', join(golden, 'netguest.xml'), '--paused');
  const port = ok('net-port-list', 'lan', '--uuid').trim();
  const interfaceXML = /^ *<interface[\s\S]*?<\/interface>\n/m.exec(ok('dumpxml', 'netguest'))?.[0] ?? '';
  const transcript = [
    '$ dumpxml netguest (the <interface>)\n', interfaceXML,
    '$ net-port-list lan\n', ok('net-port-list', 'lan'),
    '$ net-port-dumpxml lan PORT\n', ok('net-port-dumpxml', 'lan', port),
  ];
  ok('destroy', 'netguest');
  transcript.push('$ net-port-list lan (after destroy)\n', ok('net-port-list', 'lan'));
  const normalised = transcript.join('').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
  assert.equal(normalised, readFileSync(join(golden, 'expected.out'), 'utf8'));
});
