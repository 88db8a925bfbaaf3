// QEMU binary capabilities: what one qemu-system-* binary offers (machines with
// their aliases and defaults, QOM device types, CPU models, KVM), probed over QMP
// the way libvirt's virQEMUCaps does and cached on disk keyed by the binary's
// path, size and mtime, the host's identity and whether /dev/kvm is usable, so
// that only the first use of a binary on a host pays for a probe. What KVM
// offers comes from the host facts (host/): the live host asks QEMU, a
// recorded host answers from its record.

import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { arch as hostNodeArch } from 'node:process';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import type { QmpClient } from './qmp.js';
import type { HostFacts, KvmFacts } from './host/facts.js';
import type { QemuJson } from '../../util/json.js';

export interface QemuMachine {
  /** canonical name, e.g. 'pc-q35-7.2' */
  name: string;
  /** versionless alias QEMU reports, e.g. 'q35' */
  alias?: string;
  /** libvirt's default machine for this binary (libvirt's preferred machine, else QEMU's default) */
  isDefault: boolean;
  /** QEMU's own default ('is-default' in query-machines) */
  qemuDefault: boolean;
  maxCpus: number;
  hotplugCpus: boolean;
  defaultCpuType?: string;
  defaultRamId?: string;
  numaMemSupported: boolean;
  deprecated: boolean;
}

export interface QemuCpuModel {
  name: string;
  typename?: string;
  /** features the accelerator cannot provide; empty when the model is usable as is */
  unavailableFeatures?: string[];
  /** the same under KVM, where the binary runs with it (libvirt probes each accelerator's list) */
  kvmUnavailableFeatures?: readonly string[];
  aliasOf?: string;
  deprecated: boolean;
  static: boolean;
}

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
  package: string;
}

/** Everything tsvirt learns about one QEMU binary. */
export interface QemuCaps {
  binary: string;
  /** libvirt's arch name of the guest the binary emulates: x86_64, i686, aarch64, armv7l, ... */
  arch: string;
  version: QemuVersion;
  /** libvirt's encoding: major * 1,000,000 + minor * 1,000 + micro (7.2.22 -> 7002022) */
  versionNumber: number;
  /** in libvirt's order: QEMU's order with libvirt's default machine moved first */
  machines: QemuMachine[];
  /** every QOM type name the binary knows (qom-list-types): devices, objects, machines */
  deviceTypes: ReadonlySet<string>;
  cpuModels: QemuCpuModel[];
  /** KVM compiled in (query-kvm 'present' of the TCG probe) */
  kvmPresent: boolean;
  /** 'qemu' is a virt type of this binary: it was built with TCG (libvirt's QEMU_CAPS_TCG, QOM type tcg-accel) */
  tcgUsable: boolean;
  /**
   * 'kvm' is a virt type of this binary on this host (libvirt's QEMU_CAPS_KVM):
   * the host's KVM matches the binary's arch and QEMU ran with it
   */
  kvmUsable: boolean;
  /** the host the binary runs on (KVM, CPU, swtpm, NUMA, devices, firmware) */
  host: HostFacts;
  /** every QMP command the binary accepts (query-commands) */
  commands: ReadonlySet<string>;
  /** values of -display the binary was built with (DisplayType in query-qmp-schema) */
  displayTypes: readonly string[];
  /** ARM GIC versions QEMU can provide (query-gic-capabilities) */
  gicVersions: ReadonlyArray<{ version: number; emulated: boolean; kernel: boolean }>;
  /** AMD SEV / Intel SGX usable (query-sev-capabilities / query-sgx-capabilities answered) */
  sev: boolean;
  sgx: boolean;
  /** what query-sev-capabilities answered, when SEV is usable */
  sevCapabilities?: SevCapabilities;
  /**
   * QEMU's host CPU model per accelerator (query-cpu-model-expansion, static):
   * TCG's "max", and KVM's "host" when /dev/kvm could be opened
   */
  hostCpuModels: Readonly<Partial<Record<HostModelAccel, QemuHostCpuModel>>>;
  /** the "max" CPU has a "migratable" property (libvirt's QEMU_CAPS_CPU_MIGRATABLE) */
  cpuMigratable: boolean;
  /** the Hyper-V enlightenments KVM offers, in libvirt's order; undefined when QEMU was not probed with KVM */
  hypervFeatures?: readonly string[];
}

