// A small strict XML parser and serializer for libvirt's XML documents.
//
// Written here rather than taken from npm because (1) libvirt users see
// libxml2's exact error texts ("Opening and ending tag mismatch: ...") with
// libvirt's line/caret context, and (2) the parser must never process DTDs or
// user-defined entities (CVE-2014-0179 class of bugs): only the five
// predefined entities and numeric character references are understood.

import { ErrorCode, virError } from './error.js';

export interface XmlElement {
  name: string;
  /** Attributes in document order (attribute names are never integer-like, so key order is kept). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data directly inside this element, concatenated. */
  text: string;
  /** 1-based source line of the start tag (0 for elements built in code). */
  line: number;
}

/** Largest document accepted, in bytes: libvirt's own cap on XML it reads. */
export const XML_MAX_BYTES = 10 * 1024 * 1024;
const MAX_DEPTH = 256;

/**
 * Refuses to store a document tsvirt could not parse again (over XML_MAX_BYTES):
 * a small input can format much larger (entities spelled out), and a config or
 * status file that cannot be read back loses its domain.
 */
export function checkReadableBack(text: string, what: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > XML_MAX_BYTES) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `${what} would take ${bytes} bytes, over the ${XML_MAX_BYTES} byte limit of XML tsvirt reads back`);
  }
}

export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
  constructor(
    /** libxml2's message text, without trailing newline. */
    readonly detail: string,
    readonly line: number,
    /** The source line the error is on ('' when empty), and the caret column in it. */
    readonly context: string,
    readonly column: number,
  ) {
    super(`${line}: ${detail}`);
  }

  /** libvirt's rendering: "(url):LINE: MSG\nCONTEXT\n----^". */
  format(url: string): string {
    const context = this.context === '' ? '(null)' : this.context;
    return `${url}:${this.line}: ${this.detail}\n${context}\n${'-'.repeat(this.column)}^`;
  }
}

const NAME_START = /[A-Za-z_:\u00C0-\uFFFF]/;
const NAME_CHAR = /[A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]/;

class Parser {
  private pos = 0;
  private line = 1;
  private depth = 0;

  constructor(private readonly src: string) {}

  parseDocument(): XmlElement {
    if (this.src.length === 0) this.fail('Document is empty');
    this.skipMisc(true);
    if (this.pos >= this.src.length) {
      this.fail(this.src.trim() === '' ? "Start tag expected, '<' not found" : 'Document is empty');
    }
    if (this.src[this.pos] !== '<') this.fail("Start tag expected, '<' not found");
    const root = this.parseElement();
    this.skipMisc(false);
    if (this.pos < this.src.length) this.fail('Extra content at the end of the document');
    return root;
  }

  private fail(detail: string, at = this.pos): never {
    let lineStart = at;
    while (lineStart > 0 && this.src[lineStart - 1] !== '\n' && this.src[lineStart - 1] !== '\r') lineStart--;
    let lineEnd = at;
    while (lineEnd < this.src.length && this.src[lineEnd] !== '\n' && this.src[lineEnd] !== '\r') lineEnd++;
    let line = 1;
    for (let i = 0; i < at && i < this.src.length; i++) if (this.src[i] === '\n') line++;
    throw new XmlSyntaxError(detail, line, this.src.slice(lineStart, lineEnd), at - lineStart);
  }

  private advance(n: number): void {
    for (let i = 0; i < n; i++) if (this.src.charCodeAt(this.pos + i) === 10) this.line++;
    this.pos += n;
  }

  private startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  /** Skips whitespace, comments, processing instructions (and the XML declaration in the prolog). */
  private skipMisc(prolog: boolean): void {
    for (;;) {
      const before = this.pos;
      this.skipSpace();
      if (this.startsWith('<?')) {
        const end = this.src.indexOf('?>', this.pos + 2);
        if (end < 0) this.fail('ParsePI: PI xml never end ...');
        this.advance(end + 2 - this.pos);
      } else if (this.startsWith('<!--')) {
        this.skipComment();
      } else if (this.startsWith('<!DOCTYPE')) {
        if (!prolog) this.fail('Extra content at the end of the document');
        this.fail('DOCTYPE declarations are not accepted');
      }
      if (this.pos === before) return;
    }
  }

  private skipComment(): void {
    const end = this.src.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('Comment not terminated');
    this.advance(end + 3 - this.pos);
  }

  private skipSpace(): void {
    while (this.pos < this.src.length) {
      const c = this.src.charCodeAt(this.pos);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
      if (c === 10) this.line++;
      this.pos++;
    }
  }

