// Guest-facing entry points of the qemu driver side by side with the installed
// libvirt (qemu:///system), one agent-equipped test guest per side: dump (memory
// only ELF/kdump, live, reset, crash, formats QEMU lacks, the file's owner and mode).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** guest entry points: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

const AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";

function domainXml(name: string): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: AGENT_CHANNEL });
}

/** The file's owner, mode and (for formats of a fixed size) size, as `ls -l` would tell them apart. */
function fileFacts(file: string, withSize: boolean): string {
  try {
    const st = statSync(file);
    return `uid=${st.uid} gid=${st.gid} mode=${(st.mode & 0o7777).toString(8)}${withSize ? ` size=${st.size}` : ''}`;
  } catch {
    return 'absent';
  }
}

/** The same calls on one side, lines made comparable (domain name, folder). */
async function session(run: Run, name: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run(...args);
    // virsh's progress steps depend on timing: only the last one is compared
    const stderr = r.stderr.replace(/(?:\r\w+: \[ *\d+ %\])+(\r\w+: \[ *\d+ %\])/g, '$1');
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${stderr}`.replaceAll(name, 'NAME').replaceAll(dir, 'DIR'));
    return r;
  };
  const file = (f: string) => path.join(dir, f);
  await record('dump', name, file('off.core'), '--memory-only');
  await run('start', name);
  await waitUntil('the guest agent', BOOT_TIMEOUT_MS, async () => ((await run('qemu-agent-command', name, '{"execute":"guest-ping"}')).code === 0 ? true : undefined));

  // ---- dump
  await record('dump', name, file('elf.core'), '--memory-only');
  out.push(`elf.core: ${fileFacts(file('elf.core'), true)}`);
  await record('dump', name, file('zlib.core'), '--memory-only', '--format', 'kdump-zlib', '--verbose');
  out.push(`zlib.core: ${fileFacts(file('zlib.core'), false)}`);
  await record('dump', name, file('lzo.core'), '--memory-only', '--format', 'kdump-lzo');
  out.push(`lzo.core: ${fileFacts(file('lzo.core'), false)}`);
  await record('dump', name, file('win.core'), '--memory-only', '--format', 'win-dmp');
  await record('dump', name, file('x.core'), '--format', 'elf');
  await record('dump', name, file('x.core'), '--memory-only', '--format', 'nope');
  await record('dump', name, file('live.core'), '--live', '--bypass-cache');
  out.push(`live.core: ${fileFacts(file('live.core'), false)}`);
  await record('domstate', name, '--reason');
  await record('dump', name, file('reset.core'), '--memory-only', '--reset');
  await record('domstate', name, '--reason');
  await record('dump', name, path.join(dir, 'missing', 'x.core'), '--memory-only');
  // last: the guest ends crashed
  await record('dump', name, file('crash.core'), '--memory-only', '--crash');
  await record('domstate', name, '--reason');
  return out;
}

test('guest entry points: dump ... as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('guest'));
  const ours = await session((...args) => sb.run(...args), 'guest', sb.dir);
  assert.ok(ours.some((l) => /^elf.core: uid=\d+ gid=\d+ mode=600 size=\d+$/.test(l)), ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const { name, dir } = await defineOnSystemLibvirt(t, 'gep', (n) => domainXml(n));
  assert.deepEqual(ours, await session(runSystemVirsh, name, dir));
});
