// The library's migrate calls over stand-in drivers: virDomainMigrate3 drives
// Begin, Prepare, Perform, Finish and Confirm across two connections, each
// step's cookie going to the next and the parameters completed as libvirt's
// client completes them; a failed Perform cancels at the destination and keeps
// its own error; virDomainMigrateToURI3 makes the source's single Perform call;
// the refusals come before any driver is called, with libvirt's messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, Domain } from '../../src/api/connection.js';
import { MigrateFlags, MigrateParam } from '../../src/api/migrate.js';
import { typedParam, typedParamValue, type DomainRef, type TypedParam } from '../../src/api/types.js';
import type { HypervisorDriver } from '../../src/driver/families.js';
import { DriverFeature } from '../../src/driver/features.js';
import { ErrorCode, ErrorDomain, VirError, virError } from '../../src/util/error.js';

const DOM: DomainRef = { name: 'vm', uuid: '9b7c2c80-0c7a-4a8a-8f3c-4d7a7b2f0c11', id: 3 };
const MIGRATED: DomainRef = { ...DOM, id: 1 };

const open = (hypervisor: HypervisorDriver) => new Connection({ hypervisor, close: async () => undefined }, false, 'fake:///');

/** A driver answering the features in `features`; each call is logged by key with its args. */
function fakeDriver(log: Array<[string, Record<string, unknown>]>, features: DriverFeature[], methods: HypervisorDriver): HypervisorDriver {
  const logged = Object.fromEntries(
    Object.entries(methods).map(([key, fn]) => [key, async (args: Record<string, unknown>) => (log.push([key, args]), (fn as (a: unknown) => unknown)(args))]),
  );
  return { connectSupportsFeature: async ({ feature }) => ({ supported: features.includes(feature) ? 1 : 0 }), ...logged } as HypervisorDriver;
}

const fields = (params: unknown) => Object.fromEntries((params as TypedParam[]).map((p) => [p.field, typedParamValue(p)]));
const cookie = (s: string) => Buffer.from(s);

function twoEnds(perform: () => Promise<{ cookie_out: Buffer }>) {
  const log: Array<[string, Record<string, unknown>]> = [];
  const all = [DriverFeature.MIGRATION_PARAMS, DriverFeature.MIGRATION_V3, DriverFeature.MIGRATION_P2P, DriverFeature.MIGRATE_CHANGE_PROTECTION];
  const source = open(
    fakeDriver(log, all, {
      domainMigrateBegin3Params: async () => ({ cookie_out: cookie('begin'), xml: '<domain/>' }),
      domainGetState: async () => ({ state: 1, reason: 1 }),
      domainMigratePerform3Params: perform,
      domainMigrateConfirm3Params: async () => undefined,
    }),
  );
  const dest = open(
    fakeDriver(log, all, {
      domainMigratePrepare3Params: async () => ({ cookie_out: cookie('prepare'), uri_out: 'tcp://dst:49152' }),
      domainMigrateFinish3Params: async ({ cancelled }) => {
        if (cancelled) throw virError(ErrorCode.MIGRATE_FINISH_OK, undefined, ErrorDomain.QEMU);
        return { dom: MIGRATED, cookie_out: cookie('finish') };
      },
    }),
  );
  return { log, source, dest, dom: new Domain(source, DOM) };
}

test('migrate3 drives the five steps, each cookie passed on, the XML, URI and name completed as libvirt does', async () => {
  const { log, dest, dom } = twoEnds(async () => ({ cookie_out: cookie('perform') }));
  const migrated = await dom.migrate3(dest, [typedParam.ullong(MigrateParam.BANDWIDTH, 5)], MigrateFlags.LIVE | MigrateFlags.AUTO_CONVERGE);
  assert.deepEqual(migrated.ref, MIGRATED);
  assert.equal(migrated.connection, dest);
  const calls = log.map(([key]) => key);
  assert.deepEqual(calls, ['domainMigrateBegin3Params', 'domainGetState', 'domainMigratePrepare3Params', 'domainMigratePerform3Params', 'domainMigrateFinish3Params', 'domainMigrateConfirm3Params']);
  const args = Object.fromEntries(log);
  const flags = MigrateFlags.LIVE | MigrateFlags.AUTO_CONVERGE;
  // change protection for the source's steps alone; the destination never sees AUTO_CONVERGE
  assert.equal(args.domainMigrateBegin3Params!.flags, flags | MigrateFlags.CHANGE_PROTECTION);
  assert.equal(args.domainMigratePrepare3Params!.flags, MigrateFlags.LIVE);
  assert.deepEqual(args.domainMigratePrepare3Params!.cookie_in, cookie('begin'));
  assert.deepEqual(fields(args.domainMigratePrepare3Params!.params), { bandwidth: 5n, destination_xml: '<domain/>' });
  assert.deepEqual(args.domainMigratePerform3Params!.cookie_in, cookie('prepare'));
  assert.equal(args.domainMigratePerform3Params!.dconnuri, null);
  assert.deepEqual(fields(args.domainMigratePerform3Params!.params), { bandwidth: 5n, destination_xml: '<domain/>', migrate_uri: 'tcp://dst:49152' });
  assert.deepEqual(args.domainMigrateFinish3Params!.cookie_in, cookie('perform'));
  assert.equal(args.domainMigrateFinish3Params!.cancelled, 0);
  assert.equal(fields(args.domainMigrateFinish3Params!.params).destination_name, 'vm');
  assert.deepEqual(args.domainMigrateConfirm3Params!.cookie_in, cookie('finish'));
  assert.equal(args.domainMigrateConfirm3Params!.cancelled, 0);
});

