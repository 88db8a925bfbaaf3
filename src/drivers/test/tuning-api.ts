// The test driver's tuning queries: scheduler, memory and block I/O parameters, CPU pinning,
// and the canned guest filesystems.
// libvirt's mock keeps a fixed scheduler (weight 50, settable but not stored) and
// reads the memory/blkio tunables from the domain definition.

import { oneDefinition } from '../../conf/objects/modification-impact.js';
import type { DomainFSInfo, DomainRef, DomainVcpuInfo, TypedParam } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { parseMemoryKiB } from '../../conf/units.js';
import { vcpuCpusets } from '../../conf/cputune.js';
import { parseBitmap } from '../../util/bitmap.js';
import { child, childrenNamed, element, type XmlElement } from '../../util/xml.js';
import { TestObjects, checkFlags, devices, AFFECT_LIVE, AFFECT_CONFIG } from './objects.js';

/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED: the value of a limit that is not set. */
const MEMORY_UNLIMITED = 9007199254740991n;
/** <memtune>'s children in libvirt's order. */
const MEMTUNE_LIMITS = ['hard_limit', 'soft_limit', 'min_guarantee', 'swap_hard_limit'];
const TYPED_PARAM_STRING_OKAY = 1 << 2;
const SCHEDULER_WEIGHT = 50;

/** virVcpuState */
const VCPU_RUNNING = 1;

export class TuningAPI extends TestObjects {
  async domainGetSchedulerType(dom: DomainRef): Promise<{ type: string; nparams: number }> {
    this.domainObj(dom);
    return { type: 'fair', nparams: 1 };
  }

  async domainGetSchedulerParametersFlags(dom: DomainRef, flags = 0): Promise<TypedParam[]> {
    checkFlags(flags, 0, 'testDomainGetSchedulerParametersFlags');
    this.domainObj(dom);
    return [{ field: 'weight', value: SCHEDULER_WEIGHT }];
  }

