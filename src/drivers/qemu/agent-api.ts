// The qemu driver's guest agent calls (qemu-agent-command, domtime, domfsinfo,
// domifaddr --source agent, set-user-password, guest-agent-timeout): each takes
// the domain lock, checks the agent is there as libvirt does
// (qemuDomainAgentAvailable), connects to the agent's socket for the call, and
// turns the agent's JSON into the API's structures.
import { DomainState } from '../../driver/flags.js';
import type { ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { jsonMember, formatLibvirtJson, type JsonNode } from '../../util/libvirt-json.js';
import { parsePassthroughJson } from './monitor-passthrough.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';
import { AGENT_WAIT_BLOCK, agentCommand, GuestAgent } from './agent.js';
import { agentChannel, agentConnected, agentLifecycleEvents, AgentLifecycleReason, agentSocketPath, applyPortStates, portStatesFromChardevs } from './agent-channel.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import type { RunningDomain } from './lifecycle.js';

/** VIR_DOMAIN_TIME_SYNC */
const TIME_SYNC = 1 << 0;
/** VIR_DOMAIN_PASSWORD_ENCRYPTED */
const PASSWORD_ENCRYPTED = 1 << 0;
/** virDomainIPAddrType */
const IP_ADDR_TYPE = { ipv4: 0, ipv6: 1 } as const;
/** the largest seconds value whose nanoseconds fit QEMU's signed 64-bit time */
const MAX_AGENT_SECONDS = 9223372036n;

export const text = (node: JsonNode | undefined): string | undefined => (node?.kind === 'string' ? node.value : undefined);
export const items = (node: JsonNode | undefined): readonly JsonNode[] | undefined => (node?.kind === 'array' ? node.items : undefined);
export const integer = (node: JsonNode | undefined): bigint | undefined => (node?.kind === 'literal' && /^-?\d+$/.test(node.text) ? BigInt(node.text) : undefined);
export const malformed = (what = 'malformed return value') => virError(ErrorCode.INTERNAL_ERROR, what, ErrorDomain.QEMU);

/**
 * Runs `fn` with a synced agent connection of a running domain. The agent's
 * port state is asked of QEMU first (query-chardev): a change is written to the
 * live definition and reported as the agent lifecycle event.
 */
export async function withAgent<T>(driver: QemuDriver, dom: DomainRef, fn: (agent: GuestAgent, running: RunningDomain) => Promise<T>): Promise<T> {
  const runtime = driver.runtime;
  return runtime.withRunning(dom, async (_obj, running) => {
    if (running.state !== DomainState.RUNNING) throw virError(ErrorCode.OPERATION_INVALID, 'domain is not running', ErrorDomain.QEMU);
    const channel = agentChannel(running.live);
    if (!channel) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, 'QEMU guest agent is not configured', ErrorDomain.QEMU);
    await refreshPortStates(driver, running);
    const socketPath = agentSocketPath(channel);
    if (!agentConnected(channel) || socketPath === undefined) throw virError(ErrorCode.AGENT_UNRESPONSIVE, 'QEMU guest agent is not connected', ErrorDomain.QEMU);
    const agent = await GuestAgent.connect(socketPath, running.agentTimeout);
    try {
      return await fn(agent, running);
    } finally {
      agent.close();
    }
  });
}

/** qemuProcessRefreshChannelVirtioState: the guest's side of every virtio channel, from QEMU. */
async function refreshPortStates(driver: QemuDriver, running: RunningDomain): Promise<void> {
  const qmp = await driver.runtime.runtime.ensureMonitor(running);
  const chardevs = await qmp.execute<Array<{ label?: string; 'frontend-open'?: boolean }>>('query-chardev');
  const changes = applyPortStates(running.live, portStatesFromChardevs(chardevs));
  if (changes.length === 0) return;
  await driver.runtime.runtime.saveStatus(running);
  for (const event of agentLifecycleEvents(running.ref(), changes, AgentLifecycleReason.CHANNEL)) driver.runtime.queueEvent(event);
}

/** qemuDomainQemuAgentCommand: the agent's whole reply, compact, as libvirt hands it back. */
export async function agentArbitraryCommand(driver: QemuDriver, dom: DomainRef, cmd: string, timeout: number, flags: number): Promise<string> {
  checkFlags(flags, 0, 'qemuDomainQemuAgentCommand');
  return withAgent(driver, dom, async (agent, running) => {
    await driver.runtime.runtime.taint(running, 'custom-ga-command');
    if (timeout < AGENT_WAIT_BLOCK) {
      throw virError(ErrorCode.INVALID_ARG, `guest agent timeout '${timeout}' is less than the minimum '${AGENT_WAIT_BLOCK}'`, ErrorDomain.QEMU);
    }
    return formatLibvirtJson(await agent.command(parsePassthroughJson(cmd), timeout), false);
  });
}

