// Runtime statistics of a real guest through tsvirsh, as libvirt 9.0 reports
// them without cgroups: domstats (group and key order), domblkstat, dommemstat,
// vcpuinfo and domifstat, for the guest shut off and running. One boot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { QmpClient } from '../../src/drivers/qemu/qmp.js';
import { BOOT_TIMEOUT_MS, guestDomainXML, Sandbox, SerialLog, testGuest, virtioDiskXML, type TestGuest } from './guest.js';

const guest = testGuest();
const skip = 'skip' in guest ? guest.skip : false;
const MAC = '52:54:00:5a:7a:01';

/** domstats output of one domain as [key, value] pairs in output order. */
function statsOf(stdout: string): [string, string][] {
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^Domain: '.+'$/);
  return lines.slice(1).map((l) => {
    const m = /^ {2}([^=]+)=(.*)$/.exec(l);
    assert.ok(m, `a domstats line: ${l}`);
    return [m[1]!, m[2]!];
  });
}

test('stats of a shut-off and a running guest: libvirt keys, order and plausible values', { skip }, async (t) => {
  const sb = new Sandbox();
  t.after(() => sb.dispose());
  const serial = new SerialLog(sb.file('serial.log'));
  const image = sb.file('disk.img');
  const devices = `${virtioDiskXML(image, 'vda')}<interface type='user'><mac address='${MAC}'/><model type='virtio'/></interface>`;
  await sb.define(guestDomainXML({ name: 'st', machine: 'q35', serialPath: serial.path, guest: guest as TestGuest, devices }));
  const size = String(statSync(image).size);

  // shut off: no QEMU, so no vCPU, interface or QEMU block counters; sizes from the file
  const off = statsOf((await sb.ok('domstats', 'st')).stdout);
  assert.deepEqual(off.map(([k]) => k), [
    'state.state', 'state.reason', 'cpu.time', 'cpu.user', 'cpu.system', 'balloon.current', 'balloon.maximum',
    'vcpu.current', 'vcpu.maximum', 'block.count', 'block.0.name', 'block.0.path', 'block.0.capacity', 'block.0.physical',
  ]);
  assert.deepEqual(Object.fromEntries(off.filter(([k]) => /^(state|balloon|vcpu|block)\./.test(k))), {
    'state.state': '5', 'state.reason': '0', 'balloon.current': '262144', 'balloon.maximum': '262144', 'vcpu.current': '1', 'vcpu.maximum': '1',
    'block.count': '1', 'block.0.name': 'vda', 'block.0.path': image, 'block.0.capacity': size, 'block.0.physical': size,
  });
  assert.match((await sb.ok('vcpuinfo', 'st')).stdout, /^VCPU: {11}0\nCPU: {12}N\/A\nState: {10}N\/A\nCPU time {8}N\/A\nCPU Affinity: {3}y+\n\n$/);
  const notRunning = await sb.run('domblkstat', 'st', 'vda');
  assert.equal(notRunning.stderr, 'error: Requested operation is not valid: domain is not running\n');

  await sb.ok('start', 'st');
  await serial.bootPciDevices(BOOT_TIMEOUT_MS);

  const running = statsOf((await sb.ok('domstats', 'st')).stdout);
  assert.deepEqual(running.map(([k]) => k), [
    'state.state', 'state.reason', 'cpu.time', 'cpu.user', 'cpu.system', 'cpu.cache.monitor.count',
    'cpu.haltpoll.success.time', 'cpu.haltpoll.fail.time',
    'balloon.current', 'balloon.maximum', 'balloon.last-update', 'balloon.rss',
    'vcpu.current', 'vcpu.maximum', 'vcpu.0.state', 'vcpu.0.time', 'vcpu.0.wait', 'vcpu.0.delay',
    'net.count',
    'block.count', 'block.0.name', 'block.0.path', 'block.0.backingIndex',
    'block.0.rd.reqs', 'block.0.rd.bytes', 'block.0.rd.times', 'block.0.wr.reqs', 'block.0.wr.bytes', 'block.0.wr.times',
    'block.0.fl.reqs', 'block.0.fl.times', 'block.0.allocation', 'block.0.capacity', 'block.0.physical',
    'dirtyrate.calc_status', 'dirtyrate.calc_start_time', 'dirtyrate.calc_period', 'dirtyrate.calc_mode',
  ]);
  const v = Object.fromEntries(running);
  const n = (key: string) => Number(v[key]);
  assert.equal(v['state.state'], '1');
  assert.equal(v['state.reason'], '1');
  assert.ok(n('cpu.time') > 0 && n('cpu.time') === n('cpu.user') + n('cpu.system'), `cpu.time ${v['cpu.time']}`);
  assert.equal(v['balloon.current'], '262144');
  assert.ok(n('balloon.rss') > 1024 && n('balloon.rss') < 4 * 1024 * 1024, `rss ${v['balloon.rss']} KiB`);
  assert.equal(v['vcpu.0.state'], '1');
  assert.ok(n('vcpu.0.time') > 0 && n('vcpu.0.time') <= n('cpu.time'));
  assert.equal(v['net.count'], '1');
  assert.equal(v['block.0.backingIndex'], '1');
  assert.ok(n('block.0.rd.reqs') > 0 && n('block.0.rd.bytes') >= 512 * n('block.0.rd.reqs'), 'the guest kernel read the disk');
  assert.equal(v['block.0.capacity'], size);
  assert.deepEqual([v['dirtyrate.calc_status'], v['dirtyrate.calc_mode']], ['0', 'page-sampling']);

  // group selection and list filters
  const chosen = statsOf((await sb.ok('domstats', '--state', '--vcpu', '--list-running')).stdout);
  assert.deepEqual(chosen.map(([k]) => k), ['state.state', 'state.reason', 'vcpu.current', 'vcpu.maximum', 'vcpu.0.state', 'vcpu.0.time', 'vcpu.0.wait', 'vcpu.0.delay']);
  assert.equal((await sb.ok('domstats', '--list-shutoff')).stdout.trim(), '');

  const blk = (await sb.ok('domblkstat', 'st', 'vda')).stdout.trim().split('\n');
  assert.deepEqual(blk.map((l) => l.split(' ')[1]), ['rd_req', 'rd_bytes', 'wr_req', 'wr_bytes', 'flush_operations', 'rd_total_times', 'wr_total_times', 'flush_total_times']);
  assert.ok(blk.every((l) => l.startsWith('vda ') && /^\d+$/.test(l.split(' ')[2]!)));
  assert.ok(Number(blk[0]!.split(' ')[2]) >= n('block.0.rd.reqs'), 'counters only grow');
  assert.match((await sb.ok('domblkstat', 'st', '--human')).stdout, /^Device: \n number of read operations: {6}\d+\n/);
  assert.match((await sb.ok('domblkinfo', 'st', 'vda')).stdout, new RegExp(`^Capacity: {7}${size}\nAllocation: {5}\\d+\nPhysical: {7}${size}\n`));
  const unknown = await sb.run('domblkstat', 'st', 'vdz');
  assert.equal(unknown.stderr, 'error: invalid argument: invalid path: vdz\n');

  assert.match((await sb.ok('dommemstat', 'st')).stdout, /^actual 262144\nlast_update 0\nrss \d+\n/);
  // the guest statistics period: QEMU told, the live definition keeps it
  await sb.ok('dommemstat', 'st', '--period', '2', '--live');
  assert.match((await sb.ok('dumpxml', 'st')).stdout, /<memballoon model='virtio'>\n\s*<stats period='2'\/>/);
  assert.doesNotMatch((await sb.ok('dumpxml', 'st', '--inactive')).stdout, /<stats period/);
  assert.match((await sb.ok('vcpuinfo', 'st')).stdout, /^VCPU: {11}0\nCPU: {12}\d+\nState: {10}running\nCPU time: {7}\d+\.\ds\nCPU Affinity: {3}y[y-]*\n/);
  assert.match((await sb.ok('vcpuinfo', 'st', '--pretty')).stdout, /\nCPU Affinity: {3}[\d,-]+ \(out of \d+\)\n/);

  // a user-mode NIC has no host interface to count on
  const nic = await sb.run('domifstat', 'st', MAC);
  assert.equal(nic.stderr, `error: Failed to get interface stats st ${MAC}\nerror: internal error: Interface name not provided\n`);
  await sb.ok('destroy', 'st');

  // a period in the persistent definition reaches QEMU at the next start (qemuProcessSetupBalloon)
  await sb.ok('dommemstat', 'st', '--period', '3', '--config');
  await sb.ok('start', 'st', '--paused');
  const monitor = /<monitor path='([^']+)'/.exec(readFileSync(sb.statusFile('st'), 'utf8'))![1]!;
  const qmp = await QmpClient.connect(monitor);
  try {
    assert.equal(await qmp.execute('qom-get', { path: '/machine/peripheral/balloon0', property: 'guest-stats-polling-interval' }), 3);
  } finally {
    qmp.close();
  }
  await sb.ok('destroy', 'st');
});
