// The iptables rules libvirt 9.0 installs for a network (bridge_driver_linux.c
// over viriptables.c): its private chains LIBVIRT_INP/OUT/FWO/FWI/FWX in filter
// and LIBVIRT_PRT in nat and mangle, hooked into the built-in chains once, then
// per network rules, each inserted at the top of its chain, in libvirt's order so
// that `iptables-save` reads the same. Removal deletes the same rules. The rules
// go through iptables-restore --noflush in batches rather than one iptables run each.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { networkForwardMode, networkIPHasDHCP, networkIPPrefix, type NetworkDef } from '../../conf/network.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { formatIPAddress, networkAddress, parseIPAddress } from '../../util/ip-address.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';

const run = promisify(execFile);

export type Layer = 'ipv4' | 'ipv6';

/** One rule: its layer and the iptables arguments after the action (--insert/--delete CHAIN). */
export interface FirewallRule {
  layer: Layer;
  table: 'filter' | 'nat' | 'mangle';
  chain: string;
  args: string[];
}

/** The private chains and the built-in chain each hangs off, in libvirt's creation order. */
const PRIVATE_CHAINS: { table: FirewallRule['table']; parent: string; chain: string }[] = [
  { table: 'filter', parent: 'INPUT', chain: 'LIBVIRT_INP' },
  { table: 'filter', parent: 'OUTPUT', chain: 'LIBVIRT_OUT' },
  { table: 'filter', parent: 'FORWARD', chain: 'LIBVIRT_FWO' },
  { table: 'filter', parent: 'FORWARD', chain: 'LIBVIRT_FWI' },
  { table: 'filter', parent: 'FORWARD', chain: 'LIBVIRT_FWX' },
  { table: 'nat', parent: 'POSTROUTING', chain: 'LIBVIRT_PRT' },
  { table: 'mangle', parent: 'POSTROUTING', chain: 'LIBVIRT_PRT' },
];

const SAVE: Record<Layer, string> = { ipv4: 'iptables-save', ipv6: 'ip6tables-save' };
const RESTORE: Record<Layer, string> = { ipv4: 'iptables-restore', ipv6: 'ip6tables-restore' };
const TABLES = ['filter', 'nat', 'mangle'] as const;

/**
 * Applies rule lines ("-I CHAIN ...", "-N CHAIN") in one iptables-restore
 * --noflush per layer: each table commits as one transaction, and one process
 * replaces the dozens of iptables runs libvirt makes.
 */
async function restore(layer: Layer, lines: Map<string, string[]>): Promise<void> {
  let input = '';
  for (const table of TABLES) {
    const tableLines = lines.get(table) ?? [];
    if (tableLines.length > 0) input += `*${table}\n${tableLines.join('\n')}\nCOMMIT\n`;
  }
  if (input === '') return;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(RESTORE[layer], ['-w', '--noflush'], (err, _stdout, stderr) => {
      if (!err) return resolve();
      reject(virError(ErrorCode.INTERNAL_ERROR, `Failed to apply firewall rules ${RESTORE[layer]}: ${(stderr || err.message).trim()}`, ErrorDomain.NETWORK));
    });
    child.stdin!.end(input);
  });
}

/** iptablesSetupPrivateChains: the "-N" and jump lines of the private chains and hooks missing from a layer. */
async function privateChainLines(layer: Layer): Promise<Map<string, string[]>> {
  const saved = (await run(SAVE[layer])).stdout;
  const lines = new Map<string, string[]>();
  for (const table of TABLES) {
    const section = saved.split(`*${table}\n`)[1]?.split('COMMIT')[0] ?? '';
    const have = section.split('\n');
    const out: string[] = [];
    for (const { parent, chain } of PRIVATE_CHAINS.filter((c) => c.table === table)) {
      if (!have.some((l) => l.startsWith(`:${chain} `))) out.push(`-N ${chain}`);
      if (!have.includes(`-A ${parent} -j ${chain}`)) out.push(`-I ${parent} --jump ${chain}`);
    }
    lines.set(table, out);
  }
  return lines;
}

function rule(layer: Layer, table: FirewallRule['table'], chain: string, ...args: string[]): FirewallRule {
  return { layer, table, chain, args };
}

const input = (layer: Layer, br: string, proto: string, port: number) =>
  rule(layer, 'filter', 'LIBVIRT_INP', '--in-interface', br, '--protocol', proto, '--destination-port', String(port), '--jump', 'ACCEPT');
const output = (layer: Layer, br: string, proto: string, port: number) =>
  rule(layer, 'filter', 'LIBVIRT_OUT', '--out-interface', br, '--protocol', proto, '--destination-port', String(port), '--jump', 'ACCEPT');
