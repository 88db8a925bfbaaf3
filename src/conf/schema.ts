// Declarative schemas for libvirt XML documents, and the engine that checks a
// parsed tree against one and puts it into libvirt's canonical order.
//
// How to write a schema (device authors: read this first)
// --------------------------------------------------------
//   const targetSchema: ElementSchema = { attrs: ['dev', 'bus', 'tray', 'removable'] };
//   export const diskSchema: ElementSchema = {
//     attrs: ['type', 'device', 'model', 'snapshot'],        // libvirt's OUTPUT order
//     children: {                                             // libvirt's OUTPUT order
//       driver: { attrs: ['name', 'type', 'cache'] },
//       source: (el) => sourceSchemaFor(el),                  // a function picks a schema per element
//       target: targetSchema,
//       serial: { text: true },                               // character data is kept
//       address: addressSchema,
//     },
//     ignore: ['readonly-legacy'],                            // libvirt parses these away: dropped
//   };
//
// - `attrs`/`children` list everything libvirt understands there. Anything else
//   is rejected with a clear XML error (libvirt itself would silently drop it; we
//   refuse rather than lose data silently), unless it is named in `ignore`, which
//   is only for things libvirt is known to read and never write back.
// - Same-name siblings keep their document order (the sort is stable).
// - `any: true` keeps the element's whole content verbatim (e.g. <metadata>).
// - `omitEmpty: true` drops the element when it ends up with no attributes,
//   children or text (libvirt does not print e.g. an empty <cputune/>).
// - A schema can be a function of the element, for elements whose content
//   depends on an attribute (type='pci' vs type='drive' addresses); functions
//   also make recursive schemas possible.
// - Values are not checked here: parse/post-parse code does that with
//   libvirt's exact messages (see xml-props.ts for virXMLProp*-style helpers).
// canonicalize() runs once strictly on user input, and again in reorder-only
// mode after post-parse hooks have added elements anywhere they like.

import { ErrorCode, virError } from '../util/error.js';
import type { XmlElement } from '../util/xml.js';

export interface ElementSchema {
  /** Known attributes, in libvirt's output order. */
  readonly attrs?: readonly string[];
  /** Known child elements, in libvirt's output order. */
  readonly children?: Readonly<Record<string, SchemaRef>>;
  /** The element carries character data. */
  readonly text?: boolean;
  /** Keep everything inside verbatim: no checks, no reordering. */
  readonly any?: boolean;
  /** Attribute/child names libvirt accepts and discards. */
  readonly ignore?: readonly string[];
  /** Drop the element when it is left without attributes, children and text. */
  readonly omitEmpty?: boolean;
}

export type SchemaRef = ElementSchema | ((el: XmlElement) => ElementSchema);

export interface CanonicalizeOptions {
  /** Reject unknown attributes/children (user input); otherwise only reorder. */
  readonly strict: boolean;
  /** Builds the error for an unknown item; `path` lists element names from the root. */
  readonly describeUnknown?: (kind: 'element' | 'attribute', name: string, path: readonly string[], line: number) => Error;
}

export function resolveSchema(ref: SchemaRef, el: XmlElement): ElementSchema {
  return typeof ref === 'function' ? ref(el) : ref;
}

/** A schema's child names by output rank, computed once per schema object. */
const childRanks = new WeakMap<ElementSchema, ReadonlyMap<string, number>>();

const NO_CHILDREN: ReadonlyMap<string, number> = new Map();

function ranksOf(schema: ElementSchema): ReadonlyMap<string, number> {
  if (schema.children === undefined) return NO_CHILDREN;
  let ranks = childRanks.get(schema);
  if (!ranks) {
    ranks = new Map(Object.keys(schema.children ?? {}).map((name, rank) => [name, rank]));
    childRanks.set(schema, ranks);
  }
  return ranks;
}

/**
 * Checks `el` against `schema` and rewrites it in place into canonical order.
 * `path` names the element for error messages (e.g. "/domain/devices/disk").
 * It runs three times per definition, mostly over trees already in order: an
 * element whose attributes and children are in order keeps its objects.
 */
export function canonicalize(el: XmlElement, ref: SchemaRef, options: CanonicalizeOptions, path = `/${el.name}`): void {
  const schema = resolveSchema(ref, el);
  if (schema.any) return;
  el.attrs = orderedAttrs(el, schema, options, path);
  if (!schema.text) el.text = '';
  if (el.children.length === 0) return;
  const known = schema.children ?? {};
  const ranks = ranksOf(schema);
  const kept: XmlElement[] = [];
  const keptRanks: number[] = [];
  let inOrder = true;
  for (const c of el.children) {
    let rank = ranks.get(c.name);
    if (rank === undefined) {
      if (schema.ignore?.includes(c.name)) continue;
      if (options.strict) throw unknownError(options, 'element', c.name, path, c.line);
      rank = ranks.size;
    } else {
      canonicalize(c, known[c.name]!, options, `${path}/${c.name}`);
      if (resolveSchema(known[c.name]!, c).omitEmpty && isEmpty(c)) continue;
    }
    if (keptRanks.length > 0 && rank < keptRanks[keptRanks.length - 1]!) inOrder = false;
    kept.push(c);
    keptRanks.push(rank);
  }
  if (inOrder) {
    if (kept.length !== el.children.length) el.children = kept;
    return;
  }
  // stable: same-name siblings keep their document order
  const order = kept.map((_, i) => i).sort((a, b) => keptRanks[a]! - keptRanks[b]! || a - b);
  el.children = order.map((i) => kept[i]!);
}

function orderedAttrs(el: XmlElement, schema: ElementSchema, options: CanonicalizeOptions, path: string): Record<string, string> {
  const order = schema.attrs ?? [];
  const names = Object.keys(el.attrs);
  // already canonical: every attribute known, in the schema's order
  let known = 0;
  for (let at = 0; known < names.length; known++) {
    const rank = order.indexOf(names[known]!, at);
    if (rank < 0) break;
    at = rank + 1;
  }
  if (known === names.length) return el.attrs;
  const out: Record<string, string> = {};
  for (const name of order) if (name in el.attrs) out[name] = el.attrs[name]!;
  for (const [name, value] of Object.entries(el.attrs)) {
    if (order.includes(name)) continue;
    if (schema.ignore?.includes(name)) continue;
    if (options.strict) throw unknownError(options, 'attribute', name, path, el.line);
    out[name] = value;
  }
  return out;
}

function isEmpty(el: XmlElement): boolean {
  return Object.keys(el.attrs).length === 0 && el.children.length === 0 && el.text.trim() === '';
}

function unknownError(options: CanonicalizeOptions, kind: 'element' | 'attribute', name: string, path: string, line: number) {
  if (options.describeUnknown) return options.describeUnknown(kind, name, path.split('/').filter((p) => p !== ''), line);
  const where = line > 0 ? ` (line ${line})` : '';
  return virError(ErrorCode.XML_ERROR, `unsupported ${kind} '${name}' in '${path}'${where}`);
}
