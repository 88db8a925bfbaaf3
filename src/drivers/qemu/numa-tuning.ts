// virDomainGet/SetNumaParameters of the qemu driver (numatune): the memory
// mode and host nodeset of <numatune><memory>; a running guest changes only
// its nodeset, in the restrictive mode (or without a mode set), by moving its
// threads' cpuset.mems.
import { existsSync } from 'node:fs';
import { ModificationImpact } from '../../driver/flags.js';
import { typedParam, TypedParamType, type TypedParam } from '../../driver/typed-params.js';
import { validateTypedParams } from '../../driver/typed-params-validate.js';
import { reorder } from '../../conf/domain.js';
import { ensureChild } from '../../conf/tree.js';
import { formatBitmap, parseBitmap } from '../../util/bitmap.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { oneDefinition } from '../../conf/objects/modification-impact.js';
import { checkFlags, type DomainRef, type QemuDriver } from './driver.js';
import { privileged } from './security/identity.js';

const IMPACT = ModificationImpact.LIVE | ModificationImpact.CONFIG;
const TYPED_PARAM_STRING_OKAY = 1 << 2;
/** virDomainNumatuneMemMode */
export const NUMATUNE_MODES = ['strict', 'preferred', 'interleave', 'restrictive'];
const MODE_RESTRICTIVE = 3;
/** VIR_DOMAIN_CPUMASK_LEN */
const CPUMASK_LEN = 16384;

/** The definition's <numatune><memory>: mode (undefined when not specified) and nodeset. */
function numatuneMemory(def: XmlElement): { mode?: number; nodeset?: Set<number>; placement?: string } {
  const memory = child(child(def, 'numatune') ?? element('x'), 'memory');
  if (!memory) return {};
  const nodeset = memory.attrs.nodeset === undefined ? undefined : parseBitmap(memory.attrs.nodeset);
  return { mode: NUMATUNE_MODES.indexOf(memory.attrs.mode ?? 'strict'), nodeset, placement: memory.attrs.placement };
}

export async function getNumaParameters(driver: QemuDriver, dom: DomainRef, nparams: number, flags: number): Promise<{ params: TypedParam[]; nparams: number }> {
  checkFlags(flags, IMPACT | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetNumaParameters');
  const { def } = oneDefinition(await driver.objectOf(dom), flags & IMPACT);
  if (nparams === 0) return { params: [], nparams: 2 };
  const memory = numatuneMemory(def);
  const params = [typedParam.int('numa_mode', memory.mode ?? 0), typedParam.string('numa_nodeset', memory.nodeset ? formatBitmap(memory.nodeset) : '')].slice(0, nparams);
  return { params, nparams: params.length };
}

/** virDomainNumatuneSet: mode and nodeset into <numatune><memory>, with its placement rules. */
function setNumatune(def: XmlElement, mode: number, nodeset: Set<number> | undefined): void {
  if (mode === -1 && !nodeset) return;
  const current = numatuneMemory(def);
  const specified = current.mode !== undefined;
  const placementStatic = child(def, 'vcpu')?.attrs.placement !== 'auto';
  let placement = specified ? -1 : 0;
  const newMode = mode !== -1 ? mode : specified ? current.mode! : 0;
  let newNodeset = current.nodeset;
  if (nodeset) {
    newNodeset = nodeset;
    if (placement === -1) placement = 1;
  }
  // default placement: static with a nodeset (or static vCPU placement), else auto
  if (placement === 0) placement = newNodeset || placementStatic ? 1 : 2;
  const effective = placement === -1 ? (current.placement === 'auto' ? 2 : 1) : placement;
  if (effective === 1 && !newNodeset) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, "nodeset for NUMA memory tuning must be set if 'placement' is 'static'", ErrorDomain.DOMAIN);
  }
  const attrs: Record<string, string> = { mode: NUMATUNE_MODES[newMode]! };
  if (effective === 1) attrs.nodeset = formatBitmap(newNodeset!);
  else attrs.placement = 'auto';
  const numatune = ensureChild(def, 'numatune');
  const memnodes = childrenNamed(numatune, 'memnode');
  numatune.children = [element('memory', attrs), ...memnodes];
  reorder(def);
}

