// Small editing helpers for XmlElement trees used by the domain model.

import { ErrorCode, virError } from '../util/error.js';
import { formatBitmap, parseBitmap } from '../util/bitmap.js';
import { child, element, type XmlElement } from '../util/xml.js';

/** The first child called `name`, created (appended) when missing. */
export function ensureChild(parent: XmlElement, name: string, attrs: Record<string, string> = {}): XmlElement {
  let c = child(parent, name);
  if (!c) {
    c = element(name, attrs);
    parent.children.push(c);
  }
  return c;
}

export function removeChildren(parent: XmlElement, name: string): void {
  parent.children = parent.children.filter((c) => c.name !== name);
}

/** Rewrites a set-valued attribute in canonical form (virBitmapFormat); returns the set. */
export function canonicalSet(el: XmlElement, attr: string): Set<number> | undefined {
  const text = el.attrs[attr];
  if (text === undefined) return undefined;
  const set = parseBitmap(text);
  if (set === undefined) throw virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${text}'`);
  el.attrs[attr] = formatBitmap(set);
  return set;
}
