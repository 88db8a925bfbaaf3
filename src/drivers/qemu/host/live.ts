// The host tsvirt runs on, read from the kernel the way libvirt reads it:
// /dev/kvm, /proc/cpuinfo, CPUID and MSRs through /dev/cpu/0, the kernel log
// for the TSC, PATH for swtpm and numad, /proc/mounts, /sys for NUMA nodes,
// the firmware descriptor folders. The costly facts (host CPU, swtpm) are read
// once per instance, on first use.

import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loadFirmwareDescriptors, type FirmwareDescriptor } from '../firmware-select.js';
import { decodeHostX86Cpu, hostX86CpuMap, tscKHzFromKernelLog, type CpuSource } from '../host-cpu.js';
import type { HostFacts, HostX86CpuFacts, KvmFacts } from './facts.js';

function preadDevice(path: string, length: number, position: bigint): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(length);
    return readSync(fd, buf, 0, length, position) === length ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The records of the kernel log (/dev/kmsg, root only), oldest first; empty when unreadable. */
function* kernelLogRecords(): Generator<string> {
  let fd: number | undefined;
  try {
    fd = openSync('/dev/kmsg', fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    const buf = Buffer.alloc(8192);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        // EPIPE: records were overwritten while reading, the next read goes on; EAGAIN: the end
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue;
        return;
      }
      yield buf.toString('utf8', 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** The running host's CPU 0 (libvirt assumes all CPUs alike). */
const linuxCpuSource: CpuSource = {
  cpuid(leaf, subleaf) {
    const buf = preadDevice('/dev/cpu/0/cpuid', 16, BigInt(leaf) | (BigInt(subleaf) << 32n));
    return buf ? [buf.readUInt32LE(0), buf.readUInt32LE(4), buf.readUInt32LE(8), buf.readUInt32LE(12)] : undefined;
  },
  msr(index) {
    return preadDevice('/dev/cpu/0/msr', 8, BigInt(index))?.readBigUInt64LE(0);
  },
  // boot messages can rotate out of a long-running host's log: the TSC is then unknown
  tscKHz: () => tscKHzFromKernelLog(kernelLogRecords()),
  kvm: () => existsSync('/dev/kvm'),
};

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A program on PATH, as libvirt's virFindFileInPath finds it. */
function findInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** virTPMHasSwtpm (swtpm, swtpm_setup and swtpm_ioctl installed) and the versions swtpm_setup announces. */
function probeSwtpm(): string[] | undefined {
  const setup = findInPath('swtpm_setup');
  if (!setup || !findInPath('swtpm') || !findInPath('swtpm_ioctl')) return undefined;
  try {
    const out = JSON.parse(process.getBuiltinModule('node:child_process').execFileSync(setup, ['--print-capabilities'], { encoding: 'utf8', timeout: 5000 })) as { features?: string[] };
    const features = out.features ?? [];
    return [['1.2', 'tpm-1.2'], ['2.0', 'tpm-2.0']].filter(([, f]) => features.includes(f!)).map(([v]) => v!);
  } catch {
    return [];
  }
}

export class LiveHostFacts implements HostFacts {
  readonly identity = 'live';
  private cpu: HostX86CpuFacts | null | undefined;
  private swtpm: string[] | null | undefined = null;

  kvmDeviceUsable(): boolean {
    try {
      accessSync('/dev/kvm', fsConstants.R_OK | fsConstants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  hardwareVirtualization(): boolean {
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(readText('/proc/cpuinfo') ?? '');
  }

  async kvm(_arch: string, probe: () => Promise<KvmFacts>): Promise<KvmFacts> {
    return this.kvmDeviceUsable() ? probe() : { enabled: false };
  }

  x86Cpu(): HostX86CpuFacts | undefined {
    if (this.cpu === undefined) {
      const map = hostX86CpuMap();
      const host = map ? decodeHostX86Cpu(map, linuxCpuSource) : undefined;
      this.cpu = map ? { map, ...(host ? { host } : {}) } : null;
    }
    return this.cpu ?? undefined;
  }

  swtpmVersions(): readonly string[] | undefined {
    if (this.swtpm === null) this.swtpm = probeSwtpm();
    return this.swtpm;
  }

  hugetlbfsMounted(): boolean {
    return (readText('/proc/mounts') ?? '').split('\n').some((l) => l.split(' ')[2] === 'hugetlbfs');
  }

  numaNodes(): ReadonlySet<number> {
    let nodes: number[] = [];
    try {
      nodes = readdirSync('/sys/devices/system/node').flatMap((n) => (/^node(\d+)$/.exec(n) ? [Number(n.slice(4))] : []));
    } catch {
      // no NUMA support in the kernel: one node
    }
    return new Set(nodes.length ? nodes : [0]);
  }

  numadAvailable(): boolean {
    return findInPath('numad') !== undefined;
  }

  pathExists(path: string): boolean {
    return existsSync(path);
  }

  firmwareDescriptors(): readonly FirmwareDescriptor[] {
    return loadFirmwareDescriptors();
  }
}
