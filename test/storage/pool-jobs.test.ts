// A pool's long operations, as libvirt's storage driver counts them: while a
// volume is built (here: held at its passphrase lookup) the pool refuses refresh,
// destroy, and the volume refuses delete, resize, upload, download and being
// cloned, with libvirt's messages; a clone's source is in use meanwhile. Once an
// upload's stream closes the pool is refreshed and says so, as
// virStorageVolPoolRefreshThread does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import type { DriverEvent } from '../../src/driver/events.js';
import { parseURI } from '../../src/driver/uri.js';
import { StorageConnection, StorageState } from '../../src/drivers/storage/driver.js';
import { storagePathsForURI } from '../../src/drivers/storage/paths.js';
import { PoolJobs } from '../../src/drivers/storage/pool-jobs.js';
import type { StorageVolDef } from '../../src/conf/storage-vol.js';
import { tempDir } from '../helpers/temp-dir.js';

const SECRET = '0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f';
const encrypted = (name: string) =>
  `<volume><name>${name}</name><capacity unit='MiB'>1</capacity><target><format type='qcow2'/>` +
  `<encryption format='luks'><secret type='passphrase' uuid='${SECRET}'/></encryption></target></volume>`;
const plain = (name: string) => `<volume><name>${name}</name><capacity unit='MiB'>1</capacity><target><format type='raw'/></target></volume>`;

test('PoolJobs: the checks and what a job holds', async () => {
  const jobs = new PoolJobs();
  const vol = { name: 'v' } as StorageVolDef;
  jobs.checkIdle('p');
  jobs.checkVolume(vol, true);
  let release!: () => void;
  const job = jobs.run(() => new Promise<void>((r) => (release = r)), { built: vol });
  assert.equal(jobs.busy, true);
  assert.throws(() => jobs.checkIdle('p'), { message: "internal error: pool 'p' has asynchronous jobs running." });
  assert.throws(() => jobs.checkVolume(vol, false), { message: "Requested operation is not valid: volume 'v' is still being allocated." });
  release();
  await job;
  assert.equal(jobs.busy, false);
  const used = jobs.run(() => new Promise<void>((r) => (release = r)), { used: vol });
  assert.throws(() => jobs.checkVolume(vol, true), { message: "Requested operation is not valid: volume 'v' is still in use." });
  jobs.checkVolume(vol, false);
  release();
  await used;
  jobs.checkVolume(vol, true);
});

test('a volume being built: what its pool and it refuse meanwhile', { timeout: 60_000 }, async (t) => {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
  } catch {
    if (process.env.CI === 'true') throw new Error('qemu-img is missing');
    return t.skip('SKIPPED: qemu-img is not installed');
  }
  const dir = tempDir('pool-jobs');
  let lookedUp!: () => void;
  const lookup = new Promise<void>((r) => (lookedUp = r));
  let answer!: (secret: Buffer) => void;
  const held = new Promise<Buffer>((r) => (answer = r));
  const state = await StorageState.load(storagePathsForURI(parseURI(`qemu:///embed?root=${dir}/root`)), true);
  const conn = new StorageConnection(state, () => (lookedUp(), held));
  const { pool } = await conn.storagePoolCreateXML({ xml: `<pool type='dir'><name>jobs</name><target><path>${dir}/pool</path></target></pool>`, flags: 1 });
  const { vol: source } = await conn.storageVolCreateXML({ pool, xml: plain('src'), flags: 0 });

  // a clone into an encrypted volume: built while its passphrase is looked up
  const building = conn.storageVolCreateXMLFrom({ pool, xml: encrypted('enc'), clonevol: source, flags: 0 });
  await lookup;
  const names = (await conn.storagePoolListAllVolumes({ pool, need_results: 1, flags: 0 })).vols.map((v) => v.name);
  assert.deepEqual(names.sort(), ['enc', 'src'], 'the volume is listed while it is built');
  const enc = { pool: 'jobs', name: 'enc', key: `${dir}/pool/enc` };
  const busy = { message: "internal error: pool 'jobs' has asynchronous jobs running." };
  const allocating = { message: "Requested operation is not valid: volume 'enc' is still being allocated." };
  await assert.rejects(conn.storagePoolRefresh({ pool, flags: 0 }), busy);
  await assert.rejects(conn.storagePoolDestroy({ pool }), busy);
  await assert.rejects(conn.storageVolDelete({ vol: enc, flags: 0 }), allocating);
  await assert.rejects(conn.storageVolResize({ vol: enc, capacity: 4n << 20n, flags: 0 }), allocating);
  await assert.rejects(conn.storageVolCreateXMLFrom({ pool, xml: plain('copy'), clonevol: enc, flags: 0 }), allocating);
  await assert.rejects(conn.storageVolCreateXML({ pool, xml: plain('enc'), flags: 0 }), { message: "storage volume 'enc' exists already" });
  const inUse = { message: "Requested operation is not valid: volume 'src' is still in use." };
  await assert.rejects(conn.storageVolDelete({ vol: source, flags: 0 }), inUse);
  await assert.rejects(conn.storageVolWipe({ vol: source, flags: 0 }), inUse);

  answer(Buffer.from('passphrase'));
  await building;
  await conn.storagePoolRefresh({ pool, flags: 0 });
  const info = execFileSync('qemu-img', ['info', '--output=json', `${dir}/pool/enc`], { encoding: 'utf8' });
  assert.equal(JSON.parse(info).format, 'qcow2');
  await conn.storageVolDelete({ vol: enc, flags: 0 });
  await conn.storageVolDelete({ vol: source, flags: 0 });
  await conn.storagePoolDestroy({ pool });
});

