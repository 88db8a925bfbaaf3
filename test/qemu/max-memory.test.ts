// domainGetMaxMemory on the qemu driver against libvirt's (Debian's python3-libvirt, /usr/bin/python3, on
// qemu:///system) for the same definitions: plain memory and memory derived
// from NUMA cells. The guests are only defined, never started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import { libvirtUnavailable } from '../helpers/libvirt.js';

const unavailable = libvirtUnavailable();
if (unavailable) console.warn(`SKIPPING max-memory comparison: ${unavailable}`);
const skip = unavailable ? `real libvirt needed: ${unavailable}` : false;

/** libvirt's answer for a definition: defined, asked, undefined again. */
function libvirtMaxMemory(xml: string): bigint {
  const script = [
    'import libvirt, sys',
    "c = libvirt.open('qemu:///system')",
    'd = c.defineXML(sys.stdin.read())',
    'try: print(d.maxMemory())',
    'finally: d.undefine()',
  ].join('\n');
  return BigInt(execFileSync('/usr/bin/python3', ['-c', script], { input: xml, encoding: 'utf8' }).trim());
}

const cases: Array<[string, string]> = [
  ['plain memory', "<memory unit='MiB'>300</memory><currentMemory unit='MiB'>200</currentMemory><vcpu>2</vcpu>"],
  ['NUMA cells', "<memory unit='MiB'>999</memory><vcpu>2</vcpu><cpu><numa><cell id='0' cpus='0' memory='131072' unit='KiB'/><cell id='1' cpus='1' memory='65536' unit='KiB'/></numa></cpu>"],
];

for (const [what, body] of cases) {
  test(`domainGetMaxMemory: ${what} as libvirt reports it`, { skip }, async () => {
    const name = `tsvirt-epn-maxmem-${process.pid}`;
    const xml = `<domain type='qemu'><name>${name}</name>${body}<os><type arch='x86_64' machine='q35'>hvm</type></os><devices/></domain>`;
    const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-maxmem-'));
    try {
      const conn = await connect(`qemu:///embed?root=${root}`);
      try {
        const { dom } = await conn.invoke('domainDefineXML', { xml });
        const { memory } = await conn.invoke('domainGetMaxMemory', { dom });
        assert.equal(memory, libvirtMaxMemory(xml));
      } finally {
        await conn.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
