// The test driver's tuning queries: scheduler, memory and block I/O parameters, CPU pinning,
// and the canned guest filesystems.
// libvirt's mock keeps a fixed scheduler (weight 50, settable but not stored) and
// reads the memory/blkio tunables from the domain definition.

import { oneDefinition } from '../../conf/objects/modification-impact.js';
import type { HypervisorDriver } from '../../driver/families.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { typedParam, typedParamValue, TypedParamType } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { MEMORY_LIMITS, memtuneLimit, setMemtuneLimits, type MemoryLimit } from '../../conf/memtune.js';
import { vcpuCpusets } from '../../conf/cputune.js';
import { parseBitmap } from '../../util/bitmap.js';
import { child, childrenNamed, type XmlElement } from '../../util/xml.js';
import { TestObjects, checkFlags, devices, typedParamsUpTo, AFFECT_LIVE, AFFECT_CONFIG } from './objects.js';

/** The limits virDomainGetMemoryParameters reports and virDomainSetMemoryParameters takes, in that order. */
const MEMORY_PARAMS = { hard_limit: TypedParamType.ULLONG, soft_limit: TypedParamType.ULLONG, swap_hard_limit: TypedParamType.ULLONG };
/** The weight and the five per-device throttle lists. */
const BLKIO_PARAMS = 6;
const TYPED_PARAM_STRING_OKAY = 1 << 2;
const SCHEDULER_WEIGHT = 50;

/** virVcpuState */
const VCPU_RUNNING = 1;

export class TuningAPI extends TestObjects implements HypervisorDriver {
  async domainGetSchedulerType({ dom }: ProcArgs<'domainGetSchedulerType'>): Promise<ProcRet<'domainGetSchedulerType'>> {
    this.domainObj(dom);
    return { type: 'fair', nparams: 1 };
  }

  async domainGetSchedulerParametersFlags({ dom, flags }: ProcArgs<'domainGetSchedulerParametersFlags'>): Promise<ProcRet<'domainGetSchedulerParametersFlags'>> {
    checkFlags(flags, 0, 'testDomainGetSchedulerParametersFlags');
    this.domainObj(dom);
    return { params: [typedParam.uint('weight', SCHEDULER_WEIGHT)] };
  }

  /** Validated like libvirt's, and like libvirt's mock the weight is not kept. */
  async domainSetSchedulerParametersFlags({ dom, params, flags }: ProcArgs<'domainSetSchedulerParametersFlags'>): Promise<void> {
    checkFlags(flags, 0, 'testDomainSetSchedulerParametersFlags');
    validateTypedParams(params, { weight: TypedParamType.UINT });
    this.domainObj(dom);
  }

