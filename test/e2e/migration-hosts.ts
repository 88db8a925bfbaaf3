// Two tsvirtd on this host as the two ends of a migration, each with its own
// state root and host UUID (host_uuid in tsvirtd.conf), driven by real virsh;
// shared by the migration tests.
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

/** The test guest, or why a migration test skips (loudly; under CI=true a missing facility fails). */
export function migrationGuest(test: string): TestGuest | string {
  const guest = testGuest();
  if ('skip' in guest) return guest.skip;
  if (existsSync(VIRSH)) return guest;
  if (process.env.CI === 'true') throw new Error(`${test}: virsh is not installed (CI=true requires it)`);
  process.stderr.write(`*** ${test} SKIPPED: virsh is not installed ***\n`);
  return 'virsh is not installed';
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
  readonly src: SpawnedDaemon;
  readonly dst: SpawnedDaemon;
  /** their qemu+unix:///system URIs */
  readonly S: string;
  readonly D: string;
}

/** Source and destination daemons, stopped with their guests when the test ends. */
export async function migrationHosts(t: TestContext): Promise<MigrationHosts> {
  const src = await spawnDaemon(`host_uuid = "${SRC_HOST_UUID}"\n`);
  t.after(() => src.stopWithGuests());
  const dst = await spawnDaemon(`host_uuid = "${DST_HOST_UUID}"\n`);
  t.after(() => dst.stopWithGuests());
  return { src, dst, S: src.uri('qemu', '/system'), D: dst.uri('qemu', '/system') };
}

const AGENT_CHANNEL = "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";

/** Defines and starts the test guest `name` with a guest agent channel on the source. */
export async function startGuest(hosts: MigrationHosts, guest: TestGuest, name: string): Promise<void> {
  const xmlFile = join(hosts.src.root, `${name}.xml`);
  await writeFile(xmlFile, guestDomainXML({ name, machine: 'q35', serialPath: 'pty', guest, devices: AGENT_CHANNEL }));
  await virshOk('-c', hosts.S, 'define', xmlFile);
  await virshOk('-c', hosts.S, 'start', name);
}

/** Pings the guest's agent until it answers (the guest may still be booting): the guest runs. */
export async function agentAnswers(uri: string, name: string): Promise<void> {
  let last = 0;
  await waitUntil(`the guest agent of '${name}' on ${uri}`, 60_000, async () => {
    if (Date.now() - last < 3_000) return undefined;
    last = Date.now();
    const r = await virsh('-c', uri, 'qemu-agent-command', name, '{"execute":"guest-ping"}');
    return r.stdout === '{"return":{}}\n\n' ? true : undefined;
  });
}