const rejectOut = (layer: Layer, br: string) => rule(layer, 'filter', 'LIBVIRT_FWO', '--in-interface', br, '--jump', 'REJECT');
const rejectIn = (layer: Layer, br: string) => rule(layer, 'filter', 'LIBVIRT_FWI', '--out-interface', br, '--jump', 'REJECT');
const allowCross = (layer: Layer, br: string) => rule(layer, 'filter', 'LIBVIRT_FWX', '--in-interface', br, '--out-interface', br, '--jump', 'ACCEPT');

/** networkAddGeneralIPv4FirewallRules + ...IPv6...: DHCP, DNS (and TFTP) to the host, no forwarding but between guests. */
function generalRules(def: NetworkDef, br: string): FirewallRule[] {
  const ips = childrenNamed(def, 'ip');
  const v4 = ips.filter((ip) => ip.attrs.family !== 'ipv6');
  const first = v4.find((ip) => networkIPHasDHCP(ip) || child(ip, 'tftp') !== undefined);
  const tftp = first !== undefined && child(first, 'tftp') !== undefined;
  const rules = [
    input('ipv4', br, 'tcp', 67),
    input('ipv4', br, 'udp', 67),
    output('ipv4', br, 'tcp', 68),
    output('ipv4', br, 'udp', 68),
    input('ipv4', br, 'tcp', 53),
    input('ipv4', br, 'udp', 53),
    output('ipv4', br, 'tcp', 53),
    output('ipv4', br, 'udp', 53),
  ];
  if (tftp) rules.push(input('ipv4', br, 'udp', 69), output('ipv4', br, 'udp', 69));
  rules.push(rejectOut('ipv4', br), rejectIn('ipv4', br), allowCross('ipv4', br));
  const hasV6 = ips.some((ip) => ip.attrs.family === 'ipv6');
  if (hasV6 || def.attrs.ipv6 === 'yes') {
    rules.push(rejectOut('ipv6', br), rejectIn('ipv6', br), allowCross('ipv6', br));
    if (hasV6) {
      rules.push(
        input('ipv6', br, 'tcp', 53),
        input('ipv6', br, 'udp', 53),
        output('ipv6', br, 'tcp', 53),
        output('ipv6', br, 'udp', 53),
        input('ipv6', br, 'udp', 547),
        output('ipv6', br, 'udp', 546),
      );
    }
  }
  return rules;
}

/** "NETWORK/PREFIX" of an <ip> (virSocketAddrFormatWithPrefix with masking). */
function subnet(ip: XmlElement): string {
  const prefix = networkIPPrefix(ip);
  return `${formatIPAddress(networkAddress(parseIPAddress(ip.attrs.address!)!, prefix))}/${prefix}`;
}

function allowOut(layer: Layer, net: string, br: string, physdev: string | undefined): FirewallRule {
  return rule(layer, 'filter', 'LIBVIRT_FWO', '--source', net, '--in-interface', br, ...(physdev ? ['--out-interface', physdev] : []), '--jump', 'ACCEPT');
}

