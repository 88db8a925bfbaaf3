// A restore's state goes to QEMU over a socket while QEMU's migration status is
// polled: QEMU's verdict decides. QEMU closes the connection once it has read the
// state, which the sender may see as "Premature close" before its own end is done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receiveMigration } from '../../src/drivers/qemu/lifecycle.js';
import type { QmpClient } from '../../src/drivers/qemu/qmp.js';

/** A QMP monitor whose incoming migration ends with `status`. */
function monitor(status: 'completed' | 'failed', errorDesc?: string): QmpClient {
  const fake = {
    async execute(command: string) {
      if (command === 'migrate-incoming') return {};
      if (command === 'query-migrate') return { status, 'error-desc': errorDesc };
      throw new Error(`unexpected ${command}`);
    },
  };
  return fake as unknown as QmpClient;
}

const closed = () => Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });

test('QEMU loaded the state: a sender that saw the connection close early is no failure', async () => {
  await receiveMigration(monitor('completed'), { uri: 'unix:/x', pausedByUser: false, send: () => Promise.reject(closed()) });
});

test("QEMU's load failed: QEMU's reason, unless the sender broke on this side", async () => {
  await assert.rejects(receiveMigration(monitor('failed', 'load of migration failed: Input/output error'), { uri: 'unix:/x', pausedByUser: false, send: () => Promise.reject(closed()) }), {
    message: "operation failed: job 'migration in' failed: load of migration failed: Input/output error",
  });
  const unreadable = Object.assign(new Error("EACCES: permission denied, open '/img'"), { code: 'EACCES' });
  await assert.rejects(receiveMigration(monitor('failed'), { uri: 'unix:/x', pausedByUser: false, send: () => Promise.reject(unreadable) }), unreadable);
  await assert.rejects(receiveMigration(monitor('failed'), { uri: 'unix:/x', pausedByUser: false, send: () => Promise.resolve() }), { message: "operation failed: job 'migration in' failed" });
});
