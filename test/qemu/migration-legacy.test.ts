// The older migration calls' refusals on an embedded qemu driver, without a
// guest: read-only connections, flags checked under the older function's name
// (64 bits wide), a tunnelled migration offered to Prepare, unknown domains.
// The migrations themselves run between two tsvirtd in test/e2e/migrate-legacy.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispatch } from '../../src/driver/dispatch.js';
import type { ConnectionDrivers } from '../../src/driver/families.js';
import { parseURI } from '../../src/driver/uri.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { openQemuConnection } from '../../src/drivers/qemu/driver.js';
import { domainXML } from './driver-fixtures.js';

const skip = findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed';
const UUID = 'c7a5fdbd-edaf-9455-926a-d65c16db1809';
const LIVE = 1n;
const TUNNELLED = 1n << 2n;
const NO_COOKIE = Buffer.alloc(0);

test('the older migration calls: read-only refusal, flags by the older name, no tunnel through Prepare, unknown domains', { skip }, async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-migleg-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const drivers = (await openQemuConnection(parseURI(`qemu:///embed?root=${root}`), { readonly: false })) as ConnectionDrivers;
  t.after(() => drivers.close());
  const rw = { drivers, readonly: false };
  const ro = { drivers, readonly: true };
  const dom = { name: 'vm1', uuid: UUID, id: -1 };
  const xml = domainXML('vm1', UUID);

  const forbidden = (api: string) => ({ message: `operation forbidden: read only access prevents ${api}` });
  await assert.rejects(dispatch(ro, 'domainMigrateBegin3', { dom, xmlin: null, flags: LIVE, dname: null, resource: 0n }), forbidden('virDomainMigrateBegin3'));
  await assert.rejects(dispatch(ro, 'domainMigratePrepare2', { uri_in: null, flags: LIVE, dname: null, resource: 0n, dom_xml: xml }), forbidden('virDomainMigratePrepare2'));
  await assert.rejects(dispatch(ro, 'domainMigratePerform', { dom, cookie: NO_COOKIE, uri: 'tcp:127.0.0.1:1', flags: LIVE, dname: null, resource: 0n }), forbidden('virDomainMigratePerform'));

  await assert.rejects(dispatch(rw, 'domainMigratePerform3', { dom, xmlin: null, cookie_in: NO_COOKIE, dconnuri: null, uri: null, flags: LIVE | (1n << 32n) | (1n << 6n), dname: null, resource: 0n }), {
    message: 'unsupported flags (0x100000040) in function qemuDomainMigratePerform3',
  });
  await assert.rejects(dispatch(rw, 'domainMigrateConfirm3', { dom, cookie_in: NO_COOKIE, flags: 1n << 63n, cancelled: 0 }), {
    message: 'unsupported flags (0x8000000000000000) in function qemuDomainMigrateConfirm3',
  });
  await assert.rejects(dispatch(rw, 'domainMigratePrepare3', { cookie_in: NO_COOKIE, uri_in: null, flags: TUNNELLED, dname: null, resource: 0n, dom_xml: xml }), {
    message: 'internal error: Tunnelled migration requested but invalid RPC method called',
  });
  await assert.rejects(dispatch(rw, 'domainMigrateBegin3', { dom, xmlin: null, flags: LIVE, dname: null, resource: 0n }), {
    message: `Domain not found: no domain with matching uuid '${UUID}' (vm1)`,
  });
  await assert.rejects(dispatch(rw, 'domainMigrateFinish3', { dname: 'vm1', cookie_in: NO_COOKIE, dconnuri: null, uri: null, flags: LIVE, cancelled: 0 }), {
    message: "Domain not found: no domain with matching name 'vm1'",
  });
  // offline: a shut-off domain's definition is what Begin3 hands on
  await dispatch(rw, 'domainDefineXML', { xml });
  const offline = (1n << 10n) | (1n << 3n);
  const begun = await dispatch(rw, 'domainMigrateBegin3', { dom, xmlin: null, flags: offline, dname: 'renamed', resource: 0n });
  assert.match(begun.xml, /<name>vm1<\/name>/);
  assert.match(begun.cookie_out.toString(), /^<qemu-migration>[^]*<name>vm1<\/name>[^]*\0$/);
});
