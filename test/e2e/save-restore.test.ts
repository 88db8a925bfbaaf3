// save / restore / managedsave in libvirt's save image format (issue 14): the
// guest keeps running across them (it never boots again, and still answers
// hotplug), and images travel both ways between tsvirt and the installed
// libvirt (qemu:///system; that part is skipped loudly without it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, waitUntil, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh, systemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
const NIC = "<interface type='user'><mac address='52:54:00:5a:4e:01'/><model type='virtio'/></interface>";
const AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";
const PING = '{"execute":"guest-ping"}';

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

/** The header fields of a save image (qemu_saveimage.h, little-endian on this host). */
function imageHeader(file: string) {
  const b = readFileSync(file).subarray(0, 92);
  return { magic: b.toString('latin1', 0, 16), version: b.readUInt32LE(16), wasRunning: b.readUInt32LE(24), compressed: b.readUInt32LE(28) };
}

/** The guest still runs the kernel it booted: the fresh console (QEMU reopened it) has no boot, and a hotplugged NIC shows up. */
async function assertGuestKeptRunning(serial: SerialLog, hotplug: () => Promise<unknown>): Promise<void> {
  await hotplug();
  await serial.waitFor(/^@@PCI-(ADD|DEL) /, 30_000);
  assert.ok(!serial.lines().some((l) => l.startsWith('@@GUEST-UP')), 'the guest did not boot again');
}

test('save, restore, save-image-*, managedsave and start: the guest keeps running', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = new SerialLog(sb.file('serial.log'));
  await sb.define(guestDomainXML({ name: 'sv', machine: 'q35', serialPath: serial.path, guest: guest as TestGuest }));
  await sb.ok('start', 'sv');
  await serial.bootPciDevices(BOOT_TIMEOUT_MS);

  const image = sb.file('sv.save');
  assert.equal((await sb.ok('save', 'sv', image)).stdout, `\nDomain 'sv' saved to ${image}\n\n`);
  assert.equal((await sb.ok('domstate', 'sv', '--reason')).stdout.trim(), 'shut off (saved)');
  assert.deepEqual(imageHeader(image), { magic: 'LibvirtQemudSave', version: 2, wasRunning: 1, compressed: 0 });
  const saved = (await sb.ok('save-image-dumpxml', image)).stdout;
  assert.match(saved, /^<domain type='qemu'>\n {2}<name>sv<\/name>/);
  assert.doesNotMatch(saved, /<alias |<domain [^>]*id=|<source [^>]*index=/, 'the image holds the inactive definition');

  // the image's XML can be edited in place: a description, and --paused
  writeFileSync(sb.file('edited.xml'), saved.replace('<name>sv</name>', '<name>sv</name>\n  <description>saved by tsvirt</description>'));
  assert.equal((await sb.ok('save-image-define', image, sb.file('edited.xml'), '--paused')).stdout, `State file ${image} updated.\n\n`);
  assert.match((await sb.ok('save-image-dumpxml', image)).stdout, /<description>saved by tsvirt<\/description>/);
  assert.equal(imageHeader(image).wasRunning, 0);

  assert.equal((await sb.ok('restore', image)).stdout, `Domain restored from ${image}\n\n`);
  assert.equal((await sb.ok('domstate', 'sv', '--reason')).stdout.trim(), 'paused (migrating)');
  await sb.ok('resume', 'sv');
  const nic = sb.file('nic.xml');
  writeFileSync(nic, NIC);
  await assertGuestKeptRunning(serial, () => sb.ok('attach-device', 'sv', nic, '--live'));

  // managedsave: start restores the image, then it is gone
  await sb.ok('managedsave', 'sv');
  assert.match((await sb.ok('dominfo', 'sv')).stdout, /^Managed save: {3}yes$/m);
  assert.match((await sb.ok('list', '--all', '--managed-save')).stdout, / sv +saved/);
  await sb.ok('start', 'sv');
  assert.equal((await sb.ok('domstate', 'sv', '--reason')).stdout.trim(), 'running (restored)');
  assert.match((await sb.ok('dominfo', 'sv')).stdout, /^Managed save: {3}no$/m);
  await assertGuestKeptRunning(serial, () => sb.ok('detach-device', 'sv', nic, '--live'));

  // managedsave-remove: the next start boots
  await sb.ok('managedsave', 'sv');
  assert.equal((await sb.ok('managedsave-remove', 'sv')).stdout, "Removed managedsave image for domain 'sv'\n");
  await sb.ok('start', 'sv');
  assert.equal((await sb.ok('domstate', 'sv', '--reason')).stdout.trim(), 'running (booted)');
  await sb.ok('destroy', 'sv');

  const broken = sb.file('broken.save');
  writeFileSync(broken, Buffer.alloc(200));
  assert.equal((await sb.run('restore', broken)).stderr, `error: Failed to restore domain from ${broken}\nerror: operation failed: image magic is incorrect\n`);
});