test("a failed Perform cancels at the destination, skips Confirm and keeps Perform's error", async () => {
  const failure = virError(ErrorCode.OPERATION_FAILED, 'migration out: broken', ErrorDomain.QEMU);
  const { log, dest, dom } = twoEnds(async () => {
    throw failure;
  });
  await assert.rejects(dom.migrate3(dest, [], MigrateFlags.LIVE), failure);
  assert.deepEqual(log.map(([key]) => key).slice(-2), ['domainMigratePerform3Params', 'domainMigrateFinish3Params']);
  assert.equal(log.at(-1)![1].cancelled, 1);
});

test('to daemons without params, migrate3 makes the older version 3 calls with the four parameters they carry', async () => {
  const log: Array<[string, Record<string, unknown>]> = [];
  const v3 = [DriverFeature.MIGRATION_V3];
  const source = open(
    fakeDriver(log, v3, {
      domainMigrateBegin3: async () => ({ cookie_out: cookie('begin'), xml: '<domain/>' }),
      domainGetInfo: async () => ({ state: 3, maxMem: 0n, memory: 0n, nrVirtCpu: 1, cpuTime: 0n }),
      domainMigratePerform3: async () => ({ cookie_out: cookie('perform') }),
      domainMigrateConfirm3: async () => undefined,
    }),
  );
  const dest = open(
    fakeDriver(log, v3, {
      domainMigratePrepare3: async () => ({ cookie_out: cookie('prepare'), uri_out: 'tcp://dst:49152' }),
      domainMigrateFinish3: async () => ({ dom: MIGRATED, cookie_out: cookie('finish') }),
    }),
  );
  const dom = new Domain(source, DOM);
  await assert.rejects(dom.migrate3(dest, [typedParam.string(MigrateParam.LISTEN_ADDRESS, '::')], MigrateFlags.LIVE), {
    message: 'argument unsupported: Migration APIs with extensible parameters are not supported but extended parameters were passed',
  });
  assert.equal(log.length, 0);
  await dom.migrate3(dest, [typedParam.ullong(MigrateParam.BANDWIDTH, 7)], MigrateFlags.LIVE);
  assert.deepEqual(log.map(([key]) => key), ['domainMigrateBegin3', 'domainGetInfo', 'domainMigratePrepare3', 'domainMigratePerform3', 'domainMigrateFinish3', 'domainMigrateConfirm3']);
  const args = Object.fromEntries(log);
  // a paused guest stays paused at the destination
  const flags = BigInt(MigrateFlags.LIVE | MigrateFlags.PAUSED);
  assert.deepEqual(args.domainMigratePrepare3, { cookie_in: cookie('begin'), uri_in: null, flags, dname: null, resource: 7n, dom_xml: '<domain/>' });
  assert.deepEqual(args.domainMigratePerform3, { dom: DOM, xmlin: null, cookie_in: cookie('prepare'), dconnuri: null, uri: 'tcp://dst:49152', flags, dname: null, resource: 7n });
  assert.deepEqual(args.domainMigrateFinish3, { dname: 'vm', cookie_in: cookie('perform'), dconnuri: null, uri: 'tcp://dst:49152', flags, cancelled: 0 });
  assert.deepEqual(args.domainMigrateConfirm3, { dom: DOM, cookie_in: cookie('finish'), flags, cancelled: 0 });
});

test('migrateToURI3 --p2p is the source daemon’s one Perform call with the destination URI', async () => {
  const { log, dom } = twoEnds(async () => ({ cookie_out: cookie('') }));
  await dom.migrateToURI3('qemu+tcp://elsewhere/system', [], MigrateFlags.LIVE | MigrateFlags.PEER2PEER);
  const [key, args] = log.at(-1)!;
  assert.equal(key, 'domainMigratePerform3Params');
  assert.equal(args.dconnuri, 'qemu+tcp://elsewhere/system');
  assert.equal(args.flags, MigrateFlags.LIVE | MigrateFlags.PEER2PEER);
});

test('refusals before any migration step, with libvirt’s messages', async () => {
  const { log, dest, dom } = twoEnds(async () => ({ cookie_out: cookie('') }));
  const refused = (message: string, code = ErrorCode.INVALID_ARG) => (e: unknown) => e instanceof VirError && e.code === code && e.message === message;
  await assert.rejects(dom.migrate3(dest, [], MigrateFlags.TUNNELLED), refused('cannot perform tunnelled migration without using peer2peer flag'));
  await assert.rejects(dom.migrate3(dest, [], MigrateFlags.PEER2PEER), refused('use virDomainMigrateToURI3 for peer-to-peer migration'));
  await assert.rejects(dom.migrate3(dest, [], MigrateFlags.NON_SHARED_DISK | MigrateFlags.NON_SHARED_INC), refused("Flags 'VIR_MIGRATE_NON_SHARED_DISK' and 'VIR_MIGRATE_NON_SHARED_INC' are mutually exclusive"));
  await assert.rejects(dom.migrateToURI3('qemu:///system', [], MigrateFlags.PEER2PEER), refused('Attempt to migrate guest to the same host'));
  await assert.rejects(dom.migrateToURI3('qemu+tcp://localhost/system', [], MigrateFlags.PEER2PEER), refused('Attempt to migrate guest to the same host'));
  // a source that cannot migrate directly (qemu never can)
  await assert.rejects(dom.migrateToURI3(null, [], MigrateFlags.LIVE), refused('argument unsupported: direct migration is not supported by the source host', ErrorCode.ARGUMENT_UNSUPPORTED));
  assert.deepEqual(log, []);
});
