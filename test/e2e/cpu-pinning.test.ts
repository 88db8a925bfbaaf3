// vcpupin, emulatorpin, vcpuinfo, setvcpu (vCPU hotplug) and the IOThread commands
// (iothreadinfo, iothreadpin, iothreadadd, iothreaddel, iothreadset) side by side on tsvirt and
// the installed libvirt (qemu:///system), on a running guest and a shut-off one:
// the same output, errors, thread affinities and resulting definitions.
// CPU lists use only CPUs this host has (the first and the last).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** cpu-pinning: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

const LAST = String(os.cpus().length - 1);
const BEYOND = String(os.cpus().length);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** The lines of a definition these commands change. */
function pinningXml(xml: string): string {
  return xml.split('\n').filter((l) => /<\/?(vcpus?|iothreads|iothreadids|iothread|cputune|vcpupin|emulatorpin|iothreadpin)\b/.test(l)).join('\n');
}

async function pinningSession(run: Run, name: string): Promise<string[]> {
  const out: string[] = [];
  const step = async (...args: string[]) => {
    const r = await run(...args);
    // where a vCPU last ran and its CPU time are the scheduler's, not the driver's
    const text = `${r.stdout}${r.stderr}`.replace(/^(CPU:|CPU time:) .*\n/gm, '');
    out.push(`${args.join(' ')} -> ${r.code}\n${text}`.replaceAll(name, 'NAME'));
  };
  await step('start', name);
  await step('vcpupin', name);
  await step('emulatorpin', name);
  await step('iothreadinfo', name);
  await step('vcpupin', name, '0', LAST);
  await step('vcpupin', name, '1', '0', '--live');
  await step('vcpupin', name, '0', '0', '--config');
  await step('vcpupin', name);
  await step('vcpupin', name, '--config');
  await step('vcpuinfo', name);
  await step('vcpupin', name, '5', '0');
  await step('vcpupin', name, '--config', '7', '0');
  await step('vcpupin', name, '0', BEYOND);
  await step('vcpupin', name, '0', '');
  await step('vcpupin', name, '0', 'r');
  await step('vcpuinfo', name);
  // vCPU 1 comes with the pinning recorded for it while it was offline
  await step('setvcpu', name, '1', '--enable');
  await step('setvcpu', name, '1', '--enable');
  await step('setvcpu', name, '0', '--disable');
  await step('setvcpu', name, '5', '--enable');
  await step('setvcpu', name, '0-1', '--enable', '--config');
  await step('setvcpu', name, '1', '--enable', '--config');
  await step('vcpuinfo', name);
  await step('vcpucount', name);
  await step('emulatorpin', name, LAST);
  await step('emulatorpin', name, '--config', '0');
  await step('emulatorpin', name);
  await step('emulatorpin', name, '--config');
  await step('iothreadpin', name, '1', LAST);
  await step('iothreadpin', name, '2', '0');
  await step('iothreadinfo', name);
  await step('iothreadadd', name, '3');
  await step('iothreadadd', name, '3');
  await step('iothreadinfo', name);
  await step('iothreadset', name, '3', '--poll-max-ns', '100', '--poll-grow', '2');
  await step('iothreadset', name, '9', '--poll-max-ns', '100');
  await step('iothreadset', name, '3', '--thread-pool-min', '4');
  await step('iothreadset', name, '1', '--config', '--poll-max-ns', '5');
  await step('iothreadset', name, '1', '--config', '--thread-pool-max', '4');
  await step('domstats', name, '--iothread');
  await step('iothreaddel', name, '3');
  await step('iothreaddel', name, '3');
  await step('iothreadadd', name, '4', '--config');
  await step('iothreadinfo', name, '--config');
  await step('iothreaddel', name, '1', '--config');
  out.push(pinningXml((await run('dumpxml', name)).stdout), pinningXml((await run('dumpxml', '--inactive', name)).stdout));
  await run('destroy', name);
  await step('vcpupin', name);
  await step('emulatorpin', name);
  await step('iothreadinfo', name);
  await step('vcpupin', name, '0', '0', '--live');
  await step('iothreadadd', name, '6');
  await step('iothreadpin', name, '6', '0');
  await step('vcpuinfo', name);
  out.push(pinningXml((await run('dumpxml', name)).stdout));
  return out;
}

function domainXml(name: string): string {
  // two vCPUs, the second one plugged later; one IOThread
  const vcpus = "<vcpu current='1'>2</vcpu><vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/><vcpu id='1' enabled='no' hotpluggable='yes'/></vcpus><iothreads>1</iothreads>";
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest }).replace('<vcpu>1</vcpu>', vcpus);
}

test('vcpupin, emulatorpin, vcpuinfo, setvcpu and IOThreads on a running and a shut-off guest: as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('pinguest'));
  const ours = await pinningSession((...args) => sb.run(...args), 'pinguest');
  // the pinning reached the threads (their affinity, read back from /proc)
  const onlyLast = `${'-'.repeat(os.cpus().length - 1)}y`;
  assert.ok(ours.includes(`vcpuinfo NAME -> 0\nVCPU:           0\nState:          running\nCPU Affinity:   ${onlyLast}\n\n`), ours.join('\n'));
  assert.match(ours.join('\n'), new RegExp(`iothreadinfo NAME -> 0\n IOThread ID   CPU Affinity\n-+\n 1 +${LAST}\n`));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const { name } = await defineOnSystemLibvirt(t, 'pin', domainXml);
  assert.deepEqual(ours, await pinningSession(runSystemVirsh, name));
});
