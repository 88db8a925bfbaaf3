// A connection opened without a URI: a libvirt client sends CONNECT_OPEN with an
// empty name, which the daemon opens as virConnectOpen(NULL): tsvirtd asks its
// drivers' URI probe and the qemu driver answers qemu:///system for a root
// daemon, qemu:///session otherwise. No name at all opens nothing. The same
// calls on libvirtd's socket answer the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClient } from '../../src/rpc/client.js';
import { REMOTE_PROCEDURES as P } from '../../src/rpc/generated/remote-protocol.js';
import { libvirtUnavailable } from '../helpers/libvirt.js';
import { spawnDaemon } from './spawn-daemon.js';

/** libvirtd's read-write socket (the system instance) */
const LIBVIRTD_SOCKET = '/run/libvirt/libvirt-sock';
const root = process.getuid?.() === 0;
const noLibvirt = !root ? 'only root reaches the system socket of libvirtd' : libvirtUnavailable();
if (noLibvirt) process.stderr.write(`*** URI probe: the comparison with libvirtd is SKIPPED: ${noLibvirt} ***\n`);

/** CONNECT_OPEN with an empty name or none, then the URI the daemon opened (or the error). */
async function probedURI(socket: string, name: string | null): Promise<string> {
  const client = await RpcClient.connectUnix(socket);
  try {
    await client.call(P.authList, undefined);
    await client.call(P.connectOpen, { name, flags: 0 });
    return (await client.call(P.connectGetURI, undefined)).uri;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  } finally {
    client.close();
  }
}

test('CONNECT_OPEN with an empty name opens the URI the qemu driver probes, with none nothing: as libvirtd', { timeout: 60_000 }, async (t) => {
  const daemon = await spawnDaemon();
  t.after(() => daemon.stop());
  const expected = root ? 'qemu:///system' : 'qemu:///session';
  const ours = [await probedURI(daemon.socket, ''), await probedURI(daemon.socket, null)];
  assert.deepEqual(ours, [expected, 'error: internal error: connection not open']);
  if (noLibvirt) return t.diagnostic(`libvirtd comparison skipped: ${noLibvirt}`);
  assert.deepEqual([await probedURI(LIBVIRTD_SOCKET, ''), await probedURI(LIBVIRTD_SOCKET, null)], ours);
});
