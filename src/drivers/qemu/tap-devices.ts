// Host tap devices for <interface type='network'|'bridge'|'ethernet'>, made as
// libvirt's qemuInterfaceBridgeConnect / qemuInterfaceEthernetConnect make them:
// named vnetN unless <target dev> names one, owned by the QEMU user, given the
// guest's MAC with its first byte replaced (fe:, or fa: when it already is fe)
// so the bridge never takes the guest's own address, the bridge's MTU (or the
// interface's <mtu>), enslaved to the bridge, up, with the noqueue qdisc, and
// the interface's <bandwidth> as libvirt's tc commands shape it. A tap of
// type='network' joins the bridge of the network port made for it (network-ports.ts).
//
// libvirt opens /dev/net/tun itself and passes QEMU the descriptor. Node cannot
// pass descriptors to a child beyond its stdio (no SCM_RIGHTS, no inheritable
// fds), so tsvirt creates persistent taps with iproute2 and QEMU attaches to
// them by name (-netdev tap,ifname=...,script=no,downscript=no). A persistent
// tap outlives QEMU, so it is deleted when the domain stops, however it stops
// (libvirt's taps vanish with QEMU's descriptors), and when a NIC is unplugged.
// A tap the administrator made (type='ethernet', <target managed='no'>) is only
// used, never created or deleted.
import type { ExecFileOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { ErrorCode, ErrorDomain, isVirError, virError } from '../../util/error.js';
import { withFileLock } from '../../util/file-lock.js';
import { child, element, type XmlElement } from '../../util/xml.js';
import type { NetworkPorts, PortOwner } from './network-ports.js';

/** execFile, promisified; child_process is loaded by the first tap, not by every query that imports the driver. */
function run(file: string, args: string[], options: ExecFileOptions = {}): Promise<unknown> {
  return promisify(process.getBuiltinModule('node:child_process').execFile)(file, args, options);
}

/** virNetDevGenerateName's prefix for taps (VIR_NET_GENERATED_VNET_PREFIX). */
const VNET_PREFIX = 'vnet';
/** virNetDevGenerateName gives up after this many names in use. */
const NAME_ATTEMPTS = 10_000;
const TAP_TYPES = new Set(['network', 'bridge', 'ethernet']);
/** The children of an <interface> that come after <target>. */
const TARGET_FOLLOWERS = new Set(['guest', 'model', 'driver', 'backend', 'filterref', 'tune', 'teaming', 'link', 'mtu', 'coalesce', 'rom', 'boot', 'alias', 'address', 'acpi']);

/** Who QEMU runs as when it is not this process's own user. */
export interface TapOwner {
  uid: number;
  gid: number;
}

export interface TapDevicesOptions {
  /** the file that remembers the last vnet number, and its lock */
  counterFile: string;
  lockFile: string;
  /** the network driver's ports, for interfaces of type='network' */
  networkPorts: NetworkPorts;
  /** root may set qdiscs (qemuDomainInterfaceSetDefaultQDisc runs only privileged) */
  privileged: boolean;
}

export function netDevExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** Runs a command of iproute2's; failing, libvirt's message with the errno text iproute2 printed. */
async function netCommand(argv: string[], failure: string): Promise<void> {
  try {
    await run(argv[0]!, argv.slice(1), { env: { ...process.env, LC_ALL: 'C' } });
  } catch (e) {
    const stderr = ((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
    const reason = stderr.replace(/^(RTNETLINK answers|Error|ioctl\(TUNSETIFF\)): /, '').split('\n')[0];
    throw virError(ErrorCode.SYSTEM_ERROR, `${failure}: ${reason}`, ErrorDomain.QEMU);
  }
}

/** The interface needs a tap of tsvirt's making (not type='ethernet' with <target managed='no'>). */
function managedTap(net: XmlElement): boolean {
  return TAP_TYPES.has(net.attrs.type ?? '') && child(net, 'target')?.attrs.managed !== 'no';
}

/** libvirt's MAC for the host side of a tap: the guest's with the first byte fe (fa when the guest's is fe). */
export function tapMAC(guestMAC: string): string {
  const bytes = guestMAC.toLowerCase().split(':');
  bytes[0] = bytes[0] === 'fe' ? 'fa' : 'fe';
  return bytes.join(':');
}

/** Sets (or replaces) <target dev='NAME'/> in a live interface, where libvirt writes it. */
function setTargetDev(net: XmlElement, name: string): void {
  const target = child(net, 'target');
  if (target) {
    target.attrs = { dev: name, ...Object.fromEntries(Object.entries(target.attrs).filter(([k]) => k !== 'dev')) };
    return;
  }
  // after <source>, <vlan>, <virtualport>, <ip> and <script>s, as virDomainNetDefFormat orders it
  const at = net.children.findIndex((c) => TARGET_FOLLOWERS.has(c.name));
  const el = element('target', { dev: name });
  if (at < 0) net.children.push(el);
  else net.children.splice(at, 0, el);
}

export class TapDevices {
  constructor(private readonly options: TapDevicesOptions) {}

  /** Interfaces of a definition that QEMU reaches through a host tap. */
  static tapInterfaces(def: XmlElement): XmlElement[] {
    const devices = child(def, 'devices');
    return (devices?.children ?? []).filter((d) => d.name === 'interface' && TAP_TYPES.has(d.attrs.type ?? ''));
  }

  /** The owner of a definition's network ports. */
  static portOwner(def: XmlElement): PortOwner {
    return { name: child(def, 'name')?.text ?? '', uuid: child(def, 'uuid')?.text ?? '' };
  }

  /**
   * Gives every tap interface of a live definition its host device, as a start
   * does; when one fails, the ones made before it are deleted again.
   */
  async plugAll(live: XmlElement, owner: TapOwner | undefined): Promise<void> {
    const plugged: XmlElement[] = [];
    try {
      for (const net of TapDevices.tapInterfaces(live)) {
        await this.plug(net, owner, TapDevices.portOwner(live));
        plugged.push(net);
      }
    } catch (e) {
      for (const net of plugged.reverse()) await this.unplug(net);
      throw e;
    }
  }

  /** Deletes the taps tsvirt made for a live definition (QEMU is gone or the NIC unplugged). */
  async unplugAll(live: XmlElement): Promise<void> {
    for (const net of TapDevices.tapInterfaces(live)) await this.unplug(net);
  }

  /**
   * A daemon that finds a running domain hands its interfaces' network ports
   * back to the network driver (RECLAIM) and puts taps that left their bridge
   * (a bridge made anew meanwhile) back on it, as libvirt's
   * virDomainNetNotifyActualDevice does; a failure (a network gone) is only
   * reported and the guest runs on. A port the network driver kept in its
   * status files is already there: nothing to report.
   */
  async reclaimAll(live: XmlElement, warn: (message: string) => void): Promise<void> {
    for (const net of TapDevices.tapInterfaces(live)) {
      const report = (e: Error) => {
        if (!(isVirError(e) && e.code === ErrorCode.NETWORK_PORT_EXIST)) warn(e.message);
      };
      if (net.attrs.type === 'network') await this.options.networkPorts.reclaim(net, TapDevices.portOwner(live)).catch(report);
      const dev = child(net, 'target')?.attrs.dev;
      const bridge = child(net, 'source')?.attrs.bridge;
      if (net.attrs.type === 'ethernet' || dev === undefined || bridge === undefined || !netDevExists(dev)) continue;
      const master = await readlink(`/sys/class/net/${dev}/master`).catch(() => undefined);
      if (master === undefined || path.basename(master) !== bridge) {
        await netCommand(['ip', 'link', 'set', 'dev', dev, 'master', bridge], `Unable to add bridge ${bridge} port ${dev}`).catch(report);
      }
    }
  }

  /**
   * Connects one live interface to the host: its network port allocated
   * (type='network'), its tap (named in <target dev>) made, or an existing one checked.
   */
  async plug(net: XmlElement, owner: TapOwner | undefined, portOwner: PortOwner): Promise<void> {
    if (!TAP_TYPES.has(net.attrs.type ?? '')) return;
    if (!managedTap(net)) {
      // qemuInterfaceEthernetConnect with managed='no': the administrator's tap
      const dev = child(net, 'target')?.attrs.dev;
      if (dev === undefined) throw virError(ErrorCode.INTERNAL_ERROR, "target dev must be supplied when managed='no'", ErrorDomain.QEMU);
      if (!netDevExists(dev)) throw virError(ErrorCode.INTERNAL_ERROR, "target managed='no' but specified dev doesn't exist", ErrorDomain.QEMU);
      return;
    }
    // the bridge first: a network that is not running fails before anything exists
    const bridge = await this.bridgeOf(net, portOwner);
    const name = await this.createTap(child(net, 'target')?.attrs.dev, owner).catch(async (e: Error) => {
      await this.releasePort(net);
      throw e;
    });
    try {
      const mac = child(net, 'mac')?.attrs.address;
      if (mac !== undefined) await netCommand(['ip', 'link', 'set', 'dev', name, 'address', tapMAC(mac)], `Cannot set interface MAC to ${tapMAC(mac)} on '${name}'`);
      const mtu = child(net, 'mtu')?.attrs.size;
      if (bridge !== undefined) {
        // virNetDevTapAttachBridge: the tap takes the bridge's MTU so that enslaving it never lowers the bridge's
        const bridgeMTU = (await readFile(`/sys/class/net/${bridge}/mtu`, 'utf8').catch(() => '')).trim();
        if (mtu === undefined && bridgeMTU !== '') await netCommand(['ip', 'link', 'set', 'dev', name, 'mtu', bridgeMTU], `Cannot set interface MTU on '${name}'`);
        // iproute2 words a missing bridge its own way; libvirt reports the errno of its ioctl
        if (!netDevExists(bridge)) throw virError(ErrorCode.SYSTEM_ERROR, `Unable to add bridge ${bridge} port ${name}: No such device`, ErrorDomain.QEMU);
        await netCommand(['ip', 'link', 'set', 'dev', name, 'master', bridge], `Unable to add bridge ${bridge} port ${name}`);
      }
      if (mtu !== undefined) await netCommand(['ip', 'link', 'set', 'dev', name, 'mtu', mtu], `Cannot set interface MTU on '${name}'`);
      await netCommand(['ip', 'link', 'set', 'dev', name, 'up'], `Cannot set interface flags on '${name}'`);
      // qemuDomainInterfaceSetDefaultQDisc: lockless transmit (<bandwidth> replaces it)
      if (this.options.privileged) await netCommand(['tc', 'qdisc', 'add', 'dev', name, 'root', 'handle', '0:', 'noqueue'], `Cannot set the noqueue qdisc on '${name}'`);
      const bandwidth = child(net, 'bandwidth');
      if (bandwidth && (child(bandwidth, 'inbound') || child(bandwidth, 'outbound'))) await setTapBandwidth(name, bandwidth, this.options.privileged);
    } catch (e) {
      await deleteTap(name);
      await this.releasePort(net);
      throw e;
    }
    setTargetDev(net, name);
  }

  /** Deletes the tap of one live interface, if tsvirt made it (a tap already gone is fine), and its network port. */
  async unplug(net: XmlElement): Promise<void> {
    const dev = child(net, 'target')?.attrs.dev;
    if (managedTap(net) && dev !== undefined) await deleteTap(dev);
    await this.releasePort(net);
  }

  /**
   * virDomainNetReleaseActualDevice: the port goes and the live <source> forgets
   * it; a network already down (its ports gone with it) is no failure.
   */
  private async releasePort(net: XmlElement): Promise<void> {
    const source = child(net, 'source');
    if (net.attrs.type !== 'network' || source?.attrs.portid === undefined) return;
    await this.options.networkPorts.release(net).catch(() => undefined);
    source.attrs = Object.fromEntries(Object.entries(source.attrs).filter(([k]) => k !== 'portid' && k !== 'bridge'));
  }

  /** The bridge a tap joins: its network port's, or the named one; none for type='ethernet'. */
  private async bridgeOf(net: XmlElement, portOwner: PortOwner): Promise<string | undefined> {
    const source = child(net, 'source');
    if (net.attrs.type === 'network') {
      const { portid, bridge } = await this.options.networkPorts.allocate(net, portOwner);
      // the live <source> names the port and the bridge it plugs the tap into, as libvirt's does
      if (source) source.attrs = { ...source.attrs, portid, bridge };
      return bridge;
    }
    if (net.attrs.type === 'bridge') {
      const bridge = source?.attrs.bridge;
      if (!bridge) throw virError(ErrorCode.INTERNAL_ERROR, 'Missing bridge name', ErrorDomain.QEMU);
      return bridge;
    }
    return undefined;
  }

  /**
   * Creates the tap: the requested name, or the next free vnetN. The number
   * grows across starts and processes as a long-lived libvirtd's counter does
   * (vnet0, vnet1, ... even after vnet0 is free again), kept in a file.
   */
  private async createTap(requested: string | undefined, owner: TapOwner | undefined): Promise<string> {
    const ownerArgs = owner ? ['user', String(owner.uid), 'group', String(owner.gid)] : [];
    const create = (name: string) => netCommand(['ip', 'tuntap', 'add', 'dev', name, 'mode', 'tap', ...ownerArgs], `Unable to create tap device ${name}`);
    // virNetDevGenerateName leaves a name that is no template alone
    if (requested !== undefined && !/^[^%]*%d[^%]*$/.test(requested)) {
      if (netDevExists(requested)) throw virError(ErrorCode.SYSTEM_ERROR, `Unable to create tap device ${requested}: Device or resource busy`, ErrorDomain.QEMU);
      await create(requested);
      return requested;
    }
    const template = requested ?? `${VNET_PREFIX}%d`;
    const { counterFile, lockFile } = this.options;
    return withFileLock(lockFile, async () => {
      let last = Number((await readFile(counterFile, 'utf8').catch(() => '-1')).trim());
      if (!Number.isInteger(last)) last = -1;
      for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
        last = last >= 0x7fffffff ? 0 : last + 1;
        const name = template.replace('%d', String(last));
        if (netDevExists(name)) continue;
        await writeFileAtomic(counterFile, `${last}\n`);
        await create(name);
        return name;
      }
      throw virError(ErrorCode.INTERNAL_ERROR, `no unused ${VNET_PREFIX} names available`, ErrorDomain.QEMU);
    }, { what: 'tap name lock' });
  }
}

/**
 * virNetDevBandwidthSet for a tap, whose view is the guest's swapped: the
 * guest's <inbound> shapes what the tap sends (an htb class), its <outbound>
 * polices what the tap receives (an ingress filter). Rates are KiB/s.
 */
export async function setTapBandwidth(name: string, bandwidth: XmlElement, privileged: boolean): Promise<void> {
  const inbound = child(bandwidth, 'inbound');
  const outbound = child(bandwidth, 'outbound');
  if (!privileged) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'Network bandwidth tuning is not available in session mode', ErrorDomain.NONE);
  const tc = async (args: string[]) => {
    try {
      await run('tc', args, { env: { ...process.env, LC_ALL: 'C' } });
    } catch (e) {
      // virCommandRun's report of a failed child, as libvirt gives it for tc
      const { code, stderr } = e as { code?: number | string; stderr?: string };
      const status = typeof code === 'number' ? `exit status ${code}` : `error ${String(code)}`;
      throw virError(ErrorCode.INTERNAL_ERROR, `Child process (tc ${args.join(' ')}) unexpected ${status}${stderr ? `: ${stderr}` : ''}`, ErrorDomain.NONE);
    }
  };
  // virNetDevBandwidthClear: whatever was there goes first (failures ignored)
  await run('tc', ['qdisc', 'del', 'dev', name, 'root']).catch(() => undefined);
  await run('tc', ['qdisc', 'del', 'dev', name, 'ingress']).catch(() => undefined);
  const average = Number(inbound?.attrs.average ?? 0);
  if (inbound && average > 0) {
    const { peak, burst } = inbound.attrs;
    // virNetDevBandwidthCmdAddOptimalQuantum: one MTU (1500 bytes) worth of the rate, at least 1
    const quantum = Math.max(1, Math.floor((average * 1024) / 8 / 1500));
    await tc(['qdisc', 'add', 'dev', name, 'root', 'handle', '1:', 'htb', 'default', '1']);
    await tc(['class', 'add', 'dev', name, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', `${average}kbps`,
      ...(peak ? ['ceil', `${peak}kbps`] : []), ...(burst ? ['burst', `${burst}kb`] : []), 'quantum', String(quantum)]);
    await tc(['qdisc', 'add', 'dev', name, 'parent', '1:1', 'handle', '2:', 'sfq', 'perturb', '10']);
    await tc(['filter', 'add', 'dev', name, 'parent', '1:0', 'protocol', 'all', 'prio', '1', 'handle', '1', 'fw', 'flowid', '1']);
  }
  if (outbound) {
    const rate = Number(outbound.attrs.average ?? 0);
    // without a burst, one second of the average (capped as libvirt caps it to fit kb in 32 bits)
    const burst = outbound.attrs.burst ?? String(Math.min(rate, Math.floor(0xffffffff / 1024)));
    await tc(['qdisc', 'add', 'dev', name, 'ingress']);
    await tc(['filter', 'add', 'dev', name, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u32', '0', '0',
      'police', 'rate', `${rate}kbps`, 'burst', `${burst}kb`, 'mtu', '64kb', 'drop', 'flowid', ':1']);
  }
}

/** qemuDomainInterfaceSetDefaultQDisc on a tap that lost its inbound shaping: lockless transmit again (a failure only costs speed). */
export async function setDefaultTapQdisc(name: string): Promise<void> {
  await run('tc', ['qdisc', 'add', 'dev', name, 'root', 'handle', '0:', 'noqueue'], { env: { ...process.env, LC_ALL: 'C' } }).catch(() => undefined);
}

/** Deletes a tap; `ip link del`, unlike `ip tuntap del`, works while a QEMU that is still exiting holds it. */
async function deleteTap(name: string): Promise<void> {
  if (!netDevExists(name)) return;
  await run('ip', ['link', 'del', 'dev', name]).catch(() => undefined);
}

/** The counter and lock files of a driver's taps. */
export function tapCounterFiles(stateDir: string, lockDir: string): Pick<TapDevicesOptions, 'counterFile' | 'lockFile'> {
  return { counterFile: path.join(stateDir, 'tsvirt-last-vnet-id'), lockFile: path.join(lockDir, 'vnet-names.lock') };
}
