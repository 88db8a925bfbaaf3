// The qemu driver as the typed driver contract sees it: opened through the
// registry's entry point, called only by procedure key through the one dispatch
// (read-only refusals from the tables, helpers unreachable), answering with the
// wire's shapes (counts without results, packed CPU maps, nulls for absent parts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { dispatch } from '../../src/driver/dispatch.js';
import { DriverFeature } from '../../src/driver/features.js';
import type { ConnectionDrivers } from '../../src/driver/families.js';
import type { ProcKey } from '../../src/driver/procedures.js';
import { parseURI } from '../../src/driver/uri.js';
import { findBinaryForArch } from '../../src/drivers/qemu/capabilities.js';
import { connectConsoleStream } from '../../src/drivers/qemu/console.js';
import { packCpuMaps } from '../../src/drivers/qemu/cpu-maps.js';
import { openQemuConnection } from '../../src/drivers/qemu/driver.js';
import { hostCpuMap } from '../../src/drivers/qemu/host-capabilities.js';
import { domainXML } from './driver-fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';

const skip = findBinaryForArch('x86_64') ? false : 'qemu-system-x86_64 is not installed';
const UUID = 'c7a5fdbd-edaf-9455-926a-d65c16db1809';

async function open(): Promise<ConnectionDrivers> {
  const drivers = await openQemuConnection(parseURI(`qemu:///embed?root=${tempDir('contract')}`), { readonly: false });
  assert.notEqual(drivers, 'declined');
  return drivers as ConnectionDrivers;
}

test('packCpuMaps: maplen bytes per map, bit i for host CPU i, CPUs beyond the map and maps beyond the count left out', () => {
  assert.deepEqual([...packCpuMaps([[0, 9], [1, 2, 15, 16]], 2, 2)], [0x01, 0x02, 0x06, 0x80]);
  assert.deepEqual([...packCpuMaps([[0], [1], [2]], 2, 1)], [0x01, 0x02]);
  assert.deepEqual([...packCpuMaps([[3]], 3, 1)], [0x08, 0, 0], 'maps the driver has no vCPU for stay empty');
});

test('connectConsoleStream: bytes flow both ways; the caller closing ends the session, the session failing ends the stream with its error', async () => {
  const [session, qemuSide] = duplexPair();
  const [stream, caller] = duplexPair();
  connectConsoleStream(session, stream);
  const received: string[] = [];
  caller.on('data', (d: Buffer) => received.push(d.toString()));
  qemuSide.write('login: ');
  const typed = new Promise<string>((resolve) => qemuSide.once('data', (d: Buffer) => resolve(d.toString())));
  caller.write('root\n');
  assert.equal(await typed, 'root\n');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(received, ['login: ']);
  stream.destroy();
  await new Promise((r) => session.once('close', r));

  const [session2] = duplexPair();
  const [stream2] = duplexPair();
  stream2.on('error', () => undefined);
  connectConsoleStream(session2, stream2);
  session2.destroy(new Error('EIO'));
  await new Promise((r) => stream2.once('close', r));
  assert.equal(stream2.errored?.message, 'EIO');
});

test('through dispatch: read-only refusals come from the tables, helpers and unknown names are unreachable', { skip }, async () => {
  const drivers = await open();
  const readonly = { drivers, readonly: true };
  await assert.rejects(dispatch(readonly, 'domainDefineXML', { xml: domainXML('vm1', UUID) }), { message: 'operation forbidden: read only access prevents virDomainDefineXML' });
  const writable = { drivers, readonly: false };
  const { dom } = await dispatch(writable, 'domainDefineXML', { xml: domainXML('vm1', UUID) });
  await assert.rejects(dispatch(readonly, 'domainGetXMLDesc', { dom, flags: 1 }), { message: 'operation forbidden: virDomainGetXMLDesc with secure flag' });
  assert.match((await dispatch(readonly, 'domainGetXMLDesc', { dom, flags: 0 })).xml, /<name>vm1<\/name>/);
  for (const helper of ['withDriverLock', 'objectOf', 'managedSavePath', 'syncDomains']) {
    await assert.rejects(dispatch(writable, helper as ProcKey, { dom } as never), { message: `invalid argument: unknown procedure: ${helper}` });
  }
  // in the tables, not served by this driver (libvirt's qemu driver has no version 1 migration either)
  await assert.rejects(dispatch(writable, 'domainMigratePrepare', { uri_in: null, flags: 0n, dname: null, resource: 0n }), { message: 'this function is not supported by the connection driver: virDomainMigratePrepare' });
  await drivers.close();
});

