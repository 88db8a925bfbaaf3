// Live hotplug of disks and NICs into a running domain.
//
// The QMP arguments are never assembled by hand: the device is added to a copy
// of the live definition, the command line of that definition is built, and the
// new device's -blockdev / -netdev / -device JSON objects are sent as
// blockdev-add / netdev_add / device_add, which take exactly those properties.
// So a hotplugged device is configured as it would be after a restart.
// Unplug follows libvirt: device_del, wait up to 5 s for DEVICE_DELETED, then
// remove the device from the live XML and delete its backend; when the guest
// takes longer, the next refresh finds the device gone from QEMU (qom-list)
// and finishes the removal.
import { reorder } from '../../conf/domain.js';
import { deviceAddressOf, pciAddressString } from '../../conf/device-address.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { child, childrenNamed, cloneElement, type XmlElement } from '../../util/xml.js';
import { DomainView, type JsonProps, type QemuCommandLine } from './command-line/context.js';
import { recordStorageIds } from './command-line/disks.js';
import { detectBackingChains } from './backing-chain.js';
import { setDeviceAlias, type QemuRuntime, type RunningDomain } from './lifecycle.js';
import type { QmpClient } from './qmp.js';
import type { DomainSecurity } from './security/domain-security.js';
import type { TapDevices } from './tap-devices.js';

/** libvirt's QEMU_UNPLUG_TIMEOUT. */
export const UNPLUG_TIMEOUT_MS = 5_000;

export interface HotplugHost {
  buildCommandLine(def: XmlElement, domainId: number): Promise<QemuCommandLine> | QemuCommandLine;
  /**
   * Gives `device` (already inside `def`'s <devices>) a PCI address on a free
   * hotpluggable slot of the existing topology, or checks and reserves the
   * explicit one it has; throws libvirt's error when neither works.
   */
  assignHotplugAddress(def: XmlElement, device: XmlElement): void;
  /** The files a plugged device makes QEMU open become the QEMU user's, and come back at unplug. */
  readonly security: Pick<DomainSecurity, 'labelDevice' | 'restoreDevice' | 'qemuOwner'>;
  /** A plugged NIC gets its host tap before QEMU's netdev_add; an unplugged one loses it after netdev_del. */
  readonly taps: Pick<TapDevices, 'plug' | 'unplug'>;
}

const HOTPLUGGABLE = new Set(['disk', 'interface']);

function devicesOf(def: XmlElement): XmlElement {
  const devices = child(def, 'devices');
  if (!devices) throw virError(ErrorCode.INTERNAL_ERROR, 'domain has no <devices>', ErrorDomain.QEMU);
  return devices;
}

/** The JSON value of `option` whose property `key` equals `value` in an argv. */
export function findJsonArg(args: string[], option: string, key: string, value: string): JsonProps | undefined {
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] !== option || !args[i + 1].startsWith('{')) continue;
    const props = JSON.parse(args[i + 1]) as JsonProps;
    if (props[key] === value) return props;
  }
  return undefined;
}

/** What QEMU needs for one device: backend objects (in creation order) and the frontend. */
interface DevicePlan {
  /** The secret objects of encrypted images (object-add before their blockdevs). */
  secrets: JsonProps[];
  blockdevs: JsonProps[];
  netdev?: JsonProps;
  device: JsonProps;
}

/** The storage chain under a block node: [file node, format node] order (children first). */
export function blockdevChain(args: string[], nodeName: string): JsonProps[] {
  const node = findJsonArg(args, '-blockdev', 'node-name', nodeName);
  if (!node) return [];
  const below = typeof node.file === 'string' ? blockdevChain(args, node.file) : [];
  return [...below, node];
}

function planFor(cmd: QemuCommandLine, alias: string): DevicePlan {
  const device = findJsonArg(cmd.args, '-device', 'id', alias);
  if (!device) throw virError(ErrorCode.INTERNAL_ERROR, `no -device for '${alias}' in the command line`, ErrorDomain.QEMU);
  const plan: DevicePlan = { secrets: [], blockdevs: [], device };
  if (typeof device.drive === 'string') plan.blockdevs = blockdevChain(cmd.args, device.drive);
  for (const b of plan.blockdevs) {
    const keySecret = b['key-secret'] ?? (b.encrypt as JsonProps | undefined)?.['key-secret'];
    const secret = typeof keySecret === 'string' ? findJsonArg(cmd.args, '-object', 'id', keySecret) : undefined;
    if (secret) plan.secrets.push(secret);
  }
  if (typeof device.netdev === 'string') {
    plan.netdev = findJsonArg(cmd.args, '-netdev', 'id', device.netdev);
    if (!plan.netdev) throw virError(ErrorCode.INTERNAL_ERROR, `no -netdev for '${device.netdev}' in the command line`, ErrorDomain.QEMU);
  }
  return plan;
}

