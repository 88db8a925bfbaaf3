// The domain XML object model: libvirt's <domain> document kept as an
// XmlElement tree in canonical order. parseDomainXML runs libvirt's pipeline
// (parse, post-parse, addresses, validation) with driver hooks at the points
// where libvirt calls into the hypervisor driver; formatDomainXML prints it.

import { ErrorCode, virError } from '../util/error.js';
import { child, cloneElement, escapeXml, formatXml, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';
import { domainSchema } from './domain-schema.js';
import { checkUnsupportedFeatures, domainPostParseCommon, parseDomainCore, validateDomainCore } from './domain-core.js';
import { canonicalize } from './schema.js';
import { addImplicitDevices, parseDevices, postParseDevices, type DeviceDriverHooks } from './devices/index.js';
import { validateDeviceSet, validateDevices, type DeviceValidator } from './devices/validate.js';
import { dumpLibxml, normalizeDomainNamespaces } from './domain-namespaces.js';
import { dropLiveState, formatBackingChains } from './domain-inactive-form.js';

/**
 * Driver callbacks, run in libvirt's order: postParseBasic, postParse,
 * (generic device post-parse with `devices` hooks), devicesPostParse,
 * (generic domain post-parse, implicit devices), addImplicitDevices,
 * assignAddresses, validate, (generic validation).
 */
export interface DomainParseHooks {
  /** Defaults that need no capabilities (qemuDomainDefPostParseBasic: the emulator). */
  postParseBasic?(dom: XmlElement): void;
  /** Domain-level driver defaults (machine, CPU, features, default devices). */
  postParse?(dom: XmlElement): void;
  /** Default devices and per-device defaults, called from the generic device post-parse. */
  devices?: DeviceDriverHooks;
  /** Driver work after every device's post-parse. */
  devicesPostParse?(dom: XmlElement): void;
  /** Driver work after the generic implicit devices were added. */
  addImplicitDevices?(dom: XmlElement): void;
  assignAddresses?(dom: XmlElement): void;
  /** The driver's first security model, for a lone <seclabel> without one (xmlopt defSecModel). */
  defaultSecurityModel?: string;
  /** Driver validation of the domain (qemuValidateDomainDef). */
  validate?(dom: XmlElement): void;
  /** Driver validation of each device, after its generic checks (qemuValidateDomainDeviceDef). */
  validateDevice?: DeviceValidator;
}

export interface DomainParseOptions {
  /** virsh define --validate: check the input against the schema first. */
  readonly validate?: boolean;
  readonly hooks?: DomainParseHooks;
  /** Name used for the document in syntax errors. */
  readonly url?: string;
}

/** How syntax errors name a domain definition given as a string (virDomainDefParseString). */
export const DOMAIN_DOCUMENT = '(domain_definition)';

/** Parses, completes and validates a domain definition; returns the canonical tree. */
export function parseDomainXML(text: string, options: DomainParseOptions = {}): XmlElement {
  const dom = parseDocument(text, options.url ?? DOMAIN_DOCUMENT, 'domain');
  return completeDomain(dom, options);
}

/** The same pipeline on an already parsed <domain> element (it is modified in place). */
export function completeDomain(dom: XmlElement, options: DomainParseOptions = {}): XmlElement {
  const hooks = options.hooks ?? {};
  normalizeDomainNamespaces(dom);
  canonicalize(dom, domainSchema, { strict: true, describeUnknown: options.validate ? schemaValidationError : undefined });
  parseDomainCore(dom, hooks.defaultSecurityModel);
  parseDevices(dom);
  hooks.postParseBasic?.(dom);
  hooks.postParse?.(dom);
  postParseDevices(dom, hooks.devices);
  hooks.devicesPostParse?.(dom);
  domainPostParseCommon(dom);
  addImplicitDevices(dom, hooks.devices);
  hooks.addImplicitDevices?.(dom);
  reorder(dom);
  hooks.assignAddresses?.(dom);
  reorder(dom);
  checkUnsupportedFeatures(dom);
  hooks.validate?.(dom);
  validateDevices(dom, hooks.validateDevice);
  validateDeviceSet(dom);
  validateDomainCore(dom);
  return dom;
}

/**
 * virsh define --validate: libvirt checks the document against its RelaxNG
 * schema first and reports libxml2's validation trail; these are the lines
 * libxml2 prints for an unknown element or attribute.
 */
function schemaValidationError(kind: 'element' | 'attribute', name: string, path: readonly string[]): Error {
  const parent = path[path.length - 1]!;
  const top = path[1];
  const lines: string[] = [];
  if (top === 'devices' && path.length > 1 + (kind === 'element' ? 0 : 1)) {
    lines.push('Extra element devices in interleave');
  } else {
    lines.push(kind === 'element' ? `Element ${parent} has extra content: ${name}` : `Invalid attribute ${name} for element ${parent}`);
    if (top !== undefined) lines.push(`Extra element ${top} in interleave`);
  }
  if (top !== undefined) lines.push('Element domain failed to validate content');
  return virError(ErrorCode.XML_INVALID_SCHEMA, `Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\n${lines.join('\n')}`);
}

/** Puts elements added by post-parse code into canonical order. */
export function reorder(dom: XmlElement): void {
  canonicalize(dom, domainSchema, { strict: false });
}

export interface DomainFormatOptions {
  /** VIR_DOMAIN_XML_INACTIVE: the persistent definition, without runtime state. */
  readonly inactive?: boolean;
  /** VIR_DOMAIN_XML_SECURE: include passwords. */
  readonly secure?: boolean;
  /** The running domain's id, printed when the domain is active and not `inactive`. */
  readonly id?: number;
}

/** Elements libvirt prints as an open/close pair even when empty. */
const ALWAYS_OPEN: ReadonlySet<string> = new Set(['devices', 'hyperv']);

/** libvirt's text for a domain tree (virDomainDefFormat). */
export function formatDomainXML(dom: XmlElement, options: DomainFormatOptions = {}): string {
  // stripping secrets, live state and driver markers change the tree, on a copy
  const out = cloneElement(dom);
  const attrs: Record<string, string> = { type: out.attrs['type'] ?? '' };
  if (!options.inactive && options.id !== undefined && options.id >= 0) attrs['id'] = String(options.id);
  for (const [k, v] of Object.entries(out.attrs)) if (k !== 'type' && k !== 'id') attrs[k] = v;
  if (!options.secure) stripSecrets(out);
  if (options.inactive) dropLiveState(out);
  formatBackingChains(out, options.inactive === true);
  const attrText = Object.entries(attrs).map(([k, v]) => ` ${k}='${escapeXml(v)}'`).join('');
  const body = out.children.map((c) => (c.name === 'metadata' ? `${dumpLibxml(c, 1)}\n` : formatXml(c, 2, ALWAYS_OPEN)));
  return `<domain${attrText}>\n${body.join('')}</domain>\n`;
}

/** Graphics passwords and network disk cookies are only shown with VIR_DOMAIN_XML_SECURE. */
function stripSecrets(dom: XmlElement): void {
  const devices = child(dom, 'devices');
  for (const dev of devices?.children ?? []) {
    if (dev.name === 'graphics') delete dev.attrs['passwd'];
    if (dev.name === 'disk') {
      // every source of the backing chain (virDomainDiskSourceFormatNetworkCookies)
      for (let holder: XmlElement | undefined = dev; holder; holder = child(holder, 'backingStore')) {
        const source = child(holder, 'source');
        if (source) source.children = source.children.filter((c) => c.name !== 'cookies');
      }
    }
  }
}

// ---- typed accessors ----

export function domainName(dom: XmlElement): string {
  return child(dom, 'name')?.text ?? '';
}

export function domainUUID(dom: XmlElement): string | undefined {
  return child(dom, 'uuid')?.text;
}

export function setDomainUUID(dom: XmlElement, uuid: string): void {
  let el = child(dom, 'uuid');
  if (!el) {
    el = { name: 'uuid', attrs: {}, children: [], text: '', line: 0 };
    dom.children.push(el);
    reorder(dom);
  }
  el.text = uuid;
}

export function domainVirtType(dom: XmlElement): string {
  return dom.attrs['type'] ?? '';
}

/** <memory> (maximum balloon size) in KiB. */
export function domainMaxMemoryKiB(dom: XmlElement): bigint {
  return BigInt(child(dom, 'memory')?.text || '0');
}

/** <currentMemory> in KiB. */
export function domainCurrentMemoryKiB(dom: XmlElement): bigint {
  return BigInt(child(dom, 'currentMemory')?.text || child(dom, 'memory')?.text || '0');
}

/** Maximum vCPU count (<vcpu> text). */
export function domainMaxVcpus(dom: XmlElement): number {
  return Number(child(dom, 'vcpu')?.text || '1');
}

/** vCPUs online at boot (<vcpu current=...>, else the maximum). */
export function domainCurrentVcpus(dom: XmlElement): number {
  const vcpu = child(dom, 'vcpu');
  return Number(vcpu?.attrs['current'] ?? (vcpu?.text || '1'));
}

/** <os><type> with its arch/machine attributes. */
export function domainOsType(dom: XmlElement): XmlElement {
  const type = child(child(dom, 'os') ?? dom, 'type');
  if (!type) throw virError(ErrorCode.XML_ERROR, 'an os <type> must be specified');
  return type;
}

export function domainArch(dom: XmlElement): string {
  return domainOsType(dom).attrs['arch'] ?? '';
}

export function domainMachine(dom: XmlElement): string {
  return domainOsType(dom).attrs['machine'] ?? '';
}
