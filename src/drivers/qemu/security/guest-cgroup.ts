// A running guest's cgroup as libvirt's vircgroup layer sees it: found from the
// QEMU process's own /proc/PID/cgroup, on either backend — cgroup v1 (one folder
// per controller: cpu.shares, cpu.cfs_*_us, memory.*limit_in_bytes, blkio.weight)
// or cgroup v2 (one unified folder: cpu.weight, cpu.max, memory.max/high,
// io.weight) — with libvirt's ranges, unlimited values and messages. The
// per-thread subgroups (emulator, vcpuN, iothreadN) hold the thread controllers.
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import { systemError } from '../../../util/errno-text.js';

export type CgroupController = 'cpu' | 'cpuacct' | 'cpuset' | 'memory' | 'blkio';
export const CGROUP_CONTROLLERS: readonly CgroupController[] = ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio'];
/** the controllers libvirt splits per thread (virCgroupNewThread) */
export const THREAD_CONTROLLERS: readonly CgroupController[] = ['cpu', 'cpuacct', 'cpuset'];
/** cgroup v2's names for the controllers it has under another name (blkio is io; cpuacct is part of cpu) */
const V2_NAMES: Record<CgroupController, string> = { cpu: 'cpu', cpuacct: 'cpu', cpuset: 'cpuset', memory: 'memory', blkio: 'io' };

/** VIR_DOMAIN_MEMORY_PARAM_UNLIMITED, in KiB */
export const MEMORY_UNLIMITED_KIB = 9007199254740991n;
export const CPU_SHARES_MIN = 2n;
export const CPU_SHARES_MAX = 262144n;
export const CPU_PERIOD_MIN = 1000n;
export const CPU_PERIOD_MAX = 1000000n;
export const CPU_QUOTA_MIN = 1000n;
/** (ULLONG_MAX / 1000 ... ) libvirt's ceiling for cfs_quota_us */
export const CPU_QUOTA_MAX = 17592186044415n;

export type ThreadKind = 'emulator' | 'vcpu' | 'iothread';

/** A block device's blkio setting, by cgroup v2's io.max key (and 'weight'). */
export type BlkioDeviceKind = 'weight' | 'riops' | 'wiops' | 'rbps' | 'wbps';
const V1_THROTTLE_FILES = { riops: 'read_iops', wiops: 'write_iops', rbps: 'read_bps', wbps: 'write_bps' } as const;

function parseCgroupInteger(text: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw virError(ErrorCode.INTERNAL_ERROR, `Unable to parse '${text}' as an integer`, ErrorDomain.CGROUP);
  return BigInt(text.trim());
}

/** virCgroupGetBlockDevString: "MAJOR:MINOR" of a block device, with libvirt's errors. */
async function blockDeviceString(devicePath: string): Promise<string> {
  let info;
  try {
    info = await stat(devicePath);
  } catch (e) {
    throw systemError(`Path '${devicePath}' is not accessible`, e, ErrorDomain.CGROUP);
  }
  if (!info.isBlockDevice()) throw virError(ErrorCode.SYSTEM_ERROR, `Path '${devicePath}' must be a block device: Invalid argument`, ErrorDomain.CGROUP);
  // glibc's major()/minor() of a dev_t
  const rdev = BigInt(info.rdev);
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Where each cgroup v1 controller and the cgroup v2 tree are mounted. */
export interface CgroupMounts {
  v1: Map<string, string>;
  v2?: string;
}

export async function cgroupMounts(mountinfo = '/proc/self/mountinfo'): Promise<CgroupMounts> {
  const mounts: CgroupMounts = { v1: new Map() };
  const text = await readFile(mountinfo, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fstype, , options] = after.split(' ');
    const mountPoint = before.split(' ')[4]!;
    if (fstype === 'cgroup2') mounts.v2 ??= mountPoint;
    if (fstype !== 'cgroup') continue;
    for (const option of options?.split(',') ?? []) if (!mounts.v1.has(option)) mounts.v1.set(option, mountPoint);
  }
  return mounts;
}

