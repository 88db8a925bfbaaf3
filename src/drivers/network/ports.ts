// Network ports (libvirt 5.5+): every guest interface on a virtual network holds
// one, created when its domain starts and deleted when it stops. What libvirt
// keeps for them, kept the same way: a status file per port in
// run/network/NET/ports/UUID.xml, and the MAC map of the bridge
// (lib/dnsmasq/BRIDGE.macs: which domain owns which MACs, for the nss module).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { child, childrenNamed, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { formatNetworkPortStatus, parseNetworkPortXML, type NetworkPortDef } from '../../conf/network-port.js';
import { networkBridge, networkForwardMode, networkName, type NetworkDef } from '../../conf/network.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { NetworkPaths } from './paths.js';

const portDir = (paths: NetworkPaths, network: string) => join(paths.stateDir, network, 'ports');

/** virNetworkObjLoadAllPorts: the ports an active network had when the driver last ran; unreadable files are reported and skipped. */
export function loadPorts(paths: NetworkPaths, network: string, warn: (message: string) => void): Map<string, NetworkPortDef> {
  const ports = new Map<string, NetworkPortDef>();
  const dir = portDir(paths, network);
  if (!existsSync(dir)) return ports;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.xml'))) {
    try {
      const port = parseNetworkPortXML(readFileSync(join(dir, file), 'utf8'));
      ports.set(port.uuid, port);
    } catch (e) {
      warn(`Cannot parse port ${join(dir, file)}: ${(e as Error).message}`);
    }
  }
  return ports;
}

export async function savePortStatus(paths: NetworkPaths, network: string, port: NetworkPortDef): Promise<void> {
  const dir = portDir(paths, network);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, `${port.uuid}.xml`), formatNetworkPortStatus(port));
}

export async function deletePortStatus(paths: NetworkPaths, network: string, uuid: string): Promise<void> {
  await unlink(join(portDir(paths, network), `${uuid}.xml`)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** virNetworkObjDeleteAllPorts: a network that starts or stops forgets its ports (their folder stays, as libvirt leaves it). */
export async function deleteAllPortStatus(paths: NetworkPaths, network: string): Promise<void> {
  const dir = portDir(paths, network);
  if (!existsSync(dir)) return;
  await Promise.all(readdirSync(dir).filter((f) => f.endsWith('.xml')).map((f) => rm(join(dir, f), { force: true })));
}

/** Which forward modes give a port a bridge to plug into, and of which kind (networkAllocatePort). */
function plugTypeOf(def: NetworkDef): 'network' | 'bridge' {
  const mode = networkForwardMode(def);
  if (['none', 'nat', 'route', 'open'].includes(mode)) return 'network';
  if (mode === 'bridge' && networkBridge(def) !== undefined) return 'bridge';
  throw virError(ErrorCode.CONFIG_UNSUPPORTED, `network '${networkName(def)}' uses forward mode '${mode}', which needs macvtap or PCI passthrough devices that tsvirt does not manage`, ErrorDomain.NETWORK);
}

/**
 * networkAllocatePort: fills in what the network adds to a new port (its
 * portgroup's bandwidth, vlan and rxfilter trust, the network's isolation) and
 * the plug the guest's tap joins.
 */
export function allocatePort(def: NetworkDef, port: NetworkPortDef): void {
  const portgroups = childrenNamed(def, 'portgroup');
  const group = port.group === undefined ? portgroups.find((g) => g.attrs.default === 'yes') : portgroups.find((g) => g.attrs.name === port.group);
  if (port.bandwidth === undefined && group && child(group, 'bandwidth')) port.bandwidth = cloneElement(child(group, 'bandwidth')!);
  if (port.vlan === undefined) {
    const vlan = (group && child(group, 'vlan')) ?? child(def, 'vlan');
    if (vlan) port.vlan = cloneElement(vlan);
  }
  if (port.trustGuestRxFilters === undefined) {
    const trust = group?.attrs.trustGuestRxFilters ?? def.attrs.trustGuestRxFilters;
    if (trust === 'yes' || trust === 'no') port.trustGuestRxFilters = trust;
  }
  if (port.isolated === undefined) {
    const isolated = child(def, 'port')?.attrs.isolated;
    if (isolated === 'yes' || isolated === 'no') port.isolated = isolated;
  }
  const type = plugTypeOf(def);
  const virtualport = port.virtualport ?? (group && child(group, 'virtualport')) ?? child(def, 'virtualport');
  if (virtualport !== undefined) {
    const vtype = virtualport.attrs.type ?? '';
    if (type === 'network') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `<virtualport type='${vtype}'> not supported for network '${networkName(def)}' which uses IP forwarding`, ErrorDomain.NETWORK);
    }
    if (vtype !== 'openvswitch') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `<virtualport type='${vtype}'> not supported for network '${networkName(def)}' which uses a bridge device`, ErrorDomain.NETWORK);
    }
    port.virtualport = cloneElement(virtualport);
  }
  checkPortFloor(def, port);
  const manager = child(def, 'bridge')?.attrs.macTableManager;
  port.plug = { type, bridge: networkBridge(def)!, macTableManager: manager };
}

