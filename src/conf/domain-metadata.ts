// Custom elements under <metadata>, one per namespace URI, read and replaced
// the way virDomainGetMetadata / virDomainSetMetadata do it for
// VIR_DOMAIN_METADATA_ELEMENT.

import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { cloneElement, element, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';
import { escapeAttr, escapeText } from './domain-namespaces.js';

function prefixOf(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? '' : name.slice(0, i);
}

function declarationOf(prefix: string): string {
  return prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
}

/** virXMLFindChildNodeByNs: the child of <metadata> whose element namespace is `uri`. */
function findByNamespace(metadata: XmlElement | undefined, uri: string): XmlElement | undefined {
  return metadata?.children.find((c) => c.attrs[declarationOf(prefixOf(c.name))] === uri);
}

function forEachElement(el: XmlElement, visit: (e: XmlElement) => void): void {
  visit(el);
  for (const c of el.children) forEachElement(c, visit);
}

/**
 * xmlNodeDump without formatting. The model keeps an element's text apart
 * from its children, so whitespace between children is rendered as the
 * usual two-space indentation when the text held a line break.
 */
function dumpUnformatted(el: XmlElement, level: number): string {
  const attrs = Object.entries(el.attrs).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  if (el.children.length === 0) return el.text === '' ? `<${el.name}${attrs}/>` : `<${el.name}${attrs}>${escapeText(el.text)}</${el.name}>`;
  const indented = el.text.trim() === '' && el.text.includes('\n');
  const before = indented ? `\n${'  '.repeat(level + 1)}` : '';
  const inner = el.children.map((c) => before + dumpUnformatted(c, level + 1)).join('');
  const text = indented ? `\n${'  '.repeat(level)}` : escapeText(el.text.trim());
  return `<${el.name}${attrs}>${inner}${text}</${el.name}>`;
}

/** virXMLExtractNamespaceXML: the element in namespace `uri` without its prefix, or undefined. */
export function metadataElementXML(def: XmlElement, uri: string): string | undefined {
  const found = findByNamespace(def.children.find((c) => c.name === 'metadata'), uri);
  if (!found) return undefined;
  const copy = cloneElement(found);
  const prefix = prefixOf(copy.name);
  delete copy.attrs[declarationOf(prefix)];
  if (prefix !== '') {
    forEachElement(copy, (e) => {
      if (prefixOf(e.name) === prefix) e.name = e.name.slice(prefix.length + 1);
    });
  }
  return dumpUnformatted(copy, 0);
}

/**
 * virDomainDefSetMetadata for an element: `xml` (or nothing, to remove) put
 * into namespace `uri` under prefix `key`, replacing the namespace's element.
 * <metadata> is created when needed (after <name>, <uuid>, <genid>, <title>,
 * <description>) and stays, possibly empty, once there.
 */
export function setMetadataElement(def: XmlElement, xml: string | null, key: string | null, uri: string): void {
  let added: XmlElement | undefined;
  if (xml !== null) {
    added = parseDocument(xml, '(metadata_xml)');
    if (key === null || !/^[A-Za-z_][\w.-]*$/.test(key)) {
      throw virError(ErrorCode.INTERNAL_ERROR, 'failed to validate prefix for a new XML namespace', ErrorDomain.NONE);
    }
    forEachElement(added, (e) => {
      if (prefixOf(e.name) === '') e.name = `${key}:${e.name}`;
    });
    added.attrs = { [`xmlns:${key}`]: uri, ...added.attrs };
  }
  let metadata = def.children.find((c) => c.name === 'metadata');
  if (!metadata && added) {
    metadata = element('metadata');
    const before = ['name', 'uuid', 'genid', 'title', 'description'];
    let at = 0;
    def.children.forEach((c, i) => {
      if (before.includes(c.name)) at = i + 1;
    });
    def.children.splice(at, 0, metadata);
  }
  if (!metadata) return;
  metadata.children = metadata.children.filter((c) => c.attrs[declarationOf(prefixOf(c.name))] !== uri);
  if (added) metadata.children.push(added);
}

/** virDomainMetadataType */
export const MetadataType = { DESCRIPTION: 0, TITLE: 1, ELEMENT: 2 } as const;

const unknownType = (type: number) => virError(ErrorCode.INVALID_ARG, `unknown metadata type '${type}'`, ErrorDomain.DOMAIN);

/** virDomainDefGetMetadata: the description, title or namespaced element of one definition. */
export function domainMetadata(def: XmlElement, type: number, uri: string | null): string {
  const missing = () => virError(ErrorCode.NO_DOMAIN_METADATA, 'Requested metadata element is not present', ErrorDomain.DOMAIN);
  if (type === MetadataType.DESCRIPTION || type === MetadataType.TITLE) {
    const el = def.children.find((c) => c.name === (type === MetadataType.DESCRIPTION ? 'description' : 'title'));
    if (el === undefined) throw missing();
    return el.text;
  }
  if (type !== MetadataType.ELEMENT) throw unknownType(type);
  const found = metadataElementXML(def, uri ?? '');
  if (found === undefined) throw missing();
  return found;
}

/** virDomainDefSetMetadata: replaces (null or empty: removes) the description, title or namespaced element of one definition. */
export function setDomainMetadata(def: XmlElement, type: number, metadata: string | null, key: string | null, uri: string | null): void {
  if (type === MetadataType.ELEMENT) {
    setMetadataElement(def, metadata, key, uri ?? '');
    return;
  }
  if (type !== MetadataType.DESCRIPTION && type !== MetadataType.TITLE) throw unknownType(type);
  const name = type === MetadataType.DESCRIPTION ? 'description' : 'title';
  if (type === MetadataType.TITLE && metadata?.includes('\n')) throw virError(ErrorCode.INVALID_ARG, "title can't contain newlines", ErrorDomain.DOMAIN);
  def.children = def.children.filter((c) => c.name !== name);
  if (!metadata) return;
  // <title> and <description> follow <uuid> (or <genid>), title first.
  const after = ['name', 'uuid', 'genid', ...(name === 'description' ? ['title'] : [])];
  let at = 0;
  def.children.forEach((c, i) => {
    if (after.includes(c.name)) at = i + 1;
  });
  def.children.splice(at, 0, element(name, {}, [], metadata));
}
