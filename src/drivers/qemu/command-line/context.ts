// Shared state of one command-line build: the canonical domain tree, the
// probed QEMU capabilities the builder consults, the per-domain runtime paths
// and the argument/environment collector every concern module appends to.
import { formatQemuJson } from '../../../util/json.js';
import type { XmlElement } from '../../../util/xml.js';
import { child, childrenNamed } from '../../../util/xml.js';
import { isArmVirt, isI440fx, isQ35, isRiscvVirt, isX86Arch, type GuestMachine } from '../../../conf/machine-family.js';
import { assignAliases } from './aliases.js';
import type { QemuCaps } from '../capabilities.js';
import { findMachine } from '../capabilities.js';
import type { QemuPaths } from '../paths.js';
import type { DiskSecrets } from '../disk-secrets.js';

/** The driver folders the command line refers to (libvirt's qemu.conf defaults, or DIR/... in embed mode). */
export type QemuStatePaths = Pick<QemuPaths, 'libDir' | 'stateDir' | 'channelTargetDir' | 'memoryBackingDir' | 'nvramDir'>;

export interface CommandLineOptions {
  /** The probed capabilities of the domain's emulator: every QEMU-dependent choice comes from here. */
  caps: QemuCaps;
  paths: QemuStatePaths;
  /** -1 when no process runs (domxml-to-native), else the domain id. */
  domainId: number;
  /** The parent process environment; libvirt passes PATH, HOME, USER ... through to QEMU. */
  hostEnv: Record<string, string | undefined>;
  /** qemu.conf default_tls_x509_cert_dir: /etc/pki/qemu, or DIR/etc/pki/qemu in embed mode. */
  tlsX509CertDir: string;
  /**
   * The tap file descriptor QEMU inherits for the index-th <interface>; without
   * it QEMU opens the tap its <target dev> names.
   */
  tapFd?(net: XmlElement, index: number): number;
  /** The passphrases of encrypted images (disk-secrets.ts), encrypted on the command line under masterKey. */
  diskSecrets?: DiskSecrets;
  /** The domain's 32-byte master key, which QEMU reads from master-key.aes as masterKey0. */
  masterKey?: Buffer;
}

export interface QemuCommandLine {
  env: Array<[string, string]>;
  binary: string;
  args: string[];
}

/** Per-domain folders, named as libvirt names them (domain-<id>-<first 20 characters of the name>). */
export interface DomainRuntimePaths {
  libDir: string;
  channelTargetDir: string;
  memoryBackingDir: string;
  shortName: string;
}

export function domainShortName(id: number, name: string): string {
  return `${id}-${[...name].slice(0, 20).join('')}`;
}

export function domainRuntimePaths(paths: QemuStatePaths, id: number, name: string): DomainRuntimePaths {
  const shortName = domainShortName(id, name);
  return {
    libDir: `${paths.libDir}/domain-${shortName}`,
    channelTargetDir: `${paths.channelTargetDir}/domain-${shortName}`,
    memoryBackingDir: `${paths.memoryBackingDir}/${shortName}`,
    shortName,
  };
}

export type MachineFamily = 'i440fx' | 'q35' | 'virt' | 'other';

/** The family the command line builder distinguishes ('virt': ARM or RISC-V virt). */
function machineFamily(m: GuestMachine): MachineFamily {
  if (isQ35(m)) return 'q35';
  if (isI440fx(m)) return 'i440fx';
  return isArmVirt(m) || isRiscvVirt(m) ? 'virt' : 'other';
}

/** Read-only questions about the domain tree that several concern modules ask. */
export class DomainView {
  readonly devices: XmlElement;
  readonly os: XmlElement;
  readonly arch: string;
  readonly machine: string;
  readonly family: MachineFamily;
  readonly virtType: string;
  readonly aliases: Map<XmlElement, string>;
  readonly name: string;

  constructor(readonly def: XmlElement) {
    this.devices = child(def, 'devices') ?? { name: 'devices', attrs: {}, children: [], text: '', line: 0 };
    this.os = child(def, 'os') ?? { name: 'os', attrs: {}, children: [], text: '', line: 0 };
    const type = child(this.os, 'type');
    this.arch = type?.attrs.arch ?? 'x86_64';
    this.machine = type?.attrs.machine ?? '';
    this.family = machineFamily(this);
    this.virtType = def.attrs.type ?? 'qemu';
    this.name = child(def, 'name')?.text ?? '';
    this.aliases = assignAliases(this);
  }

  deviceList(tag: string): XmlElement[] {
    return childrenNamed(this.devices, tag);
  }

