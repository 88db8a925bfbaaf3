// Real virsh against tsvirtd with the tiny test guest and its guest agent
// (TCG): the agent's calls travel the wire (qemu-agent-command, domtime,
// guestinfo, domifaddr --source agent, guest-agent-timeout), and virsh's
// `event --event agent-lifecycle --loop` hears the guest open the agent's port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { guestDomainXML, testGuest, waitUntil } from '../e2e/guest.js';
import { spawnDaemon } from './spawn-daemon.js';

const run = promisify(execFile);
const VIRSH = '/usr/bin/virsh';
/** TCG on a loaded 2-core machine */
const TIMEOUT_MS = 240_000;

const guest = testGuest();
const missing = 'skip' in guest ? guest.skip : !existsSync(VIRSH) ? 'virsh is not installed' : false;
if (typeof missing === 'string' && !('skip' in guest)) {
  if (process.env.CI === 'true') throw new Error(`agent virsh test: ${missing} (CI=true requires it)`);
  process.stderr.write(`*** agent virsh test SKIPPED: ${missing} ***\n`);
}

async function virsh(uri: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(VIRSH, ['-c', uri, ...args]).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout, stderr: e.stderr }));
}

test('real virsh through tsvirtd: guest agent calls and the agent-lifecycle event', { skip: missing, timeout: TIMEOUT_MS + 60_000 }, async (t) => {
  if ('skip' in guest) return;
  const daemon = await spawnDaemon();
  let listener: ReturnType<typeof spawn> | undefined;
  t.after(async () => {
    listener?.kill();
    await daemon.stopWithGuests();
  });
  const uri = daemon.uri('qemu', '/system');
  const xmlFile = join(daemon.root, 'ag.xml');
  const channel = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";
  await writeFile(xmlFile, guestDomainXML({ name: 'ag', machine: 'q35', serialPath: join(daemon.root, 'ag.serial'), guest, devices: channel }));
  await run(VIRSH, ['-c', uri, 'define', xmlFile]);

  listener = spawn(VIRSH, ['-c', uri, 'event', '--event', 'agent-lifecycle', '--loop', '--timeout', String(TIMEOUT_MS / 1000)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let heard = '';
  listener.stdout!.setEncoding('utf8').on('data', (s: string) => (heard += s));
  // the listener registers in its own time; the guest boots for seconds before it opens the port
  await new Promise((r) => setTimeout(r, 2000));
  await run(VIRSH, ['-c', uri, 'start', 'ag']);

  await waitUntil('the agent-lifecycle event', TIMEOUT_MS, () => (heard.includes('agent-lifecycle') ? true : undefined));
  assert.match(heard, /^event 'agent-lifecycle' for domain 'ag': state: 'connected' reason: 'channel event'$/m);
  assert.match((await virsh(uri, 'dumpxml', 'ag')).stdout, /<target type='virtio' name='org.qemu.guest_agent.0' state='connected'\/>/);

  const host = await virsh(uri, 'qemu-agent-command', 'ag', '{"execute":"guest-get-host-name"}');
  assert.equal(host.stdout, '{"return":{"host-name":"tsvirt-guest"}}\n\n', host.stderr);
  assert.match((await virsh(uri, 'domtime', 'ag')).stdout, /^Time: \d+\n/);
  assert.equal((await virsh(uri, 'guestinfo', 'ag', '--hostname')).stdout, 'hostname            : tsvirt-guest\n\n');
  assert.match((await virsh(uri, 'domifaddr', 'ag', '--source', 'agent')).stdout, / lo +00:00:00:00:00:00 +ipv4 +127\.0\.0\.1\/8/);
  assert.equal((await virsh(uri, 'guest-agent-timeout', 'ag', '--timeout', '-7')).stderr.trim(), "error: invalid argument: guest agent timeout '-7' is less than the minimum '-2'");
});
