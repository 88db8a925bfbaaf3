// virDomainUpdateDeviceFlags for a NIC's link state (what `virsh domif-setlink`
// sends): the request is the interface as dumpxml shows it with another
// <link state>. libvirt's qemuDomainChangeNet accepts many live changes; tsvirt
// accepts the link state only and refuses a request that changes anything else.
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, element, type XmlElement } from '../../util/xml.js';
import type { QmpClient } from './qmp.js';

export type LinkState = 'up' | 'down';

/** What a running domain adds to an interface (and a request may carry back): not configuration. */
const RUNTIME_CHILDREN = new Set(['link', 'alias', 'address', 'target']);

/** An element as comparable text: attributes sorted, whitespace-only text ignored, runtime parts left out at the top. */
function canonical(el: XmlElement, top: boolean): string {
  const attrs = Object.entries(el.attrs)
    .filter(([k]) => !(top === false && el.name === 'source' && (k === 'bridge' || k === 'portid')))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  const kids = el.children.filter((c) => !(top && RUNTIME_CHILDREN.has(c.name))).map((c) => canonical(c, false));
  return `<${el.name} ${attrs.join(' ')}>${el.text.trim()}${kids.join('')}</${el.name}>`;
}

/** The link state an interface has (libvirt's default is up). */
export function linkStateOf(net: XmlElement): LinkState {
  return child(net, 'link')?.attrs.state === 'down' ? 'down' : 'up';
}

/**
 * The link state `request` asks `existing` to take; libvirt's errors for a bad
 * state, and a refusal when the request changes more than the link.
 */
export function requestedLinkState(existing: XmlElement, request: XmlElement): LinkState {
  const state = child(request, 'link')?.attrs.state ?? 'up';
  if (state !== 'up' && state !== 'down') throw virError(ErrorCode.XML_ERROR, `unknown interface link state '${state}'`, ErrorDomain.DOMAIN);
  if (canonical(existing, true) !== canonical(request, true)) {
    throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'cannot change network interface settings other than its link state', ErrorDomain.QEMU);
  }
  return state;
}

/** Writes <link state='...'/> into an interface, as libvirt shows it once set. */
export function setLinkState(net: XmlElement, state: LinkState): void {
  const link = child(net, 'link');
  if (link) link.attrs = { state };
  else net.children.push(element('link', { state }));
}

/** qemuProcessSetLinkStates: a started QEMU takes the links the definition has down down, before the guest runs. */
export async function applyLinkStates(qmp: QmpClient, live: XmlElement): Promise<void> {
  for (const net of (child(live, 'devices')?.children ?? []).filter((d) => d.name === 'interface' && linkStateOf(d) === 'down')) {
    const alias = child(net, 'alias')?.attrs.name;
    if (!alias) throw virError(ErrorCode.INTERNAL_ERROR, 'missing alias for network device', ErrorDomain.QEMU);
    await qmp.execute('set_link', { name: alias, up: false }).catch(() => {
      throw virError(ErrorCode.OPERATION_FAILED, `Couldn't set link state on interface: ${alias}`, ErrorDomain.QEMU);
    });
  }
}
