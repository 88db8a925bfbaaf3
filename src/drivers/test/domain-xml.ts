// Domain XML as the test driver reads it: the shared domain model with the test
// driver's parse hooks (i686 default arch, cirrus/xen default video), generated
// testnetN interface names, and the test namespace elements of node files
// (<test:runstate>, <test:transient/>, <test:hasmanagedsave/>, <test:domainsnapshot>).

import { completeDomain, reorder, type DomainParseHooks } from '../../conf/domain.js';
import { parseDocument } from '../../conf/document.js';
import type { DeviceContext } from '../../conf/devices/common.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { DomainState } from '../../driver/flags.js';

export const TEST_NAMESPACE = 'http://libvirt.org/schemas/domain/test/1.0';
const TEST_ARCH = 'i686';

/** testDomainDevicesDefPostParse: a video without a model type gets one by OS type and arch. */
function defaultVideoModel(dev: XmlElement, ctx: DeviceContext): void {
  if (dev.name !== 'video') return;
  let model = child(dev, 'model');
  if (model === undefined) {
    model = element('model');
    dev.children.unshift(model);
  }
  if (model.attrs.type !== undefined && model.attrs.type !== 'default') return;
  let type = 'cirrus';
  if (ctx.osType === 'xen' || ctx.osType === 'linux') type = 'xen';
  else if (ctx.arch.startsWith('ppc64')) type = 'vga';
  model.attrs = { ...model.attrs, type };
}

export const testDomainHooks: DomainParseHooks = {
  postParse(dom) {
    const type = child(child(dom, 'os') ?? dom, 'type');
    if (type && type.attrs.arch === undefined) type.attrs.arch = TEST_ARCH;
  },
  devices: { postParseDevice: defaultVideoModel },
};

/**
 * virDomainDefParseString with the test driver's xmlopt: test namespace
 * elements are checked like in node files, then dropped (the namespace has no
 * formatter, so they never come back).
 */
export function parseTestDomainXML(text: string, validate: boolean): XmlElement {
  const root = parseDocument(text, '(domain_definition)', 'domain');
  extractTestNamespace(root, []);
  const dom = completeDomain(root, { hooks: testDomainHooks, validate });
  checkNameChars(dom);
  return dom;
}

/** virDomainDefParseNode: a <domain> element from a node file or a snapshot. */
export function parseTestDomainElement(el: XmlElement): XmlElement {
  return completeDomain(cloneElement(el), { hooks: testDomainHooks });
}

function checkNameChars(dom: XmlElement): void {
  const name = child(dom, 'name')?.text ?? '';
  if (name.includes('\n')) throw virError(ErrorCode.XML_ERROR, `name ${name} cannot contain '\n'`, ErrorDomain.DOMAIN);
}

/**
 * testDomainGenerateIfnames: every interface without <target dev> gets the
 * first free testnetN name.
 */
export function generateIfnames(dom: XmlElement): void {
  const nets = childrenNamed(child(dom, 'devices') ?? element('devices'), 'interface');
  const used = new Set(nets.map((n) => child(n, 'target')?.attrs.dev).filter((d): d is string => d !== undefined));
  let added = false;
  for (const net of nets) {
    if (child(net, 'target')?.attrs.dev !== undefined) continue;
    let i = 0;
    while (used.has(`testnet${i}`)) i++;
    if (i >= 1024) throw virError(ErrorCode.INTERNAL_ERROR, 'Exceeded max iface limit 1024', ErrorDomain.TEST);
    const name = `testnet${i}`;
    used.add(name);
    const target = child(net, 'target');
    if (target) target.attrs = { dev: name, ...target.attrs };
    else net.children.push(element('target', { dev: name }));
    added = true;
  }
  if (added) reorder(dom);
}

/** What a node file says about a domain's runtime state (testDomainDefNamespaceParse). */
export interface TestDomainNamespace {
  runstate: DomainState;
  transient: boolean;
  hasManagedSave: boolean;
  snapshots: XmlElement[];
}

/**
 * Splits the test namespace elements off a node file's <domain> element. The
 * namespace prefix is whatever the document binds to the test namespace URI.
 */
export function extractTestNamespace(dom: XmlElement, prefixes: readonly string[]): TestDomainNamespace {
  const ns: TestDomainNamespace = { runstate: DomainState.RUNNING, transient: false, hasManagedSave: false, snapshots: [] };
  const own = Object.entries(dom.attrs).filter(([k, v]) => k.startsWith('xmlns:') && v === TEST_NAMESPACE).map(([k]) => k.slice(6));
  const known = new Set([...prefixes, ...own]);
  for (const k of Object.keys(dom.attrs)) if (k.startsWith('xmlns:')) delete dom.attrs[k];
  const local = (el: XmlElement) => {
    const i = el.name.indexOf(':');
    return i > 0 && known.has(el.name.slice(0, i)) ? el.name.slice(i + 1) : undefined;
  };
  let runstate: string | undefined;
  dom.children = dom.children.filter((c) => {
    const name = local(c);
    if (name === undefined) return true;
    if (name === 'runstate' && runstate === undefined) runstate = c.text.trim();
    else if (name === 'transient') ns.transient = true;
    else if (name === 'hasmanagedsave') ns.hasManagedSave = true;
    else if (name === 'domainsnapshot') ns.snapshots.push(c);
    return false;
  });
  if (runstate !== undefined) {
    if (!/^\d+$/.test(runstate)) throw virError(ErrorCode.XML_ERROR, 'invalid runstate', ErrorDomain.TEST);
    const value = Number(runstate);
    // libvirt's own message carries the stray quote.
    if (value > DomainState.PMSUSPENDED) throw virError(ErrorCode.XML_ERROR, `runstate '${value}' out of range'`, ErrorDomain.TEST);
    ns.runstate = value;
  }
  if (ns.transient && ns.runstate === DomainState.SHUTOFF) {
    throw virError(ErrorCode.XML_ERROR, "transient domain cannot have runstate 'shutoff'", ErrorDomain.TEST);
  }
  if (ns.hasManagedSave && ns.runstate !== DomainState.SHUTOFF) {
    throw virError(ErrorCode.XML_ERROR, "domain with managedsave data can only have runstate 'shutoff'", ErrorDomain.TEST);
  }
  return ns;
}