/** query-sev-capabilities' answer (virSEVCapability without the host's ASID counts). */
export interface SevCapabilities {
  pdh: string;
  certChain: string;
  cpu0Id?: string;
  cbitpos: number;
  reducedPhysBits: number;
}

/** A static expansion of QEMU's host CPU model, with the migratability libvirt derives from two expansions. */
export interface QemuHostCpuModel {
  /** QEMU property names that are on, non-migratable features included */
  features: readonly string[];
  /** those of `features` a migratable CPU does not have */
  nonMigratable: readonly string[];
  /** every feature property of the expansion, on or off: the features this QEMU knows */
  knownFeatures?: readonly string[];
  /** CPUID vendor string, family, model, stepping, when QEMU reports them */
  vendor?: string;
  family?: number;
  model?: number;
  stepping?: number;
}

/** The accelerators whose host model libvirt probes: KVM's "host" CPU, TCG's "max". */
export type HostModelAccel = 'kvm' | 'tcg';

/**
 * libvirt's historical default machines (qemu_capabilities.c preferredMachines),
 * preferred over QEMU's own default so that management apps see stable defaults.
 * Only for the arches tsvirt drives; other binaries keep QEMU's default.
 */
const PREFERRED_MACHINE: Record<string, string> = {
  x86_64: 'pc',
  i686: 'pc',
  aarch64: 'integratorcp',
  armv7l: 'integratorcp',
  armv6l: 'integratorcp',
};

/** QEMU target names (query-target) that libvirt names differently. */
const QEMU_TO_LIBVIRT_ARCH: Record<string, string> = { i386: 'i686', arm: 'armv7l' };

/** Binary name suffixes libvirt tries for a guest arch, best first (virQEMUCapsFindBinaryForArch). */
const BINARY_SUFFIXES: Record<string, string[]> = {
  x86_64: ['x86_64'],
  i686: ['i386', 'x86_64'],
  aarch64: ['aarch64'],
  armv7l: ['arm', 'aarch64'],
  armv6l: ['arm'],
};

/** Bumped whenever the probe or the cached JSON layout changes, so old caches are re-probed. */
const CACHE_FORMAT = 9;
const PROBE_TIMEOUT_MS = 30_000;

/** libvirt's arch name for the host (virArchFromHost). */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'x86_64', ia32: 'i686', arm64: 'aarch64', arm: 'armv7l' };
  return map[hostNodeArch] ?? hostNodeArch;
}

/** Whether KVM on this host can run guests of `guestArch` (x86_64 hosts run i686 too). */
function kvmArchCompatible(guestArch: string): boolean {
  const host = hostArch();
  return guestArch === host || (host === 'x86_64' && guestArch === 'i686') || (host === 'aarch64' && guestArch === 'armv7l');
}

function searchPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The qemu-system binary libvirt would use for guests of `arch`, or undefined. */
export function findBinaryForArch(arch: string): string | undefined {
  for (const suffix of BINARY_SUFFIXES[arch] ?? [arch]) {
    const found = searchPath(`qemu-system-${suffix}`);
    if (found) return found;
  }
  return undefined;
}

/** Guest arches for which a binary is installed, in libvirt's capabilities order (virArch enum order). */
export function installedGuestArches(): string[] {
  return ['armv6l', 'armv7l', 'aarch64', 'i686', 'x86_64'].filter((a) => findBinaryForArch(a) !== undefined);
}

/** The machine called `name` either canonically or by its alias. */
export function findMachine(caps: QemuCaps, name: string): QemuMachine | undefined {
  return caps.machines.find((m) => m.name === name) ?? caps.machines.find((m) => m.alias === name);
}

/** Resolves an alias (q35) to the canonical machine name (pc-q35-7.2); other names unchanged. */
export function canonicalMachineName(caps: QemuCaps, name: string): string {
  return caps.machines.find((m) => m.alias === name)?.name ?? name;
}

