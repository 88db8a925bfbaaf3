// The QEMU guest agent side by side on tsvirt and the installed libvirt
// (qemu:///system): the test guest's agent responder (/bin/qga in its initramfs)
// answers both. qemu-agent-command (plain, --pretty, errors, option checks),
// domtime get/set/--sync, domifaddr --source agent, domfsinfo, guestinfo,
// set-user-password, guest-agent-timeout, the live channel state and <resource>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** agent: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

const AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";
/** A time well in the past that the guest's clock is set to and read back. */
const SET_TIME = 1_700_000_000;

function domainXml(name: string, withAgent: boolean): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: withAgent ? AGENT_CHANNEL : '' });
}

/** The same agent calls on one side; lines made comparable (domain name, clock readings). */
async function agentSession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(name, 'NAME'));
    return r;
  };
  await run('start', name);
  // the agent answers once the guest has booted and opened its port
  await waitUntil('the guest agent', BOOT_TIMEOUT_MS, async () => ((await run('qemu-agent-command', name, '{"execute":"guest-ping"}')).code === 0 ? true : undefined));
  await record('qemu-agent-command', name, '{"execute":"guest-get-host-name"}');
  await record('qemu-agent-command', name, '--pretty', '{"execute":"guest-get-host-name"}');
  await record('qemu-agent-command', name, '{"execute":"guest-nope"}');
  await record('qemu-agent-command', name, '--timeout', '0', '{"execute":"guest-ping"}');
  await record('qemu-agent-command', name, '--timeout', '3', '--block', '{"execute":"guest-ping"}');
  await record('qemu-agent-command', name, '--block', '{"execute":"guest-ping"}');
  await record('qemu-agent-command', name, '--async', '{"execute":"guest-ping"}');
  await record('domtime', name, '--time', String(SET_TIME));
  const read = await run('domtime', name);
  const seconds = Number(/Time: (\d+)/.exec(read.stdout)?.[1]);
  out.push(`domtime after set: ${seconds >= SET_TIME && seconds < SET_TIME + 60 ? 'just after the time set' : read.stdout + read.stderr}`);
  await record('domtime', name, '--sync');
  const synced = Number(/Time: (\d+)/.exec((await run('domtime', name)).stdout)?.[1]);
  out.push(`domtime after sync: ${Math.abs(synced - Date.now() / 1000) < 120 ? 'the host time' : synced}`);
  await record('domifaddr', name, '--source', 'agent');
  await record('domfsinfo', name);
  await record('guestinfo', name);
  await record('guestinfo', name, '--hostname', '--timezone');
  await record('guestinfo', name, '--disk');
  await record('set-user-password', name, 'root', 's3cret');
  await record('set-user-password', name, 'nobody', 'x');
  await record('guest-agent-timeout', name, '--timeout', '-5');
  await record('guest-agent-timeout', name, '--timeout', '10');
  await record('qemu-agent-command', name, '{"execute":"guest-ping"}');
  const live = (await run('dumpxml', name)).stdout;
  // the agent's port state, and the cgroup partition a root QEMU runs under
  out.push(...live.split('\n').filter((l) => l.includes("name='org.qemu.guest_agent.0'") || /<\/?resource>|<partition>/.test(l)).map((l) => l.trim()));
  await run('destroy', name);
  return out;
}

/** What the agent calls say about a domain without an agent channel, and about a shut-off one. */
async function noAgentSession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  for (const args of [['domtime', name], ['qemu-agent-command', name, '{"execute":"guest-ping"}'], ['guestinfo', name]]) {
    const r = await run(...args);
    out.push(`${args[0]} shut off -> ${r.code} ${r.stderr}`.replaceAll(name, 'NAME'));
  }
  await run('start', name);
  for (const args of [['domtime', name], ['qemu-agent-command', name, '{"execute":"guest-ping"}'], ['domfsinfo', name], ['set-user-password', name, 'root', 'x']]) {
    const r = await run(...args);
    out.push(`${args[0]} -> ${r.code} ${r.stderr}`.replaceAll(name, 'NAME'));
  }
  await run('destroy', name);
  return out;
}

test('guest agent: qemu-agent-command, domtime, domifaddr --source agent, domfsinfo, guestinfo, set-user-password, guest-agent-timeout: as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('agt', true));
  await sb.define(domainXml('noagt', false));
  const ours = await agentSession((...args) => sb.run(...args), 'agt');
  const oursNoAgent = await noAgentSession((...args) => sb.run(...args), 'noagt');
  assert.ok(ours.includes('qemu-agent-command NAME {"execute":"guest-get-host-name"} -> 0\n{"return":{"host-name":"tsvirt-guest"}}\n\n'), ours.join('\n'));
  assert.ok(ours.includes('domtime after set: just after the time set'), ours.join('\n'));
  assert.ok(oursNoAgent.includes('domtime -> 1 error: argument unsupported: QEMU guest agent is not configured\n'), oursNoAgent.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-agent-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-agent-${process.pid}`;
  const virsh: Run = runSystemVirsh;
  t.after(async () => {
    for (const n of [name, `${name}-no`]) {
      await virsh('destroy', n);
      await virsh('undefine', n);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'agent.xml'), domainXml(name, true));
  writeFileSync(path.join(dir, 'noagent.xml'), domainXml(`${name}-no`, false));
  await virsh('define', path.join(dir, 'agent.xml'));
  await virsh('define', path.join(dir, 'noagent.xml'));
  assert.deepEqual(ours, await agentSession(virsh, name));
  const theirsNoAgent = await noAgentSession(virsh, `${name}-no`);
  assert.deepEqual(oursNoAgent, theirsNoAgent);
});
