// virDomainGet/SetMemoryParameters of the qemu driver (memtune): the hard,
// soft and swap hard limits, live from the guest's memory cgroup, for the
// persistent definition from its <memtune>.
import { ModificationImpact } from '../../driver/flags.js';
import { typedParam, typedParamValue, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { MEMORY_LIMITS, MEMORY_UNLIMITED, memtuneLimit, setMemtuneLimits, type MemoryLimit } from '../../conf/memtune.js';
import { ErrorCode, ErrorDomain, isVirError, virError } from '../../util/error.js';
import { cloneElement } from '../../util/xml.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import type { RunningDomain } from './lifecycle.js';
import { privileged } from './security/identity.js';
import type { GuestCgroup } from './security/guest-cgroup.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const TYPED_PARAM_STRING_OKAY = 1 << 2;
/** the cgroup's name for each limit */
const CGROUP_LIMIT = { hard_limit: 'hard', soft_limit: 'soft', swap_hard_limit: 'swap' } as const;

function requirePrivileged(): void {
  if (!privileged()) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'Memory tuning is not available in session mode', ErrorDomain.QEMU);
}

async function memoryCgroup(driver: QemuDriver, running: RunningDomain): Promise<GuestCgroup> {
  const cgroup = await driver.runtime.security.guestCgroup(running.pid);
  if (!cgroup?.has('memory')) throw virError(ErrorCode.OPERATION_INVALID, 'cgroup memory controller is not mounted', ErrorDomain.QEMU);
  return cgroup;
}

export async function getMemoryParameters(driver: QemuDriver, dom: DomainRef, nparams: number, flags: number): Promise<{ params: TypedParam[]; nparams: number }> {
  checkFlags(flags, IMPACT | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetMemoryParameters');
  await driver.objectOf(dom);
  requirePrivileged();
  const rt = driver.runtime;
  return rt.withDomain(dom, async (obj, running) => {
    const { config } = rt.impact(flags & IMPACT, obj, running);
    if (nparams === 0) return { params: [], nparams: MEMORY_LIMITS.length };
    let limits: bigint[];
    if (config || !running) {
      limits = MEMORY_LIMITS.map((name) => memtuneLimit(obj.newDef ?? obj.def, name));
    } else {
      const cgroup = await memoryCgroup(driver, running);
      limits = [await cgroup.memoryLimit('hard'), await cgroup.memoryLimit('soft'), await swapLimit(cgroup)];
    }
    const params = MEMORY_LIMITS.map((name, i) => typedParam.ullong(name, limits[i]!)).slice(0, nparams);
    return { params, nparams: params.length };
  }, { monitor: false });
}

/** A host without swap accounting has no swap limit file: unlimited then. */
async function swapLimit(cgroup: GuestCgroup): Promise<bigint> {
  try {
    return await cgroup.memoryLimit('swap');
  } catch (e) {
    if (isVirError(e) && /: (No such file or directory|Operation not supported)$/.test(e.message)) return MEMORY_UNLIMITED;
    throw e;
  }
}

export async function setMemoryParameters(driver: QemuDriver, dom: DomainRef, params: TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetMemoryParameters');
  validateTypedParams(params, Object.fromEntries(MEMORY_LIMITS.map((name) => [name, TypedParamType.ULLONG])));
  await driver.objectOf(dom);
  requirePrivileged();
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    const liveDef = live ? running?.live : undefined;
    const persistent = config ? cloneElement(obj.newDef ?? obj.def) : undefined;
    const cgroup = liveDef && running ? await memoryCgroup(driver, running) : undefined;
    const given = new Map(params.map((p) => [p.field as MemoryLimit, typedParamValue(p) as bigint]));
    // the swap hard limit must stay at or above the hard limit of the domain as it is now
    const current = running?.live ?? obj.def;
    if (given.has('hard_limit') || given.has('swap_hard_limit')) {
      const hard = given.get('hard_limit') ?? memtuneLimit(current, 'hard_limit');
      const swap = given.get('swap_hard_limit') ?? memtuneLimit(current, 'swap_hard_limit');
      if (hard > swap) throw virError(ErrorCode.INVALID_ARG, 'memory hard_limit tunable value must be lower than or equal to swap_hard_limit', ErrorDomain.NONE);
    }
    // soft first; a lower hard limit before the swap limit, a higher one after it (the kernel keeps memsw >= hard)
    const order: MemoryLimit[] = ['soft_limit'];
    const hard = given.get('hard_limit');
    const lowering = liveDef !== undefined && hard !== undefined && memtuneLimit(liveDef, 'hard_limit') > hard;
    order.push(...(lowering ? (['hard_limit', 'swap_hard_limit'] as const) : (['swap_hard_limit', 'hard_limit'] as const)));
    try {
      for (const name of order) {
        const value = given.get(name);
        if (value === undefined) continue;
        if (liveDef && cgroup) {
          await cgroup.setMemoryLimit(CGROUP_LIMIT[name], value);
          setMemtuneLimits(liveDef, new Map([[name, value]]));
        }
        if (persistent) setMemtuneLimits(persistent, new Map([[name, value]]));
      }
    } finally {
      if (liveDef && running) await rt.runtime.saveStatus(running);
    }
    if (persistent) await rt.savePersistent(persistent);
    await rt.sync({ refresh: false });
  }, { monitor: false });
}
