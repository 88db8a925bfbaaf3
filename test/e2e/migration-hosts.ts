// The two ends of a migration on one machine: two tsvirtd, each with its own
// state root and host UUID (host_uuid in tsvirtd.conf), the tiny test guest
// (with a guest agent channel) running on the source, and virsh to look at
// both. Shared by the migration tests, whichever way they drive the migration.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { guestDomainXML, testGuest, waitUntil, type TestGuest } from './guest.js';
import { spawnDaemon, type SpawnedDaemon } from '../daemon/spawn-daemon.js';

export const VIRSH = '/usr/bin/virsh';
export const SRC_HOST_UUID = '00000000-0000-0000-0000-0000000000a1';
export const DST_HOST_UUID = '00000000-0000-0000-0000-0000000000b2';

/** Why this host cannot run a migration test (said loudly; an error under CI=true), or false. */
export function migrationSkip(testName: string): string | false {
  const guest = testGuest();
  if ('skip' in guest) return guest.skip;
  if (existsSync(VIRSH)) return false;
  const missing = 'virsh is not installed';
  if (process.env.CI === 'true') throw new Error(`${testName}: ${missing} (CI=true requires it)`);
  process.stderr.write(`*** ${testName} SKIPPED: ${missing} ***\n`);
  return missing;
}

export function virsh(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(VIRSH, args, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

export async function virshOk(...args: string[]): Promise<string> {
  const r = await virsh(...args);
  assert.equal(r.code, 0, `virsh ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export interface MigrationHosts {
  src: SpawnedDaemon;
  dst: SpawnedDaemon;
  /** the source's and the destination's qemu:///system URI */
  S: string;
  D: string;
}

/** Both daemons, each reporting its own host UUID; they and their guests end with the test. */
export async function twoHosts(t: TestContext): Promise<MigrationHosts> {
  const src = await spawnDaemon(`host_uuid = "${SRC_HOST_UUID}"\n`);
  t.after(() => src.stopWithGuests());
  const dst = await spawnDaemon(`host_uuid = "${DST_HOST_UUID}"\n`);
  t.after(() => dst.stopWithGuests());
  const [S, D] = [src.uri('qemu', '/system'), dst.uri('qemu', '/system')];
  assert.match(await virshOk('-c', S, 'capabilities'), new RegExp(`<uuid>${SRC_HOST_UUID}</uuid>`));
  assert.match(await virshOk('-c', D, 'capabilities'), new RegExp(`<uuid>${DST_HOST_UUID}</uuid>`));
  return { src, dst, S, D };
}

export const AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";

/** Defines and starts the test guest `name` on the source, with a guest agent channel. */
export async function startGuestOnSource(hosts: MigrationHosts, name: string): Promise<void> {
  const xmlFile = join(hosts.src.root, `${name}.xml`);
  await writeFile(xmlFile, guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest: testGuest() as TestGuest, devices: AGENT_CHANNEL }));
  await virshOk('-c', hosts.S, 'define', xmlFile);
  await virshOk('-c', hosts.S, 'start', name);
}

/**
 * Pings the guest's agent until it answers (the guest may still be booting): the
 * guest runs. A console stream through tsvirtd gets no answer from the guest,
 * migrated or not, so the agent is the witness.
 */
export async function agentAnswers(uri: string, name: string): Promise<void> {
  let last = 0;
  await waitUntil(`the guest agent of '${name}' on ${uri}`, 60_000, async () => {
    if (Date.now() - last < 3_000) return undefined;
    last = Date.now();
    const r = await virsh('-c', uri, 'qemu-agent-command', name, '{"execute":"guest-ping"}');
    return r.stdout === '{"return":{}}\n\n' ? true : undefined;
  });
}
