// Pool lifecycle and refresh events of the storage driver reach the qemu:///
// connection's subscribers (the shared driver's events join the connection's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import type { DriverEvent } from '../../src/driver/events.js';
import { StoragePoolEventType } from '../../src/driver/event-numbers.js';

test('storage pool events on a qemu:///embed connection', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsvirt-pool-events-'));
  const conn = await connect(`qemu:///embed?root=${dir}/root`);
  try {
    const seen: string[] = [];
    assert.ok(conn.drivers.events, 'the connection reports events');
    conn.drivers.events.subscribe((e: DriverEvent) => {
      if (e.key === 'storagePoolEventLifecycle') seen.push(`${e.body.pool.name}:${StoragePoolEventType[e.body.event]}`);
      if (e.key === 'storagePoolEventRefresh') seen.push(`${e.body.pool.name}:REFRESH`);
    });
    const xml = `<pool type='dir'><name>ev</name><target><path>${dir}/pool</path></target></pool>`;
    const { pool } = await conn.invoke('storagePoolDefineXML', { xml, flags: 0 });
    await conn.invoke('storagePoolBuild', { pool, flags: 0 });
    await conn.invoke('storagePoolCreate', { pool, flags: 0 });
    await conn.invoke('storagePoolRefresh', { pool, flags: 0 });
    await conn.invoke('storagePoolDestroy', { pool });
    await conn.invoke('storagePoolDelete', { pool, flags: 0 });
    await conn.invoke('storagePoolUndefine', { pool });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['ev:DEFINED', 'ev:CREATED', 'ev:STARTED', 'ev:REFRESH', 'ev:STOPPED', 'ev:DELETED', 'ev:UNDEFINED']);
  } finally {
    await conn.close();
    await rm(dir, { recursive: true, force: true });
  }
});
