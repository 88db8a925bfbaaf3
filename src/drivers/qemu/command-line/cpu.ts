// The guest CPU: -cpu (model, features, paravirt timers, Hyper-V
// enlightenments, KVM hints) and -smp topology.
import { child, childrenNamed } from '../../../util/xml.js';
import type { XmlElement } from '../../../util/xml.js';
import type { BuildContext } from './context.js';
import { onOff } from './context.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import { hostArch } from '../capabilities.js';
import { x86FeatureToQemu } from '../cpu-feature-names.js';
import { hostX86CpuMap } from '../host-cpu.js';
import { cpuFeatures, qemuGuestCpu } from '../host-cpu-model.js';
import type { CpuFeature } from '../host-cpu-model.js';

/** Hyper-V enlightenments that are switched on with "hv-<name>=on", in libvirt's enum order. */
const HYPERV_SWITCHES = ['relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'synic', 'stimer', 'reset',
  'vendor_id', 'frequencies', 'reenlightenment', 'tlbflush', 'ipi', 'evmcs', 'avic'];


/**
 * The model and features QEMU is given: an x86 model or host-model CPU as
 * libvirt updates it against the host model of the guest's accelerator
 * (qemuProcessUpdateGuestCPU), other CPUs as written. Undefined: no -cpu model.
 */
function guestModel(ctx: BuildContext, cpu: XmlElement): { model: string; features: CpuFeature[] } | undefined {
  const map = ctx.view.isX86 ? hostX86CpuMap() : undefined;
  if (map) {
    return qemuGuestCpu(map, ctx.options.caps, cpu, ctx.view.virtType === 'kvm' ? 'kvm' : 'tcg');
  }
  if (cpu.attrs.mode === 'host-model') return undefined;
  return { model: child(cpu, 'model')?.text.trim() ?? '', features: cpuFeatures(cpu) };
}

function modelPart(ctx: BuildContext, cpu: XmlElement): string | undefined {
  const mode = cpu.attrs.mode ?? 'custom';
  let out: string;
  let features: CpuFeature[] = [];
  if (mode === 'host-passthrough' && ctx.view.virtType !== 'kvm') {
    const arch = ctx.view.arch;
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `CPU mode 'host-passthrough' for ${arch} ${ctx.view.virtType} domain on ${hostArch()} host is not supported by hypervisor`, ErrorDomain.QEMU);
  }
  if (mode === 'host-passthrough' || mode === 'maximum') {
    out = mode === 'maximum' ? 'max' : 'host';
    // libvirt 9.0 + QEMU 7.2 print only an explicit migratable='on' (recorded behaviour).
    if (cpu.attrs.migratable === 'on') out += ',migratable=on';
    features = cpuFeatures(cpu);
  } else if (mode === 'custom' || mode === 'host-model') {
    if (mode === 'custom' && !child(cpu, 'model')?.text.trim()) return undefined;
    const guest = guestModel(ctx, cpu);
    if (!guest) return undefined;
    out = guest.model;
    features = guest.features;
  } else {
    return undefined;
  }
  const vendor = child(cpu, 'model')?.attrs.vendor_id;
  if (vendor) out += `,vendor=${vendor}`;
  for (const f of features) {
    const name = ctx.view.isX86 ? x86FeatureToQemu(f.name) : f.name;
    if (f.policy === 'force' || f.policy === 'require') out += `,${name}=on`;
    else if (f.policy === 'disable' || f.policy === 'forbid') out += `,${name}=off`;
  }
  return out;
}

function flagsPart(ctx: BuildContext, cpu: XmlElement | undefined): string {
  const { view } = ctx;
  let buf = '';
  const clock = child(view.def, 'clock');
  for (const t of clock ? childrenNamed(clock, 'timer') : []) {
    const present = onOff(t.attrs.present);
    if (t.attrs.name === 'kvmclock' && present) buf += `,kvmclock=${present}`;
    else if (t.attrs.name === 'hypervclock' && present === 'on') buf += ',hv-time=on';
    else if (t.attrs.name === 'tsc' && t.attrs.frequency) buf += `,tsc-frequency=${t.attrs.frequency}`;
    else if (t.attrs.name === 'armvtimer') {
      if (t.attrs.tickpolicy === 'delay') buf += ',kvm-no-adjvtime=off';
      else if (t.attrs.tickpolicy === 'discard') buf += ',kvm-no-adjvtime=on';
    }
  }
  const eoi = onOff(view.feature('apic')?.attrs.eoi);
  if (eoi) buf += `,kvm-pv-eoi=${eoi}`;
  const pvspinlock = view.feature('pvspinlock');
  if (pvspinlock) buf += `,kvm-pv-unhalt=${onOff(pvspinlock.attrs.state) ?? 'on'}`;
  const hyperv = view.feature('hyperv');
  if (hyperv) {
    if (hyperv.attrs.mode === 'passthrough') buf += ',hv-passthrough=on';
    for (const name of HYPERV_SWITCHES) {
      const el = child(hyperv, name);
      if (onOff(el?.attrs.state) !== 'on') continue;
      if (name === 'spinlocks') buf += `,hv-spinlocks=0x${Number(el!.attrs.retries ?? 0).toString(16)}`;
      else if (name === 'vendor_id') buf += `,hv-vendor-id=${el!.attrs.value}`;
      else buf += `,hv-${name}=on`;
      if (name === 'stimer' && onOff(child(el!, 'direct')?.attrs.state) === 'on') buf += ',hv-stimer-direct=on';
    }
  }
  if (view.deviceList('panic').some((p) => p.attrs.model === 'hyperv')) buf += ',hv-crash';
  const kvm = view.feature('kvm');
  if (kvm) {
    if (onOff(child(kvm, 'hidden')?.attrs.state) === 'on') buf += ',kvm=off';
    if (onOff(child(kvm, 'hint-dedicated')?.attrs.state) === 'on') buf += ',kvm-hint-dedicated=on';
    if (onOff(child(kvm, 'poll-control')?.attrs.state) === 'on') buf += ',kvm-poll-control=on';
    if (onOff(child(kvm, 'pv-ipi')?.attrs.state) === 'off') buf += ',kvm-pv-ipi=off';
  }
  const pmu = view.feature('pmu');
  if (pmu) buf += `,pmu=${onOff(pmu.attrs.state) ?? 'on'}`;
  const cache = cpu ? child(cpu, 'cache') : undefined;
  if (cache) {
    const mode = cache.attrs.mode;
    const hostOff = mode === 'emulate' || mode === 'disable';
    const l3Off = mode === 'passthrough' || mode === 'disable';
    if (mode === 'emulate') buf += ',l3-cache=on';
    if (mode === 'passthrough') buf += ',host-cache-info=on';
    if (hostOff && (cpu!.attrs.mode === 'host-passthrough' || cpu!.attrs.mode === 'maximum')) buf += ',host-cache-info=off';
    if (l3Off) buf += ',l3-cache=off';
  }
  const maxphys = cpu ? child(cpu, 'maxphysaddr') : undefined;
  if (maxphys?.attrs.mode === 'passthrough') buf += ',host-phys-bits=on';
  else if (maxphys?.attrs.mode === 'emulate') buf += `,phys-bits=${maxphys.attrs.bits}`;
  return buf;
}