test('wire shapes: a count without results, the host CPU map, packed vCPU pin maps, the PCI topology with nulls', { skip }, async () => {
  const drivers = await open();
  const target = { drivers, readonly: false };
  const pinned = domainXML('vm1', UUID).replace('<devices>', "<cputune><vcpupin vcpu='1' cpuset='1,3'/></cputune><devices>");
  const { dom } = await dispatch(target, 'domainDefineXML', { xml: pinned });
  assert.deepEqual(await dispatch(target, 'connectListAllDomains', { need_results: 0, flags: 0 }), { domains: [], ret: 1 });
  assert.deepEqual((await dispatch(target, 'connectListAllDomains', { need_results: 1, flags: 0 })).domains, [dom]);

  const host = hostCpuMap().online;
  const maplen = Math.ceil(host.length / 8);
  const cpuMap = await dispatch(target, 'nodeGetCPUMap', { need_map: 1, need_online: 1, flags: 0 });
  assert.equal(cpuMap.ret, host.length);
  assert.equal(cpuMap.online, host.filter(Boolean).length);
  assert.deepEqual(cpuMap.cpumap, packCpuMaps([host.flatMap((on, cpu) => (on ? [cpu] : []))], 1, maplen));
  assert.deepEqual(await dispatch(target, 'nodeGetCPUMap', { need_map: 0, need_online: 0, flags: 0 }), { cpumap: Buffer.alloc(0), online: 0, ret: host.length });

  // vCPU 0 unpinned (every online host CPU), vCPU 1 on CPUs 1 and 3; a third map asked for stays empty
  const pins = await dispatch(target, 'domainGetVcpuPinInfo', { dom, ncpumaps: 3, maplen: 1, flags: 0 });
  assert.equal(pins.num, 2);
  assert.deepEqual([...pins.cpumaps], [...packCpuMaps([host.flatMap((on, cpu) => (on ? [cpu] : []))], 1, 1), 0x0a, 0]);

  const topology = await dispatch(target, 'domainGetPciTopology', { dom, flags: 0 });
  assert.equal(topology.root.model, 'pcie-root');
  assert.equal(topology.root.modelName, null);
  const functions = topology.root.slots.flatMap((s) => s.functions);
  const chipset = functions.find((f) => f.chipset !== null);
  assert.ok(chipset && chipset.device === null && chipset.bus === null, 'a chipset function has no device and no bus: null on the wire');
  assert.ok(topology.root.slots.some((s) => s.functions.length === 0 && typeof s.hotpluggable === 'boolean'), 'free slots say whether they take hotplug');
  assert.ok(topology.root.slots.every((s) => s.functions.length === 0 || s.hotpluggable === null), 'used slots leave hotpluggable null');
  await drivers.close();
});

test('connectSupportsFeature: the global features as libvirt answers them for every driver, migration protocols 2 and 3 (with parameters or not), live or offline, peer-to-peer', { skip }, async () => {
  const drivers = await open();
  const supported = async (feature: DriverFeature) => (await dispatch({ drivers, readonly: true }, 'connectSupportsFeature', { feature })).supported;
  assert.deepEqual(
    await Promise.all([DriverFeature.TYPED_PARAM_STRING, DriverFeature.FD_PASSING, DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER, DriverFeature.XML_MIGRATABLE, DriverFeature.MIGRATION_V2, DriverFeature.MIGRATION_V3, DriverFeature.MIGRATION_PARAMS, DriverFeature.MIGRATION_OFFLINE, DriverFeature.MIGRATION_P2P].map(supported)),
    [1, 1, 1, 1, 1, 1, 1, 1, 1],
  );
  // libvirt's qemu driver says no to version 1 and direct migration too
  assert.deepEqual(await Promise.all([DriverFeature.REMOTE, DriverFeature.PROGRAM_KEEPALIVE, DriverFeature.MIGRATION_V1, DriverFeature.MIGRATION_DIRECT, DriverFeature.MIGRATE_CHANGE_PROTECTION, 99].map(supported)), [0, 0, 0, 0, 0, 0]);
  await drivers.close();
});