/** The unlimited value cgroup v1 reports (the root memory group's limit, as libvirt reads it), in KiB. */
async function v1UnlimitedKiB(mounts: CgroupMounts): Promise<bigint> {
  const root = mounts.v1.get('memory');
  const text = root && (await readFile(path.join(root, 'memory.limit_in_bytes'), 'utf8').catch(() => undefined));
  return text && /^\d+$/.test(text.trim()) ? BigInt(text.trim()) >> 10n : MEMORY_UNLIMITED_KIB;
}

const exists = (file: string) => access(file).then(() => true, () => false);

export class GuestCgroup {
  private constructor(
    readonly version: 1 | 2,
    /** the guest group's folder for each controller it has */
    private readonly dirs: ReadonlyMap<CgroupController, string>,
    private readonly unlimitedKiB: bigint,
  ) {}

  /**
   * The cgroup QEMU `pid` was put in (its emulator thread group's parent), or
   * undefined when it runs in no group of its own (the root of every hierarchy).
   */
  static async ofProcess(pid: number, mounts?: CgroupMounts, procCgroup = `/proc/${pid}/cgroup`): Promise<GuestCgroup | undefined> {
    mounts ??= await cgroupMounts();
    const text = await readFile(procCgroup, 'utf8').catch(() => '');
    const v1 = new Map<CgroupController, string>();
    let unified: string | undefined;
    for (const line of text.split('\n')) {
      const m = /^\d+:([^:]*):(.*)$/.exec(line);
      if (!m) continue;
      const [, controllers, groupPath] = m as unknown as [string, string, string];
      const guestPath = groupPath.replace(/\/emulator$/, '');
      if (guestPath === '/' || guestPath === '') continue;
      if (controllers === '') {
        unified = guestPath;
        continue;
      }
      for (const c of controllers.split(',')) {
        const mount = mounts.v1.get(c);
        if (mount && (CGROUP_CONTROLLERS as readonly string[]).includes(c)) v1.set(c as CgroupController, path.join(mount, guestPath));
      }
    }
    if (v1.size > 0) return new GuestCgroup(1, v1, await v1UnlimitedKiB(mounts));
    if (unified === undefined || !mounts.v2) return undefined;
    const dir = path.join(mounts.v2, unified);
    const available = (await readFile(path.join(dir, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
    const v2 = new Map(CGROUP_CONTROLLERS.filter((c) => available.includes(V2_NAMES[c])).map((c) => [c, dir] as const));
    return new GuestCgroup(2, v2, MEMORY_UNLIMITED_KIB);
  }

  has(controller: CgroupController): boolean {
    return this.dirs.has(controller);
  }

  /** The folder of `controller` (undefined where the guest has none). */
  dirOf(controller: CgroupController): string | undefined {
    return this.dirs.get(controller);
  }

  /** virCgroupNewThread(create=false): the thread's subgroup of the thread controllers, the rest shared with the guest's group. */
  thread(kind: ThreadKind, id = 0): GuestCgroup {
    const name = kind === 'emulator' ? 'emulator' : `${kind}${id}`;
    const dirs = new Map([...this.dirs].map(([c, dir]) => [c, THREAD_CONTROLLERS.includes(c) ? path.join(dir, name) : dir] as const));
    return new GuestCgroup(this.version, dirs, this.unlimitedKiB);
  }

  /** Whether the thread's subgroup exists (libvirt made one for it). */
  async hasThread(kind: ThreadKind, id = 0): Promise<boolean> {
    const dir = this.thread(kind, id).dirs.get('cpu') ?? this.thread(kind, id).dirs.get('cpuset');
    return dir !== undefined && (await exists(dir));
  }

  private file(controller: CgroupController, name: string): string {
    const dir = this.dirs.get(controller);
    if (dir === undefined) {
      const message = this.version === 1 ? `v1 controller '${controller}' is not enabled for group` : `v2 controller '${V2_NAMES[controller]}' is not available`;
      throw virError(ErrorCode.INTERNAL_ERROR, message, ErrorDomain.CGROUP);
    }
    return path.join(dir, name);
  }

  /** virCgroupGetValueStr */
  async read(controller: CgroupController, name: string): Promise<string> {
    return readRaw(this.file(controller, name));
  }

  /** virCgroupSetValueStr */
  async write(controller: CgroupController, name: string, value: string): Promise<void> {
    await writeRaw(this.file(controller, name), value);
  }

  private async readNumber(controller: CgroupController, name: string): Promise<bigint> {
    const text = await this.read(controller, name);
    if (!/^-?\d+$/.test(text)) throw virError(ErrorCode.INTERNAL_ERROR, `Unable to parse '${text}' as an integer`, ErrorDomain.CGROUP);
    return BigInt(text);
  }

  // --- cpu ---------------------------------------------------------------

  async cpuShares(): Promise<bigint> {
    return this.readNumber('cpu', this.version === 1 ? 'cpu.shares' : 'cpu.weight');
  }

  /** virCgroupSetCpuShares: cgroup v2 takes the same number as its weight (libvirt 9.0 does not convert). */
  async setCpuShares(shares: bigint): Promise<void> {
    if (shares < CPU_SHARES_MIN || shares > CPU_SHARES_MAX) {
      throw virError(ErrorCode.INVALID_ARG, `shares '${shares}' must be in range [${CPU_SHARES_MIN}, ${CPU_SHARES_MAX}]`, ErrorDomain.CGROUP);
    }
    await this.write('cpu', this.version === 1 ? 'cpu.shares' : 'cpu.weight', String(shares));
  }

  /** virCgroupSupportsCpuBW */
  async supportsCpuBW(): Promise<boolean> {
    const dir = this.dirs.get('cpu');
    return dir !== undefined && exists(path.join(dir, this.version === 1 ? 'cpu.cfs_period_us' : 'cpu.max'));
  }

  /** cpu.max's "QUOTA PERIOD" */
  private async cpuMax(): Promise<[string, string]> {
    const text = await this.read('cpu', 'cpu.max');
    const space = text.indexOf(' ');
    if (space < 0) throw virError(ErrorCode.INTERNAL_ERROR, "Invalid 'cpu.max' data.", ErrorDomain.CGROUP);
    return [text.slice(0, space), text.slice(space + 1)];
  }

  async cfsPeriod(): Promise<bigint> {
    if (this.version === 1) return this.readNumber('cpu', 'cpu.cfs_period_us');
    const [, period] = await this.cpuMax();
    if (!/^\d+$/.test(period)) throw virError(ErrorCode.INTERNAL_ERROR, `Failed to parse value '${period}' from cpu.max.`, ErrorDomain.CGROUP);
    return BigInt(period);
  }

  /** The quota, -1 for none on cgroup v1; cgroup v2's "max" reads as libvirt's quota ceiling. */
  async cfsQuota(): Promise<bigint> {
    if (this.version === 1) return this.readNumber('cpu', 'cpu.cfs_quota_us');
    const [quota] = await this.cpuMax();
    if (quota.startsWith('max')) return CPU_QUOTA_MAX;
    if (!/^-?\d+$/.test(quota)) throw virError(ErrorCode.INTERNAL_ERROR, `Failed to parse value '${quota}' from cpu.max.`, ErrorDomain.CGROUP);
    return BigInt(quota);
  }

  async setCfsPeriod(period: bigint): Promise<void> {
    if (period < CPU_PERIOD_MIN || period > CPU_PERIOD_MAX) {
      throw virError(ErrorCode.INVALID_ARG, `cfs_period '${period}' must be in range (${CPU_PERIOD_MIN}, ${CPU_PERIOD_MAX})`, ErrorDomain.CGROUP);
    }
    if (this.version === 1) return this.write('cpu', 'cpu.cfs_period_us', String(period));
    const [quota] = await this.cpuMax();
    await this.write('cpu', 'cpu.max', `${quota} ${period}`);
  }

  async setCfsQuota(quota: bigint): Promise<void> {
    if (quota >= 0n && (quota < CPU_QUOTA_MIN || quota > CPU_QUOTA_MAX)) {
      throw virError(ErrorCode.INVALID_ARG, `cfs_quota '${quota}' must be in range (${CPU_QUOTA_MIN}, ${CPU_QUOTA_MAX})`, ErrorDomain.CGROUP);
    }
    if (this.version === 1) return this.write('cpu', 'cpu.cfs_quota_us', String(quota));
    await this.write('cpu', 'cpu.max', quota < 0n || quota === CPU_QUOTA_MAX ? 'max' : String(quota));
  }

  /** virCgroupSetupCpuPeriodQuota: 0 leaves a value alone; the old period comes back when the quota fails. */
  async setPeriodQuota(period: bigint, quota: bigint): Promise<void> {
    if (period === 0n && quota === 0n) return;
    const oldPeriod = period !== 0n ? await this.cfsPeriod() : 0n;
    if (period !== 0n) await this.setCfsPeriod(period);
    if (quota === 0n) return;
    try {
      await this.setCfsQuota(quota);
    } catch (e) {
      if (period !== 0n) await this.setCfsPeriod(oldPeriod).catch(() => undefined);
      throw e;
    }
  }

  // --- memory (KiB) ------------------------------------------------------

  private static readonly MEMORY_FILES = {
    hard: ['memory.limit_in_bytes', 'memory.max'],
    soft: ['memory.soft_limit_in_bytes', 'memory.high'],
    swap: ['memory.memsw.limit_in_bytes', 'memory.swap.max'],
  } as const;

  /** A memory limit in KiB, MEMORY_UNLIMITED_KIB where there is none. */
  async memoryLimit(kind: keyof typeof GuestCgroup.MEMORY_FILES): Promise<bigint> {
    const file = GuestCgroup.MEMORY_FILES[kind][this.version - 1]!;
    const text = await this.read('memory', file);
    if (this.version === 2 && text === 'max') return MEMORY_UNLIMITED_KIB;
    if (!/^\d+$/.test(text)) {
      throw virError(ErrorCode.INTERNAL_ERROR, this.version === 1 ? `Unable to parse '${text}' as an integer` : `Failed to parse value '${text}' as number.`, ErrorDomain.CGROUP);
    }
    const kib = BigInt(text) >> 10n;
    const unlimited = this.version === 1 ? this.unlimitedKiB : MEMORY_UNLIMITED_KIB;
    return kib >= unlimited ? MEMORY_UNLIMITED_KIB : kib;
  }

  async setMemoryLimit(kind: keyof typeof GuestCgroup.MEMORY_FILES, kib: bigint): Promise<void> {
    if (kib > MEMORY_UNLIMITED_KIB) throw virError(ErrorCode.INVALID_ARG, `Memory '${kib}' must be less than ${MEMORY_UNLIMITED_KIB}`, ErrorDomain.CGROUP);
    const file = GuestCgroup.MEMORY_FILES[kind][this.version - 1]!;
    const unlimited = this.version === 1 ? '-1' : 'max';
    await this.write('memory', file, kib === MEMORY_UNLIMITED_KIB ? unlimited : String(kib << 10n));
  }

  // --- blkio -------------------------------------------------------------

  /** The weight file: the BFQ scheduler's, else the CFQ one; libvirt's error where neither is there. */
  private async blkioWeightFile(): Promise<string> {
    const [bfq, plain] = this.version === 1 ? ['blkio.bfq.weight', 'blkio.weight'] : ['io.bfq.weight', 'io.weight'];
    for (const name of [bfq, plain]) {
      const file = this.file('blkio', name);
      if (await exists(file)) return file;
    }
    const what = this.version === 1 ? 'blkio device weight' : 'blkio weight';
    throw virError(ErrorCode.OPERATION_INVALID, `${what} is valid only for bfq or cfq scheduler`, ErrorDomain.CGROUP);
  }

  async blkioWeight(): Promise<number> {
    const text = await readRaw(await this.blkioWeightFile());
    const value = text.startsWith('default ') ? text.slice('default '.length) : text;
    if (!/^\d+/.test(value)) throw virError(ErrorCode.INTERNAL_ERROR, `Unable to parse '${text}' as an integer`, ErrorDomain.CGROUP);
    return Number.parseInt(value, 10);
  }

  async setBlkioWeight(weight: number): Promise<void> {
    const file = await this.blkioWeightFile();
    // io.weight takes "default N"; the BFQ files a plain number
    await writeRaw(file, this.version === 2 && path.basename(file) === 'io.weight' ? `default ${weight}` : String(weight));
  }

  /**
   * One block device's setting ('weight', 'riops', 'wiops', 'rbps', 'wbps'),
   * written then read back as the kernel kept it (virCgroupSetupBlkioDevice*);
   * 0 clears a limit.
   */
  async setupBlkioDevice(devicePath: string, kind: BlkioDeviceKind, value: bigint): Promise<bigint> {
    const dev = await blockDeviceString(devicePath);
    if (kind === 'weight') {
      const file = this.file('blkio', this.version === 1 ? 'blkio.weight_device' : 'io.weight');
      if (!(await exists(file))) throw virError(ErrorCode.OPERATION_INVALID, 'blkio device weight is valid only for cfq scheduler', ErrorDomain.CGROUP);
      await writeRaw(file, `${dev} ${value}`);
      const line = (await readRaw(file)).split('\n').find((l) => l.startsWith(`${dev} `));
      return line ? parseCgroupInteger(line.slice(dev.length + 1)) : 0n;
    }
    if (this.version === 1) {
      const file = this.file('blkio', `blkio.throttle.${V1_THROTTLE_FILES[kind]}_device`);
      await writeRaw(file, `${dev} ${value}`);
      const line = (await readRaw(file)).split('\n').find((l) => l.startsWith(`${dev} `));
      return line ? parseCgroupInteger(line.slice(dev.length + 1)) : 0n;
    }
    const file = this.file('blkio', 'io.max');
    await writeRaw(file, `${dev} ${kind}=${value === 0n ? 'max' : value}`);
    const line = (await readRaw(file)).split('\n').find((l) => l.startsWith(`${dev} `));
    if (!line) return 0n;
    const setting = line.split(' ').find((f) => f.startsWith(`${kind}=`));
    if (!setting) throw virError(ErrorCode.INTERNAL_ERROR, `Unable to find '${kind}' limit for block device '${devicePath}'`, ErrorDomain.CGROUP);
    const text = setting.slice(kind.length + 1);
    return text === 'max' ? 0n : parseCgroupInteger(text);
  }

  // --- cpuset ------------------------------------------------------------

  async cpusetCpus(): Promise<string> {
    return this.read('cpuset', 'cpuset.cpus');
  }

  async setCpusetCpus(list: string): Promise<void> {
    await this.write('cpuset', 'cpuset.cpus', list);
  }

  async cpusetMems(): Promise<string> {
    return this.read('cpuset', 'cpuset.mems');
  }

  async setCpusetMems(list: string): Promise<void> {
    await this.write('cpuset', 'cpuset.mems', list);
  }
}

/** virCgroupGetValueRaw: the file's text without its final newline. */
async function readRaw(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).replace(/\n$/, '');
  } catch (e) {
    throw systemError(`Unable to read from '${file}'`, e, ErrorDomain.CGROUP);
  }
}

/** virCgroupSetValueRaw: EINVAL names the value and the file. */
async function writeRaw(file: string, value: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch (e) {
    const message = (e as NodeJS.ErrnoException).code === 'EINVAL' ? `Invalid value '${value}' for '${path.basename(file)}'` : `Unable to write to '${file}'`;
    throw systemError(message, e, ErrorDomain.CGROUP);
  }
}
