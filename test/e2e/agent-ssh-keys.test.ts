// get-user-sshkeys / set-user-sshkeys side by side on tsvirt (embed) and the
// installed libvirt (qemu:///system): the test guest's agent responder keeps
// root's ~/.ssh/authorized_keys. Appending (duplicates skipped), removing,
// resetting (with and without new keys), virsh's option checks and the agent's
// errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, testGuest, waitUntil, type TestGuest } from './guest.js';
import { libvirtUnavailable, runSystemVirsh } from '../helpers/libvirt.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const noLibvirt = libvirtUnavailable();
if (noLibvirt && !skip) process.stderr.write(`*** agent SSH keys: the side-by-side run with libvirt is SKIPPED: ${noLibvirt} ***\n`);

type Run = (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

const AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAaaaa alice@example';
const KEY_B = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABbbbb bob@example';
const KEY_C = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICcccc carol@example';

function domainXml(name: string): string {
  return guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: guest as TestGuest, devices: AGENT_CHANNEL });
}

/** Key files in `dir`: what --file names. */
function keyFiles(dir: string): Record<string, string> {
  const files = { two: `${KEY_A}\n${KEY_B}\n`, again: `${KEY_B}\n${KEY_C}`, removeA: `${KEY_A}\n`, onlyC: `${KEY_C}\n`, empty: '' };
  const paths: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) writeFileSync((paths[name] = path.join(dir, `${name}.keys`)), text);
  return paths;
}

/** The same calls on one side; lines made comparable (domain name, folder). */
async function sshKeysSession(run: Run, name: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const f = keyFiles(dir);
  const record = async (...args: string[]) => {
    const r = await run(...args);
    out.push(`${args.join(' ')} -> ${r.code}\n${r.stdout}${r.stderr}`.replaceAll(name, 'NAME').replaceAll(dir, 'DIR'));
  };
  await record('get-user-sshkeys', name, 'root');
  await run('start', name);
  // the agent answers once the guest has booted and opened its port
  await waitUntil('the guest agent', BOOT_TIMEOUT_MS, async () => ((await run('qemu-agent-command', name, '{"execute":"guest-ping"}')).code === 0 ? true : undefined));
  await record('get-user-sshkeys', name, 'root');
  await record('get-user-sshkeys', name, 'nobody');
  await record('set-user-sshkeys', name, 'root');
  await record('set-user-sshkeys', name, 'root', '--remove');
  await record('set-user-sshkeys', name, 'root', '--reset', '--remove', '--file', f.two!);
  await record('set-user-sshkeys', name, 'root', '--file', f.empty!);
  await record('set-user-sshkeys', name, 'root', '--file', path.join(dir, 'missing.keys'));
  await record('set-user-sshkeys', name, 'root', '--file', f.two!);
  await record('get-user-sshkeys', name, 'root');
  await record('set-user-sshkeys', name, 'root', '--file', f.again!);
  await record('get-user-sshkeys', name, 'root');
  await record('set-user-sshkeys', name, 'root', '--remove', '--file', f.removeA!);
  await record('get-user-sshkeys', name, 'root');
  await record('set-user-sshkeys', name, 'root', '--reset', '--file', f.onlyC!);
  await record('get-user-sshkeys', name, 'root');
  await record('set-user-sshkeys', name, 'root', '--reset');
  await record('get-user-sshkeys', name, 'root');
  await record('set-user-sshkeys', name, 'nobody', '--file', f.two!);
  await run('destroy', name);
  return out;
}

test('get-user-sshkeys and set-user-sshkeys (append, --remove, --reset) through the guest agent: as libvirt', { skip, timeout: 2 * BOOT_TIMEOUT_MS + 120_000 }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  await sb.define(domainXml('sshg'));
  const ours = await sshKeysSession((...args) => sb.run(...args), 'sshg', sb.dir);
  assert.ok(ours.includes(`get-user-sshkeys NAME root -> 0\n${KEY_A}${KEY_B}\n`), ours.join('\n'));
  assert.ok(ours.includes(`get-user-sshkeys NAME root -> 0\n${KEY_B}${KEY_C}\n`), ours.join('\n'));

  if (noLibvirt) return t.diagnostic(`libvirt comparison skipped: ${noLibvirt}`);
  const dir = mkdtempSync('/var/tmp/tsvirt-e2e-sshkeys-');
  chmodSync(dir, 0o777);
  const name = `tsvirt-e2e-sshkeys-${process.pid}`;
  t.after(async () => {
    await runSystemVirsh('destroy', name);
    await runSystemVirsh('undefine', name);
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(path.join(dir, 'def.xml'), domainXml(name));
  assert.equal((await runSystemVirsh('define', path.join(dir, 'def.xml'))).code, 0);
  assert.deepEqual(ours, await sshKeysSession(runSystemVirsh, name, dir));
});
