// The strict XML parser: libxml2's error texts with libvirt's context lines,
// no DTD or entity processing, limits, and libvirt's serialisation style.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XML_MAX_BYTES, XmlSyntaxError, formatXml, parseXml, parseXmlBytes } from '../../src/util/xml.js';

function syntaxError(text: string): string {
  try {
    parseXml(text);
  } catch (e) {
    assert.ok(e instanceof XmlSyntaxError);
    return e.format('(domain_definition)');
  }
  assert.fail('document was accepted');
}

test('tag mismatch is reported as libxml2 does, with the line and a caret after the end tag name', () => {
  const text = "<domain>\n  <disk>\n    <source file='x'>\n  </disk>\n</domain>\n";
  assert.equal(syntaxError(text), "(domain_definition):4: Opening and ending tag mismatch: source line 3 and disk\n  </disk>\n---------^");
});

test('empty and whitespace-only documents', () => {
  assert.equal(syntaxError(''), '(domain_definition):1: Document is empty\n(null)\n^');
  assert.match(syntaxError('\n'), /Start tag expected, '<' not found/);
});

test('truncated input names the open element', () => {
  assert.match(syntaxError('<domain><name>x</name>'), /Premature end of data in tag domain line 1/);
});

test('DTDs and unknown entities are refused; predefined and numeric references decode', () => {
  assert.match(syntaxError('<!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>'), /DOCTYPE/);
  assert.match(syntaxError('<d>&xxe;</d>'), /Entity 'xxe' not defined/);
  const el = parseXml("<d a='&lt;&amp;&#65;&#x42;'>&quot;&apos;&gt;</d>");
  assert.equal(el.attrs['a'], '<&AB');
  assert.equal(el.text, `"'>`);
});

test('attribute values: literal newlines become spaces, &#10; stays a newline', () => {
  const el = parseXml("<d a='x\ny' b='x&#10;y'/>");
  assert.equal(el.attrs['a'], 'x y');
  assert.equal(el.attrs['b'], 'x\ny');
});

test('duplicate attributes, control characters and invalid UTF-8 are errors', () => {
  assert.match(syntaxError("<d a='1' a='2'/>"), /Attribute a redefined/);
  assert.match(syntaxError('<d>\u0000</d>'), /Char 0x0 out of allowed range/);
  assert.throws(() => parseXmlBytes(Uint8Array.from([0x3c, 0x64, 0x3e, 0xff, 0x3c, 0x2f, 0x64, 0x3e])), /Input is not proper UTF-8/);
});

test('oversized and deeply nested documents are refused without recursion blow-up', () => {
  assert.throws(() => parseXml(' '.repeat(XML_MAX_BYTES + 1)), /byte limit/);
  assert.match(syntaxError('<a>'.repeat(10_000)), /Excessive depth/);
});

test("serialisation follows libvirt: single quotes, escapes, self-closing empties", () => {
  const el = parseXml("<domain type=\"kvm\"><name>a&amp;b</name><devices></devices><on_crash>x</on_crash></domain>");
  assert.equal(formatXml(el), "<domain type='kvm'>\n  <name>a&amp;b</name>\n  <devices/>\n  <on_crash>x</on_crash>\n</domain>\n");
  assert.equal(formatXml(el, 0, new Set(['devices'])), "<domain type='kvm'>\n  <name>a&amp;b</name>\n  <devices>\n  </devices>\n  <on_crash>x</on_crash>\n</domain>\n");
});
