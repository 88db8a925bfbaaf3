// In-process PCI address assignment time for pc and q35 domains of growing
// size, up to the largest device count the define pipeline accepts (found by
// bisection). Prints per-size minimum and median and the time per device, so
// near-linear growth shows as a flat µs/device column. The minimum is the
// figure to compare on a busy machine: medians there include preemption and
// garbage-collection pauses left by the parse.
//
//   node dist/bench/address-assignment.js [--runs N]

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDomainXML } from '../src/conf/domain.js';
import { QemuCapsCache, findBinaryForArch, type QemuCaps } from '../src/drivers/qemu/capabilities.js';
import { qemuDomainHooks } from '../src/drivers/qemu/domain-hooks.js';
import { LiveHostFacts } from '../src/drivers/qemu/host/live.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;

/** A domain with `count` virtio disks (every one needs its own PCI slot or port). */
function domainXML(machine: string, count: number): string {
  const disks: string[] = [];
  for (let i = 0; i < count; i++) {
    disks.push(`<disk type='file' device='disk'><source file='/var/tmp/d${i}.img'/><target dev='vd${diskSuffix(i)}' bus='virtio'/></disk>`);
  }
  return `<domain type='qemu'><name>bench</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
<memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='${machine}'>hvm</type></os>
<devices>${disks.join('')}</devices></domain>`;
}

/** libvirt's disk names: a..z, aa..zz, aaa.. */
function diskSuffix(i: number): string {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(97 + ((n - 1) % 26)) + s;
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Milliseconds spent in address assignment for one define, or undefined when the define is refused. */
function timeAssignment(caps: QemuCaps, xml: string): number | undefined {
  const hooks = qemuDomainHooks({
    caps, hotplugPcieSparePorts: 1, spiceTLS: false, privileged: false,
    channelTargetDir: path.join(os.tmpdir(), 'channel'), nvramDir: path.join(os.tmpdir(), 'nvram'),
  });
  const assign = hooks.assignAddresses!;
  let ms = 0;
  hooks.assignAddresses = (dom) => {
    const t0 = process.hrtime.bigint();
    assign(dom);
    ms = Number(process.hrtime.bigint() - t0) / 1e6;
  };
  try {
    parseDomainXML(xml, { hooks });
    return ms;
  } catch {
    return undefined;
  }
}

function largestAccepted(caps: QemuCaps, machine: string): number {
  let lo = 1;
  let hi = 1;
  while (timeAssignment(caps, domainXML(machine, hi)) !== undefined && hi < 1 << 16) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (timeAssignment(caps, domainXML(machine, mid)) !== undefined) lo = mid;
    else hi = mid;
  }
  return lo;
}

async function main(): Promise<void> {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-bench-'));
  try {
    const binary = findBinaryForArch('x86_64');
    if (!binary) throw new Error('qemu-system-x86_64 is not installed (run scripts/setup.sh)');
    const caps = await new QemuCapsCache(cacheDir, new LiveHostFacts()).get(binary);
    console.log(`address assignment, ${runs} runs (virtio disks, one PCI endpoint each)`);
    console.log('machine  devices      min ms   median ms  µs/device (min)');
    for (const machine of ['pc', 'q35']) {
      const max = largestAccepted(caps, machine);
      for (const n of [...new Set([10, 100, 500, max])].filter((k) => k <= max).sort((a, b) => a - b)) {
        const xml = domainXML(machine, n);
        const samples: number[] = [];
        for (let r = 0; r < runs; r++) samples.push(timeAssignment(caps, xml)!);
        const min = Math.min(...samples);
        console.log(`${machine.padEnd(8)} ${String(n).padStart(7)} ${min.toFixed(3).padStart(11)} ${median(samples).toFixed(3).padStart(11)} ${((min * 1000) / n).toFixed(2).padStart(16)}${n === max ? '   (largest accepted)' : ''}`);
      }
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

await main();
