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

/**
 * Checks `el` against `schema` and rewrites it in place into canonical order.
 * `path` names the element for error messages (e.g. "/domain/devices/disk").
 */
export function canonicalize(el: XmlElement, ref: SchemaRef, options: CanonicalizeOptions, path = `/${el.name}`): void {
  const schema = resolveSchema(ref, el);
  if (schema.any) return;
  el.attrs = orderedAttrs(el, schema, options, path);
  if (!schema.text) el.text = '';
  const known = schema.children ?? {};
  const names = Object.keys(known);
  const kept: { el: XmlElement; rank: number; pos: number }[] = [];
  el.children.forEach((c, pos) => {
    const rank = names.indexOf(c.name);
    if (rank < 0) {
      if (schema.ignore?.includes(c.name)) return;
      if (options.strict) throw unknownError(options, 'element', c.name, path, c.line);
      kept.push({ el: c, rank: names.length, pos });
      return;
    }
    const childPath = `${path}/${c.name}`;
    canonicalize(c, known[c.name]!, options, childPath);
    const childSchema = resolveSchema(known[c.name]!, c);
    if (childSchema.omitEmpty && isEmpty(c)) return;
    kept.push({ el: c, rank, pos });
  });
  kept.sort((a, b) => a.rank - b.rank || a.pos - b.pos);
  el.children = kept.map((k) => k.el);
}

function orderedAttrs(el: XmlElement, schema: ElementSchema, options: CanonicalizeOptions, path: string): Record<string, string> {
  const order = schema.attrs ?? [];
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
