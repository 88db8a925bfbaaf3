// Domain taints side by side on tsvirt and the installed libvirt (qemu:///system):
// a guest with a qemu:commandline environment variable and the agent channel is
// started, then qemu-monitor-command and qemu-agent-command taint it; dominfo's
// Messages lines and the "is tainted" lines of the domain log must be the same,
// and a destroyed domain has none left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** taint: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

function domainXml(name: string): string {
  return guestDomainXML({
    name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest,
    devices: "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
    extra: "<qemu:commandline><qemu:env name='TSVIRT_TAINT_TEST' value='1'/></qemu:commandline>",
  }).replace("<domain type='qemu'>", "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>");
}

/** dominfo's Messages lines (the first labelled, the rest indented under it). */
async function messages(run: Run, name: string): Promise<string[]> {
  const lines = (await run('dominfo', name)).stdout.split('\n');
  const first = lines.findIndex((l) => l.startsWith('Messages:'));
  return first < 0 ? [] : lines.slice(first).filter(Boolean);
}

/** The session on one side: what dominfo shows after each step, and the log's taint lines (ids and times left out). */
async function taintSession(run: Run, name: string, logPath: string): Promise<string[]> {
  const out: string[] = [];
  await run('start', name);
  out.push('after start:', ...(await messages(run, name)));
  await run('qemu-monitor-command', name, '{"execute":"query-status"}');
  await run('qemu-monitor-command', name, '--hmp', 'info status');
  out.push('after qemu-monitor-command:', ...(await messages(run, name)));
  await waitUntil('the guest agent', BOOT_TIMEOUT_MS, async () => ((await run('qemu-agent-command', name, '{"execute":"guest-ping"}')).code === 0 ? true : undefined));
  out.push('after qemu-agent-command:', ...(await messages(run, name)));
  out.push('log:', ...readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('is tainted:')).map((l) => l.replace(/^.*: Domain id=\d+ /, 'Domain id=N ')));
  await run('destroy', name);
  out.push('after destroy:', ...(await messages(run, name)));
  return out;
}

test('taints: qemu:commandline, qemu-monitor-command, qemu-agent-command show in dominfo and the log as libvirt shows them', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('tnt'));
  const ours = await taintSession((...args) => sb.run(...args), 'tnt', path.join(sb.root, 'log', 'qemu', 'tnt.log'));
  assert.deepEqual(ours.slice(0, 4), ['after start:', 'Messages:       tainted: custom configuration parameters specified', 'after qemu-monitor-command:', 'Messages:       tainted: custom configuration parameters specified'], ours.join('\n'));
  assert.ok(ours.includes('                tainted: custom monitor control commands issued'), ours.join('\n'));
  assert.ok(ours.includes('Domain id=N is tainted: custom-ga-command'), ours.join('\n'));
  assert.equal(ours.at(-1), 'after destroy:', ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-taint-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-taint-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'taint.xml'), domainXml(name));
  await runSystemVirsh('define', path.join(dir, 'taint.xml'));
  assert.deepEqual(ours, await taintSession(runSystemVirsh, name, `/var/log/libvirt/qemu/${name}.log`));
});
