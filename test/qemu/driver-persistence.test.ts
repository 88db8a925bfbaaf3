// Persistent state across connections and processes: what one connection
// defines, the next one (or a concurrent one) sees; broken config files are
// reported by name and skipped while the others load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import { DomainXMLFlags } from '../../src/api/types.js';
import { parseURI } from '../../src/driver/uri.js';
import { openQemuDriver } from '../../src/drivers/qemu/driver.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { domainXML } from './driver-fixtures.js';
import { ATOMIC_TEMP_PREFIX } from '../../src/util/atomic-file.js';
import { tempDir } from '../helpers/temp-dir.js';

const skip = findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed';
const UUID1 = '0b0b0b0b-1111-2222-3333-444444444441';
const UUID2 = '0b0b0b0b-1111-2222-3333-444444444442';

const tmpRoot = () => tempDir('persist');

test('a domain defined in one connection is there, identical, after reopening', { skip }, async () => {
  const root = tmpRoot();
  const first = await connect(`qemu:///embed?root=${root}`);
  // re-parsing this output would renumber the virtio console (libvirt does so after a restart)
  const consoles = "<serial type='pty'><target port='0'/></serial><console type='pty'><target type='virtio' port='0'/></console>";
  const dom = await first.defineDomain(domainXML('keep', UUID1, 131072, consoles));
  await dom.setAutostart(true);
  const xml = await dom.getXMLDesc(DomainXMLFlags.INACTIVE);
  await first.close();

  const second = await connect(`qemu:///embed?root=${root}`);
  const again = await second.lookupDomainByName('keep');
  assert.equal(again.uuid, UUID1);
  assert.equal(await again.getXMLDesc(DomainXMLFlags.INACTIVE), xml);
  assert.equal(await again.getAutostart(), true);
});

test('concurrent connections see each other\'s defines and undefines', { skip }, async () => {
  const root = tmpRoot();
  const a = await connect(`qemu:///embed?root=${root}`);
  const b = await connect(`qemu:///embed?root=${root}`);
  await a.defineDomain(domainXML('shared', UUID1));
  assert.equal((await b.lookupDomainByName('shared')).uuid, UUID1);
  await assert.rejects(b.defineDomain(domainXML('shared', UUID2)), { message: /already exists with uuid/ });
  await (await b.lookupDomainByName('shared')).undefine();
  await assert.rejects(a.lookupDomainByName('shared'), { message: "Domain not found: no domain with matching name 'shared'" });
});

test('a corrupt config file is reported by name and skipped; the others load', { skip }, async () => {
  const root = tmpRoot();
  const first = await connect(`qemu:///embed?root=${root}`);
  await first.defineDomain(domainXML('good', UUID1));
  const bad = path.join(root, 'etc', 'qemu', 'bad.xml');
  writeFileSync(bad, "<domain type='qemu'><name>bad</name>");
  // what a writer killed between write and rename leaves behind
  writeFileSync(path.join(root, 'etc', 'qemu', `${ATOMIC_TEMP_PREFIX}good.xml.4242.deadbeef`), '<domain');
  const misnamed = path.join(root, 'etc', 'qemu', 'other.xml');
  writeFileSync(misnamed, domainXML('notother', UUID2));

  const warnings: string[] = [];
  const driver = await openQemuDriver(parseURI(`qemu:///embed?root=${root}`), { warn: (m) => warnings.push(m) });
  assert.deepEqual((await driver.connectListAllDomains({ need_results: 1, flags: 0 })).domains.map((d) => d.name), ['good']);
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes(`'${bad}'`)), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes(`'${misnamed}'`) && w.includes("does not match domain name 'notother'")), warnings.join('\n'));
  await driver.connectListAllDomains({ need_results: 1, flags: 0 });
  assert.equal(warnings.length, 2, 'each broken file is reported once, not on every call');
});
