// `dumpxml --inactive` of a running transient domain side by side on tsvirt and
// the installed libvirt (qemu:///system): a transient domain has no next-start
// definition, so both print the live one less what the start filled in (pty
// paths, the VNC autoport's port). The live CPU (libvirt records the features
// QEMU enabled) and the DAC user are host facts and are left out of the comparison.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** transient-inactive: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

function domainXml(name: string): string {
  const graphics = "<graphics type='vnc' autoport='yes' listen='127.0.0.1'/>";
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: graphics });
}

function comparable(xml: string, name: string): string {
  return xml
    .replaceAll(name, 'NAME')
    .replace(/<uuid>[^<]*<\/uuid>/, '<uuid/>')
    .replace(/ {2}<cpu\b[\s\S]*?<\/cpu>\n/, '')
    .replace(/\+\d+:\+\d+/g, '+UID:+GID');
}

test('dumpxml --inactive of a running transient domain: the live definition less its start-time state, as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const file = sb.file('transient.xml');
  writeFileSync(file, domainXml('trans'));
  await sb.ok('create', file);
  const live = (await sb.ok('dumpxml', 'trans')).stdout;
  assert.match(live, /<console type='pty' tty='\/dev\/pts\/\d+'>/, live);
  assert.match(live, /<graphics type='vnc' port='59\d\d' autoport='yes'/, live);
  const ours = (await sb.ok('dumpxml', '--inactive', 'trans')).stdout;
  assert.doesNotMatch(ours, /\/dev\/pts|port='59/, ours);
  assert.match(ours, /<graphics type='vnc' port='-1' autoport='yes'/, ours);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-transient-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-trans-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'transient.xml'), domainXml(name));
  const created = await runSystemVirsh('create', path.join(dir, 'transient.xml'));
  assert.equal(created.code, 0, created.stderr);
  const theirs = (await runSystemVirsh('dumpxml', '--inactive', name)).stdout;
  assert.equal(comparable(ours, 'trans'), comparable(theirs, name));
});