/** Undo list of QMP commands, run in reverse when a later step fails. */
async function runWithRollback(qmp: QmpClient, steps: Array<{ run: [string, JsonProps]; undo: [string, JsonProps] }>): Promise<void> {
  const done: Array<[string, JsonProps]> = [];
  try {
    for (const step of steps) {
      await qmp.execute(step.run[0], step.run[1]);
      done.push(step.undo);
    }
  } catch (e) {
    for (const [command, args] of done.reverse()) await qmp.execute(command, args).catch(() => undefined);
    throw e;
  }
}

/** Hotplug for the domains of one runtime. */
export class DeviceHotplug {
  constructor(private readonly runtime: QemuRuntime, private readonly host: HotplugHost) {}

  /**
   * Attaches `device` (parsed, defaults applied) to the running domain; it gets
   * an address on a free hotpluggable slot if it has none. On any failure QEMU
   * and the live XML are left as they were. Returns the device as attached.
   */
  async attach(dom: RunningDomain, device: XmlElement): Promise<XmlElement> {
    if (!HOTPLUGGABLE.has(device.name)) {
      throw virError(ErrorCode.OPERATION_UNSUPPORTED, `live attach of device '${deviceTypeName(device)}' is not supported`, ErrorDomain.QEMU);
    }
    const live = cloneElement(dom.live);
    const added = cloneElement(device);
    checkNoConflict(live, added);
    devicesOf(live).children.push(added);
    reorder(live); // devices of one kind stay together, in libvirt's order
    // An explicit address goes through the same checks (hotplug-capable bus, function 0, free slot).
    this.host.assignHotplugAddress(live, added);
    const view = new DomainView(live);
    const alias = view.alias(added);
    setDeviceAlias(added, alias);
    if (added.name === 'disk') detectBackingChains([added]);
    recordStorageIds(view.deviceList('disk'));
    if (added.name === 'interface') await this.host.taps.plug(added, this.host.security.qemuOwner(live), { name: dom.name, uuid: dom.uuid });
    try {
      const plan = planFor(await this.host.buildCommandLine(live, dom.id), alias);
      const qmp = await this.runtime.ensureMonitor(dom);
      const step = (run: [string, JsonProps], undo: [string, JsonProps]) => ({ run, undo });
      await this.host.security.labelDevice(dom.name, dom.live, added);
      await runWithRollback(qmp, [
        ...plan.secrets.map((o) => step(['object-add', o], ['object-del', { id: o.id }])),
        ...plan.blockdevs.map((b) => step(['blockdev-add', b], ['blockdev-del', { 'node-name': b['node-name'] }])),
        ...(plan.netdev ? [step(['netdev_add', plan.netdev], ['netdev_del', { id: plan.netdev.id }])] : []),
        step(['device_add', plan.device], ['device_del', { id: alias }]),
      ]).catch(async (e: Error) => {
        await this.host.security.restoreDevice(dom.name, added);
        throw e;
      });
    } catch (e) {
      if (added.name === 'interface') await this.host.taps.unplug(added);
      throw e;
    }
    dom.live = live;
    await this.runtime.saveStatus(dom);
    return added;
  }

  /**
   * Detaches the live device `request` names. Resolves true when the device is
   * gone, false when the guest did not release it within `timeoutMs` (it is
   * then removed once QEMU reports DEVICE_DELETED), as libvirt does.
   */
  async detach(dom: RunningDomain, request: XmlElement, timeoutMs = UNPLUG_TIMEOUT_MS): Promise<boolean> {
    const device = findLiveDevice(dom.live, request);
    const alias = child(device, 'alias')?.attrs.name;
    if (!alias) throw virError(ErrorCode.INTERNAL_ERROR, `Cannot detach ${deviceTypeName(device)} device with no alias`, ErrorDomain.QEMU);
    const address = deviceAddressOf(device);
    if (address?.type === 'pci' && address.multifunction === 'on') {
      throw virError(ErrorCode.OPERATION_FAILED, `cannot hot unplug ${deviceTypeName(device)} device with multifunction PCI guest address: ${pciAddressString(address)}`, ErrorDomain.QEMU);
    }
    const qmp = await this.runtime.ensureMonitor(dom);
    const deleted = qmp.waitEvent('DEVICE_DELETED', timeoutMs, (e) => e.data.device === alias).then(() => true, () => false);
    await qmp.execute('device_del', { id: alias });
    if (!(await deleted)) return false;
    await this.finishRemoval(dom, alias);
    return true;
  }

  /**
   * Removes devices that QEMU deleted while no process watched (libvirt's
   * qemuDomainRemoveVanishedDevices): hotpluggable devices of the live XML whose
   * alias is missing from QEMU's /machine/peripheral.
   */
  async removeVanishedDevices(dom: RunningDomain): Promise<void> {
    const qmp = await this.runtime.ensureMonitor(dom);
    const present = new Set((await qmp.execute<Array<{ name: string }>>('qom-list', { path: '/machine/peripheral' })).map((p) => p.name));
    const aliases = devicesOf(dom.live).children
      .filter((d) => HOTPLUGGABLE.has(d.name))
      .map((d) => child(d, 'alias')?.attrs.name)
      .filter((a): a is string => a !== undefined && !present.has(a));
    for (const alias of aliases) await this.finishRemoval(dom, alias);
  }