/** libvirt's default machine for this binary (the one `<type>` gets when it names none). */
export function defaultMachine(caps: QemuCaps): QemuMachine | undefined {
  return caps.machines.find((m) => m.isDefault) ?? caps.machines[0];
}

export function hasDeviceType(caps: QemuCaps, type: string): boolean {
  return caps.deviceTypes.has(type);
}

/** virQEMUCapsIsArchSupported: the binary's own arch, plus i686 on x86_64, armv7l on aarch64, armv6l on arm and ppc64le on ppc64. */
export function archSupported(caps: QemuCaps, arch: string): boolean {
  if (arch === caps.arch) return true;
  return (caps.arch === 'x86_64' && arch === 'i686') || (caps.arch === 'aarch64' && arch === 'armv7l')
    || (caps.arch === 'armv7l' && arch === 'armv6l') || (caps.arch === 'ppc64' && arch === 'ppc64le');
}

/** Whether the binary can run `virtType` guests, as libvirt's probe recorded it (virQEMUCapsIsVirtTypeSupported). */
export function virtTypeSupported(caps: QemuCaps, virtType: string): boolean {
  return (virtType === 'qemu' && caps.tcgUsable) || (virtType === 'kvm' && caps.kvmUsable);
}

// ---------------------------------------------------------------------------
// Probe

const PROBE_COMMANDS = [
  'query-version', 'query-target', 'query-kvm', 'query-machines', 'query-cpu-definitions', 'qom-list-types',
  'query-commands', 'query-qmp-schema', 'query-gic-capabilities', 'query-sev-capabilities', 'query-sgx-capabilities',
] as const;
type ProbeCommand = (typeof PROBE_COMMANDS)[number];
/** Commands every QEMU answers; the others are optional (a binary without KVM or CPU models). */
const REQUIRED_COMMANDS: readonly ProbeCommand[] = ['query-version', 'query-machines', 'qom-list-types'];

/** The host CPU model of the accelerator QEMU runs with (libvirt's host-model probe), migratable or not. */
function hostModelExpansion(accel: HostModelAccel, migratable: boolean) {
  return { type: 'static', model: { name: accel === 'kvm' ? 'host' : 'max', props: { migratable } } };
}

/** virQEMUCapsProbeQMPHostCPU: the migratable expansion, and what only the non-migratable one adds. */
async function expandHostModel(execute: ProbeExecute, accel: HostModelAccel): Promise<QemuHostCpuModel | undefined> {
  const migratable = expansionProps(await execute('query-cpu-model-expansion', hostModelExpansion(accel, true), false));
  if (!migratable) return undefined;
  const full = expansionProps(await execute('query-cpu-model-expansion', hostModelExpansion(accel, false), false)) ?? migratable;
  const on = (props: Record<string, unknown>) => Object.keys(props).filter((name) => props[name] === true);
  const number = (name: string) => (typeof migratable[name] === 'number' ? { [name]: migratable[name] as number } : {});
  return {
    features: [...new Set([...on(migratable), ...on(full)])],
    nonMigratable: on(full).filter((name) => migratable[name] !== true),
    knownFeatures: Object.keys(full).filter((name) => typeof full[name] === 'boolean'),
    ...(typeof migratable.vendor === 'string' ? { vendor: migratable.vendor } : {}),
    ...number('family'), ...number('model'), ...number('stepping'),
  };
}

/** The "max" CPU types whose properties libvirt reads (virQEMUCapsObjectProps): not i386's. */
const MAX_CPU_TYPES = ['max-x86_64-cpu', 'max-arm-cpu'];

/** QEMU_CAPS_CPU_MIGRATABLE: the binary's "max" CPU type has a "migratable" property. */
async function probeCpuMigratable(execute: ProbeExecute, types: unknown): Promise<boolean> {
  const known = new Set(((types as { name: string }[] | undefined) ?? []).map((t) => t.name));
  for (const typename of MAX_CPU_TYPES.filter((t) => known.has(t))) {
    const props = await execute('qom-list-properties', { typename }, false) as Array<{ name: string }> | undefined;
    if (props?.some((p) => p.name === 'migratable')) return true;
  }
  return false;
}