function allowIn(layer: Layer, net: string, br: string, physdev: string | undefined, related: boolean): FirewallRule {
  const state = related ? ['--match', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED'] : [];
  return rule(layer, 'filter', 'LIBVIRT_FWI', '--destination', net, ...(physdev ? ['--in-interface', physdev] : []), '--out-interface', br, ...state, '--jump', 'ACCEPT');
}

/** iptablesForwardMasquerade: MASQUERADE (or SNAT to <nat><address>), ports 1024-65535 unless <nat><port> says otherwise. */
function masquerade(layer: Layer, net: string, physdev: string | undefined, forward: XmlElement, protocol: string | undefined): FirewallRule {
  const nat = child(forward, 'nat');
  const addr = nat && child(nat, 'address');
  const port = nat && child(nat, 'port');
  const args = ['--source', net, ...(protocol ? ['-p', protocol] : []), '!', '--destination', net, ...(physdev ? ['--out-interface', physdev] : [])];
  let ports: string | undefined;
  if (protocol) {
    const start = Number(port?.attrs.start ?? 0);
    const end = Number(port?.attrs.end ?? 0);
    const [s, e] = start === 0 && end === 0 ? [1024, 65535] : [start, end];
    if (!(s < e && e < 65536)) throw virError(ErrorCode.INTERNAL_ERROR, `Invalid port range '${s}-${e}'.`, ErrorDomain.NETWORK);
    ports = `${s}-${e}`;
  }
  if (addr?.attrs.start !== undefined) {
    const range = addr.attrs.end !== undefined ? `${addr.attrs.start}-${addr.attrs.end}` : addr.attrs.start;
    args.push('--jump', 'SNAT', '--to-source', `${range}${ports ? `:${ports}` : ''}`);
  } else {
    args.push('--jump', 'MASQUERADE', ...(ports ? ['--to-ports', ports] : []));
  }
  return rule(layer, 'nat', 'LIBVIRT_PRT', ...args);
}

function dontMasquerade(layer: Layer, net: string, physdev: string | undefined, destination: string): FirewallRule {
  return rule(layer, 'nat', 'LIBVIRT_PRT', ...(physdev ? ['--out-interface', physdev] : []), '--source', net, '--destination', destination, '--jump', 'RETURN');
}

/** networkAddIPSpecificFirewallRules for one <ip>. */
function ipRules(def: NetworkDef, ip: XmlElement, br: string): FirewallRule[] {
  const mode = networkForwardMode(def);
  const forward = child(def, 'forward');
  const physdev = forward?.attrs.dev;
  const layer: Layer = ip.attrs.family === 'ipv6' ? 'ipv6' : 'ipv4';
  const net = subnet(ip);
  const routing = () => [allowOut(layer, net, br, physdev), allowIn(layer, net, br, physdev, false)];
  if (mode === 'route') return routing();
  if (mode !== 'nat' || forward === undefined) return [];
  if (layer === 'ipv6' && child(forward, 'nat')?.attrs.ipv6 !== 'yes') return routing();
  return [
    allowOut(layer, net, br, physdev),
    allowIn(layer, net, br, physdev, true),
    masquerade(layer, net, physdev, forward, undefined),
    masquerade(layer, net, physdev, forward, 'udp'),
    masquerade(layer, net, physdev, forward, 'tcp'),
    ...(layer === 'ipv4' ? [dontMasquerade(layer, net, physdev, '255.255.255.255/32')] : []),
    dontMasquerade(layer, net, physdev, layer === 'ipv4' ? '224.0.0.0/24' : 'ff02::/16'),
  ];
}

/** The checksum fix for DHCP replies to old guests, only with IPv4 DHCP; libvirt ignores its failure. */
function checksumRules(def: NetworkDef, br: string): FirewallRule[] {
  const dhcp4 = childrenNamed(def, 'ip').some((ip) => ip.attrs.family !== 'ipv6' && networkIPHasDHCP(ip));
  return dhcp4 ? [rule('ipv4', 'mangle', 'LIBVIRT_PRT', '--out-interface', br, '--protocol', 'udp', '--destination-port', '68', '--jump', 'CHECKSUM', '--checksum-fill')] : [];
}

/** Every rule of the network, in the order libvirt inserts them. */
export function networkFirewallRules(def: NetworkDef, bridge: string): { rules: FirewallRule[]; optional: FirewallRule[] } {
  const rules = generalRules(def, bridge);
  for (const ip of childrenNamed(def, 'ip')) rules.push(...ipRules(def, ip, bridge));
  return { rules, optional: checksumRules(def, bridge) };
}

function ruleLines(rules: FirewallRule[], layer: Layer, action: '-I' | '-D', into = new Map<string, string[]>()): Map<string, string[]> {
  for (const r of rules.filter((x) => x.layer === layer)) {
    const list = into.get(r.table) ?? [];
    list.push([action, r.chain, ...r.args.map((a) => (/[\s"]/.test(a) ? `"${a}"` : a))].join(' '));
    into.set(r.table, list);
  }
  return into;
}

/** Deletes rules one table transaction per layer; a rule already gone makes it fall back to one by one, ignoring the missing. */
async function deleteRules(rules: FirewallRule[]): Promise<void> {
  for (const layer of ['ipv4', 'ipv6'] as const) {
    const mine = rules.filter((r) => r.layer === layer);
    try {
      await restore(layer, ruleLines(mine, layer, '-D'));
    } catch {
      for (const r of mine) await restore(layer, ruleLines([r], layer, '-D')).catch(() => undefined);
    }
  }
}

/** networkAddFirewallRules: the private chains if missing, then all rules or none; the checksum rule may fail. */
export async function addFirewallRules(def: NetworkDef, bridge: string): Promise<void> {
  const { rules, optional } = networkFirewallRules(def, bridge);
  const added: FirewallRule[] = [];
  try {
    for (const layer of ['ipv4', 'ipv6'] as const) {
      await restore(layer, ruleLines(rules, layer, '-I', await privateChainLines(layer)));
      added.push(...rules.filter((r) => r.layer === layer));
    }
  } catch (e) {
    await deleteRules(added);
    throw e;
  }
  await restore('ipv4', ruleLines(optional, 'ipv4', '-I')).catch(() => undefined);
}

/** networkRemoveFirewallRules: deletes every rule, ignoring the ones already gone. */
export async function removeFirewallRules(def: NetworkDef, bridge: string): Promise<void> {
  const { rules, optional } = networkFirewallRules(def, bridge);
  await deleteRules([...optional, ...rules]);
}
