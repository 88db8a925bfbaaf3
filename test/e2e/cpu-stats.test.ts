// cpu-stats side by side on tsvirt and the installed libvirt (qemu:///system):
// --total from the guest's cgroup (values vary, the layout and plausibility are
// compared), the per-CPU query's cgroup v2 refusal, option checks, a shut-off domain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** cpu-stats: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);
const asRoot = process.getuid?.() === 0;

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Seconds values become S (checked to be a plausible, consistent time first). */
function times(text: string): string {
  const values = new Map<string, number>();
  const out = text.replace(/^\t(\w+) +(\d+\.\d{9}) seconds$/gm, (_m, field: string, value: string) => {
    values.set(field, Number(value));
    return `\t${field.padEnd(12)} S seconds`;
  });
  const [cpu, user, system] = ['cpu_time', 'user_time', 'system_time'].map((f) => values.get(f));
  if (cpu !== undefined) assert.ok(cpu > 0 && cpu < 3600 && user! + system! <= cpu + 0.5, text);
  return out;
}

async function cpuStatsSession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(times(`${args.slice(1).join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(name, 'NAME')));
  };
  await record('cpu-stats', name, '--total');
  await run('start', name);
  await record('cpu-stats', name, '--total');
  await record('cpu-stats', name);
  await record('cpu-stats', name, '--start', '7');
  await record('cpu-stats', name, '--start', '-1');
  await record('cpu-stats', name, '--count', '-2');
  await run('destroy', name);
  return out;
}

function domainXml(name: string): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest });
}

test('cpu-stats: totals from the cgroup, per-CPU refusal on cgroup v2, option checks: as libvirt', { skip: skip || (!asRoot && 'cpu-stats needs the guest cgroup a root tsvirt makes') }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('cpus'));
  const ours = await cpuStatsSession((...args) => sb.run(...args), 'cpus');
  assert.ok(ours.includes('NAME --total -> 0\nTotal:\n\tcpu_time     S seconds\n\tuser_time    S seconds\n\tsystem_time  S seconds\n\n'), ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const { name } = await defineOnSystemLibvirt(t, 'cpus', domainXml);
  const virsh: Run = runSystemVirsh;
  assert.deepEqual(ours, await cpuStatsSession(virsh, name));
});
