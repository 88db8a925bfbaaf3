// schedinfo, memtune, domjobinfo, domdisplay and the network runtime commands on
// test:///default, with the output real virsh 9.0 prints for the same commands
// (each command's output is followed by virsh's separator newline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { tempDir } from '../helpers/temp-dir.js';

async function tsvirsh(commands: string): Promise<{ out: string; err: string; rc: number }> {
  let out = '';
  let err = '';
  const rc = await run(['-c', 'test:///default', commands], { out: (t) => void (out += t), err: (t) => void (err += t) }, {});
  return { out, err, rc };
}

test('schedinfo shows the fair scheduler; --set validates names, values and flags', async () => {
  const sched = 'Scheduler      : fair\n';
  assert.deepEqual(await tsvirsh('schedinfo test --set weight=100'), { out: `${sched}weight         : 50\n\n`, err: '', rc: 0 });
  assert.deepEqual(await tsvirsh('schedinfo test --set foo=1'), { out: `${sched}\n`, err: 'error: invalid scheduler option: foo\n', rc: 1 });
  assert.equal((await tsvirsh('schedinfo test --weight abc')).err, "error: invalid argument: Invalid value for field 'weight': expected unsigned int\n");
  assert.equal((await tsvirsh('schedinfo test --current')).err, 'error: unsupported flags (0x4) in function testDomainGetSchedulerParametersFlags\n');
  assert.equal((await tsvirsh('schedinfo test --set weight')).err, 'error: Invalid syntax for --set, expecting name=value\n');
});

test('memtune reports unset limits as unlimited and refuses live and config together', async () => {
  const limits = ['hard_limit     ', 'soft_limit     ', 'swap_hard_limit'].map((f) => `${f}: unlimited\n`).join('');
  assert.deepEqual(await tsvirsh('memtune test'), { out: `${limits}\n`, err: '', rc: 0 });
  const both = await tsvirsh('memtune test --live --config');
  assert.equal(both.rc, 1);
  assert.equal(both.err, "error: Unable to get number of memory parameters\nerror: Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive\n");
});

test('vcpupin and emulatorpin show affinities over the CPUs of the host CPU map', async () => {
  assert.equal((await tsvirsh('vcpupin test')).out, ' VCPU   CPU Affinity\n----------------------\n 0      0-7\n 1      0-7\n\n');
  assert.equal((await tsvirsh('emulatorpin test')).out, 'emulator: CPU Affinity\n----------------------------------\n       *: 0-7\n\n');
  assert.equal((await tsvirsh('vcpupin test --vcpu 5')).err, 'error: vcpu 5 is out of range of live cpu count 2\n');
  const xml = join(tempDir('pin'), 'p.xml');
  writeFileSync(
    xml,
    "<domain type='test'><name>p</name><memory>1024</memory><vcpu cpuset='1-3'>3</vcpu>" +
      "<cputune><vcpupin vcpu='1' cpuset='5'/><emulatorpin cpuset='6-7'/></cputune><os><type>hvm</type></os></domain>",
  );
  const r = await tsvirsh(`define ${xml}; vcpupin p; emulatorpin p; vcpupin p --live`);
  assert.equal(
    r.out,
    `Domain 'p' defined from ${xml}\n\n VCPU   CPU Affinity\n----------------------\n 0      1-3\n 1      5\n 2      1-3\n\n` +
      'emulator: CPU Affinity\n----------------------------------\n       *: 6-7\n\n\n',
  );
  assert.equal(r.err, 'error: cannot get vcpupin for offline domain\n');
});

test('domfsinfo lists the canned filesystems of the first disk of a running domain', async () => {
  const table = ' Mountpoint   Name   Type   Target\n------------------------------------\n /            vda1   ext4   vda\n /boot        vda2   ext4   vda\n';
  assert.deepEqual(await tsvirsh('domfsinfo test'), { out: `${table}\n`, err: '', rc: 0 });
  const stopped = await tsvirsh('destroy test; domfsinfo test');
  assert.equal(stopped.err, 'error: Unable to get filesystem information\nerror: Requested operation is not valid: domain is not running\n');
});

