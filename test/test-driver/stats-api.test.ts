// The statistics calls through the typed Domain handle, on libvirt's mock driver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/api/connection.js';
import { DomainStatsTypes } from '../../src/api/types.js';

test('Domain handle: stats, vCPUs, and libvirt\'s mock errors for block and interface counters', async () => {
  const c = await connect('test:///default');
  try {
    const dom = await c.lookupDomainByName('test');
    assert.deepEqual(await dom.getStats(DomainStatsTypes.STATE), [{ field: 'state.state', value: 1 }, { field: 'state.reason', value: 0 }]);
    const { info, cpumaps } = await dom.getVcpus(2);
    assert.deepEqual(info.map((v) => [v.number, v.state, v.cpu]), [[0, 1, 15], [1, 1, 15]]);
    assert.equal(cpumaps[0]!.length, 16);
    await assert.rejects(dom.blockStats('hda'), { message: 'this function is not supported by the connection driver: virDomainBlockStatsFlags' });
    await assert.rejects(dom.interfaceStats('vnet9'), { message: "invalid argument: 'vnet9' is not a known interface" });
  } finally {
    await c.close();
  }
});
