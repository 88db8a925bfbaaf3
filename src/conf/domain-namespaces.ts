// XML namespaces in domain documents: driver namespaces (QEMU's
// <qemu:commandline> & co.) under whatever prefix the user chose, and the
// free-form <metadata> block, which libvirt keeps as a libxml2 subtree.

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import type { XmlElement } from '../util/xml.js';

export const QEMU_NAMESPACE = 'http://libvirt.org/schemas/domain/qemu/1.0';

type Scope = ReadonlyMap<string, string>;

/** Prefix → URI declarations visible inside `el` (its own xmlns attributes over `outer`). */
function scopeOf(el: XmlElement, outer: Scope): Scope {
  let scope: Map<string, string> | undefined;
  for (const [k, v] of Object.entries(el.attrs)) {
    if (k !== 'xmlns' && !k.startsWith('xmlns:')) continue;
    scope ??= new Map(outer);
    scope.set(k === 'xmlns' ? '' : k.slice(6), v);
  }
  return scope ?? outer;
}

function splitName(name: string): [string, string] {
  const i = name.indexOf(':');
  return i < 0 ? ['', name] : [name.slice(0, i), name.slice(i + 1)];
}

function dropNamespaceDecls(el: XmlElement): void {
  for (const k of Object.keys(el.attrs)) if (k === 'xmlns' || k.startsWith('xmlns:')) delete el.attrs[k];
}

/** Renames a subtree in the QEMU namespace to libvirt's fixed "qemu:" prefix. */
function renameToQemu(el: XmlElement, scope: Scope): void {
  const inner = scopeOf(el, scope);
  dropNamespaceDecls(el);
  el.name = `qemu:${splitName(el.name)[1]}`;
  for (const c of el.children) renameToQemu(c, inner);
}

/**
 * Puts driver-namespace elements under libvirt's canonical prefix and
 * declaration (xmlns:qemu on <domain>, as libvirt prints it), and sanitizes
 * <metadata>. Other declarations on <domain> are not kept, as in libvirt.
 */
export function normalizeDomainNamespaces(dom: XmlElement): void {
  const scope = scopeOf(dom, new Map());
  let usesQemu = false;
  for (const c of dom.children) {
    if (c.name === 'metadata') continue;
    const inner = scopeOf(c, scope);
    const [prefix] = splitName(c.name);
    const uri = inner.get(prefix);
    if (uri === QEMU_NAMESPACE && (prefix !== '' || 'xmlns' in c.attrs)) {
      renameToQemu(c, scope);
      usesQemu = true;
    }
  }
  const metadata = dom.children.find((c) => c.name === 'metadata');
  if (metadata) sanitizeMetadata(metadata, scope);
  dropNamespaceDecls(dom);
  if (usesQemu) dom.attrs['xmlns:qemu'] = QEMU_NAMESPACE;
  for (const c of dom.children) if (c.name === 'qemu:commandline') validateQemuCommandline(c);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * qemuDomainDefNamespaceParseCommandline*: every argument has a value and
 * every environment name is a shell-safe identifier (QEMU's environment is
 * also written into the log as NAME=VALUE lines).
 */
function validateQemuCommandline(commandline: XmlElement): void {
  const fail = (message: string): never => {
    throw virError(ErrorCode.INTERNAL_ERROR, message, ErrorDomain.QEMU);
  };
  for (const c of commandline.children) {
    if (c.name === 'qemu:arg' && c.attrs.value === undefined) fail('No qemu command-line argument specified');
    if (c.name !== 'qemu:env') continue;
    const name = c.attrs.name;
    if (name === undefined) fail('No qemu environment name specified');
    if (!/^[A-Za-z_]/.test(name!)) fail('Invalid environment name, it must begin with a letter or underscore');
    if (!ENV_NAME.test(name!)) fail('Invalid environment name, it must contain only alphanumerics and underscore');
  }
}

/**
 * virXMLNodeSanitizeNamespaces on <metadata>: elements without a namespace
 * are dropped, and only the first element of each namespace is kept.
 */
function sanitizeMetadata(metadata: XmlElement, domainScope: Scope): void {
  const seen = new Set<string>();
  const scope = scopeOf(metadata, domainScope);
  metadata.children = metadata.children.filter((c) => {
    const [prefix] = splitName(c.name);
    const uri = scopeOf(c, scope).get(prefix);
    if (uri === undefined || uri === '' || seen.has(uri)) return false;
    seen.add(uri);
    // The subtree is copied out of the document: it must declare its own namespace.
    const decl = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
    if (!(decl in c.attrs)) c.attrs = { [decl]: uri, ...c.attrs };
    return true;
  });
}

// ---- libxml2's serialization (xmlNodeDump with formatting), used for <metadata> ----

export function escapeText(s: string): string {
  return s.replace(/[&<>\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' })[c]!);
}

export function escapeAttr(s: string): string {
  return s.replace(/[&<>"\n\r\t]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' })[c]!);
}

/** One element as libxml2 dumps it at `level` (2 spaces per level), lines joined with '\n'. */
export function dumpLibxml(el: XmlElement, level: number): string {
  const pad = '  '.repeat(level);
  const attrs = Object.entries(el.attrs).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  const text = el.children.length > 0 ? el.text.trim() : el.text;
  if (el.children.length === 0) {
    return text === '' ? `${pad}<${el.name}${attrs}/>` : `${pad}<${el.name}${attrs}>${escapeText(text)}</${el.name}>`;
  }
  const inner = el.children.map((c) => dumpLibxml(c, level + 1)).join('\n');
  return `${pad}<${el.name}${attrs}>\n${inner}\n${pad}</${el.name}>`;
}
