// A spawned tsvirtd holding one defined (not started) test guest 'g' with a
// 16 MiB qcow2 disk vda, and tsvirsh clients for its read-write and read-only
// sockets: what the snapshot and checkpoint tests through the daemon start from.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tsvirsh } from '../helpers/shared.js';
import { guestDomainXML, type TestGuest } from '../e2e/guest.js';
import { spawnDaemon, type SpawnedDaemon } from './spawn-daemon.js';

const run = promisify(execFile);

export interface ClientResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** tsvirsh on `uri` with `args`; a failure is a result, not a throw. */
export function client(uri: string, ...args: string[]): Promise<ClientResult> {
  return run(process.execPath, [tsvirsh, '-c', uri, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: ClientResult) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

export interface Qcow2GuestDaemon {
  daemon: SpawnedDaemon;
  /** read-write and read-only URIs */
  uri: string;
  ro: string;
  image: string;
  /** tsvirsh on the read-write socket that must succeed: its stdout */
  ok(...args: string[]): Promise<string>;
}

export async function qcow2GuestDaemon(t: TestContext, guest: TestGuest): Promise<Qcow2GuestDaemon> {
  const daemon = await spawnDaemon();
  t.after(() => daemon.stopWithGuests());
  const uri = daemon.uri('qemu', '/system');
  const image = join(daemon.root, 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);
  chmodSync(image, 0o666);
  const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
  const xml = join(daemon.root, 'g.xml');
  await writeFile(xml, guestDomainXML({ name: 'g', machine: 'q35', serialPath: join(daemon.root, 'g.serial'), guest, devices: disk }));
  const ok = async (...args: string[]) => {
    const r = await client(uri, ...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok('define', xml);
  return { daemon, uri, ro: `qemu+unix:///system?socket=${daemon.readonlySocket}`, image, ok };
}