  private parseName(): string {
    const start = this.pos;
    if (!NAME_START.test(this.src[this.pos] ?? '')) return '';
    this.pos++;
    while (this.pos < this.src.length && NAME_CHAR.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private parseElement(): XmlElement {
    if (++this.depth > MAX_DEPTH) this.fail(`Excessive depth in document: ${MAX_DEPTH} use XML_PARSE_HUGE option`);
    const line = this.line;
    this.pos++; // '<'
    const name = this.parseName();
    if (name === '') this.fail('StartTag: invalid element name');
    const el: XmlElement = { name, attrs: {}, children: [], text: '', line };
    for (;;) {
      const hadSpace = this.pos;
      this.skipSpace();
      if (this.startsWith('/>')) {
        this.pos += 2;
        this.depth--;
        return el;
      }
      if (this.startsWith('>')) {
        this.pos++;
        break;
      }
      if (this.pos >= this.src.length) this.fail(`Couldn't find end of Start Tag ${name} line ${line}`);
      const attrName = this.parseName();
      if (attrName === '') this.fail(`Couldn't find end of Start Tag ${name} line ${line}`);
      if (hadSpace === this.pos - attrName.length) this.fail('attributes construct error');
      this.skipSpace();
      if (this.src[this.pos] !== '=') this.fail(`Specification mandates value for attribute ${attrName}`);
      this.pos++;
      this.skipSpace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail('AttValue: " or \' expected');
      this.pos++;
      const end = this.src.indexOf(quote, this.pos);
      if (end < 0) this.fail("AttValue: ' expected");
      const raw = this.src.slice(this.pos, end);
      if (raw.includes('<')) this.fail("Unescaped '<' not allowed in attributes values", this.pos + raw.indexOf('<'));
      const valueStart = this.pos;
      this.advance(end - this.pos);
      this.pos++;
      if (Object.prototype.hasOwnProperty.call(el.attrs, attrName)) this.fail(`Attribute ${attrName} redefined`);
      // Attribute-value normalisation: literal whitespace characters become
      // spaces, while character references such as &#10; keep what they name.
      el.attrs[attrName] = this.decode(raw.replace(/[\t\n\r]/g, ' '), valueStart);
    }
    this.parseContent(el);
    this.depth--;
    return el;
  }

  private parseContent(el: XmlElement): void {
    for (;;) {
      const lt = this.src.indexOf('<', this.pos);
      if (lt < 0) {
        this.advance(this.src.length - this.pos);
        this.fail(`Premature end of data in tag ${el.name} line ${el.line}`);
      }
      if (lt > this.pos) {
        const start = this.pos;
        const raw = this.src.slice(this.pos, lt);
        this.advance(lt - this.pos);
        el.text += this.decode(raw, start);
      }
      if (this.startsWith('</')) {
        this.pos += 2;
        const name = this.parseName();
        this.skipSpace();
        if (this.src[this.pos] !== '>') this.fail("expected '>'");
        this.pos++;
        // libxml2 reports a mismatch once the whole end tag is consumed.
        if (name !== el.name) this.fail(`Opening and ending tag mismatch: ${el.name} line ${el.line} and ${name}`);
        return;
      }
      if (this.startsWith('<!--')) {
        this.skipComment();
      } else if (this.startsWith('<![CDATA[')) {
        const end = this.src.indexOf(']]>', this.pos + 9);
        if (end < 0) this.fail('CData section not finished');
        el.text += this.src.slice(this.pos + 9, end);
        this.advance(end + 3 - this.pos);
      } else if (this.startsWith('<?')) {
        const end = this.src.indexOf('?>', this.pos + 2);
        if (end < 0) this.fail('ParsePI: PI never end ...');
        this.advance(end + 2 - this.pos);
      } else {
        el.children.push(this.parseElement());
      }
    }
  }

  private decode(raw: string, offset: number): string {
    if (!raw.includes('&')) {
      this.checkChars(raw, offset);
      return raw;
    }
    let out = '';
    let i = 0;
    while (i < raw.length) {
      const amp = raw.indexOf('&', i);
      if (amp < 0) {
        out += raw.slice(i);
        break;
      }
      out += raw.slice(i, amp);
      const semi = raw.indexOf(';', amp);
      if (semi < 0) this.fail("EntityRef: expecting ';'", offset + amp);
      const ref = raw.slice(amp + 1, semi);
      out += this.resolveEntity(ref, offset + amp);
      i = semi + 1;
    }
    this.checkChars(out, offset);
    return out;
  }

  private resolveEntity(ref: string, at: number): string {
    switch (ref) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'apos': return "'";
      case 'quot': return '"';
    }
    const m = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (m) {
      const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
      if (!isXmlChar(code)) this.fail(`xmlParseCharRef: invalid xmlChar value ${code}`, at);
      return String.fromCodePoint(code);
    }
    if (ref === '' || !NAME_START.test(ref[0]!)) this.fail('xmlParseEntityRef: no name', at);
    this.fail(`Entity '${ref}' not defined`, at);
  }

  private checkChars(s: string, offset: number): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 32 && c !== 9 && c !== 10 && c !== 13) {
        this.fail(`Char 0x${c.toString(16).toUpperCase()} out of allowed range`, offset + i);
      }
    }
  }
}