export async function setNumaParameters(driver: QemuDriver, dom: DomainRef, params: TypedParam[], flags: number): Promise<void> {
  checkFlags(flags, IMPACT, 'qemuDomainSetNumaParameters');
  validateTypedParams(params, { numa_mode: TypedParamType.INT, numa_nodeset: TypedParamType.STRING });
  await driver.objectOf(dom);
  let mode = -1;
  let nodeset: Set<number> | undefined;
  for (const p of params) {
    if (p.field === 'numa_mode') {
      mode = (p.value as { i: number }).i;
      if (mode < 0 || mode >= NUMATUNE_MODES.length) throw virError(ErrorCode.INVALID_ARG, `unsupported numatune mode: '${mode}'`, ErrorDomain.QEMU);
    } else {
      const text = (p.value as { s: string }).s;
      nodeset = parseBitmap(text, CPUMASK_LEN);
      if (nodeset === undefined) throw virError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${text}'`, ErrorDomain.NONE);
      if (nodeset.size === 0) throw virError(ErrorCode.OPERATION_INVALID, `Invalid nodeset of 'numatune': ${text}`, ErrorDomain.QEMU);
    }
  }
  const rt = driver.runtime;
  await rt.withDomain(dom, async (obj, running) => {
    const { live, config } = rt.impact(flags, obj, running);
    if (live && running) {
      if (!privileged()) throw virError(ErrorCode.OPERATION_UNSUPPORTED, 'NUMA tuning is not available in session mode', ErrorDomain.QEMU);
      const cgroup = await rt.security.guestCgroup(running.pid);
      if (!cgroup?.has('cpuset')) throw virError(ErrorCode.OPERATION_INVALID, 'cgroup cpuset controller is not mounted', ErrorDomain.QEMU);
      const current = numatuneMemory(running.live);
      if (mode !== -1 && current.mode !== undefined && current.mode !== mode) {
        throw virError(ErrorCode.OPERATION_INVALID, "can't change numatune mode for running domain", ErrorDomain.QEMU);
      }
      if (mode === 0) {
        const same = current.nodeset !== undefined && nodeset !== undefined && formatBitmap(current.nodeset) === formatBitmap(nodeset);
        if (!same) throw virError(ErrorCode.OPERATION_INVALID, "can't change nodeset for strict mode for running domain", ErrorDomain.QEMU);
      } else {
        if (nodeset) {
          // qemuDomainSetNumaParamsLive
          if (current.mode !== undefined && current.mode !== MODE_RESTRICTIVE) {
            throw virError(ErrorCode.OPERATION_INVALID, 'change of nodeset for running domain requires restrictive numa mode', ErrorDomain.QEMU);
          }
          for (const node of nodeset) {
            if (!existsSync(`/sys/devices/system/node/node${node}`)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `NUMA node ${node} is unavailable`, ErrorDomain.NONE);
          }
          const mems = formatBitmap(nodeset);
          await cgroup.thread('emulator').setCpusetMems(mems);
          const vcpus = Number(child(running.live, 'vcpu')?.attrs.current ?? (child(running.live, 'vcpu')?.text.trim() || 1));
          for (let i = 0; i < vcpus; i++) if (await cgroup.hasThread('vcpu', i)) await cgroup.thread('vcpu', i).setCpusetMems(mems);
          for (const t of childrenNamed(child(running.live, 'iothreadids') ?? element('x'), 'iothread')) {
            if (await cgroup.hasThread('iothread', Number(t.attrs.id))) await cgroup.thread('iothread', Number(t.attrs.id)).setCpusetMems(mems);
          }
        }
        setNumatune(running.live, mode, nodeset);
        await rt.runtime.saveStatus(running);
      }
    }
    if (config) {
      const persistent = cloneElement(obj.newDef ?? obj.def);
      setNumatune(persistent, mode, nodeset);
      await rt.savePersistent(persistent);
    }
    await rt.sync({ refresh: false });
  }, { monitor: false });
}