  /** Validated like libvirt's, and like libvirt's mock the weight is not kept. */
  async domainSetSchedulerParametersFlags(dom: DomainRef, params: TypedParam[], flags = 0): Promise<void> {
    checkFlags(flags, 0, 'testDomainSetSchedulerParametersFlags');
    const unknown = params.find((p) => p.field !== 'weight');
    if (unknown) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `parameter '${unknown.field}' not supported`, ErrorDomain.NONE);
    this.domainObj(dom);
  }

  async domainGetMemoryParameters(dom: DomainRef, flags = 0): Promise<TypedParam[]> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | TYPED_PARAM_STRING_OKAY, 'testDomainGetMemoryParameters');
    const memtune = child(oneDefinition(this.domainObj(dom), flags).def, 'memtune');
    const limit = (name: string): bigint => {
      const el = memtune && child(memtune, name);
      return el ? parseMemoryKiB(el.text.trim(), el.attrs.unit, `./memtune/${name}[1]`) : MEMORY_UNLIMITED;
    };
    return ['hard_limit', 'soft_limit', 'swap_hard_limit'].map((field) => ({ field, value: limit(field) }));
  }

  /** testDomainSetMemoryParameters: hard and swap limits must stay ordered; unlimited values drop the element. */
  async domainSetMemoryParameters(dom: DomainRef, params: TypedParam[], flags = 0): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainSetMemoryParameters');
    const unknown = params.find((p) => !['hard_limit', 'soft_limit', 'swap_hard_limit'].includes(p.field));
    if (unknown) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `parameter '${unknown.field}' not supported`, ErrorDomain.NONE);
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const current = new Map((await this.domainGetMemoryParameters(dom, flags)).map((p) => [p.field, BigInt(p.value as bigint)]));
    for (const p of params) current.set(p.field, BigInt(p.value as number | bigint));
    const given = new Set(params.map((p) => p.field));
    if ((given.has('hard_limit') || given.has('swap_hard_limit')) && current.get('hard_limit')! > current.get('swap_hard_limit')!) {
      throw virError(ErrorCode.INVALID_ARG, 'memory hard_limit tunable value must be lower than or equal to swap_hard_limit', ErrorDomain.NONE);
    }
    let memtune = child(def, 'memtune');
    if (!memtune) {
      // libvirt formats <memtune> right after the memory sizes and <blkiotune>
      const names = def.children.map((c) => c.name);
      const after = Math.max(...['maxMemory', 'memory', 'currentMemory', 'blkiotune'].map((n) => names.lastIndexOf(n)));
      def.children.splice(after + 1, 0, (memtune = element('memtune')));
    }
    const limits = new Map(memtune.children.map((c) => [c.name, c]));
    for (const p of params) {
      const value = BigInt(p.value as number | bigint);
      if (value === MEMORY_UNLIMITED) limits.delete(p.field);
      else limits.set(p.field, element(p.field, { unit: 'KiB' }, [], String(value)));
    }
    memtune.children = MEMTUNE_LIMITS.flatMap((name) => limits.get(name) ?? []);
    if (memtune.children.length === 0) def.children.splice(def.children.indexOf(memtune), 1);
  }

  /** virDomainDefGetVcpuPinInfoHelper: each vCPU's pinning, else the domain's cpuset, else every host CPU. */
  async domainGetVcpuPinInfo(dom: DomainRef, ncpumaps: number, flags = 0): Promise<number[][]> {
    const { def } = oneDefinition(this.domainObj(dom), flags);
    return vcpuCpusets(def, ncpumaps).map((cpuset) => this.hostCpuMap(cpuset));
  }

  /** testDomainGetVcpus: each online vCPU "runs" on the last CPU it may use, its CPU time made up from the clock. */
  async domainGetVcpus(dom: DomainRef, maxinfo: number): Promise<{ info: DomainVcpuInfo[]; cpumaps: number[][] }> {
    const obj = this.domainObj(dom);
    if (!this.isActive(obj)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot list vcpus for an inactive domain', ErrorDomain.TEST);
    const vcpu = child(obj.def, 'vcpu');
    const online = Number(vcpu?.attrs.current ?? (vcpu?.text.trim() || 1));
    const cpumaps = vcpuCpusets(obj.def, Math.min(maxinfo, online)).map((cpuset) => this.hostCpuMap(cpuset));
    // g_get_real_time() / 10
    const cpuTime = BigInt(Date.now()) * 100n;
    return { info: cpumaps.map((cpus, number) => ({ number, state: VCPU_RUNNING, cpu: cpus.at(-1) ?? -1, cpuTime })), cpumaps };
  }

  /** testDomainGetEmulatorPinInfo: the emulator's pinning, else the domain's cpuset, else every host CPU. */
  async domainGetEmulatorPinInfo(dom: DomainRef, flags = 0): Promise<number[]> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainGetEmulatorPinInfo');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const cputune: XmlElement | undefined = child(def, 'cputune');
    return this.hostCpuMap((cputune && child(cputune, 'emulatorpin')?.attrs.cpuset) ?? child(def, 'vcpu')?.attrs.cpuset);
  }

  /** A CPU set as a map over the host's CPUs (all of them when unset). */
  private hostCpuMap(cpuset: string | undefined): number[] {
    const { nodes, sockets, cores, threads } = this.node.nodeInfo;
    const hostCpus = nodes * sockets * cores * threads;
    const set = cpuset === undefined ? undefined : parseBitmap(cpuset);
    return [...Array(hostCpus).keys()].filter((cpu) => set?.has(cpu) ?? true);
  }

  /** testDomainGetFSInfo: "/" and "/boot" on the first disk of a running domain. */
  async domainGetFSInfo(dom: DomainRef, flags = 0): Promise<DomainFSInfo[]> {
    checkFlags(flags, 0, 'testDomainGetFSInfo');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    const disk = devices(obj.def).find((d) => d.name === 'disk' && (d.attrs.device ?? 'disk') === 'disk');
    const dst = disk && child(disk, 'target')?.attrs.dev;
    if (dst === undefined) return [];
    return [
      { mountpoint: '/', name: `${dst}1`, fstype: 'ext4', devAlias: [dst] },
      { mountpoint: '/boot', name: `${dst}2`, fstype: 'ext4', devAlias: [dst] },
    ];
  }

  /** virDomainDriverGetIOThreadsConfig: each IOThread's pinning, else the domain's cpuset, else every vCPU. */
  async domainGetIOThreadInfo(dom: DomainRef, flags = 0): Promise<{ iothreadId: number; cpus: number[] }[]> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainGetIOThreadInfo');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const vcpu = child(def, 'vcpu');
    const vcpus = Number(vcpu?.attrs.current ?? vcpu?.text.trim() ?? 1);
    const pins = childrenNamed(child(def, 'cputune') ?? def, 'iothreadpin');
    return childrenNamed(child(def, 'iothreadids') ?? def, 'iothread').map((t) => {
      const iothreadId = Number(t.attrs.id);
      const cpuset = pins.find((p) => Number(p.attrs.iothread) === iothreadId)?.attrs.cpuset ?? vcpu?.attrs.cpuset;
      const set = cpuset === undefined ? undefined : parseBitmap(cpuset);
      return { iothreadId, cpus: set ? [...set].sort((a, b) => a - b) : [...Array(vcpus).keys()] };
    });
  }

  /** testDomainGetBlkioParameters: the weight, then per-device "path,value" lists for each throttle. */
  async domainGetBlkioParameters(dom: DomainRef, flags = 0): Promise<TypedParam[]> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | TYPED_PARAM_STRING_OKAY, 'testDomainGetBlkioParameters');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const blkiotune = child(def, 'blkiotune');
    const deviceList = (setting: string): string =>
      childrenNamed(blkiotune ?? def, 'device')
        .flatMap((d) => {
          const value = child(d, setting)?.text.trim();
          return value === undefined || /^0*$/.test(value) ? [] : [`${child(d, 'path')?.text.trim() ?? ''},${value}`];
        })
        .join(',');
    return [
      { field: 'weight', value: Number((blkiotune && child(blkiotune, 'weight')?.text.trim()) ?? 0) },
      { field: 'device_weight', value: deviceList('weight') },
      { field: 'device_read_iops_sec', value: deviceList('read_iops_sec') },
      { field: 'device_write_iops_sec', value: deviceList('write_iops_sec') },
      { field: 'device_read_bytes_sec', value: deviceList('read_bytes_sec') },
      { field: 'device_write_bytes_sec', value: deviceList('write_bytes_sec') },
    ];
  }
}