  async domainGetMemoryParameters({ dom, nparams, flags }: ProcArgs<'domainGetMemoryParameters'>): Promise<ProcRet<'domainGetMemoryParameters'>> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | TYPED_PARAM_STRING_OKAY, 'testDomainGetMemoryParameters');
    // the count comes before any look at the domain
    if (nparams === 0) return { params: [], nparams: Object.keys(MEMORY_PARAMS).length };
    const limits = this.memoryLimits(oneDefinition(this.domainObj(dom), flags).def);
    return typedParamsUpTo([...limits].map(([field, value]) => typedParam.ullong(field, value)), nparams);
  }

  /** The <memtune> limits the memory parameters report, unlimited where unset. */
  private memoryLimits(def: XmlElement): Map<MemoryLimit, bigint> {
    return new Map(MEMORY_LIMITS.map((field) => [field, memtuneLimit(def, field)]));
  }

  /** testDomainSetMemoryParameters: hard and swap limits must stay ordered; unlimited values drop the element. */
  async domainSetMemoryParameters({ dom, params, flags }: ProcArgs<'domainSetMemoryParameters'>): Promise<void> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainSetMemoryParameters');
    validateTypedParams(params, MEMORY_PARAMS);
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const values = params.map((p) => ({ field: p.field, value: typedParamValue(p) as bigint }));
    const current = this.memoryLimits(def);
    for (const p of values) current.set(p.field as MemoryLimit, p.value);
    const given = new Set(params.map((p) => p.field));
    if ((given.has('hard_limit') || given.has('swap_hard_limit')) && current.get('hard_limit')! > current.get('swap_hard_limit')!) {
      throw virError(ErrorCode.INVALID_ARG, 'memory hard_limit tunable value must be lower than or equal to swap_hard_limit', ErrorDomain.NONE);
    }
    setMemtuneLimits(def, new Map(values.map((p) => [p.field as MemoryLimit, p.value])));
  }

  /** virDomainDefGetVcpuPinInfoHelper: each vCPU's pinning, else the domain's cpuset, else every host CPU. */
  async domainGetVcpuPinInfo({ dom, ncpumaps, maplen, flags }: ProcArgs<'domainGetVcpuPinInfo'>): Promise<ProcRet<'domainGetVcpuPinInfo'>> {
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const maps = vcpuCpusets(def, ncpumaps).map((cpuset) => this.hostCpuMap(cpuset));
    return { cpumaps: packCpuMaps(maps, ncpumaps, maplen), num: maps.length };
  }

  /** testDomainGetVcpus: each online vCPU "runs" on the last CPU it may use, its CPU time made up from the clock. */
  async domainGetVcpus({ dom, maxinfo, maplen }: ProcArgs<'domainGetVcpus'>): Promise<ProcRet<'domainGetVcpus'>> {
    const obj = this.domainObj(dom);
    if (!this.isActive(obj)) throw virError(ErrorCode.OPERATION_INVALID, 'cannot list vcpus for an inactive domain', ErrorDomain.TEST);
    const vcpu = child(obj.def, 'vcpu');
    const online = Number(vcpu?.attrs.current ?? (vcpu?.text.trim() || 1));
    const maps = vcpuCpusets(obj.def, Math.min(maxinfo, online)).map((cpuset) => this.hostCpuMap(cpuset));
    // g_get_real_time() / 10
    const cpuTime = BigInt(Date.now()) * 100n;
    return {
      info: maps.map((cpus, number) => ({ number, state: VCPU_RUNNING, cpu: cpus.at(-1) ?? -1, cpu_time: cpuTime })),
      cpumaps: packCpuMaps(maps, maxinfo, maplen),
    };
  }

  /** testDomainGetEmulatorPinInfo: the emulator's pinning, else the domain's cpuset, else every host CPU. */
  async domainGetEmulatorPinInfo({ dom, maplen, flags }: ProcArgs<'domainGetEmulatorPinInfo'>): Promise<ProcRet<'domainGetEmulatorPinInfo'>> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainGetEmulatorPinInfo');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const cputune: XmlElement | undefined = child(def, 'cputune');
    const cpus = this.hostCpuMap((cputune && child(cputune, 'emulatorpin')?.attrs.cpuset) ?? child(def, 'vcpu')?.attrs.cpuset);
    return { cpumaps: packCpuMaps([cpus], 1, maplen), ret: 1 };
  }

  /** A CPU set as a map over the host's CPUs (all of them when unset). */
  private hostCpuMap(cpuset: string | undefined): number[] {
    const { nodes, sockets, cores, threads } = this.node.nodeInfo;
    const hostCpus = nodes * sockets * cores * threads;
    const set = cpuset === undefined ? undefined : parseBitmap(cpuset);
    return [...Array(hostCpus).keys()].filter((cpu) => set?.has(cpu) ?? true);
  }

  /** testDomainGetFSInfo: "/" and "/boot" on the first disk of a running domain. */
  async domainGetFSInfo({ dom, flags }: ProcArgs<'domainGetFSInfo'>): Promise<ProcRet<'domainGetFSInfo'>> {
    checkFlags(flags, 0, 'testDomainGetFSInfo');
    const obj = this.domainObj(dom);
    this.checkActive(obj);
    const disk = devices(obj.def).find((d) => d.name === 'disk' && (d.attrs.device ?? 'disk') === 'disk');
    const dst = disk && child(disk, 'target')?.attrs.dev;
    if (dst === undefined) return { info: [], ret: 0 };
    const info = [
      { mountpoint: '/', name: `${dst}1`, fstype: 'ext4', dev_aliases: [dst] },
      { mountpoint: '/boot', name: `${dst}2`, fstype: 'ext4', dev_aliases: [dst] },
    ];
    return { info, ret: info.length };
  }

  /** virDomainDriverGetIOThreadsConfig: each IOThread's pinning, else the domain's cpuset, else every vCPU. */
  async domainGetIOThreadInfo({ dom, flags }: ProcArgs<'domainGetIOThreadInfo'>): Promise<ProcRet<'domainGetIOThreadInfo'>> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG, 'testDomainGetIOThreadInfo');
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const vcpu = child(def, 'vcpu');
    const vcpus = Number(vcpu?.attrs.current ?? vcpu?.text.trim() ?? 1);
    const pins = childrenNamed(child(def, 'cputune') ?? def, 'iothreadpin');
    const info = childrenNamed(child(def, 'iothreadids') ?? def, 'iothread').map((t) => {
      const iothreadId = Number(t.attrs.id);
      const cpuset = pins.find((p) => Number(p.attrs.iothread) === iothreadId)?.attrs.cpuset ?? vcpu?.attrs.cpuset;
      const set = cpuset === undefined ? undefined : parseBitmap(cpuset);
      const cpus = set ? [...set] : [...Array(vcpus).keys()];
      // virBitmapToData: as many bytes as the highest CPU needs
      const maplen = Math.floor(Math.max(0, ...cpus) / 8) + 1;
      return { iothread_id: iothreadId, cpumap: packCpuMaps([cpus], 1, maplen) };
    });
    return { info, ret: info.length };
  }

  /** testDomainGetBlkioParameters: the weight, then per-device "path,value" lists for each throttle. */
  async domainGetBlkioParameters({ dom, nparams, flags }: ProcArgs<'domainGetBlkioParameters'>): Promise<ProcRet<'domainGetBlkioParameters'>> {
    checkFlags(flags, AFFECT_LIVE | AFFECT_CONFIG | TYPED_PARAM_STRING_OKAY, 'testDomainGetBlkioParameters');
    // the count comes before any look at the domain
    if (nparams === 0) return { params: [], nparams: BLKIO_PARAMS };
    const { def } = oneDefinition(this.domainObj(dom), flags);
    const blkiotune = child(def, 'blkiotune');
    const deviceList = (setting: string): string =>
      childrenNamed(blkiotune ?? def, 'device')
        .flatMap((d) => {
          const value = child(d, setting)?.text.trim();
          return value === undefined || /^0*$/.test(value) ? [] : [`${child(d, 'path')?.text.trim() ?? ''},${value}`];
        })
        .join(',');
    const params = [
      typedParam.uint('weight', Number((blkiotune && child(blkiotune, 'weight')?.text.trim()) ?? 0)),
      typedParam.string('device_weight', deviceList('weight')),
      typedParam.string('device_read_iops_sec', deviceList('read_iops_sec')),
      typedParam.string('device_write_iops_sec', deviceList('write_iops_sec')),
      typedParam.string('device_read_bytes_sec', deviceList('read_bytes_sec')),
      typedParam.string('device_write_bytes_sec', deviceList('write_bytes_sec')),
    ];
    return typedParamsUpTo(params, nparams);
  }
}

/** CPU lists as libvirt packs cpumaps: `count` maps of `maplen` bytes, bit N of a map for host CPU N (beyond maplen dropped). */
function packCpuMaps(maps: readonly number[][], count: number, maplen: number): Buffer {
  const packed = Buffer.alloc(count * maplen);
  maps.slice(0, count).forEach((cpus, i) => {
    for (const cpu of cpus) if (cpu < maplen * 8) packed[i * maplen + (cpu >> 3)]! |= 1 << (cpu & 7);
  });
  return packed;
}