export function buildCpu(ctx: BuildContext): void {
  const { view } = ctx;
  const cpu = child(view.def, 'cpu');
  let model = cpu ? modelPart(ctx, cpu) : undefined;
  const emulator = child(view.devices, 'emulator')?.text ?? '';
  if (model === undefined && view.arch === 'i686' && emulator.includes('x86_64')) model = 'qemu32';
  const flags = flagsPart(ctx, cpu);
  if (flags && model === undefined) model = view.arch === 'i686' ? 'qemu32' : 'qemu64';
  if (model !== undefined) ctx.cmd.add('-cpu', model + flags);
}

export function buildSmp(ctx: BuildContext): void {
  const { def } = ctx.view;
  const vcpu = child(def, 'vcpu');
  const max = Number(vcpu?.text.trim() || 1);
  const vcpus = child(def, 'vcpus');
  // vCPUs that are online at boot and not hotpluggable go on -smp; hotpluggable ones become -device.
  let boot = max;
  if (vcpus) {
    boot = childrenNamed(vcpus, 'vcpu').filter((v) => v.attrs.enabled === 'yes' && v.attrs.hotpluggable !== 'yes').length;
  } else if (vcpu?.attrs.current !== undefined) {
    boot = Number(vcpu.attrs.current);
  }
  let out = String(boot);
  if (boot !== max) out += `,maxcpus=${max}`;
  const topology = child(child(def, 'cpu') ?? def, 'topology');
  if (topology && child(def, 'cpu')) {
    out += `,sockets=${topology.attrs.sockets},dies=${topology.attrs.dies ?? 1},cores=${topology.attrs.cores},threads=${topology.attrs.threads}`;
  } else {
    out += `,sockets=${max},cores=1,threads=1`;
  }
  ctx.cmd.add('-smp', out);
}

/** One iothread object per <iothreads>/<iothreadids> entry, and the main loop's thread pool. */
export function buildIOThreads(ctx: BuildContext): void {
  const { def } = ctx.view;
  buildIOThreadObjects(ctx);
  const main = child(def, 'defaultiothread');
  if (main) {
    const out: Record<string, string | number> = { 'qom-type': 'main-loop', id: 'main-loop' };
    if (main.attrs.thread_pool_min !== undefined) out['thread-pool-min'] = Number(main.attrs.thread_pool_min);
    if (main.attrs.thread_pool_max !== undefined) out['thread-pool-max'] = Number(main.attrs.thread_pool_max);
    ctx.cmd.json('-object', out);
  }
}

function buildIOThreadObjects(ctx: BuildContext): void {
  const { def } = ctx.view;
  const ids = child(def, 'iothreadids');
  const entries = ids ? childrenNamed(ids, 'iothread') : [];
  if (entries.length > 0) {
    for (const t of entries) {
      const num = (k: string) => (t.attrs[k] !== undefined ? Number(t.attrs[k]) : undefined);
      const out: Record<string, string | number> = { 'qom-type': 'iothread', id: `iothread${t.attrs.id}` };
      for (const [attr, prop] of [['thread_pool_min', 'thread-pool-min'], ['thread_pool_max', 'thread-pool-max']] as const) {
        const v = num(attr);
        if (v !== undefined) out[prop] = v;
      }
      const poll = child(t, 'poll');
      if (poll) {
        for (const [attr, prop] of [['max', 'poll-max-ns'], ['grow', 'poll-grow'], ['shrink', 'poll-shrink']] as const) {
          if (poll.attrs[attr] !== undefined) out[prop] = Number(poll.attrs[attr]);
        }
      }
      ctx.cmd.json('-object', out);
    }
    return;
  }
  const count = Number(child(def, 'iothreads')?.text.trim() || 0);
  for (let i = 1; i <= count; i++) ctx.cmd.json('-object', { 'qom-type': 'iothread', id: `iothread${i}` });
}
