// The qemu driver's guest-facing calls side by side on tsvirt and the installed
// libvirt (qemu:///system), on the tiny test guest with an agent channel and a
// disk that stops the guest on I/O errors: domhostname (agent, lease, bad
// source), inject-nmi, domcontrol, domblkerror, domfsfreeze/domfsthaw/domfstrim,
// guestvcpus, dompmwakeup, running and shut off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** guest-calls: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

const AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";

function domainXml(name: string, dir: string): string {
  const image = path.join(dir, `${name}.img`);
  execFileSync('truncate', ['-s', '8M', image]);
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='raw' error_policy='stop' rerror_policy='stop'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: AGENT_CHANNEL + disk });
}

/** The same calls on one side, the domain's name masked. */
async function session(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(name, 'NAME'));
  };
  const calls = [
    ['domhostname', name], ['domhostname', name, '--source', 'agent'], ['domhostname', name, '--source', 'lease'],
    ['domhostname', name, '--source', 'dhcp'], ['inject-nmi', name], ['domcontrol', name], ['domblkerror', name],
    ['domfsfreeze', name], ['qemu-agent-command', name, '{"execute":"guest-fsfreeze-status"}'], ['domfsthaw', name],
    ['domfsfreeze', name, '--mountpoint', '/', '--mountpoint', '/sys'], ['domfsthaw', name, '--mountpoint', '/'], ['domfsthaw', name],
    ['domfstrim', name], ['domfstrim', name, '--minimum', '4096'], ['domfstrim', name, '--mountpoint', '/'],
    ['guestvcpus', name], ['guestvcpus', name, '--cpulist', '0', '--enable'], ['guestvcpus', name, '--cpulist', '0', '--disable'],
    ['guestvcpus', name, '--cpulist', '0-2', '--enable'], ['guestvcpus', name, '--cpulist', 'x', '--enable'], ['guestvcpus', name, '--cpulist', '0'],
    ['guestvcpus', name, '--enable'], ['guestvcpus', name, '--enable', '--disable', '--cpulist', '0'],
    ['dompmwakeup', name],
  ];
  for (const args of calls) await record(...args);
  await run('start', name);
  // the agent answers once the guest has booted and opened its port
  await waitUntil('the guest agent', BOOT_TIMEOUT_MS, async () => ((await run('qemu-agent-command', name, '{"execute":"guest-ping"}')).code === 0 ? true : undefined));
  for (const args of calls) await record(...args);
  await record('domstate', name, '--reason');
  await run('destroy', name);
  return out;
}

test('guest calls: domhostname, inject-nmi, domcontrol, domblkerror, domfsfreeze/thaw/trim, guestvcpus, dompmwakeup: as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('gc', sb.dir));
  const ours = await session((...args) => sb.run(...args), 'gc');
  assert.ok(ours.includes('domhostname NAME -> 0\ntsvirt-guest\n\n'), ours.join('\n'));
  assert.ok(ours.includes('inject-nmi NAME -> 0\n\n'), ours.join('\n'));
  // no block-device filesystem is mounted: nothing frozen leaves the agent thawed, as qemu-ga
  assert.ok(ours.some((l) => l.startsWith('domfsfreeze NAME -> 0\nFroze 0 filesystem(s)\n')), ours.join('\n'));
  assert.ok(ours.some((l) => l.startsWith('qemu-agent-command NAME {"execute":"guest-fsfreeze-status"} -> 0\n{"return":"thawed"}')), ours.join('\n'));
  // the guest's one vCPU, read from its sysfs: the boot CPU cannot go offline
  assert.ok(ours.some((l) => l.startsWith('guestvcpus NAME -> 0\nvcpus          : 0\nonline         : 0\nofflinable     : \n')), ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-guest-calls-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-gc-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'gc.xml'), domainXml(name, dir));
  await runSystemVirsh('define', path.join(dir, 'gc.xml'));
  assert.deepEqual(ours, await session(runSystemVirsh, name));
});
