// The host side of a libvirt-managed network (networkStartNetworkVirtual's
// device steps): the bridge with its MAC, MTU, STP settings, IPv6 sysctls,
// addresses, routes and IP forwarding, made with iproute2 in the namespace the
// driver runs in.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { networkForwardMode, networkIPPrefix, type NetworkDef } from '../../conf/network.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { broadcastAddress, formatIPAddress, networkAddress, parseIPAddress } from '../../util/ip-address.js';
import { child, childrenNamed } from '../../util/xml.js';

const run = promisify(execFile);

async function ip(args: string[], failure: string): Promise<void> {
  try {
    await run('ip', args);
  } catch (e) {
    const stderr = ((e as { stderr?: string }).stderr ?? '').trim();
    // iproute2 prints "RTNETLINK answers: File exists"; libvirt reports the errno text
    throw virError(ErrorCode.SYSTEM_ERROR, `${failure}: ${stderr.replace(/^RTNETLINK answers: /, '').replace(/^Error: /, '')}`, ErrorDomain.NETWORK);
  }
}

export function netDevExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** networkCheckRouteCollision: another interface already routes the network of one of the <ip>s. */
export function checkRouteCollision(def: NetworkDef): void {
  let table: string;
  try {
    table = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return;
  }
  const hexAddress = (hex: string) => [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).reverse().join('.');
  for (const line of table.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (iface === undefined || dest === undefined || mask === undefined || dest === '00000000') continue;
    for (const ipEl of childrenNamed(def, 'ip')) {
      if (ipEl.attrs.family === 'ipv6') continue;
      const prefix = networkIPPrefix(ipEl);
      const net = formatIPAddress(networkAddress(parseIPAddress(ipEl.attrs.address!)!, prefix));
      const maskPrefix = hexAddress(mask).split('.').reduce((n, o) => n + Number(o).toString(2).replace(/0/g, '').length, 0);
      if (hexAddress(dest) === net && maskPrefix === prefix) {
        throw virError(ErrorCode.INTERNAL_ERROR, `Network is already in use by interface ${iface}`, ErrorDomain.NETWORK);
      }
    }
  }
}

async function sysctl(path: string, value: string): Promise<void> {
  await writeFile(path, value);
}

/** Creates and configures the bridge; on failure the bridge is gone again. */
export async function createBridge(def: NetworkDef, bridge: string, mac: string): Promise<void> {
  await ip(['link', 'add', bridge, 'address', mac, 'type', 'bridge'], `error creating bridge interface ${bridge}`);
  try {
    const mtu = child(def, 'mtu')?.attrs.size;
    if (mtu !== undefined) await ip(['link', 'set', 'dev', bridge, 'mtu', mtu], `Cannot set interface MTU on '${bridge}'`);
    const br = child(def, 'bridge');
    await ip(['link', 'set', 'dev', bridge, 'type', 'bridge', 'forward_delay', String(Number(br?.attrs.delay ?? 0) * 100)], `Unable to set STP delay on ${bridge}`);
    await ip(['link', 'set', 'dev', bridge, 'type', 'bridge', 'stp_state', br?.attrs.stp === 'off' ? '0' : '1'], `Unable to set STP on ${bridge}`);
    const ips = childrenNamed(def, 'ip');
    const v6 = ips.some((i) => i.attrs.family === 'ipv6');
    const conf = `/proc/sys/net/ipv6/conf/${bridge}`;
    if (existsSync(conf)) {
      await sysctl(`${conf}/disable_ipv6`, v6 ? '0' : '1');
      await sysctl(`${conf}/accept_ra`, '0');
      await sysctl(`${conf}/autoconf`, '0');
    }
    for (const ipEl of ips) {
      const prefix = networkIPPrefix(ipEl);
      const addr = `${ipEl.attrs.address}/${prefix}`;
      const broadcast = ipEl.attrs.family === 'ipv6' ? [] : ['broadcast', formatIPAddress(broadcastAddress(parseIPAddress(ipEl.attrs.address!)!, prefix))];
      await ip(['addr', 'add', addr, ...broadcast, 'dev', bridge], `Failed to add IP address ${addr} to ${bridge}`);
    }
    await ip(['link', 'set', 'dev', bridge, 'up'], `Cannot set interface flags on '${bridge}'`);
    for (const route of childrenNamed(def, 'route')) {
      if (route.attrs.gateway === undefined) continue;
      const prefix = route.attrs.prefix ?? (route.attrs.netmask ? String(networkIPPrefix({ ...route, attrs: { ...route.attrs, family: route.attrs.family ?? 'ipv4' } })) : route.attrs.family === 'ipv6' ? '64' : '24');
      // libvirt ignores a route it cannot add
      await ip(['route', 'add', `${route.attrs.address}/${prefix}`, 'via', route.attrs.gateway, 'dev', bridge, 'metric', route.attrs.metric ?? '1'], 'route').catch(() => undefined);
    }
    if (networkForwardMode(def) !== 'none') {
      if (ips.some((i) => i.attrs.family !== 'ipv6')) await sysctl('/proc/sys/net/ipv4/ip_forward', '1\n');
      if (v6) await sysctl('/proc/sys/net/ipv6/conf/all/forwarding', '1\n');
    }
  } catch (e) {
    await deleteBridge(bridge);
    throw e;
  }
}

/** Takes the bridge down and deletes it, ignoring a bridge already gone. */
export async function deleteBridge(bridge: string): Promise<void> {
  await run('ip', ['link', 'set', 'dev', bridge, 'down']).catch(() => undefined);
  await run('ip', ['link', 'del', bridge]).catch(() => undefined);
}
