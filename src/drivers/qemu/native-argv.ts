// domxml-to-native: the command line libvirt would run for a domain, printed
// instead of executed (qemuConnectDomainXMLToNative).
import type { XmlElement } from '../../util/xml.js';
import { child, cloneElement, element } from '../../util/xml.js';
import { assignQemuAddresses } from './address-assign.js';
import { buildQemuCommandLine, formatArgvLikeVirsh } from './command-line.js';
import type { CommandLineOptions, QemuCommandLine } from './command-line.js';
import { driverCommandLineOptions } from './command-line-options.js';
import { probeHostResources } from './host-resources.js';
import { validateLaunch } from './launch-validate.js';
import { fillFirmware, type FirmwareDescriptor } from './firmware-select.js';
import type { HostResources } from './host-resources.js';
import type { QemuCapsCache } from './capabilities.js';
import type { QemuPaths } from './paths.js';
import { virError, ErrorCode, ErrorDomain } from '../../util/error.js';
import type { StorageDriver } from '../../driver/families.js';
import { translateVolumeDisks } from './volume-disks.js';
import { DiskSecrets, type SecretSource } from './disk-secrets.js';

export interface NativeOptions extends CommandLineOptions {
  /** The host the command line would run on: missing hugetlbfs, devices, secrets ... make libvirt refuse. */
  host: HostResources;
}

/**
 * libvirt cannot set up bridges, networks or macvtaps for a command line it
 * only prints, so it replaces every <interface> by a bare "ethernet" one that
 * keeps only MAC, model, script and boot order, and lets address assignment
 * place those NICs again (no hotplug reservation: the domain is not new).
 */
export function prepareDomainForNative(def: XmlElement, nvramDir: string, firmware: readonly FirmwareDescriptor[]): XmlElement {
  const copy = cloneElement(def);
  fillFirmware(copy, nvramDir, firmware);
  const devices = child(copy, 'devices');
  if (!devices) return copy;
  devices.children = devices.children.map((dev) => {
    if (dev.name !== 'interface') return dev;
    // Per-device boot order does not survive: libvirt copies bootIndex but not the effective index QEMU gets.
    const kept = ['mac', 'script', 'model'].map((name) => child(dev, name)).filter((c): c is XmlElement => c !== undefined);
    return element('interface', { type: 'ethernet' }, kept);
  });
  sortControllersAsParsed(devices);
  pretendGraphicsPorts(devices);
  assignQemuAddresses(copy, { sparePciePorts: 0 });
  return copy;
}

/** Without a QEMU to start, libvirt reserves no ports: autoport displays get fixed ones (qemuProcess*AllocatePorts). */
function pretendGraphicsPorts(devices: XmlElement): void {
  for (const g of devices.children.filter((c) => c.name === 'graphics')) {
    if (g.attrs.type === 'vnc' && g.attrs.autoport === 'yes') g.attrs.port = '5900';
    if (g.attrs.type === 'spice' && (g.attrs.autoport === 'yes' || g.attrs.port === '-1')) g.attrs.port = '5901';
  }
}

/**
 * libvirt re-parses the XML, and parsing files each controller among those of
 * its type by index (virDomainControllerInsertPreAlloced), while devices added
 * by post-parse (dumpxml order) were appended: the command line follows the
 * re-parsed order.
 */
function sortControllersAsParsed(devices: XmlElement): void {
  const controllers = devices.children.filter((c) => c.name === 'controller');
  const index = (c: XmlElement) => Number(c.attrs.index ?? 0);
  const sorted: XmlElement[] = [];
  for (const c of controllers) {
    let insertAt = -1;
    for (let i = sorted.length - 1; i >= 0; i--) {
      const cur = sorted[i]!;
      if (cur.attrs.type !== c.attrs.type) continue;
      if (index(cur) > index(c)) insertAt = i;
      else if (!child(c, 'master') && child(cur, 'master') && index(cur) === index(c)) insertAt = i;
      else if (insertAt === -1) insertAt = i + 1;
    }
    if (insertAt === -1) sorted.push(c);
    else sorted.splice(insertAt, 0, c);
  }
  let next = 0;
  devices.children = devices.children.map((c) => (c.name === 'controller' ? sorted[next++]! : c));
}

/** The argv of a canonical domain as domxml-to-native computes it. */
export function nativeCommandLine(def: XmlElement, options: NativeOptions): QemuCommandLine {
  validateLaunch(def, options.caps, options.host);
  return buildQemuCommandLine(prepareDomainForNative(def, options.paths.nvramDir, options.caps.host.firmwareDescriptors()), options);
}

/** What `virsh domxml-to-native qemu-argv` prints (without the trailing newline). */
export function nativeArgvText(def: XmlElement, options: NativeOptions): string {
  return formatArgvLikeVirsh(nativeCommandLine(def, options));
}

/** What the qemu driver lends to domxml-to-native. */
export interface NativeArgvDriver {
  readonly caps: QemuCapsCache;
  readonly paths: QemuPaths;
  /** The define pipeline: user XML in, canonical definition (defaults, addresses) out. */
  parseDefinition(xml: string): Promise<XmlElement>;
  /** The storage driver of the same URI, which volume disks are translated through. */
  storage?(): Promise<StorageDriver | undefined>;
  /** The secret driver of the same URI, which encrypted disks' passphrases come from. */
  secrets?(): Promise<SecretSource | undefined>;
}

/**
 * libvirt opens a tap device per interface and hands QEMU its descriptor; a
 * printed command line outlives those descriptors, so it shows the numbers
 * the descriptors would get after libvirt's own (stdio, logs, monitor...).
 */
const FIRST_TAP_FD = 24;

/** The per-domain variant: the command line of an already canonical definition. */
export async function domainNativeArgv(driver: NativeArgvDriver, parsed: XmlElement): Promise<string> {
  const { def, failures } = await translateVolumeDisks(parsed, await driver.storage?.());
  const secrets = await DiskSecrets.load(def, await driver.secrets?.());
  const emulator = child(child(def, 'devices') ?? def, 'emulator')?.text.trim() ?? '';
  const caps = await driver.caps.get(emulator);
  return nativeArgvText(def, {
    // libvirt makes a master key for the printed command line too, but writes it nowhere
    ...driverCommandLineOptions(driver.paths, { caps, domainId: -1, tapFd: (_net, index) => FIRST_TAP_FD + 2 * index, diskSecrets: secrets, masterKey: process.getBuiltinModule('node:crypto').randomBytes(32) }),
    host: probeHostResources(caps.host, { volumeDiskFailure: (disk) => failures.get(disk), ...secrets.hostResources() }),
  });
}

/** virConnectDomainXMLToNative for format "qemu-argv". */
export async function connectDomainXMLToNative(driver: NativeArgvDriver, format: string, xml: string, flags: number): Promise<string> {
  if (flags !== 0) throw virError(ErrorCode.INVALID_ARG, `unsupported flags (0x${flags.toString(16)}) in function qemuConnectDomainXMLToNative`, ErrorDomain.QEMU);
  if (format !== 'qemu-argv') throw virError(ErrorCode.INVALID_ARG, `unsupported config type ${format}`, ErrorDomain.QEMU);
  return domainNativeArgv(driver, await driver.parseDefinition(xml));
}
