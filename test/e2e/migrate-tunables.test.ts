// The migration tunables side by side on tsvirt and the installed libvirt
// (qemu:///system): migrate-setspeed/getspeed (pre- and post-copy, remembered
// while the domain is shut off), migrate-setmaxdowntime/getmaxdowntime,
// migrate-compcache and migrate-postcopy, with virsh's option checks, libvirt's
// bounds and QEMU's own refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** migrate-tunables: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

const INACTIVE: string[][] = [
  ['migrate-getspeed'],
  ['migrate-getspeed', '--postcopy'],
  ['migrate-getmaxdowntime'],
  ['migrate-compcache'],
  ['migrate-setmaxdowntime', '200'],
  ['migrate-postcopy'],
  ['migrate-setspeed', '8796093022208'],
  ['migrate-setspeed', '-1'],
  ['migrate-setspeed', '100'],
  ['migrate-getspeed'],
];

const RUNNING: string[][] = [
  ['migrate-getspeed'],
  ['migrate-getspeed', '--postcopy'],
  ['migrate-getmaxdowntime'],
  ['migrate-compcache'],
  ['migrate-compcache', '--size', '1000000'],
  ['migrate-compcache', '--size', '33554432'],
  ['migrate-setspeed', '50'],
  ['migrate-getspeed'],
  ['migrate-setspeed', '30', '--postcopy'],
  ['migrate-getspeed', '--postcopy'],
  ['migrate-setspeed', '-1', '--postcopy'],
  ['migrate-setspeed', '17592186044416', '--postcopy'],
  ['migrate-setmaxdowntime', '0'],
  ['migrate-setmaxdowntime', '-5'],
  ['migrate-setmaxdowntime', 'x'],
  ['migrate-setmaxdowntime', '200'],
  ['migrate-getmaxdowntime'],
  ['migrate-setmaxdowntime', '2000001'],
  ['migrate-postcopy'],
];

async function tunablesSession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  const record = async ([command, ...rest]: string[]) => {
    const r = await run(command!, name, ...rest);
    out.push(`${[command, ...rest].join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(name, 'NAME'));
  };
  for (const args of INACTIVE) await record(args);
  const started = await run('start', name);
  assert.equal(started.code, 0, started.stderr);
  try {
    for (const args of RUNNING) await record(args);
  } finally {
    await run('destroy', name);
  }
  // the pre-copy limit belongs to the domain object and outlives its QEMU
  await record(['migrate-getspeed']);
  return out;
}

function domainXml(name: string): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest });
}

test('migrate-setspeed/getspeed, setmaxdowntime/getmaxdowntime, compcache, postcopy: as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('tunables'));
  const ours = await tunablesSession((...args) => sb.run(...args), 'tunables');
  assert.ok(ours.includes('migrate-getspeed -> 0\n50\n\n'), ours.join('\n'));
  assert.ok(ours.includes('migrate-compcache --size 33554432 -> 0\nCompression cache: 32.000 MiB\n'), ours.join('\n'));
  assert.ok(ours.at(-1)!.startsWith('migrate-getspeed -> 0\n50\n'), ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const { name } = await defineOnSystemLibvirt(t, 'tunables', domainXml);
  assert.deepEqual(ours, await tunablesSession(runSystemVirsh, name));
});
