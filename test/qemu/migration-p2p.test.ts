// Peer-to-peer migration's way in on an embedded qemu driver, without a guest:
// every Perform form with VIR_MIGRATE_PEER2PEER (with parameters, version 3,
// version 2 whose URI is the destination daemon's) opens the destination through
// the composer's PeerOpener, and the refusals that come before it. The
// migrations themselves run between two tsvirtd in test/e2e/migrate-p2p.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispatch } from '../../src/driver/dispatch.js';
import type { ConnectionDrivers } from '../../src/driver/families.js';
import { typedParam } from '../../src/driver/typed-params.js';
import { parseURI } from '../../src/driver/uri.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { openQemuConnection } from '../../src/drivers/qemu/driver.js';
import { ErrorCode, ErrorDomain, virError } from '../../src/util/error.js';

const skip = findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed';
const UUID = 'c7a5fdbd-edaf-9455-926a-d65c16db1809';
const LIVE = 1 << 0;
const PEER2PEER = 1 << 1;
const TUNNELLED = 1 << 2;
const NO_COOKIE = Buffer.alloc(0);
const DCONNURI = 'qemu+unix:///system?socket=/nowhere/libvirt-sock';

test('Perform, Perform3 and Perform3Params with PEER2PEER open the destination through the composer', { skip }, async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-p2p-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const opened: string[] = [];
  const openPeer = async (uri: string): Promise<ConnectionDrivers> => {
    opened.push(uri);
    throw virError(ErrorCode.SYSTEM_ERROR, `Failed to connect socket to '/nowhere/libvirt-sock': No such file or directory`, ErrorDomain.RPC);
  };
  const drivers = (await openQemuConnection(parseURI(`qemu:///embed?root=${root}`), { readonly: false, openPeer })) as ConnectionDrivers;
  t.after(() => drivers.close());
  const rw = { drivers, readonly: false };
  const dom = { name: 'vm1', uuid: UUID, id: -1 };
  const unreachable = { message: `Failed to connect socket to '/nowhere/libvirt-sock': No such file or directory` };

  await assert.rejects(dispatch(rw, 'domainMigratePerform3Params', { dom, dconnuri: DCONNURI, params: [], cookie_in: NO_COOKIE, flags: LIVE | PEER2PEER }), unreachable);
  await assert.rejects(dispatch(rw, 'domainMigratePerform3', { dom, xmlin: null, cookie_in: NO_COOKIE, dconnuri: DCONNURI, uri: null, flags: BigInt(LIVE | PEER2PEER), dname: null, resource: 0n }), unreachable);
  await assert.rejects(dispatch(rw, 'domainMigratePerform', { dom, cookie: NO_COOKIE, uri: DCONNURI, flags: BigInt(LIVE | PEER2PEER), dname: null, resource: 0n }), unreachable);
  assert.deepEqual(opened, [DCONNURI, DCONNURI, DCONNURI]);

  // refused before any connection is opened
  await assert.rejects(dispatch(rw, 'domainMigratePerform3Params', { dom, dconnuri: DCONNURI, params: [typedParam.string('migrate_uri', 'tcp:127.0.0.1:4444')], cookie_in: NO_COOKIE, flags: LIVE | PEER2PEER | TUNNELLED }), {
    message: 'argument unsupported: migration URI is not supported by tunnelled migration',
  });
  await assert.rejects(dispatch(rw, 'domainMigratePerform3Params', { dom, dconnuri: DCONNURI, params: [], cookie_in: NO_COOKIE, flags: LIVE | PEER2PEER | (1 << 30) }), {
    message: 'unsupported flags (0x40000000) in function qemuDomainMigratePerform3Params',
  });
  assert.equal(opened.length, 3);
});