test('iothreadinfo lists IOThreads with their pinning, else the vCPUs', async () => {
  assert.deepEqual(await tsvirsh('iothreadinfo test'), { out: 'No IOThreads found for the domain\n', err: '', rc: 0 });
  const xml = join(tempDir('iothreads'), 'i.xml');
  writeFileSync(
    xml,
    "<domain type='test'><name>i</name><memory>1024</memory><vcpu current='3'>4</vcpu><iothreads>3</iothreads>" +
      "<iothreadids><iothread id='5'/></iothreadids><cputune><iothreadpin iothread='5' cpuset='2-3'/></cputune><os><type>hvm</type></os></domain>",
  );
  const r = await tsvirsh(`define ${xml}; iothreadinfo i`);
  assert.equal(r.out, `Domain 'i' defined from ${xml}\n\n IOThread ID   CPU Affinity\n-----------------------------\n 5             2-3\n 1             0-2\n 2             0-2\n\n`);
});

test('memtune sets limits in KiB on the chosen definition and keeps hard_limit <= swap_hard_limit', async () => {
  const r = await tsvirsh('memtune test --hard-limit 100 --soft-limit 2M; memtune test; memtune test --config');
  assert.equal(
    r.out,
    '\nhard_limit     : 100\nsoft_limit     : 2048\nswap_hard_limit: unlimited\n\n' +
      'hard_limit     : unlimited\nsoft_limit     : unlimited\nswap_hard_limit: unlimited\n\n',
  );
  const xml = await tsvirsh('memtune test --hard-limit 100; dumpxml test');
  assert.match(xml.out, /<currentMemory unit='KiB'>2097152<\/currentMemory>\n  <memtune>\n    <hard_limit unit='KiB'>100<\/hard_limit>\n  <\/memtune>\n/);
  assert.equal(
    (await tsvirsh('memtune test --hard-limit 100 --swap-hard-limit 50')).err,
    'error: Unable to change memory parameters\nerror: invalid argument: memory hard_limit tunable value must be lower than or equal to swap_hard_limit\n',
  );
});

test('blkiotune prints the weight and per-device throttle lists from <blkiotune>', async () => {
  const xml = join(tempDir('blkio'), 'b.xml');
  writeFileSync(
    xml,
    "<domain type='test'><name>b</name><memory>1024</memory><blkiotune><weight>300</weight>" +
      '<device><path>/dev/sda</path><weight>200</weight><read_bytes_sec>1000</read_bytes_sec></device>' +
      '<device><path>/dev/sdb</path><weight>100</weight><write_iops_sec>5</write_iops_sec></device></blkiotune><os><type>hvm</type></os></domain>',
  );
  const r = await tsvirsh(`define ${xml}; blkiotune b; blkiotune b --live`);
  assert.equal(
    r.out,
    `Domain 'b' defined from ${xml}\n\nweight         : 300\ndevice_weight  : /dev/sda,200,/dev/sdb,100\ndevice_read_iops_sec: \n` +
      'device_write_iops_sec: /dev/sdb,5\ndevice_read_bytes_sec: /dev/sda,1000\ndevice_write_bytes_sec: \n\n\n',
  );
  assert.equal(r.err, 'error: Unable to get blkio parameters\nerror: Requested operation is not valid: domain is not running\n');
});

test('calls the test driver lacks fail with the "not supported" error', async () => {
  assert.equal((await tsvirsh('domjobinfo test')).err, 'error: this function is not supported by the connection driver: virDomainGetJobInfo\n');
  assert.equal(
    (await tsvirsh('net-dhcp-leases default')).err,
    'error: Failed to get leases info for default\nerror: this function is not supported by the connection driver: virNetworkGetDHCPLeases\n',
  );
  assert.equal((await tsvirsh('net-port-list default')).err, 'error: this function is not supported by the connection driver: virNetworkListAllPorts\n');
});

test('domdisplay builds URIs from the graphics devices of a running domain', async () => {
  assert.deepEqual(await tsvirsh('domdisplay test'), { out: '\n', err: 'error: No graphical display found\n', rc: 1 });
  const xml = join(tempDir('display'), 'g.xml');
  writeFileSync(
    xml,
    "<domain type='test'><name>g</name><memory>1024</memory><os><type>hvm</type></os><devices>" +
      "<graphics type='vnc' port='5901' listen='127.0.0.1' passwd='pw'/><graphics type='spice' port='5902' tlsPort='5903'/></devices></domain>",
  );
  const r = await tsvirsh(`create ${xml}; domdisplay g; domdisplay g --all; domdisplay g --include-password; domdisplay g --type rdp`);
  assert.equal(r.out, `Domain 'g' created from ${xml}\n\nvnc://127.0.0.1:1\nvnc://127.0.0.1:1\nspice://localhost:5902?tls-port=5903\n\nvnc://:pw@127.0.0.1:1\n\n`);
  assert.equal(r.err, "error: No graphical display with type 'rdp' found\n");
});