/**
 * Every probe command's answer, TCG's host CPU model, and whether the "max"
 * CPU can be told to be migratable, from one QEMU running with `accel` (TCG,
 * unless the binary has no TCG).
 */
async function runProbe(binary: string, accel: HostModelAccel): Promise<{ answers: Map<ProbeCommand, unknown>; tcgHostModel?: QemuHostCpuModel; cpuMigratable: boolean }> {
  return withProbeQemu(binary, accel, async (execute) => {
    const answers = new Map<ProbeCommand, unknown>();
    for (const command of PROBE_COMMANDS) {
      const answer = await execute(command, undefined, REQUIRED_COMMANDS.includes(command));
      if (answer !== undefined) answers.set(command, answer);
    }
    const cpuMigratable = await probeCpuMigratable(execute, answers.get('qom-list-types'));
    const tcgHostModel = accel === 'tcg' ? await expandHostModel(execute, 'tcg') : undefined;
    return { answers, ...(tcgHostModel ? { tcgHostModel } : {}), cpuMigratable };
  });
}

/** libvirt's Hyper-V enlightenments (virDomainHyperv), in its order: domcapabilities lists them so. */
const HYPERV_FEATURES = ['relaxed', 'vapic', 'spinlocks', 'vpindex', 'runtime', 'synic', 'stimer', 'reset', 'vendor_id',
  'frequencies', 'reenlightenment', 'tlbflush', 'ipi', 'evmcs', 'avic'];

/**
 * virQEMUCapsProbeHypervCapabilities: the enlightenments KVM's "host" CPU turns
 * on with hv-passthrough (a full, non-migratable expansion); QEMU spells
 * vendor_id as hv-vendor-id. Undefined when QEMU cannot expand it.
 */
async function probeHyperv(execute: ProbeExecute): Promise<string[] | undefined> {
  const expansion = { type: 'full', model: { name: 'host', props: { migratable: false, 'hv-passthrough': true } } };
  const props = expansionProps(await execute('query-cpu-model-expansion', expansion, false));
  if (!props) return undefined;
  const on = new Set(Object.entries(props)
    .filter(([name, value]) => name.startsWith('hv-') && (value === true || (typeof value === 'number' && value > 0) || typeof value === 'string'))
    .map(([name]) => name.slice(3).replaceAll('-', '_')));
  return HYPERV_FEATURES.filter((f) => on.has(f));
}

/** KVM's state and host CPU model, from a QEMU running with KVM (libvirt probes each accelerator); disabled when KVM cannot run. */
async function probeKvm(binary: string): Promise<KvmFacts> {
  return withProbeQemu(binary, 'kvm', async (execute): Promise<KvmFacts> => {
    const state = await execute('query-kvm', undefined, false) as { enabled?: boolean; present?: boolean } | undefined;
    const hostCpuModel = await expandHostModel(execute, 'kvm');
    const definitions = await execute('query-cpu-definitions', undefined, false) as RawCpuDefinition[] | undefined;
    const cpuModelBlockers = definitions && Object.fromEntries(definitions.map((c) => [c.name, c['unavailable-features'] ?? []]));
    const hypervFeatures = await probeHyperv(execute);
    return {
      enabled: state?.enabled === true && state.present === true,
      ...(hostCpuModel ? { hostCpuModel } : {}), ...(cpuModelBlockers ? { cpuModelBlockers } : {}), ...(hypervFeatures ? { hypervFeatures } : {}),
    };
  }).catch(() => ({ enabled: false }));
}

/** The properties of an expansion; undefined without one. */
function expansionProps(answer: unknown): Record<string, unknown> | undefined {
  return (answer as { model?: { props?: Record<string, unknown> } } | undefined)?.model?.props;
}

type ProbeExecute = (command: string, args: Record<string, unknown> | undefined, required: boolean) => Promise<unknown>;

/**
 * Runs `work` against a paused, machine-less QEMU, the way libvirt probes: QEMU
 * daemonizes once its QMP socket listens, the commands run over the shared QMP
 * client (an optional command that fails answers undefined), then `quit`. The
 * daemonized QEMU is watched by a guard (PROBE_GUARD) so that it cannot outlive
 * this process, even one killed by SIGKILL.
 */