  /**
   * Removes a device QEMU has deleted: out of the live XML (freeing its address
   * and alias) and its backends out of QEMU. Also for DEVICE_DELETED heard after
   * the unplug call returned (libvirt's qemuProcessHandleDeviceDeleted).
   */
  async finishRemoval(dom: RunningDomain, alias: string): Promise<void> {
    const devices = devicesOf(dom.live);
    if (!devices.children.some((d) => HOTPLUGGABLE.has(d.name) && child(d, 'alias')?.attrs.name === alias)) return;
    // The backends are found while the device is still in the command line.
    const plan = planFor(await this.host.buildCommandLine(dom.live, dom.id), alias);
    const removed = devices.children.filter((d) => HOTPLUGGABLE.has(d.name) && child(d, 'alias')?.attrs.name === alias);
    devices.children = devices.children.filter((d) => !removed.includes(d));
    const qmp = await this.runtime.ensureMonitor(dom);
    if (plan.netdev) await qmp.execute('netdev_del', { id: plan.netdev.id }).catch(() => undefined);
    for (const device of removed) if (device.name === 'interface') await this.host.taps.unplug(device);
    for (const b of [...plan.blockdevs].reverse()) await qmp.execute('blockdev-del', { 'node-name': b['node-name'] }).catch(() => undefined);
    for (const o of plan.secrets) await qmp.execute('object-del', { id: o.id }).catch(() => undefined);
    for (const device of removed) await this.host.security.restoreDevice(dom.name, device);
    await this.runtime.saveStatus(dom);
  }
}

/** libvirt's name of a device type in messages (virDomainDeviceType). */
function deviceTypeName(device: XmlElement): string {
  return device.name === 'interface' ? 'net' : device.name;
}

/** libvirt's duplicate check for an attached disk: its target must be free. */
function checkNoConflict(live: XmlElement, device: XmlElement): void {
  if (device.name !== 'disk') return;
  const dst = child(device, 'target')?.attrs.dev;
  if (childrenNamed(devicesOf(live), 'disk').some((d) => child(d, 'target')?.attrs.dev === dst)) {
    throw virError(ErrorCode.OPERATION_FAILED, `target ${dst} already exists`, ErrorDomain.QEMU);
  }
}

/**
 * The live device a detach request names (qemuFindDisk / virDomainNetFindIdx):
 * a disk by target, a NIC by MAC (if given), PCI address (if given) and alias.
 */
export function findLiveDevice(live: XmlElement, request: XmlElement): XmlElement {
  const devices = devicesOf(live);
  if (request.name === 'disk') {
    const dst = child(request, 'target')?.attrs.dev ?? '';
    const disk = childrenNamed(devices, 'disk').find((d) => child(d, 'target')?.attrs.dev === dst);
    if (!disk) throw virError(ErrorCode.DEVICE_MISSING, `disk ${dst} not found`, ErrorDomain.QEMU);
    return disk;
  }
  if (request.name === 'interface') return findNet(devices, request);
  throw virError(ErrorCode.OPERATION_UNSUPPORTED, `live detach of device '${request.name}' is not supported`, ErrorDomain.QEMU);
}

/** The PCI address of a device as virPCIDeviceAddressAsString prints it, if it has one. */
function pciAddressOf(device: XmlElement): string | undefined {
  const address = deviceAddressOf(device);
  return address?.type === 'pci' ? pciAddressString(address) : undefined;
}

function findNet(devices: XmlElement, request: XmlElement): XmlElement {
  const mac = child(request, 'mac')?.attrs.address?.toLowerCase();
  const pci = pciAddressOf(request);
  const alias = child(request, 'alias')?.attrs.name;
  const matches = childrenNamed(devices, 'interface').filter((n) => {
    if (mac !== undefined && child(n, 'mac')?.attrs.address?.toLowerCase() !== mac) return false;
    if (pci !== undefined && pciAddressOf(n) !== pci) return false;
    const own = child(n, 'alias')?.attrs.name;
    return alias === undefined || own === undefined || own === alias;
  });
  if (matches.length > 1) {
    throw virError(ErrorCode.OPERATION_FAILED, mac !== undefined ? `multiple devices matching MAC address ${mac} found` : 'multiple matching devices found', ErrorDomain.QEMU);
  }
  if (matches.length === 0) {
    throw virError(ErrorCode.DEVICE_MISSING, `no device found at address '${pci ?? '(<null>)'}' matching MAC address '${mac ?? '(<null>)'}' and alias '${alias ?? '(<null>)'}'`, ErrorDomain.QEMU);
  }
  return matches[0];
}
