// The machinery behind running domains: QEMU processes (lifecycle.ts), hotplug,
// security (identity, labels, cgroups), host taps and the command line a start
// builds. domain-runtime.ts loads this module at the first call that may meet a
// running domain or start one: a query of shut-off domains never loads it, nor
// compiles or deserialises the code it pulls in.
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childText, type XmlElement } from '../../util/xml.js';
import { isX86Arch } from '../../conf/machine-family.js';
import { assignAddressForNewDevice } from './address-assign.js';
import { domainRuntimePaths, type QemuCommandLine } from './command-line/context.js';
import { driverCommandLineOptions } from './command-line-options.js';
import { DiskSecrets, readMasterKey } from './disk-secrets.js';
import type { QemuDriver } from './driver.js';
import { hostX86CpuMap } from './host-cpu.js';
import { DeviceHotplug, type HotplugHost } from './hotplug.js';
import { QemuRuntime, type RuntimeHost } from './lifecycle.js';
import { SharedNetworkPorts } from './network-ports.js';
import type { QmpClient } from './qmp.js';
import { DomainSecurity } from './security/domain-security.js';
import { privileged } from './security/identity.js';
import { TapDevices, tapCounterFiles } from './tap-devices.js';
import { translateVolumeDisks } from './volume-disks.js';

/** The running-domain machinery of one driver. */
export interface DomainProcesses {
  readonly runtime: QemuRuntime;
  readonly hotplug: DeviceHotplug;
  /** QEMU's identity, file labels and cgroups. */
  readonly security: DomainSecurity;
}

/** What the driver's domain runtime (domain-runtime.ts) answers for the machinery: its locks, events and state changes. */
export type ProcessCallbacks = Pick<RuntimeHost, 'longLived' | 'emit' | 'withDomainLock' | 'domainStopped' | 'blockJobChanged' | 'deviceDeleted'>;

export function domainProcesses(driver: QemuDriver, callbacks: ProcessCallbacks): DomainProcesses {
  const security = new DomainSecurity(driver.paths, driver.config.raw);
  const taps = new TapDevices({
    ...tapCounterFiles(driver.paths.stateDir, driver.paths.lockDir),
    networkPorts: new SharedNetworkPorts(() => driver.shared),
    privileged: privileged(),
  });
  const host: RuntimeHost & HotplugHost = {
    ...callbacks,
    taps,
    paths: driver.paths,
    security,
    buildCommandLine: (def: XmlElement, id: number, masterKey?: Buffer) => buildCommandLine(driver, def, id, masterKey),
    assignHotplugAddress: (def: XmlElement, device: XmlElement) => void assignAddressForNewDevice(def, device),
    updateLiveCpu: (live, qmp) => updateLiveCpu(driver, live, qmp),
  };
  const runtime = new QemuRuntime(host);
  return { runtime, hotplug: new DeviceHotplug(runtime, host), security };
}

/** qemuProcessUpdateAndVerifyCPU for an x86 guest on an x86 host (the CPU map is the host's); the CPU it started with when QEMU changed it. */
async function updateLiveCpu(driver: QemuDriver, live: XmlElement, qmp: QmpClient): Promise<XmlElement | undefined> {
  const arch = child(child(live, 'os') ?? live, 'type')?.attrs.arch ?? '';
  const emulator = childText(child(live, 'devices') ?? live, 'emulator')?.trim();
  const map = isX86Arch(arch) && emulator ? hostX86CpuMap() : undefined;
  if (!map || !emulator) return undefined;
  const { updateLiveGuestCpu } = await import('./live-guest-cpu.js');
  return updateLiveGuestCpu(live, qmp, map, await driver.caps.get(emulator));
}

/** `masterKey`: a new QEMU's; without it, the running domain's, read from its folder when a disk needs it. */
export async function buildCommandLine(driver: QemuDriver, live: XmlElement, domainId: number, masterKey?: Buffer): Promise<QemuCommandLine> {
  // QEMU gets what volume disks stand for; the live XML keeps the pool and volume
  const { def, failures } = await translateVolumeDisks(live, await driver.storage());
  const secrets = await DiskSecrets.load(def, await driver.secrets());
  // post-parse always fills in <emulator>
  const emulator = childText(child(def, 'devices') ?? def, 'emulator')?.trim();
  if (!emulator) throw virError(ErrorCode.INTERNAL_ERROR, 'the domain has no <emulator>', ErrorDomain.QEMU);
  const caps = await driver.caps.get(emulator);
  // a paravirtualised KVM (no vmx/svm) passes libvirt's checks, but guests hang under it
  if (def.attrs.type === 'kvm' && !(caps.kvmUsable && caps.host.hardwareVirtualization())) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Domain requires KVM, but it is not available. Check that virtualization is enabled in the host BIOS, and host configuration is setup to load the kvm modules.', ErrorDomain.QEMU);
  }
  const [{ validateLaunch }, { probeHostResources }] = await Promise.all([import('./launch-validate.js'), import('./host-resources.js')]);
  validateLaunch(def, caps, probeHostResources(caps.host, { volumeDiskFailure: (disk) => failures.get(disk), ...secrets.hostResources() }));
  // loaded on first start: define, list and dumpxml never need the builder
  const { buildQemuCommandLine } = await import('./command-line.js');
  // no tap descriptors: QEMU opens the taps tap-devices.ts made, by name
  return buildQemuCommandLine(def, driverCommandLineOptions(driver.paths, {
    caps,
    domainId,
    diskSecrets: secrets,
    masterKey: masterKey ?? (secrets.empty ? undefined : await readMasterKey(domainRuntimePaths(driver.paths, domainId, childText(live, 'name') ?? '').libDir)),
  }));
}
