import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDomainXML, parseDomainXML, domainCurrentVcpus, domainMaxMemoryKiB } from '../../src/conf/domain.js';
import { canonicalize } from '../../src/conf/schema.js';
import { parseMemoryKiB } from '../../src/conf/units.js';
import { formatBitmap, parseBitmap } from '../../src/util/bitmap.js';
import { isVirError, ErrorCode } from '../../src/util/error.js';
import { element, parseXml } from '../../src/util/xml.js';

const minimal = (body: string, attrs = "type='qemu'") =>
  `<domain ${attrs}><name>t</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>${body}<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`;

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(isVirError(e), `expected a VirError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('no error');
}

test('schema: reorders attributes and children, keeps same-name order, rejects unknowns', () => {
  const el = parseXml("<a z='1' y='2'><c n='1'/><b/><c n='2'/></a>");
  const schema = { attrs: ['y', 'z'], children: { b: {}, c: { attrs: ['n'] } } };
  canonicalize(el, schema, { strict: true });
  assert.deepEqual(Object.keys(el.attrs), ['y', 'z']);
  assert.deepEqual(el.children.map((c) => `${c.name}${c.attrs['n'] ?? ''}`), ['b', 'c1', 'c2']);
  assert.match(messageOf(() => canonicalize(parseXml('<a><x/></a>'), schema, { strict: true })), /unsupported element 'x' in '\/a'/);
  assert.match(messageOf(() => canonicalize(parseXml("<a q='1'/>"), schema, { strict: true })), /unsupported attribute 'q'/);
});

test('schema: omitEmpty drops empty elements, any keeps content', () => {
  const el = element('r', {}, [element('e'), element('m', {}, [element('zz', { k: 'v' })])]);
  canonicalize(el, { children: { e: { omitEmpty: true }, m: { any: true } } }, { strict: true });
  assert.deepEqual(el.children.map((c) => c.name), ['m']);
  assert.equal(el.children[0]!.children[0]!.attrs['k'], 'v');
});

test('units: scaled memory values normalise to KiB with libvirt messages', () => {
  assert.equal(parseMemoryKiB('512', 'MiB', 'x'), 524288n);
  assert.equal(parseMemoryKiB('1', 'G', 'x'), 1048576n);
  assert.equal(parseMemoryKiB('1000', 'b', 'x'), 1n);
  assert.equal(parseMemoryKiB('1', 'MB', 'x'), 977n);
  assert.equal(messageOf(() => parseMemoryKiB('1', 'XB', 'x')), "invalid argument: unknown suffix 'XB'");
  assert.equal(messageOf(() => parseMemoryKiB('abc', undefined, './memory[1]')), "XML error: Invalid value 'abc' for element or attribute './memory[1]'");
  assert.match(messageOf(() => parseMemoryKiB('99999999999', 'E', 'x')), /^numerical overflow: value too large: 99999999999E$/);
});

test('bitmap: parse with exclusions, canonical ranges', () => {
  assert.equal(formatBitmap(parseBitmap('0-5,^4')!), '0-3,5');
  assert.equal(formatBitmap(parseBitmap('7,1-2,3')!), '1-3,7');
  assert.equal(parseBitmap('a-b'), undefined);
});

test('domain: generic defaults are made explicit', () => {
  const dom = parseDomainXML(minimal("<memory unit='MiB'>512</memory>"));
  const xml = formatDomainXML(dom, { inactive: true });
  assert.match(xml, /<memory unit='KiB'>524288<\/memory>\n {2}<currentMemory unit='KiB'>524288<\/currentMemory>\n {2}<vcpu placement='static'>1<\/vcpu>/);
  assert.match(xml, /<boot dev='hd'\/>/);
  assert.match(xml, /<clock offset='utc'\/>\n {2}<on_poweroff>destroy<\/on_poweroff>\n {2}<on_reboot>restart<\/on_reboot>\n {2}<on_crash>destroy<\/on_crash>/);
  assert.equal(domainMaxMemoryKiB(dom), 524288n);
  assert.equal(domainCurrentVcpus(dom), 1);
});

test('domain: libvirt error messages', () => {
  const noName = "<domain type='qemu'><memory>1</memory><os><type>hvm</type></os></domain>";
  assert.equal(messageOf(() => parseDomainXML(noName)), 'missing name information');
  assert.equal(messageOf(() => parseDomainXML('<network/>')), "XML error: expecting root element of 'domain', not 'network'");
  assert.equal(messageOf(() => parseDomainXML(minimal('<memory>1</memory>').replace('c7a5', 'zz'))), 'internal error: malformed uuid element');
  assert.equal(messageOf(() => parseDomainXML(minimal('<memory>1</memory>', "type='foo'"))), 'unsupported configuration: invalid domain type foo');
  assert.equal(messageOf(() => parseDomainXML(minimal(''))), 'XML error: Memory size must be specified via <memory> or in the <numa> configuration');
  assert.equal(messageOf(() => parseDomainXML(minimal("<memory>1</memory><vcpu current='3'>2</vcpu>"))),
    'unsupported configuration: maximum vCPU count must not be less than current vCPU count');
  assert.equal(messageOf(() => parseDomainXML(minimal('<memory>1</memory><on_crash>explode</on_crash>'))), 'unsupported configuration: unknown on_crash action: explode');
  const broken = messageOf(() => parseDomainXML('<domain>\n<name>x</nam>\n</domain>'));
  assert.equal(broken, "(domain_definition):2: Opening and ending tag mismatch: name line 2 and nam\n<name>x</nam>\n-------------^");
});

test('domain: syntax errors carry the XML_DETAIL code', () => {
  try {
    parseDomainXML('<domain');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isVirError(e));
    assert.equal(e.code, ErrorCode.XML_DETAIL);
  }
});

test('domain: qemu namespace under another prefix becomes qemu:, metadata printed like libxml2', () => {
  const ns = 'http://libvirt.org/schemas/domain/qemu/1.0';
  const text = minimal(
    `<memory>1</memory><metadata><a:x xmlns:a='urn:a' k='v'>t</a:x><plain/><b:y xmlns:b='urn:a'/></metadata>` +
      `<ns0:commandline xmlns:ns0='${ns}'><ns0:arg value='-S'/></ns0:commandline>`,
  );
  const xml = formatDomainXML(parseDomainXML(text), { inactive: true });
  assert.match(xml, new RegExp(`^<domain type='qemu' xmlns:qemu='${ns}'>`));
  assert.match(xml, /<metadata>\n {4}<a:x xmlns:a="urn:a" k="v">t<\/a:x>\n {2}<\/metadata>/);
  assert.match(xml, /<qemu:commandline>\n {4}<qemu:arg value='-S'\/>\n {2}<\/qemu:commandline>/);
});

test('domain: guest NUMA cells ordered by id with symmetric distances', () => {
  const cpu = "<cpu><numa><cell id='1' cpus='2-3' memory='1' unit='MiB'/><cell id='0' cpus='0,1' memory='1024'>" +
    "<distances><sibling id='1' value='20'/></distances></cell></numa></cpu>";
  const xml = formatDomainXML(parseDomainXML(minimal(`<vcpu>4</vcpu>${cpu}`)), { inactive: true });
  assert.match(xml, /<memory unit='KiB'>2048<\/memory>/);
  assert.match(xml, /<cell id='0' cpus='0-1' memory='1024' unit='KiB'>\n {8}<distances>\n {10}<sibling id='0' value='10'\/>\n {10}<sibling id='1' value='20'\/>/);
  assert.match(xml, /<cell id='1' cpus='2-3' memory='1024' unit='KiB'>\n {8}<distances>\n {10}<sibling id='0' value='20'\/>\n {10}<sibling id='1' value='10'\/>/);
});

test('define --validate reports unknown content the way libvirt RelaxNG validation does', () => {
  const doc = (body: string) => `<domain type='qemu'><name>v</name><memory>1024</memory>${body}</domain>`;
  const prefix = 'XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\n';
  assert.equal(messageOf(() => parseDomainXML(doc('<os><type>hvm</type></os><foo/>'), { validate: true })), `${prefix}Element domain has extra content: foo`);
  assert.equal(messageOf(() => parseDomainXML(doc("<os><type bar='1'>hvm</type></os>"), { validate: true })),
    `${prefix}Invalid attribute bar for element type\nExtra element os in interleave\nElement domain failed to validate content`);
  assert.equal(messageOf(() => parseDomainXML(doc('<os><type>hvm</type></os><devices><foo/></devices>'), { validate: true })),
    `${prefix}Extra element devices in interleave\nElement domain failed to validate content`);
});
