// A secret's definition (secret_conf.c): its flags, UUID, description and what
// it is used for. The value is not part of the XML; the secret driver keeps it.
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { generateUUID, parseUUID } from '../util/uuid.js';
import { child, escapeXml, type XmlElement } from '../util/xml.js';
import { parseDocument } from './document.js';

/** virSecretUsageType, in its numeric order. */
export const SECRET_USAGE_TYPES = ['none', 'volume', 'ceph', 'iscsi', 'tls', 'vtpm'] as const;
export type SecretUsageType = (typeof SECRET_USAGE_TYPES)[number];

/** The element naming what a secret of each usage type is for, and the message when it is missing. */
const USAGE_ID: Record<Exclude<SecretUsageType, 'none'>, { element: string; missing: string }> = {
  volume: { element: 'volume', missing: 'volume usage specified, but volume path is missing' },
  ceph: { element: 'name', missing: 'Ceph usage specified, but name is missing' },
  iscsi: { element: 'target', missing: 'iSCSI usage specified, but target is missing' },
  tls: { element: 'name', missing: 'TLS usage specified, but name is missing' },
  vtpm: { element: 'name', missing: 'vTPM usage specified, but name is missing' },
};

export interface SecretDef {
  readonly uuid: string;
  readonly ephemeral: boolean;
  readonly private: boolean;
  readonly description?: string;
  readonly usageType: SecretUsageType;
  /** the volume path, Ceph/TLS/vTPM name or iSCSI target; absent for usage 'none' */
  readonly usageID?: string;
}

const secretError = (code: ErrorCode, message: string) => virError(code, message, ErrorDomain.SECRET);

/** XPath string(): the text of an element, where an empty one counts as missing (virXPathString). */
function textOf(el: XmlElement | undefined): string | undefined {
  const text = el?.text;
  return text ? text : undefined;
}

function yesNo(el: XmlElement, name: 'ephemeral' | 'private'): boolean {
  const value = el.attrs[name];
  if (value === undefined || value === '') return false;
  if (value === 'yes' || value === 'no') return value === 'yes';
  throw secretError(ErrorCode.XML_ERROR, `invalid value of '${name}'`);
}

function parseUsage(el: XmlElement): Pick<SecretDef, 'usageType' | 'usageID'> {
  const usage = child(el, 'usage');
  if (!usage) return { usageType: 'none' };
  const typeName = usage.attrs.type;
  if (!typeName) throw secretError(ErrorCode.XML_ERROR, 'unknown secret usage type');
  const usageType = SECRET_USAGE_TYPES.find((t) => t === typeName);
  if (!usageType) throw secretError(ErrorCode.CONFIG_UNSUPPORTED, `unknown secret usage type ${typeName}`);
  if (usageType === 'none') return { usageType };
  const { element, missing } = USAGE_ID[usageType];
  const usageID = textOf(child(usage, element));
  if (usageID === undefined) throw secretError(ErrorCode.INTERNAL_ERROR, missing);
  return { usageType, usageID };
}

/** virSecretDefParse: a missing UUID is generated; unknown elements are ignored (no schema check). */
export function parseSecretXML(text: string): SecretDef {
  const el = parseDocument(text, '(definition_of_secret)', 'secret');
  const ephemeral = yesNo(el, 'ephemeral');
  const isPrivate = yesNo(el, 'private');
  const uuidText = textOf(child(el, 'uuid'));
  const uuid = uuidText === undefined ? generateUUID() : parseUUID(uuidText);
  if (uuid === undefined) throw secretError(ErrorCode.INTERNAL_ERROR, 'malformed uuid element');
  const description = textOf(child(el, 'description'));
  return { uuid, ephemeral, private: isPrivate, ...(description !== undefined ? { description } : {}), ...parseUsage(el) };
}

/** virSecretDefFormat */
export function formatSecretXML(def: SecretDef): string {
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  let xml = `<secret ephemeral='${yn(def.ephemeral)}' private='${yn(def.private)}'>\n`;
  xml += `  <uuid>${def.uuid}</uuid>\n`;
  if (def.description !== undefined) xml += `  <description>${escapeXml(def.description)}</description>\n`;
  if (def.usageType !== 'none') {
    xml += `  <usage type='${def.usageType}'>\n`;
    xml += `    <${USAGE_ID[def.usageType].element}>${escapeXml(def.usageID ?? '')}</${USAGE_ID[def.usageType].element}>\n`;
    xml += '  </usage>\n';
  }
  return xml + '</secret>\n';
}
