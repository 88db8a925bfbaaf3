// The qemu driver's CPU scheduler entry points (virDomainGetSchedulerType,
// virDomainGet/SetSchedulerParameters[Flags]): CPU shares and the CFS
// bandwidth of the vCPUs, the emulator thread, the whole guest and its
// IOThreads, live from the guest's cgroup (and its thread subgroups), for the
// persistent definition from its <cputune>.
import { ModificationImpact } from '../../driver/flags.js';
import { typedParam, typedParamValue, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { reorder } from '../../conf/domain.js';
import { ensureChild } from '../../conf/tree.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, type XmlElement } from '../../util/xml.js';
import { cputuneValue } from './cgroup-setup.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import { privileged } from './security/identity.js';
import { CPU_PERIOD_MAX, CPU_PERIOD_MIN, CPU_QUOTA_MAX, CPU_QUOTA_MIN, type GuestCgroup } from './security/guest-cgroup.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const TYPED_PARAM_STRING_OKAY = 1 << 2;
/** every parameter; 1 (cpu_shares only) where the cgroup has no CFS bandwidth */
const ALL_PARAMS = 9;

/** The parameters in libvirt's order: field, <cputune> element, which thread group it applies to. */
const SCHED_PARAMS = [
  { field: 'cpu_shares', element: 'shares', type: TypedParamType.ULLONG },
  { field: 'vcpu_period', element: 'period', type: TypedParamType.ULLONG },
  { field: 'vcpu_quota', element: 'quota', type: TypedParamType.LLONG },
  { field: 'emulator_period', element: 'emulator_period', type: TypedParamType.ULLONG },
  { field: 'emulator_quota', element: 'emulator_quota', type: TypedParamType.LLONG },
  { field: 'global_period', element: 'global_period', type: TypedParamType.ULLONG },
  { field: 'global_quota', element: 'global_quota', type: TypedParamType.LLONG },
  { field: 'iothread_period', element: 'iothread_period', type: TypedParamType.ULLONG },
  { field: 'iothread_quota', element: 'iothread_quota', type: TypedParamType.LLONG },
] as const;

type Scope = 'vcpu' | 'emulator' | 'global' | 'iothread';

function requirePrivileged(code: ErrorCode): void {
  if (!privileged()) throw virError(code, 'CPU tuning is not available in session mode', ErrorDomain.QEMU);
}

const cpuNotMounted = () => virError(ErrorCode.OPERATION_INVALID, 'cgroup CPU controller is not mounted', ErrorDomain.QEMU);

/** The running guest's cgroup with its cpu controller, or libvirt's error. */
async function cpuCgroup(driver: QemuDriver, running: RunningDomain): Promise<GuestCgroup> {
  const cgroup = await driver.runtime.security.guestCgroup(running.pid);
  if (!cgroup?.has('cpu')) throw cpuNotMounted();
  return cgroup;
}

export async function schedulerType(driver: QemuDriver, dom: DomainRef): Promise<{ type: string; nparams: number }> {
  await driver.objectOf(dom);
  requirePrivileged(ErrorCode.OPERATION_UNSUPPORTED);
  return driver.runtime.withDomain(dom, async (_obj, running) => {
    // not running: no cgroup, libvirt's defaults
    if (!running) return { type: 'posix', nparams: ALL_PARAMS };
    const cgroup = await cpuCgroup(driver, running);
    return { type: 'posix', nparams: (await cgroup.supportsCpuBW()) ? ALL_PARAMS : 1 };
  }, { monitor: false });
}

const onlineVcpus = (def: XmlElement) => {
  const vcpu = child(def, 'vcpu');
  return Number(vcpu?.attrs.current ?? (vcpu?.text.trim() || 1));
};

const iothreadIds = (def: XmlElement) => childrenNamed(child(def, 'iothreadids') ?? def, 'iothread').map((t) => Number(t.attrs.id));

/** qemuGetVcpusBWLive & co: a scope's period and quota from the group its threads are in. */
async function liveBandwidth(cgroup: GuestCgroup, def: XmlElement, scope: Scope): Promise<[bigint, bigint]> {
  const read = async (group: GuestCgroup): Promise<[bigint, bigint]> => [await group.cfsPeriod(), await group.cfsQuota()];
  switch (scope) {
    case 'global':
      return read(cgroup);
    case 'emulator':
      return read(cgroup.thread('emulator'));
    case 'vcpu': {
      if (await cgroup.hasThread('vcpu', 0)) return read(cgroup.thread('vcpu', 0));
      // no per-vCPU groups: the whole guest's quota shared by its vCPUs
      const [period, quota] = await read(cgroup);
      return [period, quota > 0n ? quota / BigInt(onlineVcpus(def)) : quota];
    }
    case 'iothread': {
      const first = iothreadIds(def)[0];
      return read(first === undefined ? cgroup : cgroup.thread('iothread', first));
    }
  }
}

export async function getSchedulerParameters(driver: QemuDriver, dom: DomainRef, nparams: number, flags: number): Promise<TypedParam[]> {
  checkFlags(flags, IMPACT | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetSchedulerParametersFlags');
  await driver.objectOf(dom);
  requirePrivileged(ErrorCode.CONFIG_UNSUPPORTED);
  const rt = driver.runtime;
  return rt.withDomain(dom, async (obj, running) => {
    const { config } = rt.impact(flags & IMPACT, obj, running);
    if (config || !running) {
      const def = obj.newDef ?? obj.def;
      return SCHED_PARAMS.slice(0, nparams).map((p) => paramOf(p.field, p.type, cputuneValue(def, p.element)));
    }
    const cgroup = await cpuCgroup(driver, running);
    const values = [await cgroup.cpuShares()];
    if (await cgroup.supportsCpuBW()) {
      // libvirt reads only as far as the caller has room for
      const scopes: Scope[] = ['vcpu', 'emulator', 'global', 'iothread'];
      for (const [i, scope] of scopes.entries()) if (nparams > 1 + 2 * i) values.push(...(await liveBandwidth(cgroup, running.live, scope)));
    }
    return values.slice(0, nparams).map((value, i) => paramOf(SCHED_PARAMS[i]!.field, SCHED_PARAMS[i]!.type, value));
  }, { monitor: false });
}

function paramOf(field: string, type: TypedParamType, value: bigint): TypedParam {
  return type === TypedParamType.LLONG ? typedParam.llong(field, value) : typedParam.ullong(field, BigInt.asUintN(64, value));
}

/** SCHED_RANGE_CHECK */
function rangeCheck(field: string, value: bigint, min: bigint, max: bigint): void {
  if ((value > 0n && value < min) || value > max) throw virError(ErrorCode.INVALID_ARG, `value of '${field}' is out of range [${min}, ${max}]`, ErrorDomain.QEMU);
}

/** The groups a scope's bandwidth is written to (qemuSet*BWLive): none where the guest has no such threads. */
async function bandwidthGroups(cgroup: GuestCgroup, def: XmlElement, scope: Scope): Promise<GuestCgroup[]> {
  switch (scope) {
    case 'global':
      return [cgroup];
    case 'emulator':
      return [cgroup.thread('emulator')];
    case 'vcpu': {
      if (!(await cgroup.hasThread('vcpu', 0))) return [];
      return Array.from({ length: onlineVcpus(def) }, (_, i) => cgroup.thread('vcpu', i));
    }
    case 'iothread':
      return iothreadIds(def).map((id) => cgroup.thread('iothread', id));
  }
}

/** Sets one <cputune> value in a definition (0 periods and quotas are "unset": no element). */
function setCputune(def: XmlElement, element: string, value: bigint): void {
  const cputune = ensureChild(def, 'cputune');
  if (value === 0n && element !== 'shares') {
    cputune.children = cputune.children.filter((c) => c.name !== element);
  } else {
    ensureChild(cputune, element).text = String(value);
  }
  if (cputune.children.length === 0) def.children = def.children.filter((c) => c !== cputune);
  reorder(def);
}

export async function setSchedulerParameters(driver: QemuDriver, dom: DomainRef, params: TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetSchedulerParametersFlags');
  validateTypedParams(params, Object.fromEntries(SCHED_PARAMS.map((p) => [p.field, p.type])));
  await driver.objectOf(dom);
  requirePrivileged(ErrorCode.CONFIG_UNSUPPORTED);
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    const cgroup = live && running ? await cpuCgroup(driver, running) : undefined;
    const changed: TypedParam[] = [];
    try {
      for (const p of params) {
        const spec = SCHED_PARAMS.find((s) => s.field === p.field)!;
        const value = BigInt(typedParamValue(p) as bigint);
        const [scope, kind] = spec.field.split('_') as [Scope | 'cpu', string];
        if (kind === 'period') rangeCheck(spec.field, value, CPU_PERIOD_MIN, CPU_PERIOD_MAX);
        if (kind === 'quota') rangeCheck(spec.field, value, CPU_QUOTA_MIN, CPU_QUOTA_MAX);
        if (cgroup && running && (scope === 'cpu' || value !== 0n)) {
          if (scope === 'cpu') await cgroup.setCpuShares(value);
          else for (const group of await bandwidthGroups(cgroup, running.live, scope)) await group.setPeriodQuota(kind === 'period' ? value : 0n, kind === 'quota' ? value : 0n);
          setCputune(running.live, spec.element, value);
          changed.push({ ...p, field: `cputune.${spec.field}` });
        }
        if (persistent) setCputune(persistent, spec.element, value);
      }
    } finally {
      // what was applied before a failure stays recorded, as libvirt saves the status then
      if (running && changed.length > 0) await rt.runtime.saveStatus(running);
    }
    if (running && changed.length > 0) rt.queueEvent({ key: 'domainEventCallbackTunable', body: { dom: running.ref(), params: changed } });
    if (persistent) await rt.savePersistent(persistent);
    await rt.sync({ refresh: false });
  }, { monitor: false });
}
