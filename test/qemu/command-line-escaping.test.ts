// Hostile names and paths must reach QEMU as single, exact option values:
// JSON for -blockdev/-device, ',' doubled in QEMU's key=value syntax, and
// shell quoting in the printed form that a shell reads back to the same argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseXml, escapeXml } from '../../src/util/xml.js';
import type { XmlElement } from '../../src/util/xml.js';
import { buildQemuCommandLine, formatArgvLikeVirsh } from '../../src/drivers/qemu/command-line.js';
import { fakeQemuCaps } from '../helpers/qemu-caps.js';
import { escapeOptionValue, formatOptions } from '../../src/util/qemu-option.js';

const HOSTILE = `we,ird=na'me "x" y\nz,,`;
const NEWLINE_MARK = '@NL@';

function withNewlines(el: XmlElement): XmlElement {
  for (const k of Object.keys(el.attrs)) el.attrs[k] = el.attrs[k]!.replaceAll(NEWLINE_MARK, '\n');
  el.text = el.text.replaceAll(NEWLINE_MARK, '\n');
  el.children.forEach(withNewlines);
  return el;
}

const caps = fakeQemuCaps('x86_64', { deviceTypes: ['virtio-vga'] });

const paths = { libDir: '/var/lib/libvirt/qemu', stateDir: '/run/libvirt/qemu', channelTargetDir: '/var/lib/libvirt/qemu/channel/target', memoryBackingDir: '/var/lib/libvirt/qemu/ram', nvramDir: '/var/lib/libvirt/qemu/nvram' };

function domain(): string {
  // The newline goes in after parsing (XML attribute normalisation would turn it into a space).
  const v = escapeXml(HOSTILE).replaceAll('\n', NEWLINE_MARK);
  return `<domain type='qemu'><name>${v}</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>219136</memory><vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><boot dev='hd'/></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/${v}'/><target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></disk>
    <controller type='pci' index='0' model='pci-root'/>
    <serial type='file'><source path='/log/${v}'/><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
    <channel type='unix'><source mode='bind' path='/sock/${v}'/><target type='virtio' name='org.example.${v}'/>
      <address type='virtio-serial' controller='0' bus='0' port='1'/></channel>
    <controller type='virtio-serial' index='0'><address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></controller>
  </devices></domain>`;
}

/** Reads QEMU's key=value syntax back: ',,' is a literal comma, ',' separates. */
function parseQemuOptions(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',' && text[i + 1] === ',') { cur += ','; i++; } else if (text[i] === ',') { out.push(split(cur)); cur = ''; } else cur += text[i];
  }
  out.push(split(cur));
  return out;
  function split(part: string): [string, string] {
    const eq = part.indexOf('=');
    return eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
  }
}

function build() {
  return buildQemuCommandLine(withNewlines(parseXml(domain())), { caps, paths, domainId: -1, hostEnv: {}, tapFd: () => 3, tlsX509CertDir: '/etc/pki/qemu' });
}

function valuesOf(args: string[], option: string): string[] {
  return args.flatMap((a, i) => (a === option ? [args[i + 1]!] : []));
}

test('escapeOptionValue doubles commas and nothing else', () => {
  assert.equal(escapeOptionValue('a,b,,c'), 'a,,b,,,,c');
  assert.equal(escapeOptionValue(`x='"\n `), `x='"\n `);
  assert.equal(formatOptions('file', [['id', 'c'], ['path', 'p,q'], ['skip', undefined], ['on', true]]), 'file,id=c,path=p,,q,on=on');
  assert.deepEqual(parseQemuOptions(formatOptions('socket', [['path', HOSTILE]])), [['socket', ''], ['path', HOSTILE]]);
});

test('a hostile disk path is one exact -blockdev filename', () => {
  const files = valuesOf(build().args, '-blockdev').map((v) => JSON.parse(v) as Record<string, unknown>).filter((p) => p.driver === 'file');
  assert.deepEqual(files.map((p) => p.filename), [`/img/${HOSTILE}`]);
});

test('hostile chardev paths and names stay single option values', () => {
  const { args } = build();
  const chardevs = valuesOf(args, '-chardev').map(parseQemuOptions);
  const serial = chardevs.find((c) => c.some(([k, v]) => k === 'id' && v === 'charserial0'))!;
  assert.deepEqual(serial, [['file', ''], ['id', 'charserial0'], ['path', `/log/${HOSTILE}`]]);
  const channel = chardevs.find((c) => c.some(([k, v]) => k === 'id' && v === 'charchannel0'))!;
  assert.deepEqual(channel, [['socket', ''], ['id', 'charchannel0'], ['path', `/sock/${HOSTILE}`], ['server', 'on'], ['wait', 'off']]);
  const port = valuesOf(args, '-device').map((v) => JSON.parse(v) as Record<string, unknown>).find((d) => d.driver === 'virtserialport')!;
  assert.equal(port.name, `org.example.${HOSTILE}`);
  assert.deepEqual(parseQemuOptions(valuesOf(args, '-name')[0]!), [['guest', HOSTILE], ['debug-threads', 'on']]);
  const monitor = parseQemuOptions(valuesOf(args, '-chardev')[0]!);
  assert.deepEqual(monitor.find(([k]) => k === 'path'), ['path', `/var/lib/libvirt/qemu/domain--1-${[...HOSTILE].slice(0, 20).join('')}/monitor.sock`]);
});

test('the virsh-style rendering reads back through a shell as the same argv', () => {
  const cmd = build();
  const printed = formatArgvLikeVirsh(cmd);
  // Let /bin/sh parse the printed line: env assignments, then printf receives the argv.
  const out = execFileSync('/bin/sh', ['-c', `exec env -i ${printed.replace(/ \/usr\/bin\/qemu-system-x86_64 /, " printf '%s\\0' ")}`], { encoding: 'utf8' });
  assert.deepEqual(out.split('\0').slice(0, -1), cmd.args);
});
