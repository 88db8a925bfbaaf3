// vncdisplay, domdisplay, screenshot, dominfo's OS Type, the live <graphics>
// listen address and domain id, desc / metadata / list --title, domtime,
// domjobinfo / domjobabort, and an undefine that leaves nothing behind (issue 14): the
// same commands side by side on tsvirt and the installed libvirt
// (qemu:///system), one after the other on the same VNC port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { guestDomainXML, Sandbox, testGuest, type TestGuest } from './guest.js';
import { defineOnSystemLibvirt, libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** display: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);
/** A port other tests are unlikely to use at the same moment. */
const PORT = 6100 + Math.floor(Math.random() * 700);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** PNG: signature, then the IHDR chunk with width and height. */
function pngSize(file: string): string {
  const b = readFileSync(file);
  assert.equal(b.toString('latin1', 1, 4), 'PNG');
  return `${b.readUInt32BE(16)}x${b.readUInt32BE(20)}`;
}

async function displaySession(run: Run, name: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  await run('start', name);
  const commands = [['vncdisplay', name], ['domdisplay', name], ['domdisplay', name, '--type', 'spice'], ['domtime', name], ['domjobinfo', name], ['domjobabort', name]];
  for (const args of commands) {
    const r = await run(...args);
    out.push(`${args[0]} -> ${r.code} ${r.stdout}${r.stderr}`);
  }
  const metadataCommands = [
    ['desc', name, '--live', 'live text'],
    ['desc', name, '--config', '--title', 'A title'],
    ['desc', name],
    ['desc', name, '--title', '--config'],
    ['metadata', name, 'http://example.org/x', '--key', 'ex', '--set', "<thing a='1'/>", '--live'],
    ['metadata', name, 'http://example.org/x'],
  ];
  for (const args of metadataCommands) {
    const r = await run(...args);
    out.push(`${args[0]} -> ${r.code} ${r.stdout}${r.stderr}`);
  }
  const listed = (await run('list', '--title', '--all')).stdout.split('\n').find((l) => l.includes(` ${name} `));
  out.push(listed!.replace(/^ *\d+/, 'ID').replace(name, 'NAME').replace(/ +/g, ' '));
  const live = (await run('dumpxml', name)).stdout;
  out.push(...live.split('\n').filter((l) => /<graphics |<listen |<domain |<description>|<ex:thing /.test(l)).map((l) => l.replace(/ id='\d+'/, " id='N'")));
  out.push(...(await run('dominfo', name)).stdout.split('\n').filter((l) => l.startsWith('OS Type:')));
  const shot = path.join(dir, 'shot.png');
  out.push((await run('screenshot', name, shot)).stdout.replace(dir, 'DIR'), pngSize(shot));
  await run('destroy', name);
  return out;
}

function domainXml(name: string): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: `<graphics type='vnc' port='${PORT}'/>` });
}

test('vncdisplay, domdisplay, screenshot, dominfo OS Type, live listen address and id, desc, metadata, list --title, domtime, domjob*, undefine: as libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('disp'));
  const ours = await displaySession((...args) => sb.run(...args), 'disp', sb.dir);
  assert.equal(ours[0], `vncdisplay -> 0 127.0.0.1:${PORT - 5900}\n\n`);
  assert.equal(ours[1], `domdisplay -> 0 vnc://127.0.0.1:${PORT - 5900}\n`);
  assert.ok(ours.includes('Screenshot saved to DIR/shot.png, with type of image/png\n'));
  assert.ok(ours.includes("<domain type='qemu' id='N'>"));
  assert.ok(ours.includes('desc -> 0 live text\n'));
  // undefine leaves no state file behind
  await sb.ok('undefine', 'disp');
  assert.deepEqual(readdirSync(path.join(sb.root, 'run', 'qemu')).filter((f) => f.startsWith('disp')), []);

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const { name, dir } = await defineOnSystemLibvirt(t, 'disp', domainXml);
  const virsh: Run = runSystemVirsh;
  const theirs = await displaySession(virsh, name, dir);
  assert.deepEqual(ours, theirs);
  assert.ok(!existsSync(path.join(sb.root, 'run', 'qemu', 'disp.shutoff')));
});