async function withProbeQemu<T>(binary: string, accel: HostModelAccel, work: (execute: ProbeExecute) => Promise<T>): Promise<T> {
  const fail = (why: string) => virError(ErrorCode.INTERNAL_ERROR, `Failed to probe capabilities for ${binary}: ${why}`, ErrorDomain.QEMU);
  // A fresh short folder: unix socket paths are limited to 107 bytes, embed roots may be long.
  const dir = await mkdtemp(join(tmpdir(), 'tsvirt-probe-'));
  const socket = join(dir, 'qmp.sock');
  const pidFile = join(dir, 'qemu.pid');
  let guard: ProbeGuard | undefined;
  let client: QmpClient | undefined;
  let quit = false;
  try {
    const args = ['-S', '-no-user-config', '-nodefaults', '-nographic', '-machine', `none,accel=${accel}`,
      '-qmp', `unix:${socket},server=on,wait=off`, '-pidfile', pidFile, '-daemonize'];
    // child_process (and net with it) is loaded only when a probe runs: queries answered from the cache never need it
    const { spawn } = await import('node:child_process');
    guard = await startGuarded(spawn, binary, args, pidFile, PROBE_TIMEOUT_MS);
    if ('error' in guard) throw fail(guard.error);
    try {
      // the QMP client is loaded only when a binary has to be probed (the cache usually answers)
      const { QmpClient } = await import('./qmp.js');
      client = await QmpClient.connect(socket, { timeoutMs: PROBE_TIMEOUT_MS });
    } catch (e) {
      throw fail((e as Error).message);
    }
    const qmp = client;
    const result = await work(async (command, args, required) => {
      try {
        return await qmp.execute(command, args as { [key: string]: QemuJson } | undefined);
      } catch (e) {
        if (required) throw fail((e as Error).message);
        return undefined;
      }
    });
    quit = await qmp.execute('quit').then(() => true, () => false);
    return result;
  } finally {
    client?.close();
    if (guard && 'release' in guard) await guard.release(quit);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs QEMU with -daemonize under a small sh guard that holds a pipe from this
 * process: once QEMU has daemonized the guard prints "ready" and waits on the pipe.
 * "done" means QEMU quit by itself; anything else, including end-of-file because
 * this process died, makes the guard SIGKILL the pid in QEMU's pid file and remove
 * the probe folder holding it, which a dead process cannot (SIGPIPE is ignored so
 * that "ready" written to a dead reader does not end the guard early).
 * The binary and its arguments reach QEMU as "$@", never parsed by the shell.
 */
const PROBE_GUARD = 'trap "" PIPE; "$@" </dev/null >/dev/null || exit; echo ready; read -r answer; '
  + '[ "$answer" = done ] || { kill -9 "$(cat "$TSVIRT_PROBE_PIDFILE")" 2>/dev/null; rm -rf "${TSVIRT_PROBE_PIDFILE%/*}"; }; exit 0';

function killGroup(pid: number | undefined): void {
  try {
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

type ProbeGuard = { error: string } | { release(quitByItself: boolean): Promise<void> };

function startGuarded(spawn: typeof import('node:child_process').spawn, binary: string, args: string[], pidFile: string, timeoutMs: number): Promise<ProbeGuard> {
  return new Promise((resolve) => {
    const guard = spawn('/bin/sh', ['-c', PROBE_GUARD, 'tsvirt-probe-guard', binary, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, LC_ALL: 'C', TSVIRT_PROBE_PIDFILE: pidFile },
    });
    const exited = new Promise<void>((r) => guard.on('close', () => r()));
    let stderr = '';
    guard.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 65536) stderr += s;
    });
    // a QEMU that hangs before daemonizing is still in the guard's process group
    const timer = setTimeout(() => killGroup(guard.pid), timeoutMs);
    const release = async (quitByItself: boolean) => {
      guard.stdin.end(quitByItself ? 'done\n' : '');
      await exited;
    };
    guard.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (!s.includes('ready')) return;
      clearTimeout(timer);
      resolve({ release });
    });
    guard.on('error', (e) => {
      clearTimeout(timer);
      resolve({ error: e.message });
    });
    guard.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ error: stderr.trim() || (signal ? `killed by ${signal}` : `exit status ${code}`) });
    });
  });
}

