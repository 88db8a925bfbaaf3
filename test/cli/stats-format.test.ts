// virsh's layouts for domblkstat (legacy spellings, --human labels, leftover
// fields) and vcpuinfo (running, shut off, --pretty affinity).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBlockStats } from '../../src/cli/commands/domain-monitor.js';
import { formatVcpuInfo } from '../../src/cli/commands/domain-runtime.js';

const QEMU_PARAMS = [
  { field: 'wr_bytes', value: 4096 }, { field: 'wr_operations', value: 1 }, { field: 'rd_bytes', value: 512 }, { field: 'rd_operations', value: 1 },
  { field: 'flush_operations', value: 0 }, { field: 'wr_total_times', value: 5 }, { field: 'rd_total_times', value: 3880133 }, { field: 'flush_total_times', value: 0 },
];

test('domblkstat: virsh order and older spellings first, whatever else after', () => {
  assert.equal(formatBlockStats('vda', [...QEMU_PARAMS, { field: 'wr_merged', value: 7 }], false), [
    'vda rd_req 1', 'vda rd_bytes 512', 'vda wr_req 1', 'vda wr_bytes 4096', 'vda flush_operations 0',
    'vda rd_total_times 3880133', 'vda wr_total_times 5', 'vda flush_total_times 0', 'vda wr_merged 7', '',
  ].join('\n'));
  // the sum over all disks: an empty device name
  assert.match(formatBlockStats('', QEMU_PARAMS, false), /^ rd_req 1\n rd_bytes 512\n/);
});

test('domblkstat --human: a Device header and labels padded to 31 columns', () => {
  assert.equal(formatBlockStats('vda', [{ field: 'rd_operations', value: 2 }, { field: 'errs', value: 0 }, { field: 'flush_total_times', value: 9 }], true),
    'Device: vda\n number of read operations:      2\n error count:                    0\n total duration of flushes (ns): 9\n');
});

test('vcpuinfo: a running vCPU, CPU time only when known, affinity as y/- or a range', () => {
  const info = { number: 1, state: 1, cpuTime: 2_450_000_000n, cpu: 3 };
  assert.equal(formatVcpuInfo(1, info, [0, 2, 3, 9], 4, false), 'VCPU:           1\nCPU:            3\nState:          running\nCPU time:       2.5s\nCPU Affinity:   y-yy\n');
  assert.equal(formatVcpuInfo(1, { ...info, cpuTime: 0n, state: 7 }, [0, 1], 2, true), 'VCPU:           1\nCPU:            3\nState:          no state\nCPU Affinity:   0-1 (out of 2)\n');
});

test('vcpuinfo of a shut-off domain: N/A lines, "CPU time" without its colon as in virsh', () => {
  assert.equal(formatVcpuInfo(0, undefined, [1], 2, false), 'VCPU:           0\nCPU:            N/A\nState:          N/A\nCPU time        N/A\nCPU Affinity:   -y\n');
});
