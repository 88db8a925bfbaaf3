// Taints and deprecations of a running domain (libvirt's virDomainObjTaint and
// qemuDomainObjTaintMsg): things done to or configured for a guest that libvirt
// cannot vouch for. Each is recorded once on the running domain (kept in its
// status file, so another process sees it too), written to the domain log, and
// listed by virDomainGetMessages.
import { appendFile } from 'node:fs/promises';
import { DomainMessageType } from '../../driver/flags.js';
import { child, type XmlElement } from '../../util/xml.js';

/** virDomainTaint names, in the enum's order (the order dommessages lists them in), with their messages. */
export const TAINTS = [
  ['custom-argv', 'custom configuration parameters specified'],
  ['custom-monitor', 'custom monitor control commands issued'],
  ['high-privileges', 'running with undesirable elevated privileges'],
  ['shell-scripts', 'network configuration using opaque shell scripts'],
  ['disk-probing', 'potentially unsafe disk format probing'],
  ['external-launch', 'managing externally launched configuration'],
  ['host-cpu', 'potentially unsafe use of host CPU passthrough'],
  ['hook-script', 'configuration potentially modified by hook script'],
  ['cdrom-passthrough', 'use of host cdrom passthrough'],
  ['custom-dtb', 'custom device tree blob used'],
  ['custom-ga-command', 'custom guest agent control commands issued'],
  ['custom-hypervisor-feature', 'hypervisor feature autodetection override'],
  ['deprecated-config', 'use of deprecated configuration settings'],
  ['custom-device', 'custom device configuration'],
] as const;

export type Taint = (typeof TAINTS)[number][0];

export function isTaint(name: string): name is Taint {
  return TAINTS.some(([known]) => known === name);
}

/** What a domain carries: the taint flags and the deprecation texts, as the status file keeps them. */
export interface TaintRecord {
  taints: Set<Taint>;
  deprecations: string[];
}

/** virDomainObjGetMessages: taints in enum order, then deprecations; no flag means both. */
export function domainMessages(record: TaintRecord, flags: number): string[] {
  const taints = !flags || (flags & DomainMessageType.TAINTING) !== 0;
  const deprecations = !flags || (flags & DomainMessageType.DEPRECATION) !== 0;
  return [
    ...(taints ? TAINTS.filter(([name]) => record.taints.has(name)).map(([, message]) => `tainted: ${message}`) : []),
    ...(deprecations ? record.deprecations.map((text) => `deprecated configuration: ${text}`) : []),
  ];
}

/**
 * qemuDomainObjTaintMsg: records `taint` (with `extra`, the deprecation text of
 * deprecated-config) and appends libvirt's line to the domain log. Returns
 * whether the record changed, so the caller knows to save the status. A taint
 * already recorded is logged again only with an extra text, as libvirt does.
 */
export async function taintDomain(record: TaintRecord, domain: { id: number; logPath: string }, taint: Taint, extra?: string): Promise<boolean> {
  const added = !record.taints.has(taint);
  if (!added && extra === undefined) return false;
  record.taints.add(taint);
  if (taint === 'deprecated-config' && extra !== undefined) record.deprecations.push(extra);
  const line = `${logTimestamp(new Date())}: Domain id=${domain.id} is tainted: ${taint}${extra === undefined ? '' : ` (${extra})`}\n`;
  // like libvirt, a log that cannot be written does not fail the call that tainted the domain
  await appendFile(domain.logPath, line).catch(() => undefined);
  return true;
}

/** qemuDomainObjCheckTaint, for what tsvirt's definitions can hold: the qemu namespace's passthrough, network scripts, a custom DTB. */
export function startTaints(live: XmlElement): Taint[] {
  const found = new Set<Taint>();
  const qemuBlock = (suffix: string) => live.children.find((c) => c.name.endsWith(`:${suffix}`));
  const commandline = qemuBlock('commandline');
  if (commandline?.children.some((c) => c.name.endsWith(':arg') || c.name.endsWith(':env'))) found.add('custom-argv');
  const capabilities = qemuBlock('capabilities');
  if (capabilities?.children.some((c) => c.name.endsWith(':add') || c.name.endsWith(':del'))) found.add('custom-hypervisor-feature');
  if (qemuBlock('override')?.children.some((c) => c.name.endsWith(':device'))) found.add('custom-device');
  const devices = child(live, 'devices')?.children ?? [];
  if (devices.some((d) => d.name === 'disk' && d.attrs.rawio === 'yes')) found.add('high-privileges');
  if (devices.some((d) => d.name === 'interface' && child(d, 'script') !== undefined)) found.add('shell-scripts');
  const os = child(live, 'os');
  if (os && child(os, 'dtb') !== undefined) found.add('custom-dtb');
  return TAINTS.map(([name]) => name).filter((name) => found.has(name));
}

/** virTimeStringNow: "YYYY-MM-DD HH:MM:SS.mmm+0000". */
function logTimestamp(now: Date): string {
  return `${now.toISOString().replace('T', ' ').replace('Z', '')}+0000`;
}
