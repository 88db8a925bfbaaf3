// The network driver (libvirt's bridge_driver): virtual networks shared by the
// qemu connections of one state layout. Persistent definitions live in
// etc/qemu/networks, active networks in run/network (their live definition),
// so every process that opens the driver sees the same networks. Starting a
// network with a libvirt-managed bridge creates the bridge, installs libvirt's
// firewall rules and runs dnsmasq with libvirt's configuration; destroying it
// undoes all three. Guests' interfaces hold network ports (ports.ts); the
// lifecycle of every network is reported as libvirt's network events.

import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readlink, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocumentFile } from '../../conf/document.js';
import {
  fillNatPortRange,
  formatNetworkXML,
  networkBridge,
  networkHasManagedBridge,
  networkIPPrefix,
  networkName,
  networkUUID,
  parseNetworkElement,
  parseNetworkXML,
  setNetworkBridgeName,
  setNetworkMAC,
  networkForwardMode,
  updateNetworkDef,
  type NetworkDef,
} from '../../conf/network.js';
import { matchesNetworkListFilter } from '../../conf/objects/list-filter.js';
import { assignNetworkDef, networkList, type NetworkObj } from '../../conf/objects/network-object.js';
import { parseNetworkPortXML, formatNetworkPortXML, type NetworkPortDef } from '../../conf/network-port.js';
import { NetworkEventType } from '../../driver/event-numbers.js';
import { EventHub } from '../../driver/events.js';
import type { NetworkDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import type { NetworkRef } from '../../driver/refs.js';
import { typedParam, typedParamValue } from '../../driver/typed-params.js';
import type { OpenOptions } from '../../driver/registry.js';
import type { ParsedURI } from '../../driver/uri.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseUUID } from '../../util/uuid.js';
import { child, childrenNamed } from '../../util/xml.js';
import { checkRouteCollision, createBridge, deleteBridge, netDevExists } from './bridge.js';
import { dnsmasqConfig } from './dnsmasq-conf.js';
import { dnsmasqFileNames, readLeaseStatus, reloadDnsmasq, startDnsmasq, stopDnsmasq, writeDnsmasqFiles } from './dnsmasq.js';
import { addFirewallRules, removeFirewallRules } from './firewall.js';
import { networkPathsForURI, type NetworkPaths } from './paths.js';
import { validateNetworkDef } from './validate.js';
import { allocatePort, bandwidthFromRates, checkPortFloor, deleteAllPortStatus, deletePortStatus, loadPorts, PORT_BANDWIDTH_FIELDS, ratesOf, removeMacMap, savePortStatus, updateMacMap } from './ports.js';

const XML_INACTIVE = 1;
const UPDATE_AFFECT_LIVE = 1;
const UPDATE_AFFECT_CONFIG = 2;
const BRIDGE_TEMPLATE = 'virbr%d';
/** virNetworkPortCreateFlags */
const PORT_CREATE_RECLAIM = 1;
const PORT_CREATE_VALIDATE = 2;

function checkFlags(flags: number, supported: number, fn: string): void {
  const unsupported = flags & ~supported;
  if (unsupported !== 0) throw virError(ErrorCode.INVALID_ARG, `unsupported flags (0x${unsupported.toString(16)}) in function ${fn}`, ErrorDomain.NETWORK);
}

/** An IPv4 <ip> with DHCP ranges or hosts (or a TFTP root): dnsmasq then answers DHCP (networkUpdate's oldDhcpActive). */
function servesDHCPv4(def: NetworkDef): boolean {
  return childrenNamed(def, 'ip').some((ip) => ip.attrs.family !== 'ipv6' && (child(ip, 'tftp') !== undefined || (child(ip, 'dhcp')?.children.some((c) => c.name === 'range' || c.name === 'host') ?? false)));
}

/** A network and, while it runs, the ports its guests hold (keyed by port UUID). */
interface BridgeNetworkObj extends NetworkObj {
  ports: Map<string, NetworkPortDef>;
}

const refOf = (obj: NetworkObj): NetworkRef => ({ name: networkName(obj.def), uuid: networkUUID(obj.def) });
const withPorts = (obj: NetworkObj): BridgeNetworkObj => Object.assign(obj, { ports: new Map<string, NetworkPortDef>() });
/** Sections whose live change can alter the firewall rules of a nat, route or isolated network (networkUpdate). */
const FIREWALL_SECTIONS = new Set([3 /* ip */, 4 /* ip-dhcp-host */, 5 /* ip-dhcp-range */, 6 /* forward */, 7 /* forward-interface */]);

/** A random MAC in QEMU's 52:54:00 range, as virNetworkSetBridgeMacAddr gives a bridge without one. */
function randomMAC(): string {
  const bytes = [0x52, 0x54, 0x00, ...Array.from({ length: 3 }, () => Math.floor(Math.random() * 256))];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export class NetworkDriverState implements NetworkDriver {
  private readonly networks = networkList<BridgeNetworkObj>();
  /** Lifecycle events of the networks, heard by every connection that shares this driver. */
  readonly events = new EventHub();

  constructor(private readonly paths: NetworkPaths) {}

  /** Queued as virObjectEventStateQueue does: subscribers hear of a change after the call that made it. */
  private lifecycle(obj: NetworkObj, event: NetworkEventType): void {
    const net = refOf(obj);
    setImmediate(() => {
      try {
        this.events.emit({ key: 'networkEventLifecycle', body: { net, event, detail: 0 } });
      } catch {
        // a subscriber's failure never fails the network call
      }
    });
  }

  /**
   * networkStateInitialize: persistent definitions, then the live state of the
   * active ones; a file that does not parse is reported and skipped, as libvirt does,
   * so one bad file cannot take every qemu connection down.
   */
  load(warn: (message: string) => void): void {
    const xmlFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.xml')) : []);
    const each = (dir: string, fn: (path: string, file: string) => void) => {
      for (const file of xmlFiles(dir)) {
        try {
          fn(join(dir, file), file);
        } catch (e) {
          warn(`ignoring network file ${join(dir, file)}: ${(e as Error).message}`);
        }
      }
    };
    each(this.paths.configDir, (path, file) => {
      const def = parseNetworkElement(parseDocumentFile(path, 'network', ErrorDomain.NETWORK));
      this.networks.add(withPorts({ def, active: false, persistent: true, autostart: existsSync(join(this.paths.autostartDir, file)) }));
    });
    each(this.paths.stateDir, (path) => {
      const status = parseDocumentFile(path, 'networkstatus', ErrorDomain.NETWORK);
      const live = parseNetworkElement(child(status, 'network')!);
      const bridge = networkBridge(live);
      // a managed bridge that is gone means the network died with the host's state (reboot, namespace gone)
      if (networkHasManagedBridge(live) && (bridge === undefined || !netDevExists(bridge))) return;
      let obj = this.networks.findByUUID(networkUUID(live));
      if (obj) {
        obj.newDef = obj.def;
        obj.def = live;
        obj.active = true;
      } else this.networks.add((obj = withPorts({ def: live, active: true, persistent: false, autostart: false })));
      obj.ports = loadPorts(this.paths, networkName(live), warn);
    });
  }

  /** networkAutostartConfigs: starts the inactive autostart networks; a failure is reported and the rest still start. */
  async autostart(warn: (message: string) => void): Promise<void> {
    for (const obj of this.networks.all()) {
      if (!obj.autostart || obj.active) continue;
      await this.start(obj).catch((e: Error) => warn(`Failed to autostart network '${networkName(obj.def)}': ${e.message}`));
    }
  }

  private find(net: NetworkRef, by: 'name' | 'uuid'): BridgeNetworkObj {
    const obj = by === 'name' ? this.networks.findByName(net.name) : this.networks.findByUUID(net.uuid);
    if (obj) return obj;
    const detail = by === 'name' ? `no network with matching name '${net.name}'` : `no network with matching uuid '${net.uuid}'`;
    throw virError(ErrorCode.NO_NETWORK, detail, ErrorDomain.NETWORK);
  }

  /** The bridge names the other networks (live or persistent) hold, as virNetworkObjBridgeInUse looks them up. */
  private bridgeInUse(bridge: string, except?: string): boolean {
    return this.networks
      .all()
      .filter((o) => networkName(o.def) !== except)
      .some((o) => networkBridge(o.def) === bridge || (o.newDef !== undefined && networkBridge(o.newDef) === bridge));
  }

  /** networkSetBridgeName / networkBridgeNameValidate, then the bridge MAC, for a new definition. */
  private prepareDef(def: NetworkDef): void {
    validateNetworkDef(def);
    if (!networkHasManagedBridge(def)) return;
    const bridgeEl = child(def, 'bridge')!;
    const name = networkName(def);
    const requested = bridgeEl.attrs.name;
    if (requested === undefined || requested.includes('%d')) {
      const template = requested ?? BRIDGE_TEMPLATE;
      let id = 0;
      for (; id < 256; id++) {
        const candidate = template.replace('%d', String(id));
        if (!this.bridgeInUse(candidate, name) && !netDevExists(candidate)) break;
      }
      if (id === 256) throw virError(ErrorCode.INTERNAL_ERROR, `Bridge generation exceeded max id ${256}`, ErrorDomain.NETWORK);
      setNetworkBridgeName(def, template.replace('%d', String(id)));
    } else if (this.bridgeInUse(requested, name)) {
      throw virError(ErrorCode.INTERNAL_ERROR, `bridge name '${requested}' already in use.`, ErrorDomain.NETWORK);
    }
    if (child(def, 'mac') === undefined) setNetworkMAC(def, randomMAC());
  }

  private async saveConfig(def: NetworkDef): Promise<void> {
    await mkdir(this.paths.configDir, { recursive: true });
    await writeFileAtomic(join(this.paths.configDir, `${networkName(def)}.xml`), formatNetworkXML(def));
  }

  private async saveStatus(obj: NetworkObj): Promise<void> {
    await mkdir(this.paths.stateDir, { recursive: true });
    const body = formatNetworkXML(obj.def)
      .split('\n')
      .map((l) => (l ? `  ${l}` : l))
      .join('\n');
    await writeFileAtomic(join(this.paths.stateDir, `${networkName(obj.def)}.xml`), `<networkstatus>\n${body}</networkstatus>\n`);
  }

  async connectListAllNetworks({ need_results, flags }: ProcArgs<'connectListAllNetworks'>): Promise<ProcRet<'connectListAllNetworks'>> {
    checkFlags(flags, 0x3f, 'networkConnectListAllNetworks');
    const nets = this.networks
      .all()
      .filter((n) => matchesNetworkListFilter(n, flags))
      .map(refOf)
      .sort((a, b) => a.name.localeCompare(b.name));
    return { nets: need_results ? nets : [], ret: nets.length };
  }
  async connectNumOfNetworks(): Promise<ProcRet<'connectNumOfNetworks'>> {
    return { num: this.networks.all().filter((n) => n.active).length };
  }
  async connectNumOfDefinedNetworks(): Promise<ProcRet<'connectNumOfDefinedNetworks'>> {
    return { num: this.networks.all().filter((n) => !n.active).length };
  }
  async connectListNetworks({ maxnames }: ProcArgs<'connectListNetworks'>): Promise<ProcRet<'connectListNetworks'>> {
    return { names: this.networks.all().filter((n) => n.active).map((n) => networkName(n.def)).slice(0, maxnames) };
  }
  async connectListDefinedNetworks({ maxnames }: ProcArgs<'connectListDefinedNetworks'>): Promise<ProcRet<'connectListDefinedNetworks'>> {
    return { names: this.networks.all().filter((n) => !n.active).map((n) => networkName(n.def)).slice(0, maxnames) };
  }

  async networkLookupByName({ name }: ProcArgs<'networkLookupByName'>): Promise<ProcRet<'networkLookupByName'>> {
    return { net: refOf(this.find({ name, uuid: '' }, 'name')) };
  }
  async networkLookupByUUID({ uuid }: ProcArgs<'networkLookupByUUID'>): Promise<ProcRet<'networkLookupByUUID'>> {
    return { net: refOf(this.find({ name: '', uuid: parseUUID(uuid) ?? uuid }, 'uuid')) };
  }

  async networkDefineXML({ xml }: ProcArgs<'networkDefineXML'>): Promise<ProcRet<'networkDefineXML'>> {
    return { net: await this.define(xml) };
  }
  async networkDefineXMLFlags({ xml, flags }: ProcArgs<'networkDefineXMLFlags'>): Promise<ProcRet<'networkDefineXMLFlags'>> {
    checkFlags(flags, 1, 'networkDefineXMLFlags');
    return { net: await this.define(xml) };
  }
  private async define(xml: string): Promise<NetworkRef> {
    const def = parseNetworkXML(xml);
    this.prepareDef(def);
    const existed = this.networks.findByUUID(networkUUID(def));
    const obj = assignNetworkDef(this.networks, def, false, withPorts);
    try {
      await this.saveConfig(def);
    } catch (e) {
      if (!existed) this.networks.remove(obj);
      throw e;
    }
    this.lifecycle(obj, NetworkEventType.DEFINED);
    return refOf(obj);
  }

  async networkCreateXML({ xml }: ProcArgs<'networkCreateXML'>): Promise<ProcRet<'networkCreateXML'>> {
    return { net: await this.createTransient(xml) };
  }
  async networkCreateXMLFlags({ xml, flags }: ProcArgs<'networkCreateXMLFlags'>): Promise<ProcRet<'networkCreateXMLFlags'>> {
    checkFlags(flags, 1, 'networkCreateXMLFlags');
    return { net: await this.createTransient(xml) };
  }
  private async createTransient(xml: string): Promise<NetworkRef> {
    const def = parseNetworkXML(xml);
    this.prepareDef(def);
    const existed = this.networks.findByUUID(networkUUID(def));
    const previous = existed && { def: existed.def, newDef: existed.newDef };
    const obj = assignNetworkDef(this.networks, def, true, withPorts);
    try {
      await this.start(obj);
    } catch (e) {
      if (!existed) this.networks.remove(obj);
      else Object.assign(obj, previous);
      throw e;
    }
    this.lifecycle(obj, NetworkEventType.STARTED);
    return refOf(obj);
  }

  async networkCreate({ net }: ProcArgs<'networkCreate'>): Promise<void> {
    const obj = this.find(net, 'uuid');
    if (obj.active) throw virError(ErrorCode.OPERATION_INVALID, 'network is already active', ErrorDomain.NETWORK);
    await this.start(obj);
    this.lifecycle(obj, NetworkEventType.STARTED);
  }

  /** networkStartNetwork: the devices, rules and daemon of the forward mode; nothing is left behind on failure. */
  private async start(obj: BridgeNetworkObj): Promise<void> {
    const def = obj.def;
    await this.forgetPorts(obj);
    if (networkHasManagedBridge(def)) {
      const bridge = networkBridge(def)!;
      checkRouteCollision(def);
      await createBridge(def, bridge, child(def, 'mac')!.attrs.address!);
      const openMode = child(def, 'forward')?.attrs.mode === 'open';
      try {
        if (!openMode) {
          await addFirewallRules(def, bridge);
          fillNatPortRange(def);
        }
        try {
          await this.startDnsmasqIfNeeded(def, bridge);
        } catch (e) {
          if (!openMode) await removeFirewallRules(def, bridge);
          throw e;
        }
      } catch (e) {
        await deleteBridge(bridge);
        throw e;
      }
    }
    obj.active = true;
    await this.saveStatus(obj);
  }

  private async startDnsmasqIfNeeded(def: NetworkDef, bridge: string): Promise<void> {
    if (def.children.every((c) => c.name !== 'ip')) return;
    const name = networkName(def);
    const files = dnsmasqFileNames(this.paths, name);
    await writeDnsmasqFiles(this.paths, name, dnsmasqConfig(def, bridge, files));
    await startDnsmasq(this.paths, name, bridge);
  }

  async networkDestroy({ net }: ProcArgs<'networkDestroy'>): Promise<void> {
    const obj = this.find(net, 'uuid');
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, `network '${net.name}' is not active`, ErrorDomain.NETWORK);
    await this.stop(obj);
    this.lifecycle(obj, NetworkEventType.STOPPED);
  }

  /** virNetworkObjDeleteAllPorts */
  private async forgetPorts(obj: BridgeNetworkObj): Promise<void> {
    obj.ports.clear();
    await deleteAllPortStatus(this.paths, networkName(obj.def));
  }

  /** networkShutdownNetwork, then the persistent definition takes over again (or the transient network goes). */
  private async stop(obj: BridgeNetworkObj): Promise<void> {
    const def = obj.def;
    const name = networkName(def);
    if (networkHasManagedBridge(def)) {
      const bridge = networkBridge(def)!;
      await stopDnsmasq(this.paths, name);
      await deleteBridge(bridge);
      if (child(def, 'forward')?.attrs.mode !== 'open') await removeFirewallRules(def, bridge);
    }
    await unlink(join(this.paths.stateDir, `${name}.xml`)).catch(() => undefined);
    await this.forgetPorts(obj);
    obj.active = false;
    if (obj.newDef) {
      obj.def = obj.newDef;
      obj.newDef = undefined;
    }
    if (!obj.persistent) this.networks.remove(obj);
  }

  async networkUndefine({ net }: ProcArgs<'networkUndefine'>): Promise<void> {
    const obj = this.find(net, 'uuid');
    if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, `network '${net.name}' is not persistent`, ErrorDomain.NETWORK);
    const name = networkName(obj.def);
    await unlink(join(this.paths.configDir, `${name}.xml`)).catch(() => undefined);
    await unlink(join(this.paths.autostartDir, `${name}.xml`)).catch(() => undefined);
    obj.autostart = false;
    obj.persistent = false;
    obj.newDef = undefined;
    if (!obj.active) {
      // networkRemoveInactive: the bridge's MAC map goes with the network
      const bridge = networkBridge(obj.def);
      if (bridge !== undefined) await removeMacMap(this.paths, bridge);
      this.networks.remove(obj);
    }
    this.lifecycle(obj, NetworkEventType.UNDEFINED);
  }

  async networkGetXMLDesc({ net, flags }: ProcArgs<'networkGetXMLDesc'>): Promise<ProcRet<'networkGetXMLDesc'>> {
    checkFlags(flags, XML_INACTIVE, 'networkGetXMLDesc');
    const obj = this.find(net, 'uuid');
    const def = flags & XML_INACTIVE && obj.newDef ? obj.newDef : obj.def;
    return { xml: formatNetworkXML(def) };
  }
  async networkIsActive({ net }: ProcArgs<'networkIsActive'>): Promise<ProcRet<'networkIsActive'>> {
    return { active: this.find(net, 'uuid').active ? 1 : 0 };
  }
  async networkIsPersistent({ net }: ProcArgs<'networkIsPersistent'>): Promise<ProcRet<'networkIsPersistent'>> {
    return { persistent: this.find(net, 'uuid').persistent ? 1 : 0 };
  }
  async networkGetAutostart({ net }: ProcArgs<'networkGetAutostart'>): Promise<ProcRet<'networkGetAutostart'>> {
    return { autostart: this.find(net, 'uuid').autostart ? 1 : 0 };
  }
  async networkSetAutostart({ net, autostart }: ProcArgs<'networkSetAutostart'>): Promise<void> {
    const obj = this.find(net, 'uuid');
    if (!obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot set autostart for transient network', ErrorDomain.NETWORK);
    const name = networkName(obj.newDef ?? obj.def);
    const link = join(this.paths.autostartDir, `${name}.xml`);
    if (autostart) {
      await mkdir(this.paths.autostartDir, { recursive: true });
      const current = await readlink(link).catch(() => undefined);
      if (current === undefined) await symlink(join(this.paths.configDir, `${name}.xml`), link);
    } else await unlink(link).catch(() => undefined);
    obj.autostart = autostart !== 0;
  }
  async networkGetBridgeName({ net }: ProcArgs<'networkGetBridgeName'>): Promise<ProcRet<'networkGetBridgeName'>> {
    const obj = this.find(net, 'uuid');
    const bridge = networkBridge(obj.def);
    if (bridge === undefined) throw virError(ErrorCode.INTERNAL_ERROR, `network '${net.name}' does not have a bridge name.`, ErrorDomain.NETWORK);
    return { name: bridge };
  }

  /** networkUpdate: the persistent and/or live definition; a live DHCP/DNS change rewrites dnsmasq's files and tells it. */
  async networkUpdate({ net, command, section, parentIndex, xml, flags }: ProcArgs<'networkUpdate'>): Promise<void> {
    checkFlags(flags, UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG, 'networkUpdate');
    const obj = this.find(net, 'uuid');
    let f = flags;
    if ((f & (UPDATE_AFFECT_LIVE | UPDATE_AFFECT_CONFIG)) === 0) f |= obj.active ? UPDATE_AFFECT_LIVE : UPDATE_AFFECT_CONFIG;
    if (f & UPDATE_AFFECT_LIVE && !obj.active) throw virError(ErrorCode.OPERATION_INVALID, 'network is not running', ErrorDomain.NETWORK);
    if (f & UPDATE_AFFECT_CONFIG && !obj.persistent) throw virError(ErrorCode.OPERATION_INVALID, 'cannot change persistent config of a transient network', ErrorDomain.NETWORK);
    const live = f & UPDATE_AFFECT_LIVE ? updateNetworkDef(obj.def, command, section, parentIndex, xml) : undefined;
    const config = f & UPDATE_AFFECT_CONFIG ? updateNetworkDef(obj.newDef ?? obj.def, command, section, parentIndex, xml) : undefined;
    const before = obj.def;
    if (live) await this.refreshFirewall(before, live, section);
    if (config) {
      await this.saveConfig(config);
      if (obj.active) obj.newDef = config;
      else obj.def = config;
    }
    if (live) {
      obj.def = live;
      await this.saveStatus(obj);
      await this.refreshDnsmasq(obj, before, section);
    }
  }

  /** A live change that can alter a nat/route/isolated network's rules replaces them (networkUpdate removes, then re-adds). */
  private async refreshFirewall(before: NetworkDef, after: NetworkDef, section: number): Promise<void> {
    if (!FIREWALL_SECTIONS.has(section) || !['none', 'nat', 'route'].includes(networkForwardMode(before))) return;
    const bridge = networkBridge(before)!;
    await removeFirewallRules(before, bridge);
    await addFirewallRules(after, bridge);
  }

  /**
   * What networkUpdate does to dnsmasq after a live change: sections on its
   * command line (the .conf) restart it; static hosts only rewrite its hosts
   * files and SIGHUP it, unless DHCP was switched on or off; the rest
   * (portgroups, forward interfaces) leave it alone.
   */
  private async refreshDnsmasq(obj: NetworkObj, before: NetworkDef, section: number): Promise<void> {
    const def = obj.def;
    if (!networkHasManagedBridge(def) || def.children.every((c) => c.name !== 'ip')) return;
    const RESTART = [1 /* bridge */, 2 /* domain */, 3 /* ip */, 5 /* ip-dhcp-range */, 11 /* dns-txt */, 12 /* dns-srv */];
    const dhcpToggled = section === 4 /* ip-dhcp-host */ && servesDHCPv4(before) !== servesDHCPv4(def);
    const refresh = section === 4 || section === 10; /* ip-dhcp-host, dns-host */
    if (!RESTART.includes(section) && !refresh) return;
    const name = networkName(def);
    const bridge = networkBridge(def)!;
    await writeDnsmasqFiles(this.paths, name, dnsmasqConfig(def, bridge, dnsmasqFileNames(this.paths, name)));
    if (RESTART.includes(section) || dhcpToggled) {
      await stopDnsmasq(this.paths, name);
      await startDnsmasq(this.paths, name, bridge);
    }
    if (refresh) reloadDnsmasq(this.paths, name);
  }

  /** The running network a port call names (networkObjFromNetwork + the activity check every port call makes). */
  private activeForPorts(net: NetworkRef): BridgeNetworkObj {
    const obj = this.find(net, 'uuid');
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, `network '${networkName(obj.def)}' is not active`, ErrorDomain.NETWORK);
    return obj;
  }

  /** A port and its network, in the order libvirt checks them: the network, the port, then that the network runs. */
  private portOf(network: NetworkRef, uuid: string): { obj: BridgeNetworkObj; def: NetworkPortDef } {
    const obj = this.find(network, 'uuid');
    const def = obj.ports.get(parseUUID(uuid) ?? uuid);
    if (def === undefined) throw virError(ErrorCode.NO_NETWORK_PORT, `Network port with UUID ${uuid} does not exist`, ErrorDomain.NETWORK);
    this.activeForPorts(network);
    return { obj, def };
  }

  /** The bridge whose MAC map records the ports: libvirt keeps one only while dnsmasq serves the network (networkSetMacMap). */
  private macMapBridge(def: NetworkDef): string | undefined {
    const hasDnsmasq = networkHasManagedBridge(def) && childrenNamed(def, 'ip').length > 0;
    return hasDnsmasq ? networkBridge(def) : undefined;
  }

  /**
   * networkPortCreateXML: a new port gets its plug from the network; with
   * RECLAIM (a daemon finding a guest that still runs) the port keeps the plug it had.
   */
  async networkPortCreateXML({ network, xml, flags }: ProcArgs<'networkPortCreateXML'>): Promise<ProcRet<'networkPortCreateXML'>> {
    checkFlags(flags, PORT_CREATE_RECLAIM | PORT_CREATE_VALIDATE, 'networkPortCreateXML');
    const obj = this.find(network, 'uuid');
    const port = parseNetworkPortXML(xml);
    if (!obj.active) throw virError(ErrorCode.OPERATION_INVALID, `network '${networkName(obj.def)}' is not active`, ErrorDomain.NETWORK);
    const reclaim = (flags & PORT_CREATE_RECLAIM) !== 0;
    if (port.plug.type === 'none' && reclaim) throw virError(ErrorCode.INVALID_ARG, 'Port reclaim requested but plug type is none', ErrorDomain.NETWORK);
    if (port.plug.type !== 'none' && !reclaim) throw virError(ErrorCode.INVALID_ARG, 'Port reclaim not requested but plug type is not none', ErrorDomain.NETWORK);
    if (!reclaim) allocatePort(obj.def, port);
    const name = networkName(obj.def);
    const bridge = this.macMapBridge(obj.def);
    if (obj.ports.has(port.uuid)) {
      // libvirt maps the MAC, then fails and unmaps it: an earlier port's identical MAC leaves the map
      if (bridge) await updateMacMap(this.paths, bridge, port.ownerName, port.mac, false);
      // virerror.c's template for the code wraps the driver's own sentence
      throw virError(ErrorCode.NETWORK_PORT_EXIST, `network port Network port with UUID ${port.uuid} already exists exists already`, ErrorDomain.NETWORK);
    }
    obj.ports.set(port.uuid, port);
    // the MAC map and the status file are independent files: written together
    const written = await Promise.allSettled([bridge && updateMacMap(this.paths, bridge, port.ownerName, port.mac, true), savePortStatus(this.paths, name, port)]);
    const failure = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      obj.ports.delete(port.uuid);
      await Promise.allSettled([bridge && updateMacMap(this.paths, bridge, port.ownerName, port.mac, false), deletePortStatus(this.paths, name, port.uuid)]);
      throw failure.reason;
    }
    return { port: { net: refOf(obj), uuid: port.uuid } };
  }

  async networkPortLookupByUUID({ network, uuid }: ProcArgs<'networkPortLookupByUUID'>): Promise<ProcRet<'networkPortLookupByUUID'>> {
    const { obj, def } = this.portOf(network, uuid);
    return { port: { net: refOf(obj), uuid: def.uuid } };
  }

  async networkListAllPorts({ network, need_results, flags }: ProcArgs<'networkListAllPorts'>): Promise<ProcRet<'networkListAllPorts'>> {
    checkFlags(flags, 0, 'networkListAllPorts');
    const obj = this.activeForPorts(network);
    const ports = [...obj.ports.keys()].map((uuid) => ({ net: refOf(obj), uuid }));
    return { ports: need_results ? ports : [], ret: ports.length };
  }

  async networkPortGetXMLDesc({ port, flags }: ProcArgs<'networkPortGetXMLDesc'>): Promise<ProcRet<'networkPortGetXMLDesc'>> {
    checkFlags(flags, 0, 'networkPortGetXMLDesc');
    return { xml: formatNetworkPortXML(this.portOf(port.net, port.uuid).def) };
  }

  /** networkPortDelete: the port leaves the bridge's MAC map and its status file goes. */
  async networkPortDelete({ port, flags }: ProcArgs<'networkPortDelete'>): Promise<void> {
    checkFlags(flags, 0, 'networkPortDelete');
    const { obj, def } = this.portOf(port.net, port.uuid);
    const bridge = this.macMapBridge(obj.def);
    await Promise.all([bridge && updateMacMap(this.paths, bridge, def.ownerName, def.mac, false), deletePortStatus(this.paths, networkName(obj.def), def.uuid)]);
    obj.ports.delete(def.uuid);
  }

  /** networkPortGetParameters: the port's bandwidth, per direction it has. */
  async networkPortGetParameters({ port, flags }: ProcArgs<'networkPortGetParameters'>): Promise<ProcRet<'networkPortGetParameters'>> {
    checkFlags(flags, 0, 'networkPortGetParameters');
    const { def } = this.portOf(port.net, port.uuid);
    const params = ratesOf(def.bandwidth).map(([field, value]) => typedParam.uint(field, value));
    return { params, nparams: params.length };
  }

  /** networkPortSetParameters: new rates replace the port's bandwidth (applying them to the tap is the hypervisor's job). */
  async networkPortSetParameters({ port, params, flags }: ProcArgs<'networkPortSetParameters'>): Promise<void> {
    checkFlags(flags, 0, 'networkPortSetParameters');
    const { obj, def } = this.portOf(port.net, port.uuid);
    const known = new Set<string>(PORT_BANDWIDTH_FIELDS.map(([field]) => field));
    const rates = new Map(params.filter((p) => known.has(p.field)).map((p) => [p.field, Number(typedParamValue(p))]));
    const bandwidth = bandwidthFromRates(rates);
    const updated = { ...def, bandwidth };
    checkPortFloor(obj.def, updated);
    obj.ports.set(def.uuid, updated);
    await savePortStatus(this.paths, networkName(obj.def), updated);
  }

  /** networkGetDHCPLeases: the leases the helper recorded for the bridge, optionally for one MAC. */
  async networkGetDHCPLeases({ net, mac, need_results, flags }: ProcArgs<'networkGetDHCPLeases'>): Promise<ProcRet<'networkGetDHCPLeases'>> {
    checkFlags(flags, 0, 'networkGetDHCPLeases');
    const obj = this.find(net, 'uuid');
    const bridge = networkBridge(obj.def);
    if (!obj.active || bridge === undefined) return { leases: [], ret: 0 };
    const now = Math.floor(Date.now() / 1000);
    const records = JSON.parse(await readLeaseStatus(this.paths, bridge)) as Record<string, string | number>[];
    const leases = [];
    for (const r of records) {
      const expiry = Number(r['expiry-time'] ?? 0);
      if (expiry !== 0 && expiry < now) continue;
      const address = String(r['ip-address']);
      const v6 = address.includes(':');
      const ip = [...obj.def.children].find((c) => c.name === 'ip' && (c.attrs.family === 'ipv6') === v6);
      if (mac !== null && String(r['mac-address']).toLowerCase() !== mac.toLowerCase()) continue;
      leases.push({
        iface: bridge,
        expirytime: BigInt(expiry),
        type: v6 ? 1 : 0,
        mac: r['mac-address'] === undefined ? null : String(r['mac-address']),
        iaid: r.iaid === undefined ? null : String(r.iaid),
        ipaddr: address,
        prefix: ip ? networkIPPrefix(ip) : 0,
        hostname: r.hostname === undefined ? null : String(r.hostname),
        clientid: r['client-id'] === undefined ? null : String(r['client-id']),
      });
    }
    return { leases: need_results ? leases : [], ret: leases.length };
  }
}

/** tsvirtd's network drivers, one per state layout, shared by its connections as libvirtd's driver state is. */
const longLivedDrivers = new Map<string, NetworkDriverState>();

/** Opens the driver for a URI's state layout (SharedDriver<'network'>.open); a short-lived process reads the state afresh. */
export async function openNetworkDriver(uri: ParsedURI, options: OpenOptions): Promise<NetworkDriverState> {
  const paths = networkPathsForURI(uri, options.stateRoot);
  const cached = options.longLived ? longLivedDrivers.get(paths.configDir) : undefined;
  if (cached) return cached;
  const warn = (message: string) => process.stderr.write(`tsvirt: warning: ${message}\n`);
  const driver = new NetworkDriverState(paths);
  driver.load(warn);
  if (options.longLived) {
    longLivedDrivers.set(paths.configDir, driver);
    // tsvirtd starts the autostart networks once, when the first connection brings their driver up
    await driver.autostart(warn);
  }
  return driver;
}
