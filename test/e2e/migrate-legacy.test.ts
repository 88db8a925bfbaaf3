// The older migration calls between two tsvirtd, driven through the library in
// the order libvirt's client makes them (virDomainMigrateVersion3 and
// virDomainMigrateVersion2): virsh and python3-libvirt always take the calls
// with parameters, so nothing else reaches these. First the refusals (a
// tunnelled migration offered to Prepare, flags libvirt does not know, unknown
// domains); then a version 2 migration slowed down by its resource (MiB/s),
// watched and aborted; then the guest moves to the destination with version 3
// under a new name (dname), persistent there and undefined here; last, it comes
// back with version 2 under its first name, transient; and its definition
// alone, offline with version 3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { connect, type Connection } from '../../src/api/connection.js';
import { DomainXMLFlags } from '../../src/driver/flags.js';
import { waitUntil } from './guest.js';
import { agentAnswers, migrationSkip, startGuestOnSource, twoHosts, virshOk } from './migration-hosts.js';

/** virDomainMigrateFlags, as the older calls carry them (unsigned long) */
const LIVE = 1n << 0n;
const TUNNELLED = 1n << 2n;
const PERSIST_DEST = 1n << 3n;
const UNDEFINE_SOURCE = 1n << 4n;
const NON_SHARED_DISK = 1n << 6n;
const OFFLINE = 1n << 10n;
/** virDomainJobType */
const JOB_UNBOUNDED = 2;
const MiB = 1024n * 1024n;
const NO_COOKIE = Buffer.alloc(0);

const missing = migrationSkip('older migration calls test');

async function migratableXML(conn: Connection, name: string): Promise<string> {
  const { dom } = await conn.invoke('domainLookupByName', { name });
  return (await conn.invoke('domainGetXMLDesc', { dom, flags: DomainXMLFlags.MIGRATABLE })).xml;
}

