// The statistics and tuning calls on libvirt's mock driver: through the typed Domain
// handle, and as the protocol carries them (tagged parameters, count queries, packed CPU maps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/api/connection.js';
import { DomainStatsTypes, typedParam } from '../../src/api/types.js';

test('Domain handle: stats, vCPUs, and libvirt\'s mock errors for block and interface counters', async () => {
  const c = await connect('test:///default');
  try {
    const dom = await c.lookupDomainByName('test');
    assert.deepEqual(await dom.getStats(DomainStatsTypes.STATE), [{ field: 'state.state', value: 1 }, { field: 'state.reason', value: 0 }]);
    const { info, cpumaps } = await dom.getVcpus(2);
    assert.deepEqual(info.map((v) => [v.number, v.state, v.cpu]), [[0, 1, 15], [1, 1, 15]]);
    // virsh vcpuinfo: the map is as wide as virNodeGetCPUMap's 8 CPUs, all allowed
    assert.deepEqual(cpumaps[0], [0, 1, 2, 3, 4, 5, 6, 7]);
    await assert.rejects(dom.blockStats('hda'), { message: 'this function is not supported by the connection driver: virDomainBlockStatsFlags' });
    await assert.rejects(dom.interfaceStats('vnet9'), { message: "invalid argument: 'vnet9' is not a known interface" });
  } finally {
    await c.close();
  }
});

test('wire shapes: state stats are ints, memory stats tagged in libvirt\'s order, up to maxStats', async () => {
  const c = await connect('test:///default');
  try {
    const { dom } = await c.invoke('domainLookupByName', { name: 'test' });
    const { retStats } = await c.invoke('connectGetAllDomainStats', { doms: [], stats: DomainStatsTypes.STATE, flags: 0 });
    assert.deepEqual(retStats, [{ dom, params: [typedParam.int('state.state', 1), typedParam.int('state.reason', 0)] }]);
    const { stats } = await c.invoke('domainMemoryStats', { dom, maxStats: 13, flags: 0 });
    // VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON first, RSS last, as testDomainMemoryStats fills them
    assert.deepEqual(stats.map((s) => s.tag), [6, 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 7]);
    assert.deepEqual(stats[0], { tag: 6, val: 2097152n });
    assert.equal((await c.invoke('domainMemoryStats', { dom, maxStats: 2, flags: 0 })).stats.length, 2);
  } finally {
    await c.close();
  }
});

test('typed-parameter getters: nparams 0 asks how many, setters check names and types', async () => {
  const c = await connect('test:///default');
  try {
    const { dom } = await c.invoke('domainLookupByName', { name: 'test' });
    assert.deepEqual(await c.invoke('domainGetMemoryParameters', { dom, nparams: 0, flags: 0 }), { params: [], nparams: 3 });
    // as libvirt's mock, the count is answered before the domain is looked at
    const gone = { name: 'gone', uuid: '00000000-0000-4000-8000-000000000000', id: -1 };
    assert.deepEqual(await c.invoke('domainGetBlkioParameters', { dom: gone, nparams: 0, flags: 1 }), { params: [], nparams: 6 });
    await assert.rejects(c.invoke('domainGetBlkioParameters', { dom: gone, nparams: 6, flags: 1 }), { message: "Domain not found: no domain with matching uuid '00000000-0000-4000-8000-000000000000' (gone)" });
    const unlimited = 9007199254740991n;
    assert.deepEqual((await c.invoke('domainGetMemoryParameters', { dom, nparams: 3, flags: 0 })).params, [
      typedParam.ullong('hard_limit', unlimited), typedParam.ullong('soft_limit', unlimited), typedParam.ullong('swap_hard_limit', unlimited),
    ]);
    await c.invoke('domainSetMemoryParameters', { dom, params: [typedParam.ullong('hard_limit', 1048576)], flags: 0 });
    assert.deepEqual((await c.invoke('domainGetMemoryParameters', { dom, nparams: 1, flags: 0 })).params, [typedParam.ullong('hard_limit', 1048576)]);
    await assert.rejects(c.invoke('domainSetMemoryParameters', { dom, params: [typedParam.int('soft_limit', 1)], flags: 0 }), {
      message: "invalid argument: invalid type 'int' for parameter 'soft_limit', expected 'ullong'",
    });
    await assert.rejects(c.invoke('domainSetMemoryParameters', { dom, params: [typedParam.ullong('min_guarantee', 1)], flags: 0 }), {
      message: "argument unsupported: parameter 'min_guarantee' not supported",
    });
    await assert.rejects(c.invoke('domainSetSchedulerParametersFlags', { dom, params: [typedParam.uint('weight', 1), typedParam.uint('weight', 2)], flags: 0 }), {
      message: "invalid argument: parameter 'weight' occurs multiple times",
    });
    assert.deepEqual(await c.invoke('domainGetSchedulerParametersFlags', { dom, nparams: 1, flags: 0 }), { params: [typedParam.uint('weight', 50)] });
    const blkio = await c.invoke('domainGetBlkioParameters', { dom, nparams: 6, flags: 0 });
    assert.deepEqual(blkio.params.map((p) => [p.field, p.value.type]), [
      ['weight', 2], ['device_weight', 7], ['device_read_iops_sec', 7], ['device_write_iops_sec', 7], ['device_read_bytes_sec', 7], ['device_write_bytes_sec', 7],
    ]);
  } finally {
    await c.close();
  }
});

test('CPU maps: ncpumaps maps of maplen bytes, bits beyond the map dropped', async () => {
  const c = await connect('test:///default');
  try {
    const { dom } = await c.invoke('domainLookupByName', { name: 'test' });
    // 16 host CPUs, none pinned: two bytes of ones per vCPU, and a third map asked for stays empty
    assert.deepEqual(await c.invoke('domainGetVcpuPinInfo', { dom, ncpumaps: 3, maplen: 2, flags: 0 }), { cpumaps: Buffer.from([255, 255, 255, 255, 0, 0]), num: 2 });
    assert.deepEqual(await c.invoke('domainGetEmulatorPinInfo', { dom, maplen: 1, flags: 0 }), { cpumaps: Buffer.from([255]), ret: 1 });
    const { info, cpumaps } = await c.invoke('domainGetVcpus', { dom, maxinfo: 2, maplen: 1 });
    assert.deepEqual([info.length, cpumaps], [2, Buffer.from([255, 255])]);
  } finally {
    await c.close();
  }
});