test('a save image written by libvirt restores on tsvirt, and the reverse', { skip: skip || noLibvirt }, async (t) => {
  const sb = new Sandbox();
  // libvirt's QEMU runs as another user: everything it opens lives in a folder it can reach
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-save-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-save-${process.pid}`;
  t.after(async () => {
    systemVirsh('destroy', name);
    systemVirsh('undefine', name, '--managed-save');
    await sb.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  const virsh = (...args: string[]) => {
    const r = systemVirsh(...args);
    if (!r.ok) throw new Error(`virsh ${args.join(' ')}: ${r.error}`);
    return r.out;
  };
  const serial = new SerialLog(path.join(dir, 'serial.log'));
  const nic = path.join(dir, 'nic.xml');
  writeFileSync(nic, NIC);
  writeFileSync(path.join(dir, 'def.xml'), guestDomainXML({ name, machine: 'q35', serialPath: serial.path, guest: guest as TestGuest }));
  virsh('define', path.join(dir, 'def.xml'));
  virsh('start', name);
  await serial.bootPciDevices(BOOT_TIMEOUT_MS);

  const byLibvirt = path.join(dir, 'libvirt.save');
  virsh('save', name, byLibvirt);
  await sb.ok('restore', byLibvirt);
  assert.equal((await sb.ok('domstate', name, '--reason')).stdout.trim(), 'running (restored)');
  await assertGuestKeptRunning(serial, () => sb.ok('attach-device', name, nic, '--live'));

  const byTsvirt = path.join(dir, 'tsvirt.save');
  await sb.ok('save', name, byTsvirt);
  virsh('restore', byTsvirt);
  assert.equal(virsh('domstate', name, '--reason').trim(), 'running (restored)');
  await assertGuestKeptRunning(serial, async () => virsh('detach-device', name, nic, '--live'));
});

/**
 * Save + restore and managedsave + start of a guest with an agent channel (issue
 * 14): each start binds the agent's socket in its own run's channel folder, not
 * in the saved run's, and the agent answers. Lines made comparable (name, image).
 */
async function agentSaveSession(run: Run, name: string, image: string): Promise<string[]> {
  const out: string[] = [];
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(image, 'IMAGE').replaceAll(name, 'NAME'));
  };
  await run('start', name);
  await waitUntil('the guest agent', BOOT_TIMEOUT_MS, async () => ((await run('qemu-agent-command', name, PING)).code === 0 ? true : undefined));
  await record('save', name, image);
  await record('restore', image);
  await record('qemu-agent-command', name, PING);
  await record('managedsave', name);
  await record('start', name);
  await record('qemu-agent-command', name, PING);
  await run('destroy', name);
  return out;
}

test('save/restore and managedsave/start of a guest with an agent channel: the agent answers, as on libvirt', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const domainXml = (name: string) => guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: AGENT_CHANNEL });
  await sb.define(domainXml('agsv'));
  const ours = await agentSaveSession((...args) => sb.run(...args), 'agsv', sb.file('agsv.save'));
  assert.deepEqual(ours.filter((l) => l.startsWith('qemu-agent-command')), Array(2).fill(`qemu-agent-command NAME ${PING} -> 0\n{"return":{}}\n\n`), ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-agsave-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-agsave-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name, '--managed-save');
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'def.xml'), domainXml(name));
  await runSystemVirsh('define', path.join(dir, 'def.xml'));
  assert.deepEqual(ours, await agentSaveSession(runSystemVirsh, name, path.join(dir, 'agsv.save')));
});
