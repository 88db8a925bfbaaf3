// domiftune on the tiny test guest with an <interface type='ethernet'>, side
// by side with the installed libvirt (qemu:///system): the parameters it
// prints, the errors, the <bandwidth> of the live and persistent XML, and the
// tc qdiscs, classes and filters on the tap after each live change (noqueue's
// handle is the kernel's pick). This host's kernel has no sfq qdisc and no
// police action, so a live rate fails on tc on both sides alike. tsvirsh
// runs in a network namespace of its own, so its tap exists only there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tsvirsh } from '../helpers/shared.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';
import { NetworkNamespace, namespaceSkipReason } from '../network/namespace.js';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : (namespaceSkipReason() ?? false);
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** interface-tune: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

const MAC = '52:54:00:7e:01:01';
type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

function domainXml(name: string, tap: string): string {
  const nic = `<interface type='ethernet'><mac address='${MAC}'/><target dev='${tap}'/><model type='virtio'/></interface>`;
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: nic });
}

/** The same requests on one side; what it printed, the <bandwidth> it keeps and the tap's tc state after each step, with the tap's name as TAP. */
async function session(run: Run, name: string, tap: string, tc: (args: string[]) => string): Promise<string[]> {
  const out: string[] = [];
  const bandwidth = async (...flags: string[]) => /<bandwidth>[^]*?<\/bandwidth>/.exec((await run('dumpxml', name, ...flags)).stdout)?.[0] ?? '(none)';
  const shaping = () => ['qdisc', 'class', 'filter'].map((what) => tc([what, 'show', 'dev', tap]) + (what === 'filter' ? tc([what, 'show', 'dev', tap, 'ingress']) : '')).join('');
  const steps = [
    [MAC], [MAC, '--config'], [MAC, '--live', '--config'], ['vnet-none'], [MAC, '--inbound', '100,,,50'], [MAC, '--outbound', '1,2,3,4'], [MAC, '--inbound', '1,2,3,4,5'], [MAC, '--inbound', 'x'],
    [MAC, '--inbound', '2000,3000,100', '--outbound', '500'], [MAC],
    [MAC, '--outbound', '700,,20'], [MAC],
    [MAC, '--inbound', '0'], [MAC],
    [MAC, '--config', '--inbound', '1000,2000,64', '--outbound', '300'], [MAC, '--config'],
    [MAC, '--config', '--outbound', '400,,8'], [MAC, '--config'],
    [MAC, '--config', '--inbound', '0'], [MAC, '--config'],
  ];
  for (const args of steps) {
    const r = await run('domiftune', name, ...args);
    out.push(`domiftune ${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(tap, 'TAP').replaceAll(name, 'DOM'));
    if (args.length > 2) out.push(`live ${await bandwidth()}\nconfig ${await bandwidth('--inactive')}\n${shaping().replaceAll(tap, 'TAP').replace(/noqueue [0-9a-f]+:/g, 'noqueue N:')}`);
  }
  return out;
}

test('domiftune reads and reshapes an interface bandwidth live and in the config, as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  const ns = new NetworkNamespace('iftune');
  const run: Run = (...args) => new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, tsvirsh, '-c', sb.uri, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  t.after(async () => {
    await run('destroy', 'ifguest');
    ns.delete();
    await sb.dispose();
  });
  const tap = 'tsvift0';
  await sb.define(domainXml('ifguest', tap));
  const started = await run('start', 'ifguest');
  assert.equal(started.code, 0, started.stderr);
  const ours = await session(run, 'ifguest', tap, (args) => ns.exec(['tc', ...args]));
  assert.match(ours[0]!, /^inbound.average: 0\ninbound.peak   : 0\ninbound.burst  : 0\ninbound.floor  : 0\noutbound.average: 0\noutbound.peak  : 0\noutbound.burst : 0\n$/m, ours[0]);
  assert.match(ours.join('\n'), /config <bandwidth>\s*<inbound average='1000' peak='2000' burst='64'\/>\s*<outbound average='300'\/>/);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-iftune-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-ift-${process.pid}`;
  const theirTap = `lvift${process.pid % 100000}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'dom.xml'), domainXml(name, theirTap));
  await runSystemVirsh('define', path.join(dir, 'dom.xml'));
  const theirStart = await runSystemVirsh('start', name);
  assert.equal(theirStart.code, 0, theirStart.stderr);
  const theirs = await session(runSystemVirsh, name, theirTap, (args) => spawnSync('tc', args, { encoding: 'utf8' }).stdout);
  assert.deepEqual(ours, theirs);
});
