// The secret driver through the library API on qemu:///embed: lifecycle and
// value events reach the connection's subscribers, values survive a new
// connection (the files of etc/secrets), ephemeral secrets never reach etc/,
// and another driver of the process may read a private secret's value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import { SecretEventType } from '../../src/driver/event-numbers.js';
import type { DriverEvent } from '../../src/driver/events.js';
import { parseURI } from '../../src/driver/uri.js';
import { openSecretDriver } from '../../src/drivers/secret/driver.js';

const UUID = '0b7e6a52-7d1f-4c44-9a51-3f0d6a0c1e01';
const EPHEMERAL = '0b7e6a52-7d1f-4c44-9a51-3f0d6a0c1e02';

test('secret events, persistence and private values on qemu:///embed', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tsvirt-secret-'));
  const uri = `qemu:///embed?root=${dir}`;
  try {
    const conn = await connect(uri);
    const seen: string[] = [];
    try {
      assert.ok(conn.drivers.events, 'the connection reports events');
      conn.drivers.events.subscribe((e: DriverEvent) => {
        if (e.key === 'secretEventLifecycle') seen.push(`${e.body.secret.usageID}:${SecretEventType[e.body.event]}`);
        if (e.key === 'secretEventValueChanged') seen.push(`${e.body.secret.usageID}:VALUE`);
      });
      const xml = `<secret private='yes'><uuid>${UUID}</uuid><usage type='volume'><volume>/x.img</volume></usage></secret>`;
      const { secret } = await conn.invoke('secretDefineXML', { xml, flags: 0 });
      await conn.invoke('secretSetValue', { secret, value: Buffer.from('passphrase'), flags: 0 });
      await assert.rejects(conn.invoke('secretGetValue', { secret, flags: 0 }), /Invalid secret: secret is private/);
      const ephemeralXml = `<secret ephemeral='yes'><uuid>${EPHEMERAL}</uuid><usage type='ceph'><name>e</name></usage></secret>`;
      const { secret: ephemeral } = await conn.invoke('secretDefineXML', { xml: ephemeralXml, flags: 0 });
      await conn.invoke('secretSetValue', { secret: ephemeral, value: Buffer.from('gone at boot'), flags: 0 });
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(seen, ['/x.img:DEFINED', '/x.img:VALUE', 'e:DEFINED', 'e:VALUE']);
    } finally {
      await conn.close();
    }

    const etc = path.join(dir, 'etc', 'secrets');
    assert.deepEqual((await readdir(etc)).sort(), [`${UUID}.base64`, `${UUID}.xml`]);
    for (const f of await readdir(etc)) assert.equal((await stat(path.join(etc, f))).mode & 0o777, 0o600, f);
    assert.equal((await stat(etc)).mode & 0o777, 0o700);

    // a new connection finds both; the driver's own callers read the private value
    const driver = await openSecretDriver(parseURI(uri), { readonly: false });
    assert.equal((await driver.secretValueFor(UUID)).toString(), 'passphrase');
    assert.equal((await driver.secretValueFor(EPHEMERAL)).toString(), 'gone at boot');
    const listed = await driver.connectListAllSecrets({ need_results: 1, flags: 1 /* EPHEMERAL */ });
    assert.deepEqual(listed.secrets.map((s) => s.uuid), [EPHEMERAL]);
    await driver.secretUndefine({ secret: { uuid: UUID, usageType: 1, usageID: '/x.img' } });
    assert.deepEqual(await readdir(etc), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