/** networkCheckBandwidth: a floor needs the network's inbound QoS, which tsvirt does not set up (no tc classes on the bridge). */
export function checkPortFloor(def: NetworkDef, port: NetworkPortDef): void {
  const floor = port.bandwidth && child(port.bandwidth, 'inbound')?.attrs.floor;
  if (floor === undefined) return;
  const inbound = child(def, 'bandwidth') && child(child(def, 'bandwidth')!, 'inbound');
  if (inbound === undefined) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, `Invalid use of 'floor' on interface with MAC address ${port.mac} - network '${networkName(def)}' has no inbound QoS set`, ErrorDomain.NETWORK);
  }
  throw virError(ErrorCode.CONFIG_UNSUPPORTED, `'floor' on network '${networkName(def)}' needs the network's QoS classes, which tsvirt does not create`, ErrorDomain.NETWORK);
}

/** The virNetworkPortGetParameters fields, in libvirt's order, and where each lives in <bandwidth>. */
export const PORT_BANDWIDTH_FIELDS = [
  ['inbound.average', 'inbound', 'average'],
  ['inbound.peak', 'inbound', 'peak'],
  ['inbound.floor', 'inbound', 'floor'],
  ['inbound.burst', 'inbound', 'burst'],
  ['outbound.average', 'outbound', 'average'],
  ['outbound.peak', 'outbound', 'peak'],
  ['outbound.burst', 'outbound', 'burst'],
] as const;

/**
 * networkPortSetParameters: the new rates replace the old ones; a direction
 * without its average (or, inbound, floor) is dropped, as libvirt does.
 */
export function bandwidthFromRates(rates: ReadonlyMap<string, number>): XmlElement | undefined {
  const directions: XmlElement[] = [];
  for (const dir of ['inbound', 'outbound'] as const) {
    const attrs: Record<string, string | undefined> = {};
    for (const [field, d, attr] of PORT_BANDWIDTH_FIELDS) {
      const v = rates.get(field);
      if (d === dir && v) attrs[attr] = String(v);
    }
    const kept = attrs.average !== undefined || (dir === 'inbound' && attrs.floor !== undefined);
    if (kept) directions.push(element(dir, attrs));
  }
  return directions.length > 0 ? element('bandwidth', {}, directions) : undefined;
}

/** The rates of a port's <bandwidth> per direction present (virNetworkPortGetParameters). */
export function ratesOf(bandwidth: XmlElement | undefined): [field: string, value: number][] {
  if (bandwidth === undefined) return [];
  const out: [string, number][] = [];
  for (const [field, dir, attr] of PORT_BANDWIDTH_FIELDS) {
    const el = child(bandwidth, dir);
    if (el) out.push([field, Number(el.attrs[attr] ?? 0)]);
  }
  return out;
}

// ---- the bridge's MAC map (virmacmap.c) ----

interface MacMapEntry {
  domain: string;
  macs: string[];
}

const macMapFile = (paths: NetworkPaths, bridge: string) => join(paths.dnsmasqDir, `${bridge}.macs`);

async function readMacMap(file: string): Promise<MacMapEntry[]> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined || text.trim() === '') return [];
  return JSON.parse(text) as MacMapEntry[];
}

/** json-c's pretty printing, as libvirt writes the map: an empty list keeps a blank line. */
function formatMacMap(entries: MacMapEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  return sorted.length === 0 ? '[\n\n]\n' : `${JSON.stringify(sorted, null, 2)}\n`;
}

/** Pending rewrites per map file: concurrent calls (tsvirtd) must not lose each other's read-modify-write. */
const macMapQueues = new Map<string, Promise<void>>();

/** virNetworkObjMacMgrAdd / ...Del: a domain's MAC joins or leaves the bridge's map, which is rewritten. */
export function updateMacMap(paths: NetworkPaths, bridge: string, domain: string, mac: string, add: boolean): Promise<void> {
  const file = macMapFile(paths, bridge);
  const rewrite = async () => {
    const entries = await readMacMap(file);
    let entry = entries.find((e) => e.domain === domain);
    if (add) {
      if (!entry) entries.push((entry = { domain, macs: [] }));
      if (!entry.macs.includes(mac)) entry.macs.push(mac);
    } else if (entry) {
      entry.macs = entry.macs.filter((m) => m !== mac);
      if (entry.macs.length === 0) entries.splice(entries.indexOf(entry), 1);
    }
    await mkdir(paths.dnsmasqDir, { recursive: true });
    await writeFileAtomic(file, formatMacMap(entries), 0o644);
  };
  const done = (macMapQueues.get(file) ?? Promise.resolve()).then(rewrite);
  const settled = done.catch(() => undefined);
  macMapQueues.set(file, settled);
  void settled.then(() => {
    if (macMapQueues.get(file) === settled) macMapQueues.delete(file);
  });
  return done;
}

export async function removeMacMap(paths: NetworkPaths, bridge: string): Promise<void> {
  await unlink(macMapFile(paths, bridge)).catch(() => undefined);
}
