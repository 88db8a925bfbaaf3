import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDomainXML } from '../../src/conf/domain.js';
import { parseXml } from '../../src/util/xml.js';

// A running domain's live definition as the qemu driver records it (status file).
const LIVE = `<domain type='qemu' id='3'>
  <name>g</name>
  <devices>
    <disk type='file' device='disk'>
      <source file='/i.qcow2' index='1'/>
      <mirror type='file' file='/copy.qcow2' format='qcow2' job='copy' ready='yes'><format type='qcow2'/><source file='/copy.qcow2' index='2'/></mirror>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:00:00:01'/>
      <source network='lan' portid='0f6bd2a9-3f8e-4e7a-9c0d-5a6b7c8d9e0f' bridge='virbr0'/>
      <target dev='vnet0'/>
      <alias name='net0'/>
    </interface>
    <interface type='bridge'>
      <source bridge='br1'/>
      <target dev='mytap' managed='no'/>
    </interface>
    <interface type='ethernet'>
      <target dev='vnet7' managed='no'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/4'/>
      <target port='0'/>
    </serial>
    <console type='pty' tty='/dev/pts/4'>
      <source path='/dev/pts/4'/>
      <target type='serial' port='0'/>
    </console>
    <graphics type='vnc' port='5901' autoport='yes' listen='192.0.2.1'>
      <listen type='network' address='192.0.2.1' network='lan'/>
    </graphics>
    <graphics type='vnc' port='5999' autoport='no'/>
  </devices>
</domain>`;

test('formatDomainXML inactive leaves out what a start filled in, as virDomainDefFormat with FORMAT_INACTIVE', () => {
  const xml = formatDomainXML(parseXml(LIVE), { inactive: true, id: 3 });
  assert.doesNotMatch(xml, /id='3'|portid|virbr0|vnet0|\/dev\/pts|<mirror|5901|192\.0\.2\.1/, xml);
  assert.match(xml, /<source network='lan'\/>\n\s*<alias name='net0'\/>/, 'the generated tap name goes with its <target>');
  assert.match(xml, /<target dev='mytap' managed='no'\/>/, 'a tap the administrator made is kept');
  assert.match(xml, /<target dev='vnet7' managed='no'\/>/, 'an unmanaged tap keeps its name even with the generated prefix');
  assert.match(xml, /<serial type='pty'>\n\s*<target port='0'\/>/);
  assert.match(xml, /<console type='pty'>\n\s*<target type='serial' port='0'\/>/);
  assert.match(xml, /<graphics type='vnc' port='-1' autoport='yes'>\n\s*<listen type='network' network='lan'\/>/);
  assert.match(xml, /<graphics type='vnc' port='5999' autoport='no'\/>/, 'a fixed port is configuration');
});

test('formatDomainXML live keeps the runtime state', () => {
  const xml = formatDomainXML(parseXml(LIVE), { id: 3 });
  for (const live of ["id='3'", "portid='0f6bd2a9", "<target dev='vnet0'/>", "tty='/dev/pts/4'", '<mirror', "port='5901'"]) assert.ok(xml.includes(live), live);
});
