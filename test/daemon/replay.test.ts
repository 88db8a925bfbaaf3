// Every captured virsh <-> libvirtd exchange on test:///default replays against
// bin/tsvirtd with the same answers (modulo ids, times and serials).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedPath } from '../helpers/shared.js';
import { testDriverReady } from './contract-ready.js';
import { replayScenario } from './replay.js';
import { spawnDaemon } from './spawn-daemon.js';

const rpc = sharedPath('conformance/rpc');
const notReady = await testDriverReady();
const scenarios = 'path' in rpc ? readdirSync(rpc.path).filter((s) => s.startsWith('test-') || s === 'tcp-test-list-all' || s === 'raw-daemon-edge-cases') : [];

test('captures are present', (t) => {
  if ('skip' in rpc) return t.skip(rpc.skip);
  assert.ok(scenarios.length >= 11, `${scenarios.length} scenarios`);
});

// the harness itself: libvirtd answers its own captures identically (only where one runs on this host)
const LIBVIRTD_SOCKET = '/run/libvirt/libvirt-sock';
test('the replay harness finds libvirtd equal to its own captures', { skip: existsSync(LIBVIRTD_SOCKET) ? false : 'no libvirtd on this host' }, async (t) => {
  if ('skip' in rpc) return t.skip(rpc.skip);
  for (const scenario of ['raw-daemon-edge-cases', 'test-define-dumpxml-undefine']) {
    const result = await replayScenario(join(rpc.path, scenario), LIBVIRTD_SOCKET, join(rpc.path, 'decode.mjs'));
    assert.deepEqual(result.mismatches, [], `${scenario}: ${result.mismatches.join('\n')}`);
  }
});

for (const scenario of scenarios) {
  test(`replay ${scenario}`, { skip: notReady ?? false }, async () => {
    const daemon = await spawnDaemon();
    try {
      const { path } = rpc as { path: string };
      const result = await replayScenario(join(path, scenario), daemon.socket, join(path, 'decode.mjs'));
      assert.ok(result.compared > 0);
      assert.deepEqual(result.mismatches, [], result.mismatches.join('\n'));
    } finally {
      await daemon.stop();
    }
  });
}