interface RawMachine {
  name: string;
  alias?: string;
  'is-default'?: boolean;
  'cpu-max': number;
  'hotpluggable-cpus': boolean;
  'default-cpu-type'?: string;
  'default-ram-id'?: string;
  'numa-mem-supported': boolean;
  deprecated?: boolean;
}

interface RawCpuDefinition {
  name: string;
  typename?: string;
  'unavailable-features'?: string[];
  'alias-of'?: string;
  deprecated?: boolean;
  static?: boolean;
}

/** The part of QemuCaps that depends only on the binary (cached on disk). */
interface ProbedCaps {
  binary: string;
  arch: string;
  version: QemuVersion;
  machines: QemuMachine[];
  deviceTypes: string[];
  cpuModels: QemuCpuModel[];
  kvmPresent: boolean;
  /** QEMU ran with KVM (see QemuCaps.kvmUsable) */
  kvmEnabled: boolean;
  commands: string[];
  displayTypes: string[];
  gicVersions: Array<{ version: number; emulated: boolean; kernel: boolean }>;
  sev: boolean;
  sgx: boolean;
  sevCapabilities?: SevCapabilities;
  hostCpuModels: Partial<Record<HostModelAccel, QemuHostCpuModel>>;
  cpuMigratable: boolean;
  hypervFeatures?: string[];
}

interface SchemaEntry {
  name: string;
  'meta-type': string;
  'ret-type'?: string;
  members?: Array<{ name: string; type?: string }>;
  values?: string[];
}

/**
 * The -display types from the QMP schema: the enum type of the `type` member
 * of query-display-options' result (schema type names are masked, so follow
 * the references rather than look the enum up by name).
 */
function displayTypesFromSchema(schema: SchemaEntry[] | undefined): string[] {
  if (!schema) return [];
  const byName = new Map(schema.map((e) => [e.name, e]));
  const ret = byName.get(byName.get('query-display-options')?.['ret-type'] ?? '');
  const typeRef = ret?.members?.find((m) => m.name === 'type')?.type;
  return byName.get(typeRef ?? '')?.values ?? [];
}

function archFromBinaryName(binary: string): string | undefined {
  const m = /qemu-system-([^/]+)$/.exec(binary);
  return m ? (QEMU_TO_LIBVIRT_ARCH[m[1]!] ?? m[1]) : undefined;
}

