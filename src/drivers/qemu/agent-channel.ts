// The guest agent's virtio-serial channel in the live definition: where its
// socket is, and whether the guest has the port open (the target's
// state='connected'|'disconnected' libvirt shows for a running domain). QEMU
// tells the port state in query-chardev ("frontend-open") and, while someone
// listens, in VSERPORT_CHANGE events; a change of the agent's port is the agent
// lifecycle event.
import type { DriverEvent } from '../../driver/events.js';
import { child, childrenNamed, element, type XmlElement } from '../../util/xml.js';

/** The virtio-serial channel name of the QEMU guest agent (qemuFindAgentConfig). */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

/** virConnectDomainEventAgentLifecycleState / ...Reason */
export const AgentLifecycleState = { CONNECTED: 1, DISCONNECTED: 2 } as const;
export const AgentLifecycleReason = { UNKNOWN: 0, DOMAIN_STARTED: 1, CHANNEL: 2 } as const;

/** Virtio channels of a definition (the ones with a port state). */
function virtioChannels(def: XmlElement): XmlElement[] {
  const devices = child(def, 'devices');
  return devices ? childrenNamed(devices, 'channel').filter((ch) => child(ch, 'target')?.attrs.type === 'virtio') : [];
}

/** The guest agent's channel of a definition (qemuFindAgentConfig), if it has one. */
export function agentChannel(def: XmlElement): XmlElement | undefined {
  return virtioChannels(def).find((ch) => child(ch, 'target')?.attrs.name === GUEST_AGENT_CHANNEL && ch.attrs.type === 'unix');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * qemuDomainChrDefDropDefaultPath's test: `path` is a socket path a start
 * generated for the channel `targetName` (under `channelTargetDir`, in any run's
 * domain-ID-NAME folder), not one the user chose. libvirt's pattern is kept as
 * is, including its unanchored second alternative (which also matches the paths
 * of images written by libvirt itself).
 */
export function isGeneratedChannelPath(path: string, channelTargetDir: string, targetName: string): boolean {
  return new RegExp(`^${escapeRegex(channelTargetDir)}/([^/]+\\.)|(domain-[^/]+/)${escapeRegex(targetName)}$`).test(path);
}

/**
 * qemuDomainPrepareChannel and the start's port state: a virtio unix channel
 * without a path, or with a path an earlier run generated (a save image's,
 * a snapshot's or a migration's definition carries the old run's folder),
 * gets its socket in this run's channel folder `domainChannelDir` (QEMU listens
 * on it), and every virtio channel starts with the guest's side closed.
 */
export function prepareLiveChannels(live: XmlElement, channelTargetDir: string, domainChannelDir: string): void {
  for (const channel of virtioChannels(live)) {
    const target = child(channel, 'target')!;
    const path = child(channel, 'source')?.attrs.path;
    const generated = path === undefined || isGeneratedChannelPath(path, channelTargetDir, target.attrs.name ?? '');
    if (channel.attrs.type === 'unix' && generated && target.attrs.name) {
      channel.children = channel.children.filter((c) => c.name !== 'source');
      channel.children.unshift(element('source', { mode: 'bind', path: `${domainChannelDir}/${target.attrs.name}` }));
    }
    target.attrs.state = 'disconnected';
  }
}

export interface PortChange {
  channel: XmlElement;
  connected: boolean;
}

/**
 * Sets a virtio channel's state from QEMU's word: `open` by device alias
 * (query-chardev's chardev label is "char" + alias). Returns the channels whose
 * state changed.
 */
export function applyPortStates(live: XmlElement, open: ReadonlyMap<string, boolean>): PortChange[] {
  const changes: PortChange[] = [];
  for (const channel of virtioChannels(live)) {
    const alias = child(channel, 'alias')?.attrs.name;
    const target = child(channel, 'target');
    if (!alias || !target || !open.has(alias)) continue;
    const state = open.get(alias) ? 'connected' : 'disconnected';
    if (target.attrs.state === state) continue;
    target.attrs.state = state;
    changes.push({ channel, connected: state === 'connected' });
  }
  return changes;
}

/** query-chardev's reply as open state by device alias. */
export function portStatesFromChardevs(chardevs: ReadonlyArray<{ label?: string; 'frontend-open'?: boolean }>): Map<string, boolean> {
  const open = new Map<string, boolean>();
  for (const c of chardevs) {
    if (c.label?.startsWith('char') && typeof c['frontend-open'] === 'boolean') open.set(c.label.slice('char'.length), c['frontend-open']);
  }
  return open;
}

/** The agent lifecycle event for changes that concern the agent's channel, if any. */
export function agentLifecycleEvents(dom: { name: string; uuid: string; id: number }, changes: readonly PortChange[], reason: number): DriverEvent[] {
  return changes
    .filter((c) => child(c.channel, 'target')?.attrs.name === GUEST_AGENT_CHANNEL)
    .map((c) => ({
      key: 'domainEventCallbackAgentLifecycle' as const,
      body: { dom, state: c.connected ? AgentLifecycleState.CONNECTED : AgentLifecycleState.DISCONNECTED, reason },
    }));
}

/** Whether the guest has the agent's port open, as last learnt from QEMU. */
export function agentConnected(channel: XmlElement): boolean {
  return child(channel, 'target')?.attrs.state === 'connected';
}

/** The socket QEMU listens on for the channel (its <source path>). */
export function agentSocketPath(channel: XmlElement): string | undefined {
  return child(channel, 'source')?.attrs.path;
}