  controllers(type?: string): XmlElement[] {
    return this.deviceList('controller').filter((c) => type === undefined || c.attrs.type === type);
  }

  controller(type: string, index: number): XmlElement | undefined {
    return this.controllers(type).find((c) => Number(c.attrs.index ?? 0) === index);
  }

  alias(el: XmlElement): string {
    const a = this.aliases.get(el);
    if (a === undefined) throw new Error(`internal error: no alias for <${el.name}>`);
    return a;
  }

  get isX86(): boolean {
    return isX86Arch(this.arch);
  }

  /** i440fx and similar machines with a built-in IDE controller. */
  get hasBuiltinIde(): boolean {
    return this.family === 'i440fx';
  }

  /** QEMU's id of the machine's default RAM region ("pc.ram"), when it reports one. */
  defaultRamId(caps: QemuCaps): string | undefined {
    return findMachine(caps, this.machine)?.defaultRamId;
  }

  feature(name: string): XmlElement | undefined {
    const features = child(this.def, 'features');
    return features ? child(features, name) : undefined;
  }
}

/** <qemu:override><qemu:device alias> front-end properties, applied to that -device (qemuBuildDeviceCommandlineHandleOverrides). */
type DeviceOverrides = Map<string, XmlElement[]>;

function deviceOverrides(def: XmlElement): DeviceOverrides {
  const out: DeviceOverrides = new Map();
  const override = def.children.find((c) => c.name.endsWith(':override'));
  for (const device of override?.children.filter((c) => c.name.endsWith(':device')) ?? []) {
    const frontend = device.children.find((c) => c.name.endsWith(':frontend'));
    out.set(device.attrs.alias ?? '', frontend?.children.filter((c) => c.name.endsWith(':property')) ?? []);
  }
  return out;
}

function applyOverrides(props: JsonProps, properties: XmlElement[]): JsonProps {
  const out = { ...props };
  for (const p of properties) {
    const name = p.attrs.name ?? '';
    const value = p.attrs.value ?? '';
    switch (p.attrs.type) {
      case 'remove': delete out[name]; break;
      case 'bool': out[name] = value === 'true'; break;
      case 'signed': case 'unsigned': out[name] = Number(value); break;
      default: out[name] = value;
    }
  }
  return out;
}

/** Collects the environment and arguments in the order libvirt emits them. */
export class ArgvBuilder {
  readonly env: Array<[string, string]> = [];
  readonly args: string[] = [];
  private readonly overrides: DeviceOverrides;

  constructor(def: XmlElement) {
    this.overrides = deviceOverrides(def);
  }

  /** Like virCommandAddEnv: a later value for the same name replaces the earlier one, at the end. */
  setEnv(name: string, value: string): void {
    const at = this.env.findIndex(([n]) => n === name);
    if (at >= 0) this.env.splice(at, 1);
    this.env.push([name, value]);
  }

  add(...args: string[]): void {
    this.args.push(...args);
  }

  /** An option whose value is a JSON object (-device, -blockdev, -netdev, -object, -audiodev). */
  json(option: string, props: JsonProps): void {
    const overrides = option === '-device' && typeof props.id === 'string' ? this.overrides.get(props.id) : undefined;
    this.args.push(option, formatQemuJson(overrides ? applyOverrides(props, overrides) : props));
  }
}

/** bigint for 64-bit integers a double would round (see util/json.ts) */
export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonProps = { [key: string]: JsonValue };

/**
 * Builds a JSON property object in insertion order, skipping undefined
 * values: the equivalent of libvirt's virJSONValueObjectAdd with optional
 * ("S:", "T:", "p:") members.
 */
export function props(...entries: Array<[string, JsonValue | undefined]>): JsonProps {
  const out: JsonProps = {};
  for (const [k, v] of entries) if (v !== undefined) out[k] = v;
  return out;
}

/** Everything a concern module receives. */
export interface BuildContext {
  view: DomainView;
  options: CommandLineOptions;
  runtime: DomainRuntimePaths;
  cmd: ArgvBuilder;
}

// ---- small XML accessors used across modules

/** libvirt tristate ("yes"/"on" → true, "no"/"off" → false, absent → undefined). */
export function attrTristate(el: XmlElement | undefined, name: string): boolean | undefined {
  const v = el?.attrs[name];
  if (v === 'yes' || v === 'on') return true;
  if (v === 'no' || v === 'off') return false;
  return undefined;
}

/** A libvirt on/off or yes/no value as QEMU's on/off (absent → undefined). */
export function onOff(v: string | undefined): 'on' | 'off' | undefined {
  if (v === 'on' || v === 'yes') return 'on';
  if (v === 'off' || v === 'no') return 'off';
  return undefined;
}