function interpretProbe(binary: string, r: Map<ProbeCommand, unknown>): ProbedCaps {
  const v = r.get('query-version') as { qemu: { major: number; minor: number; micro: number }; package: string };
  const target = r.get('query-target') as { arch?: string } | undefined;
  const qemuArch = target?.arch;
  const arch = qemuArch ? (QEMU_TO_LIBVIRT_ARCH[qemuArch] ?? qemuArch) : archFromBinaryName(binary);
  if (!arch) throw virError(ErrorCode.INTERNAL_ERROR, `Unable to determine the guest architecture of ${binary}`, ErrorDomain.QEMU);

  const preferred = PREFERRED_MACHINE[arch];
  const machines: QemuMachine[] = (r.get('query-machines') as RawMachine[])
    .filter((m) => m.name !== 'none')
    .map((m) => ({
      name: m.name,
      ...(m.alias !== undefined ? { alias: m.alias } : {}),
      isDefault: false,
      qemuDefault: m['is-default'] === true,
      maxCpus: m['cpu-max'],
      hotplugCpus: m['hotpluggable-cpus'],
      ...(m['default-cpu-type'] !== undefined ? { defaultCpuType: m['default-cpu-type'] } : {}),
      ...(m['default-ram-id'] !== undefined ? { defaultRamId: m['default-ram-id'] } : {}),
      numaMemSupported: m['numa-mem-supported'],
      deprecated: m.deprecated === true,
    }));
  let defIdx = preferred === undefined ? -1 : machines.findIndex((m) => m.name === preferred || m.alias === preferred);
  if (defIdx < 0) defIdx = machines.findIndex((m) => m.qemuDefault);
  if (defIdx >= 0) {
    const [def] = machines.splice(defIdx, 1);
    def!.isDefault = true;
    machines.unshift(def!);
  }

  const cpuModels: QemuCpuModel[] = ((r.get('query-cpu-definitions') as RawCpuDefinition[] | undefined) ?? []).map((c) => ({
    name: c.name,
    ...(c.typename !== undefined ? { typename: c.typename } : {}),
    ...(c['unavailable-features'] !== undefined ? { unavailableFeatures: c['unavailable-features'] } : {}),
    ...(c['alias-of'] !== undefined ? { aliasOf: c['alias-of'] } : {}),
    deprecated: c.deprecated === true,
    static: c.static === true,
  }));
  const types = (r.get('qom-list-types') as { name: string }[]).map((t) => t.name).sort();
  const kvm = r.get('query-kvm') as { present?: boolean } | undefined;
  const gic = (r.get('query-gic-capabilities') as Array<{ version: number; emulated: boolean; kernel: boolean }> | undefined) ?? [];
  return {
    binary,
    arch,
    version: { major: v.qemu.major, minor: v.qemu.minor, micro: v.qemu.micro, package: v.package.trim() },
    machines,
    deviceTypes: types,
    cpuModels,
    kvmPresent: kvm?.present === true,
    kvmEnabled: false,
    commands: ((r.get('query-commands') as { name: string }[] | undefined) ?? []).map((c) => c.name).sort(),
    displayTypes: displayTypesFromSchema(r.get('query-qmp-schema') as SchemaEntry[] | undefined),
    gicVersions: gic.map((g) => ({ version: g.version, emulated: g.emulated, kernel: g.kernel })),
    sev: r.has('query-sev-capabilities'),
    sgx: r.has('query-sgx-capabilities'),
    ...sevCapabilitiesFrom(r.get('query-sev-capabilities')),
    hostCpuModels: {},
    cpuMigratable: false,
  };
}

/** The fields of query-sev-capabilities libvirt keeps. */
function sevCapabilitiesFrom(answer: unknown): { sevCapabilities?: SevCapabilities } {
  if (answer === undefined) return {};
  const a = answer as { pdh: string; 'cert-chain': string; 'cpu0-id'?: string; cbitpos: number; 'reduced-phys-bits': number };
  return {
    sevCapabilities: {
      pdh: a.pdh,
      certChain: a['cert-chain'],
      ...(a['cpu0-id'] !== undefined ? { cpu0Id: a['cpu0-id'] } : {}),
      cbitpos: a.cbitpos,
      reducedPhysBits: a['reduced-phys-bits'],
    },
  };
}

function completeCaps(p: ProbedCaps, host: HostFacts): QemuCaps {
  return {
    binary: p.binary,
    arch: p.arch,
    version: p.version,
    versionNumber: p.version.major * 1_000_000 + p.version.minor * 1_000 + p.version.micro,
    machines: p.machines,
    deviceTypes: new Set(p.deviceTypes),
    cpuModels: p.cpuModels,
    kvmPresent: p.kvmPresent,
    tcgUsable: p.deviceTypes.includes('tcg-accel'),
    kvmUsable: p.kvmEnabled,
    host,
    commands: new Set(p.commands),
    displayTypes: p.displayTypes,
    gicVersions: p.gicVersions,
    sev: p.sev,
    sgx: p.sgx,
    ...(p.sevCapabilities ? { sevCapabilities: p.sevCapabilities } : {}),
    hostCpuModels: p.hostCpuModels,
    cpuMigratable: p.cpuMigratable,
    ...(p.hypervFeatures ? { hypervFeatures: p.hypervFeatures } : {}),
  };
}

interface CacheFile {
  format: number;
  /** the binary, and whether /dev/kvm was usable: libvirt re-probes when that changes */
  key: { path: string; size: number; mtimeMs: number; kvmDevice: boolean };
  caps: ProbedCaps;
}

/**
 * Per-driver capabilities cache: in memory for the life of the connection, on
 * disk under `<cacheDir>/capabilities/` across processes, one entry per binary
 * and host identity (a recorded host's KVM answers must not pass for the live one's).
 */
