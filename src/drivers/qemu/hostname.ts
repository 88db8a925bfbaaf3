// virDomainGetHostname on the qemu driver: the name the guest agent reports
// (guest-get-host-name), or the first hostname a DHCP lease of one of the
// guest's type='network' interfaces carries. Whatever goes wrong on the agent
// side ends as "no hostname found", as in libvirt, which ignores the agent's error.
import type { NetworkDriver } from '../../driver/families.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { jsonMember } from '../../util/libvirt-json.js';
import { child, type XmlElement } from '../../util/xml.js';
import { agentCommand } from './agent.js';
import { text, withAgent } from './agent-api.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';

/** VIR_DOMAIN_GET_HOSTNAME_LEASE, VIR_DOMAIN_GET_HOSTNAME_AGENT */
export const HOSTNAME_LEASE = 1 << 0;
export const HOSTNAME_AGENT = 1 << 1;

export async function domainHostname(driver: QemuDriver, dom: DomainRef, flags: number): Promise<string> {
  checkFlags(flags, HOSTNAME_LEASE | HOSTNAME_AGENT, 'qemuDomainGetHostname');
  if (flags & HOSTNAME_LEASE && flags & HOSTNAME_AGENT) {
    throw virError(ErrorCode.INVALID_ARG, "Flags 'VIR_DOMAIN_GET_HOSTNAME_LEASE' and 'VIR_DOMAIN_GET_HOSTNAME_AGENT' are mutually exclusive", ErrorDomain.QEMU);
  }
  const hostname = flags & HOSTNAME_LEASE
    ? await driver.runtime.withRunning(dom, async (_obj, running) => leaseHostname(running.live, await driver.shared?.family('network')), { monitor: false })
    : await agentHostname(driver, dom);
  if (hostname === undefined) throw virError(ErrorCode.NO_HOSTNAME, `no hostname found for domain ${dom.name}`, ErrorDomain.QEMU);
  return hostname;
}

/** The agent's answer; its errors (not the domain's state or a missing agent) only leave the hostname unknown. */
async function agentHostname(driver: QemuDriver, dom: DomainRef): Promise<string | undefined> {
  return withAgent(driver, dom, async (agent) => {
    const reply = await agent.command(agentCommand('guest-get-host-name')).catch(() => undefined);
    const ret = reply && jsonMember(reply, 'return');
    return text(ret && jsonMember(ret, 'host-name'));
  });
}

/** The first lease with a hostname, interfaces in definition order. */
async function leaseHostname(def: XmlElement, networks: NetworkDriver | undefined): Promise<string | undefined> {
  for (const net of (child(def, 'devices')?.children ?? []).filter((d) => d.name === 'interface' && d.attrs.type === 'network')) {
    if (!networks?.networkLookupByName || !networks.networkGetDHCPLeases) throw virError(ErrorCode.NO_SUPPORT, 'virNetworkLookupByName', ErrorDomain.NONE);
    const { net: ref } = await networks.networkLookupByName({ name: child(net, 'source')?.attrs.network ?? '' });
    const mac = child(net, 'mac')?.attrs.address ?? '';
    const { leases } = await networks.networkGetDHCPLeases({ net: ref, mac, need_results: 1, flags: 0 });
    const named = leases.find((l) => l.hostname);
    if (named?.hostname) return named.hostname;
  }
  return undefined;
}