test('Begin3 ... Confirm3 and Prepare2/Perform/Finish2 between two tsvirtd: dname and resource honoured, libvirt\'s refusals', { skip: missing, timeout: 120_000 }, async (t) => {
  const hosts = await twoHosts(t);
  const { S, D } = hosts;
  await startGuestOnSource(hosts, 'mig');
  const src = await connect(S);
  t.after(() => src.close());
  const dst = await connect(D);
  t.after(() => dst.close());
  const { dom } = await src.invoke('domainLookupByName', { name: 'mig' });
  const xml = await migratableXML(src, 'mig');

  // ---- refusals: nothing starts at the destination
  const tunnelled = { message: 'internal error: Tunnelled migration requested but invalid RPC method called' };
  await assert.rejects(dst.invoke('domainMigratePrepare2', { uri_in: null, flags: LIVE | TUNNELLED, dname: null, resource: 0n, dom_xml: xml }), tunnelled);
  await assert.rejects(dst.invoke('domainMigratePrepare3', { cookie_in: NO_COOKIE, uri_in: null, flags: LIVE | TUNNELLED, dname: null, resource: 0n, dom_xml: xml }), tunnelled);
  await assert.rejects(src.invoke('domainMigrateBegin3', { dom, xmlin: null, flags: LIVE | NON_SHARED_DISK, dname: null, resource: 0n }), {
    message: 'unsupported flags (0x40) in function qemuDomainMigrateBegin3',
  });
  // the older calls' flags are 64 bits wide: a bit beyond the 32 of the newer calls is refused too
  await assert.rejects(src.invoke('domainMigratePerform', { dom, cookie: NO_COOKIE, uri: 'tcp:127.0.0.1:1', flags: LIVE | (1n << 40n), dname: null, resource: 0n }), {
    message: 'unsupported flags (0x10000000000) in function qemuDomainMigratePerform',
  });
  const nosuch = { name: 'nosuch', uuid: randomUUID(), id: -1 };
  await assert.rejects(src.invoke('domainMigrateBegin3', { dom: nosuch, xmlin: null, flags: LIVE, dname: null, resource: 0n }), {
    message: `Domain not found: no domain with matching uuid '${nosuch.uuid}' (nosuch)`,
  });
  await assert.rejects(dst.invoke('domainMigrateFinish2', { dname: 'nosuch', cookie: NO_COOKIE, uri: 'tcp:127.0.0.1:1', flags: LIVE, retcode: 0 }), {
    message: "Domain not found: no domain with matching name 'nosuch'",
  });
  await assert.rejects(dst.invoke('domainMigrateFinish3', { dname: 'nosuch', cookie_in: NO_COOKIE, dconnuri: null, uri: null, flags: LIVE, cancelled: 0 }), {
    message: "Domain not found: no domain with matching name 'nosuch'",
  });
  // a name fit for no file
  await assert.rejects(dst.invoke('domainMigratePrepare2', { uri_in: null, flags: LIVE, dname: '../mig', resource: 0n, dom_xml: xml }), {
    message: "XML error: name ../mig cannot contain '/'",
  });
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');
  // cancelled before Perform: Finish2 ends the QEMU that waited, and answers as libvirt does
  const unused = await dst.invoke('domainMigratePrepare2', { uri_in: null, flags: LIVE, dname: null, resource: 0n, dom_xml: xml });
  assert.equal(await virshOk('-c', D, 'domstate', 'mig'), 'paused\n\n');
  await assert.rejects(dst.invoke('domainMigrateFinish2', { dname: 'mig', cookie: unused.cookie, uri: unused.uri_out!, flags: LIVE, retcode: 1 }), {
    message: 'migration successfully aborted',
  });
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');

  // ---- version 2 at the 1 MiB/s of its resource, aborted: the guest runs on at the source, Finish2 ends the destination's QEMU
  const slow = await dst.invoke('domainMigratePrepare2', { uri_in: null, flags: LIVE, dname: null, resource: 1n, dom_xml: xml });
  assert.equal(slow.cookie.length, 0, 'version 2 carries no cookie');
  // libvirt's answer without uri_in: this host's name and a port of the migration range (qemu.conf's 49152-49215)
  const slowPort = Number(new RegExp(`^tcp:${hostname()}:(\\d+)$`).exec(slow.uri_out ?? '')?.[1]);
  assert.ok(slowPort >= 49152 && slowPort <= 49215, slow.uri_out ?? '');
  let performEnded = false;
  const performed = src.invoke('domainMigratePerform', { dom, cookie: slow.cookie, uri: slow.uri_out!, flags: LIVE, dname: null, resource: 1n }).then(
    () => undefined,
    (e: Error) => e,
  ).finally(() => (performEnded = true));
  const job = await waitUntil('2 s of the outgoing migration', 30_000, async () => {
    // unlimited, the tiny guest's RAM would be over in well under 2 s
    if (performEnded) throw new Error(`Perform ended within 2 s (${(await performed)?.message ?? 'completed'}): the resource was not honoured`);
    const info = await src.invoke('domainGetJobInfo', { dom });
    return info.type === JOB_UNBOUNDED && info.timeElapsed >= 2000n ? info : undefined;
  });
  const limit = (job.timeElapsed / 1000n + 1n) * 2n * MiB;
  assert.ok(job.memProcessed <= limit, `${job.memProcessed} bytes sent in ${job.timeElapsed} ms: more than 1 MiB/s allows`);
  await src.invoke('domainAbortJob', { dom });
  assert.equal((await performed)?.message, 'operation aborted: migration out: canceled by client');
  // no guest to hand back (its QEMU may have ended with the stream already); the client keeps Perform's error, not this one
  await assert.rejects(dst.invoke('domainMigrateFinish2', { dname: 'mig', cookie: slow.cookie, uri: slow.uri_out!, flags: LIVE, retcode: 1 }));
  assert.equal(await virshOk('-c', S, 'domstate', 'mig'), 'running\n\n');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');

  // ---- version 3 without parameters, as 'mig-moved': persistent at the destination, undefined at the source
  const there = LIVE | PERSIST_DEST | UNDEFINE_SOURCE;
  const dname = 'mig-moved';
  const begun = await src.invoke('domainMigrateBegin3', { dom, xmlin: null, flags: there, dname, resource: 0n });
  const prepared = await dst.invoke('domainMigratePrepare3', { cookie_in: begun.cookie_out, uri_in: null, flags: there, dname, resource: 0n, dom_xml: begun.xml });
  const uri = prepared.uri_out!;
  const sent = await src.invoke('domainMigratePerform3', { dom, xmlin: null, cookie_in: prepared.cookie_out, dconnuri: null, uri, flags: there, dname, resource: 0n });
  const finished = await dst.invoke('domainMigrateFinish3', { dname, cookie_in: sent.cookie_out, dconnuri: null, uri, flags: there, cancelled: 0 });
  assert.deepEqual([finished.dom.name, finished.dom.uuid], [dname, dom.uuid]);
  await src.invoke('domainMigrateConfirm3', { dom, cookie_in: finished.cookie_out, flags: there, cancelled: 0 });
  assert.equal(await virshOk('-c', S, 'list', '--all', '--name'), '\n');
  assert.equal(await virshOk('-c', D, 'domstate', dname, '--reason'), 'running (migrated)\n\n');
  assert.match(await virshOk('-c', D, 'dominfo', dname), /^Persistent: +yes$/m);
  await agentAnswers(D, dname);

  // ---- back with version 2 under its first name: transient at the source, the destination keeps its definition
  const { dom: moved } = await dst.invoke('domainLookupByName', { name: dname });
  const back = await src.invoke('domainMigratePrepare2', { uri_in: null, flags: LIVE, dname: 'mig', resource: 0n, dom_xml: await migratableXML(dst, dname) });
  await dst.invoke('domainMigratePerform', { dom: moved, cookie: back.cookie, uri: back.uri_out!, flags: LIVE, dname: 'mig', resource: 0n });
  const { ddom } = await src.invoke('domainMigrateFinish2', { dname: 'mig', cookie: back.cookie, uri: back.uri_out!, flags: LIVE, retcode: 0 });
  assert.deepEqual([ddom.name, ddom.uuid], ['mig', dom.uuid]);
  assert.equal(await virshOk('-c', S, 'domstate', 'mig', '--reason'), 'running (migrated)\n\n');
  assert.match(await virshOk('-c', S, 'dominfo', 'mig'), /^Persistent: +no$/m);
  assert.equal(await virshOk('-c', D, 'domstate', dname, '--reason'), 'shut off (migrated)\n\n');
  await agentAnswers(S, 'mig');

  // ---- offline, version 3 without parameters: the definition alone goes back as 'mig' (Prepare3 keeps it for Finish3)
  await virshOk('-c', S, 'destroy', 'mig');
  const offline = OFFLINE | PERSIST_DEST | UNDEFINE_SOURCE;
  const offBegun = await dst.invoke('domainMigrateBegin3', { dom: moved, xmlin: null, flags: offline, dname: 'mig', resource: 0n });
  const offPrepared = await src.invoke('domainMigratePrepare3', { cookie_in: offBegun.cookie_out, uri_in: null, flags: offline, dname: 'mig', resource: 0n, dom_xml: offBegun.xml });
  // no Perform: the client hands Prepare3's cookie on to Finish3
  const offFinished = await src.invoke('domainMigrateFinish3', { dname: 'mig', cookie_in: offPrepared.cookie_out, dconnuri: null, uri: offPrepared.uri_out, flags: offline, cancelled: 0 });
  assert.deepEqual([offFinished.dom.name, offFinished.dom.uuid], ['mig', dom.uuid]);
  await dst.invoke('domainMigrateConfirm3', { dom: moved, cookie_in: offFinished.cookie_out, flags: offline, cancelled: 0 });
  assert.equal(await virshOk('-c', S, 'list', '--all'), ' Id   Name   State\n-----------------------\n -    mig    shut off\n\n');
  assert.equal(await virshOk('-c', D, 'list', '--all', '--name'), '\n');
});