export class QemuCapsCache {
  private readonly memory = new Map<string, Promise<QemuCaps>>();

  constructor(private readonly cacheDir: string, readonly host: HostFacts) {}

  /** Capabilities of `binary`; probes only when the binary changed since the cached probe. */
  get(binary: string): Promise<QemuCaps> {
    let pending = this.memory.get(binary);
    if (!pending) {
      pending = this.load(binary);
      this.memory.set(binary, pending);
      pending.catch(() => this.memory.delete(binary));
    }
    return pending;
  }

  /** Capabilities of the binary libvirt would pick for `arch`. */
  async forArch(arch: string): Promise<QemuCaps> {
    const binary = findBinaryForArch(arch);
    if (!binary) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `No emulator found for arch '${arch}'`, ErrorDomain.QEMU);
    }
    return this.get(binary);
  }

  cacheFileFor(binary: string): string {
    const digest = process.getBuiltinModule('node:crypto').createHash('sha256').update(`${this.host.identity}\0${binary}`).digest('hex').slice(0, 32);
    return join(this.cacheDir, 'capabilities', `${digest}.json`);
  }

  private async load(binary: string): Promise<QemuCaps> {
    let st;
    try {
      st = statSync(binary);
    } catch (e) {
      throw virError(ErrorCode.SYSTEM_ERROR, `Cannot check QEMU binary ${binary}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`, ErrorDomain.QEMU);
    }
    const key = { path: binary, size: st.size, mtimeMs: st.mtimeMs, kvmDevice: this.host.kvmDeviceUsable() };
    const file = this.cacheFileFor(binary);
    const cached = await readCacheFile(file);
    if (cached && cached.format === CACHE_FORMAT && (Object.keys(key) as Array<keyof typeof key>).every((k) => cached.key[k] === key[k])) {
      return completeCaps(cached.caps, this.host);
    }
    const { answers, tcgHostModel, cpuMigratable } = await runProbe(binary, 'tcg').catch(async (tcgFailure: unknown) => {
      // a binary built without TCG (qemu-system-x86_64-microvm) runs only with KVM, which libvirt's kvm:tcg probe falls to
      if (!this.host.kvmDeviceUsable()) throw tcgFailure;
      return runProbe(binary, 'kvm').catch(() => { throw tcgFailure; });
    });
    const probed = interpretProbe(binary, answers);
    probed.cpuMigratable = cpuMigratable;
    if (tcgHostModel) probed.hostCpuModels.tcg = tcgHostModel;
    if (probed.kvmPresent && kvmArchCompatible(probed.arch)) {
      const kvm = await this.host.kvm(probed.arch, () => probeKvm(binary));
      probed.kvmEnabled = kvm.enabled;
      // the feature properties a binary knows do not depend on the accelerator
      const knownFeatures = kvm.hostCpuModel?.knownFeatures ?? tcgHostModel?.knownFeatures;
      if (kvm.enabled && kvm.hostCpuModel) probed.hostCpuModels.kvm = { ...kvm.hostCpuModel, ...(knownFeatures ? { knownFeatures } : {}) };
      const blockers = kvm.enabled ? kvm.cpuModelBlockers : undefined;
      if (kvm.enabled && kvm.hypervFeatures) probed.hypervFeatures = [...kvm.hypervFeatures];
      if (blockers) probed.cpuModels = probed.cpuModels.map((m) => ({ ...m, kvmUnavailableFeatures: blockers[m.name] ?? [] }));
    }
    const entry: CacheFile = { format: CACHE_FORMAT, key, caps: probed };
    try {
      await mkdir(join(this.cacheDir, 'capabilities'), { recursive: true });
      await writeFileAtomic(file, JSON.stringify(entry));
    } catch {
      // A read-only or full cache folder costs a re-probe next time, nothing else.
    }
    return completeCaps(probed, this.host);
  }
}

async function readCacheFile(file: string): Promise<CacheFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
    return parsed && typeof parsed === 'object' && parsed.caps && Array.isArray(parsed.caps.machines) && typeof parsed.caps.hostCpuModels === 'object' && parsed.caps.hostCpuModels !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}
