// send-key side by side on tsvirt and the installed libvirt (qemu:///system):
// key names and numbers in several codesets (rfb as qnum's old name), --holdtime,
// and virsh's and libvirt's refusals (unknown codeset, bad key, too many keys,
// an untranslatable code, a shut-off domain).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** send-key: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

async function sendKeySession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run('send-key', name, ...args);
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(name, 'NAME'));
  };
  await record('KEY_A');
  await run('start', name);
  const cases = [
    ['KEY_LEFTCTRL', 'KEY_LEFTALT', 'KEY_F1'],
    ['--holdtime', '50', '30'],
    ['--codeset', 'usb', '4', '0x05'],
    ['--codeset', 'rfb', '0x1e'],
    ['--codeset', 'qnum', '0xd3'],
    ['--codeset', 'xt_kbd', '0x153'],
    ['--codeset', 'win32', 'VK_RETURN'],
    ['--codeset', 'os_x', 'ANSI_B'],
    ['--codeset', 'atset2', '0x1c'],
    ['--codeset', 'usb', 'KEY_A'],
    ['--codeset', 'usb', '0xfff0'],
    ['--codeset', 'ebcdic', '1'],
    ['KEY_NOPE'],
    ['0x10000'],
    ['--holdtime', '-1', '30'],
    Array.from({ length: 17 }, () => '30'),
  ];
  for (const args of cases) await record(...args);
  await run('destroy', name);
  return out;
}

function domainXml(name: string): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest });
}

test('send-key: codesets, names, hold time and refusals as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('keys'));
  const ours = await sendKeySession((...args) => sb.run(...args), 'keys');
  assert.ok(ours.includes('KEY_LEFTCTRL KEY_LEFTALT KEY_F1 -> 0\n\n'), ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const { name } = await defineOnSystemLibvirt(t, 'keys', domainXml);
  const virsh: Run = runSystemVirsh;
  assert.deepEqual(ours, await sendKeySession(virsh, name));
});
