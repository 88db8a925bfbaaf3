// The public API's Connection over stand-in drivers: calls by procedure key reach
// the family's method with the args struct, what the tables lack or the driver
// lacks fails with libvirt's errors, read-only and public-API flag checks come
// before any driver code, streams join caller and driver, and the handles turn
// wire structs into plain values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { connect, Connection, Domain } from '../../src/api/connection.js';
import { cpuMapCpus, cString, typedParam, type DomainRef } from '../../src/api/types.js';
import type { ConnectionDrivers, HypervisorDriver } from '../../src/driver/families.js';
import type { ProcKey } from '../../src/driver/procedures.js';

const DOM: DomainRef = { name: 'vm', uuid: '9b7c2c80-0c7a-4a8a-8f3c-4d7a7b2f0c11', id: 3 };

function open(hypervisor: HypervisorDriver, readonly = false): Connection {
  const drivers: ConnectionDrivers = { hypervisor, close: async () => undefined };
  return new Connection(drivers, readonly, 'fake:///');
}

test('a call reaches the family method with its args struct and returns its ret struct', async () => {
  const seen: unknown[] = [];
  const conn = open({
    domainGetXMLDesc: async (args) => {
      seen.push(args);
      return { xml: '<domain/>' };
    },
  });
  assert.deepEqual(await conn.invoke('domainGetXMLDesc', { dom: DOM, flags: 2 }), { xml: '<domain/>' });
  assert.deepEqual(seen, [{ dom: DOM, flags: 2 }]);
  assert.equal(await new Domain(conn, DOM).getXMLDesc(2), '<domain/>');
});

test('names outside the protocol tables and methods the driver lacks fail as libvirt fails', async () => {
  const conn = open({});
  await assert.rejects(conn.invoke('domainGetXMLDesc', { dom: DOM, flags: 0 }), {
    message: 'this function is not supported by the connection driver: virDomainGetXMLDesc',
  });
  await assert.rejects(conn.invoke('withDriverLock' as ProcKey as 'connectGetType'), { message: /unknown procedure: withDriverLock/ });
});

test('a read-only connection refuses what libvirt refuses before the driver runs', async () => {
  let called = false;
  const conn = open(
    {
      domainDefineXML: async () => {
        called = true;
        return { dom: DOM };
      },
      domainGetXMLDesc: async () => ({ xml: '<domain/>' }),
    },
    true,
  );
  await assert.rejects(conn.defineDomain('<domain/>'), { message: 'operation forbidden: read only access prevents virDomainDefineXML' });
  await assert.rejects(new Domain(conn, DOM).getXMLDesc(1), { message: 'operation forbidden: virDomainGetXMLDesc with secure flag' });
  assert.equal(await new Domain(conn, DOM).getXMLDesc(0), '<domain/>');
  assert.equal(called, false);
});

test("the public API's flag rules are checked once, before the driver", async () => {
  let called = false;
  const conn = open({
    domainGetMemoryParameters: async () => {
      called = true;
      return { params: [], nparams: 0 };
    },
  });
  await assert.rejects(conn.invoke('domainGetMemoryParameters', { dom: DOM, nparams: 0, flags: 3 }), {
    message: "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive",
  });
  await assert.rejects(conn.invoke('domainSetVcpusFlags', { dom: DOM, nvcpus: 2, flags: 4 }), {
    message: "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'",
  });
  assert.equal(called, false);
  assert.deepEqual(await conn.invoke('domainGetMemoryParameters', { dom: DOM, nparams: 0, flags: 1 }), { params: [], nparams: 0 });
});

test('a stream procedure joins the caller and the driver: data both ways, and closing one end closes the other', async () => {
  let driverSide: Duplex | undefined;
  const conn = open({
    domainOpenConsole: async (_args, stream) => {
      driverSide = stream;
      stream.on('data', (d: Buffer) => stream.write(`echo:${d}`));
    },
  });
  const console = await new Domain(conn, DOM).openConsole();
  const reply = new Promise<string>((resolve) => console.once('data', (d: Buffer) => resolve(String(d))));
  console.write('hi');
  assert.equal(await reply, 'echo:hi');
  const driverClosed = new Promise((resolve) => driverSide!.once('close', resolve));
  console.destroy();
  await driverClosed;
  assert.equal(driverSide!.destroyed, true);
});

test('a failing stream open leaves no stream behind', async () => {
  let driverSide: Duplex | undefined;
  const conn = open({
    domainOpenConsole: async (_args, stream) => {
      driverSide = stream;
      throw new Error('no console');
    },
  });
  await assert.rejects(new Domain(conn, DOM).openConsole(), { message: 'no console' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(driverSide!.destroyed, true);
});

test('handles turn wire structs into plain values', async () => {
  const conn = open({
    domainGetInfo: async () => ({ state: 1, maxMem: 131072n, memory: 65536n, nrVirtCpu: 2, cpuTime: 5n }),
    nodeGetCPUMap: async () => ({ cpumap: Buffer.from([0xff, 0x01]), online: 9, ret: 9 }),
    domainGetVcpus: async ({ maplen }) => ({
      info: [
        { number: 0, state: 1, cpu_time: 7n, cpu: 2 },
        { number: 1, state: 1, cpu_time: 8n, cpu: 8 },
      ],
      cpumaps: Buffer.from(maplen === 2 ? [0x05, 0x00, 0x00, 0x01] : []),
    }),
    connectGetAllDomainStats: async ({ doms }) => ({
      retStats: doms.map((dom) => ({ dom, params: [typedParam.int('state.state', 1), typedParam.ullong('balloon.current', 1024), typedParam.boolean('x', true)] })),
    }),
  });
  const dom = new Domain(conn, DOM);
  assert.deepEqual(await dom.getInfo(), { state: 1, maxMem: 131072, memory: 65536, nrVirtCpu: 2, cpuTime: 5n });
  assert.deepEqual(await dom.getVcpus(2), {
    info: [
      { number: 0, state: 1, cpuTime: 7n, cpu: 2 },
      { number: 1, state: 1, cpuTime: 8n, cpu: 8 },
    ],
    cpumaps: [[0, 2], [8]],
  });
  assert.deepEqual(await dom.getStats(), [
    { field: 'state.state', value: 1 },
    { field: 'balloon.current', value: 1024n },
    { field: 'x', value: true },
  ]);
  assert.deepEqual((await conn.getCPUMap()).online, [true, true, true, true, true, true, true, true, true]);
});

test('wire helpers: C strings end at their NUL, CPU maps list the set bits of one map', () => {
  assert.equal(cString([...Buffer.from('x86_64'), 0, 65]), 'x86_64');
  assert.equal(cString([...Buffer.from('none')]), 'none');
  assert.deepEqual(cpuMapCpus(Buffer.from([0x01, 0x80, 0x06, 0x00]), 1, 2), [1, 2]);
});

test('a URI no driver serves fails as virConnectOpen does', async () => {
  await assert.rejects(connect('nosuch:///x'), { message: 'no connection driver available for nosuch:///x' });
});