test('a failed build leaves neither file nor volume', { timeout: 60_000 }, async () => {
  const dir = tempDir('pool-jobs');
  const state = await StorageState.load(storagePathsForURI(parseURI(`qemu:///embed?root=${dir}/root`)), true);
  const conn = new StorageConnection(state, () => Promise.reject(new Error('no such secret')));
  const { pool } = await conn.storagePoolCreateXML({ xml: `<pool type='dir'><name>fail</name><target><path>${dir}/pool</path></target></pool>`, flags: 1 });
  await assert.rejects(conn.storageVolCreateXML({ pool, xml: encrypted('enc'), flags: 0 }), /no such secret/);
  assert.deepEqual((await conn.storagePoolListAllVolumes({ pool, need_results: 1, flags: 0 })).vols, []);
  await conn.storagePoolRefresh({ pool, flags: 0 });
  await conn.storagePoolDestroy({ pool });
});

test('an upload refreshes its pool when its stream closes', { timeout: 60_000 }, async () => {
  const dir = tempDir('pool-jobs');
  const conn = await connect(`qemu:///embed?root=${dir}/root`);
  try {
    const refreshed: string[] = [];
    let heard!: () => void;
    const refresh = new Promise<void>((r) => (heard = r));
    conn.drivers.events!.subscribe((e: DriverEvent) => {
      if (e.key !== 'storagePoolEventRefresh') return;
      refreshed.push(e.body.pool.name);
      heard();
    });
    const { pool } = await conn.invoke('storagePoolCreateXML', { xml: `<pool type='dir'><name>up</name><target><path>${dir}/pool</path></target></pool>`, flags: 1 });
    const { vol } = await conn.invoke('storageVolCreateXML', { pool, xml: `<volume><name>v</name><capacity unit='MiB'>8</capacity><allocation>0</allocation></volume>`, flags: 0 });
    const before = await conn.invoke('storagePoolGetInfo', { pool });
    const { stream } = await conn.invokeStream('storageVolUpload', { vol, offset: 0n, length: 0n, flags: 0 });
    // the stream's answer (its end) is read, as any caller must
    stream.resume();
    const done = finished(stream);
    stream.end(Buffer.alloc(4 << 20, 1));
    await done;
    await refresh;
    assert.deepEqual(refreshed, ['up']);
    const after = await conn.invoke('storagePoolGetInfo', { pool });
    assert.ok(after.allocation >= before.allocation + (4n << 20n), `the pool's allocation follows the upload: ${before.allocation} -> ${after.allocation}`);
    assert.equal(path.basename((await conn.invoke('storageVolGetPath', { vol })).name), 'v');
  } finally {
    await conn.close();
  }
});