export async function agentGetTime(driver: QemuDriver, dom: DomainRef, flags: number): Promise<ProcRet<'domainGetTime'>> {
  checkFlags(flags, 0, 'qemuDomainGetTime');
  return withAgent(driver, dom, async (agent) => {
    const ns = integer(jsonMember(await agent.command(agentCommand('guest-get-time')), 'return'));
    if (ns === undefined || ns < 0n) throw malformed();
    return { seconds: ns / 1_000_000_000n, nseconds: Number(ns % 1_000_000_000n) };
  });
}

/** qemuDomainSetTime: the agent sets the guest's clock (or reads its RTC), then QEMU stops catching up on missed RTC ticks. */
export async function agentSetTime(driver: QemuDriver, dom: DomainRef, seconds: bigint, nseconds: number, flags: number): Promise<void> {
  checkFlags(flags, TIME_SYNC, 'qemuDomainSetTime');
  await withAgent(driver, dom, async (agent, running) => {
    if (flags & TIME_SYNC) {
      await agent.command(agentCommand('guest-set-time'));
    } else {
      if (seconds > MAX_AGENT_SECONDS) throw virError(ErrorCode.INVALID_ARG, `Time '${seconds}' is too big for guest agent`, ErrorDomain.QEMU);
      await agent.command(agentCommand('guest-set-time', { time: seconds * 1_000_000_000n + BigInt(nseconds) }));
    }
    // rtc-reset-reinjection exists only where QEMU reinjects RTC interrupts (x86)
    const qmp = await driver.runtime.runtime.ensureMonitor(running);
    const commands = await qmp.execute<Array<{ name: string }>>('query-commands');
    if (commands.some((c) => c.name === 'rtc-reset-reinjection')) await qmp.execute('rtc-reset-reinjection');
  });
}

/** A filesystem as the agent reports it (qemuAgentFSInfo). */
export interface AgentFilesystem {
  name: string;
  mountpoint: string;
  fstype: string;
  usedBytes?: bigint;
  totalBytes?: bigint;
  disks: Array<{ pci?: JsonNode; serial?: string; dev?: string }>;
}

/** qemuAgentGetFSInfo: the guest's filesystems in mount order. */
export async function agentFilesystems(agent: GuestAgent, reportUnsupported = true): Promise<AgentFilesystem[]> {
  const list = items(jsonMember(await agent.command(agentCommand('guest-get-fsinfo'), undefined, reportUnsupported), 'return'));
  if (!list) throw malformed('guest-get-fsinfo reply was missing return data');
  const filesystems = list.map((fs): AgentFilesystem => {
    const need = (key: string) => text(jsonMember(fs, key)) ?? (() => { throw malformed(`'${key}' missing in reply of guest-get-fsinfo`); })();
    const [mountpoint, name, fstype] = [need('mountpoint'), need('name'), need('type')];
    const disks = items(jsonMember(fs, 'disk'));
    if (!disks) throw malformed("'disk' missing in reply of guest-get-fsinfo");
    const used = integer(jsonMember(fs, 'used-bytes'));
    const total = integer(jsonMember(fs, 'total-bytes'));
    return {
      name, mountpoint, fstype,
      ...(used !== undefined ? { usedBytes: used } : {}),
      ...(total !== undefined ? { totalBytes: total } : {}),
      disks: disks.map((d) => ({ pci: jsonMember(d, 'pci-controller'), serial: text(jsonMember(d, 'serial')), dev: text(jsonMember(d, 'dev')) })),
    };
  });
  // the agent lists the newest mount first
  return filesystems.reverse();
}

/** qemuDomainGetFSInfo: the guest's mounted filesystems, with the disks (targets) they live on. */
export async function agentFSInfo(driver: QemuDriver, dom: DomainRef, flags: number): Promise<ProcRet<'domainGetFSInfo'>> {
  checkFlags(flags, 0, 'qemuDomainGetFSInfo');
  return withAgent(driver, dom, async (agent, running) => {
    const info = (await agentFilesystems(agent)).map((fs) => ({
      mountpoint: fs.mountpoint,
      name: fs.name,
      fstype: fs.fstype,
      dev_aliases: fs.disks.map((d) => diskTargetByPciAddress(running.live, d.pci)).filter((t): t is string => t !== undefined),
    }));
    return { info, ret: info.length };
  });
}