function isXmlChar(c: number): boolean {
  return c === 9 || c === 10 || c === 13 || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/**
 * Parses a whole document. Bytes must already be decoded; use parseXmlBytes
 * for raw input so that invalid UTF-8 is reported like libxml2 does.
 */
export function parseXml(text: string): XmlElement {
  if (text.length > XML_MAX_BYTES) {
    throw new XmlSyntaxError(`document exceeds the ${XML_MAX_BYTES} byte limit`, 1, '', 0);
  }
  return new Parser(text).parseDocument();
}

export function parseXmlBytes(bytes: Uint8Array): XmlElement {
  if (bytes.length > XML_MAX_BYTES) {
    throw new XmlSyntaxError(`document exceeds the ${XML_MAX_BYTES} byte limit`, 1, '', 0);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const before = new TextDecoder().decode(bytes.subarray(0, bad));
    const line = before.split('\n').length;
    const hex = Array.from(bytes.subarray(bad, bad + 4), (b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ');
    throw new XmlSyntaxError(`Input is not proper UTF-8, indicate encoding !\nBytes: ${hex}`, line, '', 0);
  }
  return parseXml(text);
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    for (let k = 1; k < len; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += len;
  }
  return i;
}

// ---- building and querying ----

export function element(name: string, attrs: Record<string, string | undefined> = {}, children: XmlElement[] = [], text = ''): XmlElement {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) clean[k] = v;
  return { name, attrs: clean, children, text, line: 0 };
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

/** Text of a child element, trimmed, or undefined when the child is absent. */
export function childText(el: XmlElement, name: string): string | undefined {
  const c = child(el, name);
  return c === undefined ? undefined : c.text.trim();
}

export function cloneElement(el: XmlElement): XmlElement {
  return { name: el.name, attrs: { ...el.attrs }, children: el.children.map(cloneElement), text: el.text, line: el.line };
}

// ---- serialization (libvirt's style: 2-space indent, single-quoted attributes) ----

const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&apos;', '"': '&quot;' };
const NEEDS_ESCAPE = /[&<>'"]/;

export function escapeXml(s: string): string {
  // most values need none: no new string then
  return NEEDS_ESCAPE.test(s) ? s.replace(/[&<>'"]/g, (c) => XML_ESCAPES[c]!) : s;
}

/**
 * Serializes in libvirt's canonical layout. Text is kept verbatim for leaf
 * elements; whitespace-only text between child elements is dropped.
 */
export function formatXml(el: XmlElement, indent = 0, keepOpen: ReadonlySet<string> = NONE): string {
  const out: string[] = [];
  write(el, indent, out, keepOpen);
  return out.join('');
}

const NONE: ReadonlySet<string> = new Set();

/** keepOpen: element names printed as an open/close pair even when empty (libvirt's <devices>, <hyperv>). */
function write(el: XmlElement, indent: number, out: string[], keepOpen: ReadonlySet<string>): void {
  const pad = ' '.repeat(indent);
  let open = `${pad}<${el.name}`;
  for (const [k, v] of Object.entries(el.attrs)) open += ` ${k}='${escapeXml(v)}'`;
  const text = el.children.length > 0 ? el.text.trim() : el.text;
  if (el.children.length === 0 && text === '') {
    out.push(keepOpen.has(el.name) ? `${open}>\n${pad}</${el.name}>\n` : `${open}/>\n`);
    return;
  }
  if (el.children.length === 0) {
    out.push(`${open}>${escapeXml(text)}</${el.name}>\n`);
    return;
  }
  out.push(`${open}>\n`);
  if (text !== '') out.push(`${pad}  ${escapeXml(text)}\n`);
  for (const c of el.children) write(c, indent + 2, out, keepOpen);
  out.push(`${pad}</${el.name}>\n`);
}
