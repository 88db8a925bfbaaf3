// Bad input never gets in and never leaves anything behind (issue #6, #2 "Bad
// input"): each rejection is libvirt's message (checked against libvirt 9.0 with
// virsh -c qemu:///system) and the state folder is byte for byte unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import { tsvirsh } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

const UUID = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';

function domainXML(name: string, body: { memory?: string; vcpu?: string; devices?: string } = {}): string {
  return `<domain type='qemu'><name>${name}</name><uuid>${UUID}</uuid><memory unit='KiB'>${body.memory ?? '131072'}</memory>` +
    `<vcpu>${body.vcpu ?? '1'}</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>${body.devices ?? ''}</devices></domain>`;
}

/** Every file under the state folder with its content hash; the capabilities cache and lock files are not state. */
export function snapshotState(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      const rel = path.relative(root, p);
      if (rel === 'cache' || name === 'tsvirt-locks') continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(rel, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

const root = tempDir('limits');
const uri = `qemu:///embed?root=${root}`;

async function assertRejected(xml: string, message: string | RegExp): Promise<void> {
  const conn = await connect(uri);
  try {
    const before = snapshotState(root);
    await assert.rejects(conn.defineDomain(xml), (e: Error & { code?: number }) => {
      assert.ok(typeof e.code === 'number' && e.code > 0, `a VirError with a code, got ${e.name}: ${e.message}`);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
    assert.deepEqual(snapshotState(root), before, 'a rejected define changes nothing on disk');
    assert.deepEqual((await conn.listAllDomains(0)).map((d) => d.name), ['existing'], 'no domain appeared or vanished');
  } finally {
    await conn.close();
  }
}

test('setup: one existing domain', async () => {
  const conn = await connect(uri);
  await conn.defineDomain(domainXML('existing').replace(UUID, '1b7f5f32-6fd3-4a5e-8d8b-7a1f2b6f5e01'));
  await conn.close();
});

test('domain names: no "/", no leading ".", no NUL, at most 200 bytes', async () => {
  await assertRejected(domainXML('a/b'), "XML error: name a/b cannot contain '/'");
  await assertRejected(domainXML('../../etc/passwd'), "XML error: name ../../etc/passwd cannot contain '/'");
  await assertRejected(domainXML('.hidden'), "XML error: name .hidden cannot start with '.'");
  await assertRejected(domainXML('..'), "XML error: name .. cannot start with '.'");
  await assertRejected(domainXML('a&#0;b'), /^\(domain_definition\):1: xmlParseCharRef: invalid xmlChar value 0\n/);
  await assertRejected(domainXML('a\0b'), /^\(domain_definition\):1: Char 0x0 out of allowed range\n/);
  await assertRejected(domainXML('x'.repeat(201)), `XML error: name ${'x'.repeat(32)}... is too long (at most 200 bytes)`);
  // multi-byte characters count in bytes: 67 three-byte characters are 201 bytes
  await assertRejected(domainXML('\u4e2d'.repeat(67)), /^XML error: name .* is too long \(at most 200 bytes\)$/);
});

test('entity bombs, external entities and any DOCTYPE are refused before anything is expanded', async () => {
  const bomb = `<?xml version="1.0"?>\n<!DOCTYPE domain [\n <!ENTITY a "aaaaaaaaaa">\n <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n${domainXML('bomb&b;')}`;
  await assertRejected(bomb, /^\(domain_definition\):2: DOCTYPE declarations are not accepted\n/);
  const external = `<!DOCTYPE domain [ <!ENTITY x SYSTEM "file:///etc/passwd"> ]>\n${domainXML('ext').replace('<devices>', '<description>&x;</description><devices>')}`;
  await assertRejected(external, /^\(domain_definition\):1: DOCTYPE declarations are not accepted\n/);
  await assertRejected(domainXML('undeclared&x;'), /Entity 'x' not defined/);
});

test('a truncated file is a syntax error with line and column', async () => {
  const full = domainXML('cut');
  await assertRejected(full.slice(0, full.indexOf('<vcpu>') + 3), /^\(domain_definition\):1: .*\n.*\n-+\^$/);
});

test('an XML document over 10 MiB is refused by the API', async () => {
  const big = domainXML('big').replace('<devices>', `<description>${'x'.repeat(11 * 1024 * 1024)}</description><devices>`);
  await assertRejected(big, /10485760 byte limit/);
});

test('a 100 MB file: tsvirsh reads no more than its cap and reports it as virsh does', () => {
  const file = path.join(tempDir('big'), 'big.xml');
  writeFileSync(file, domainXML('big').replace('<devices>', `<description>${'x'.repeat(100 * 1024 * 1024)}</description><devices>`));
  const before = snapshotState(root);
  let stderr = '';
  try {
    execFileSync(tsvirsh, ['-c', uri, 'define', file], { stdio: 'pipe', maxBuffer: 1 << 20 });
  } catch (e) {
    stderr = String((e as { stderr: Buffer }).stderr);
  }
  assert.equal(stderr, `error: Failed to read file '${file}': Value too large for defined data type\n`);
  assert.deepEqual(snapshotState(root), before);
});

test('addresses on buses that cannot exist', async () => {
  const nic = (addr: string) => domainXML('addr', { devices: `<interface type='user'><address type='pci' ${addr}/></interface>` });
  await assertRejected(nic("domain='0' bus='300' slot='1' function='0'"), "XML error: Invalid PCI address bus='0x12c', must be <= 0xFF");
  await assertRejected(nic("domain='1' bus='0' slot='1' function='0'"), 'XML error: Invalid PCI address 0001:00:01.0. Only PCI domain 0 is available');
  await assertRejected(nic("domain='0' bus='0' slot='32' function='0'"), "XML error: Invalid PCI address slot='0x20', must be <= 0x1F");
  await assertRejected(nic("domain='0' bus='0' slot='1' function='8'"), 'XML error: Invalid PCI address function=0x8, must be <= 7');
});

test('numbers are range-checked with libvirt messages (memory, vcpus, controller indexes)', async () => {
  await assertRejected(domainXML('n', { memory: '18446744073709551615' }), 'numerical overflow: value too large: 18446744073709551615KiB');
  await assertRejected(domainXML('n', { memory: '99999999999999999999' }), "XML error: Invalid value '99999999999999999999' for element or attribute './memory[1]'");
  await assertRejected(domainXML('n', { memory: '-5' }), "XML error: Invalid value '-5' for element or attribute './memory[1]'");
  await assertRejected(domainXML('n', { vcpu: '4294967296' }), 'XML error: maximum vcpus count must be an integer');
  await assertRejected(domainXML('n', { vcpu: '99999' }), 'unsupported configuration: Maximum CPUs greater than specified machine type limit 288');
  const controller = (index: string) => domainXML('n', { devices: `<controller type='pci' index='${index}' model='pcie-root-port'/>` });
  await assertRejected(controller('-1'), "XML error: Invalid value for attribute 'index' in element 'controller': '-1'. Expected non-negative value");
  // libvirt 9.0's daemon crashes on 2147483647; tsvirt must neither crash nor allocate by the index
  await assertRejected(controller('99999999999'), "XML error: Invalid value for attribute 'index' in element 'controller': '99999999999'. Expected integer value");
  await assertRejected(controller('300'), "internal error: a PCI slot is needed to connect a PCI controller model='pcie-root-port', but none is available, and it cannot be automatically added");
});

test('definitions whose written config would not load back are refused at define (libvirt defines them and loses them at the next daemon start)', async () => {
  const serial = (port: string) => `<serial type='pty'><target port='${port}'/></serial>`;
  await assertRejected(domainXML('s', { devices: serial('32') }), "internal error: Maximum supported number of ISA serial ports is '4'");
  await assertRejected(domainXML('s', { devices: serial('0') + serial('0') }), "internal error: target port '0' already allocated");
  await assertRejected(domainXML('s', { devices: serial('0') + serial('1') + serial('2') + serial('3') + serial('3') }), "internal error: Maximum supported number of ISA serial ports is '4'");
});

test('controller indexes up to INT_MAX implied by addresses are refused, not allocated one by one', async () => {
  const scsiHostdev = `<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source>` +
    `<address type='drive' controller='2147483647' bus='0' target='0' unit='0'/></hostdev>`;
  await assertRejected(domainXML('c', { devices: scsiHostdev }), "unsupported configuration: drive address controller '2147483647' exceeds the maximum of 8191");
  const conn = await connect(uri);
  try {
    // a USB controller that far out has no ports to allocate in between: libvirt accepts it, so does tsvirt
    const dom = await conn.defineDomain(domainXML('usbfar', { devices: "<controller type='usb' index='2147483647' model='qemu-xhci'/><input type='tablet' bus='usb'/>" }));
    assert.match(await dom.getXMLDesc(0), /<input type='tablet' bus='usb'>\s*<address type='usb' bus='0' port='1'\/>/);
    await dom.undefine();
  } finally {
    await conn.close();
  }
});

test('SCSI host devices without addresses fill units 0-6 of each controller in turn', async () => {
  const hostdevs = Array.from({ length: 30 }, (_, i) =>
    `<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='${i}'/></source></hostdev>`).join('');
  const conn = await connect(uri);
  try {
    const dom = await conn.defineDomain(domainXML('scsimany', { devices: hostdevs }));
    const addresses = [...(await dom.getXMLDesc(0)).matchAll(/<address type='drive' controller='(\d+)' bus='0' target='0' unit='(\d+)'\/>/g)].map((m) => `${m[1]}:${m[2]}`);
    assert.equal(addresses.length, 30);
    assert.deepEqual(addresses.slice(0, 8), ['0:0', '0:1', '0:2', '0:3', '0:4', '0:5', '0:6', '1:0']);
    assert.equal(addresses.at(-1), '4:1');
    await dom.undefine();
  } finally {
    await conn.close();
  }
});

test('clock adjustments and disk WWNs: libvirt parse rules, no crash, exact 64-bit values on the command line', async () => {
  const conn = await connect(uri);
  try {
    const clock = (adjustment: string) => domainXML('clk').replace('<devices>', `<clock offset='variable' adjustment='${adjustment}'/><devices>`);
    // virXPathLongLong fails on overflow and libvirt keeps 0
    const dom = await conn.defineDomain(clock('18446744073709551616'));
    assert.match(await dom.getXMLDesc(0), /<clock offset='variable' adjustment='0' basis='utc'\/>/);
    await dom.undefine();
    // in range for a long long, but no date QEMU can take: refused when the command line is built
    await assert.rejects(conn.domainXMLToNative('qemu-argv', clock('9223372036854775807')),
      /unsupported configuration: the guest clock would start outside the years 1 to 9999/);
    // a WWN is 64 bits: the digits QEMU gets are exact, not a rounded double
    const argv = await conn.domainXMLToNative('qemu-argv', disk('0x5000c50015ea71ad'));
    assert.match(argv, /"wwn":5764824127192592813[,}]/);
  } finally {
    await conn.close();
  }
  await assertRejected(disk('5000c5001zea71ad'), 'internal error: Malformed wwn: 5000c5001zea71ad');
  await assertRejected(disk('5000c50015ea71'), 'internal error: Malformed wwn: 5000c50015ea71');
});

function disk(wwn: string): string {
  return domainXML('wwn', { devices: `<disk type='file' device='disk'><source file='/tmp/x.img'/><target dev='sda' bus='sata'/><wwn>${wwn}</wwn></disk>` });
}