/** virDomainDiskByAddress for a PCI disk: the target of the disk at that address. */
export function diskTargetByPciAddress(live: XmlElement, pci: JsonNode | undefined): string | undefined {
  if (!pci) return undefined;
  const want = ['domain', 'bus', 'slot', 'function'].map((k) => integer(jsonMember(pci, k)));
  const devices = child(live, 'devices');
  const disk = devices && childrenNamed(devices, 'disk').find((d) => {
    const a = child(d, 'address');
    return a?.attrs.type === 'pci' && ['domain', 'bus', 'slot', 'function'].every((k, i) => want[i] !== undefined && BigInt(Number.parseInt(a.attrs[k] ?? '0', 16)) === want[i]);
  });
  return disk && child(disk, 'target')?.attrs.dev;
}

export type AgentInterface = ProcRet<'domainInterfaceAddresses'>['ifaces'][number];

/** qemuAgentGetInterfaces: the guest's interfaces, aliases (eth0:1) merged into their interface. */
export async function agentInterfaces(agent: GuestAgent, reportUnsupported = true): Promise<AgentInterface[]> {
  const list = items(jsonMember(await agent.command(agentCommand('guest-network-get-interfaces'), undefined, reportUnsupported), 'return'));
  if (!list) throw malformed("qemu agent didn't return an array of interfaces");
  const ifaces: AgentInterface[] = [];
  const byName = new Map<string, AgentInterface>();
  for (const entry of list) {
    const fullName = text(jsonMember(entry, 'name'));
    if (fullName === undefined) throw malformed("qemu agent didn't provide 'name' field");
    const name = fullName.split(':')[0]!;
    let iface = byName.get(name);
    if (!iface) {
      iface = { name, hwaddr: text(jsonMember(entry, 'hardware-address')) ?? null, addrs: [] };
      byName.set(name, iface);
      ifaces.push(iface);
    }
    const addrs = jsonMember(entry, 'ip-addresses');
    if (addrs === undefined) continue;
    if (addrs.kind !== 'array') throw malformed('Malformed ip-addresses array');
    for (const a of addrs.items) iface.addrs.push(ipAddress(a, fullName));
  }
  return ifaces;
}

/** virDomainInterfaceAddresses with the agent as source. */
export async function agentInterfaceAddresses(driver: QemuDriver, dom: DomainRef): Promise<ProcRet<'domainInterfaceAddresses'>> {
  return withAgent(driver, dom, async (agent) => ({ ifaces: await agentInterfaces(agent) }));
}

/** qemuAgentGetInterfaceOneAddress */
function ipAddress(a: JsonNode, iface: string): { type: number; addr: string; prefix: number } {
  const type = text(jsonMember(a, 'ip-address-type'));
  if (type === undefined) throw malformed(`qemu agent didn't provide 'ip-address-type' field for interface '${iface}'`);
  if (type !== 'ipv4' && type !== 'ipv6') throw malformed(`unknown ip address type '${type}'`);
  const addr = text(jsonMember(a, 'ip-address'));
  if (addr === undefined) throw malformed(`qemu agent didn't provide 'ip-address' field for interface '${iface}'`);
  const prefix = integer(jsonMember(a, 'prefix'));
  if (prefix === undefined) throw malformed("malformed 'prefix' field");
  return { type: IP_ADDR_TYPE[type], addr, prefix: Number(prefix) };
}

/** qemuDomainSetUserPassword: the agent takes the password base64-encoded, clear or already crypted. */
export async function agentSetUserPassword(driver: QemuDriver, dom: DomainRef, user: string, password: string, flags: number): Promise<void> {
  checkFlags(flags, PASSWORD_ENCRYPTED, 'qemuDomainSetUserPassword');
  await withAgent(driver, dom, async (agent) => {
    await agent.command(agentCommand('guest-set-user-password', {
      crypted: (flags & PASSWORD_ENCRYPTED) !== 0,
      username: user,
      password: Buffer.from(password, 'utf8').toString('base64'),
    }));
  });
}

/** qemuDomainAgentSetResponseTimeout: how long later agent calls of a running domain wait (kept in its status). */
export async function agentSetResponseTimeout(driver: QemuDriver, dom: DomainRef, timeout: number, flags: number): Promise<void> {
  checkFlags(flags, 0, 'qemuDomainAgentSetResponseTimeout');
  if (timeout < AGENT_WAIT_BLOCK) {
    throw virError(ErrorCode.INVALID_ARG, `guest agent timeout '${timeout}' is less than the minimum '${AGENT_WAIT_BLOCK}'`, ErrorDomain.QEMU);
  }
  await driver.runtime.withDomain(dom, async (_obj, running) => {
    // an inactive domain has no agent; its next start begins with the default
    if (!running) return;
    running.agentTimeout = timeout;
    await driver.runtime.runtime.saveStatus(running);
  }, { monitor: false });
}

