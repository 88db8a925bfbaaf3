// Address assignment for QEMU domains at define time (qemuDomainAssignAddresses):
// virtio-serial ports, virtio-mmio priming, PCI slots (with the auto-added
// controllers and the hotplug reservations), USB ports and DIMM slots. The
// domain XML tree is updated in place.
//
// PCI works like libvirt: a sizing ("dry") run decides which controllers must
// exist and appends the missing ones; a real pass then places every device.
// See ../shared/docs/pci-address-assignment.md for the rules this follows.

import { ErrorCode, virError } from '../../util/error.js';
import { child, cloneElement, element, type XmlElement } from '../../util/xml.js';
import { pciAddressString, setDeviceAddress, type PciAddress } from '../../conf/device-address.js';
import { buildPciTopology, type PciTopology, type PciTopologyOptions } from '../../conf/pci-topology.js';
import {
  controllerIndex, DeviceList, hasPciAddress, wantsPciAddress, type Device,
} from '../../conf/device-list.js';
import {
  Connect, controllerConnectFlags, isPciControllerModel, PciAddressSet, type PciControllerModel, type PciLocation,
} from '../../conf/pci-address-set.js';
import {
  connectPolicy, defaultPciModelName, deviceConnectFlags, hostdevSubsystemType, machineInfo, machineSupportsPci, type MachineInfo,
} from './pci-policy.js';
import { isPSeries } from '../../conf/machine-family.js';
import { assignVirtioSerialAddresses } from '../../conf/virtio-serial-address.js';
import { assignUsbAddresses } from '../../conf/usb-address.js';
import { assignMemorySlots } from '../../conf/dimm-address.js';
import { hotplugPortsOverride, MAX_PCI_BUS_INDEX } from './hotplug-reserve.js';

export interface AssignOptions {
  /**
   * Empty pcie-root-ports to leave for hotplug on a new PCIe domain whose
   * topology libvirt manages (default 1, libvirt's behaviour). The domain's
   * <metadata><tsvirt:hotplug pcie-ports='N'/> overrides it.
   */
  sparePciePorts?: number;
}

/** Everything the passes share about one domain. */
class Assignment {
  readonly list: DeviceList;
  readonly machine: MachineInfo;

  constructor(readonly domain: XmlElement) {
    this.list = new DeviceList(domain);
    this.machine = machineInfo(domain);
  }

  pciControllers(): Device[] {
    return this.list.controllers('pci');
  }

  hasRoot(model: 'pci-root' | 'pcie-root'): boolean {
    return this.pciControllers().some((d) => d.el.attrs.model === model && controllerIndex(d.el) === 0);
  }

  /** Recomputes every device's PCI connect flags (they depend on the root bus). */
  fillConnectFlags(): void {
    const policy = connectPolicy(this.hasRoot('pcie-root'));
    for (const name of new Set(this.list.devices.children.map((c) => c.name))) {
      for (const dev of this.list.named(name)) dev.pciFlags = deviceConnectFlags(dev.el, policy, this.machine);
    }
  }
}

/** Assigns every address libvirt assigns when a QEMU domain is defined. */
export function assignQemuAddresses(domain: XmlElement, options: AssignOptions = {}): void {
  const a = new Assignment(domain);
  assignVirtioSerialAddresses(a.list);
  assignSpaprVioAddresses(a);
  primeVirtioMmio(a);
  assignPciAddresses(a, hotplugPortsOverride(domain) ?? options.sparePciePorts ?? 1);
  assignUsbAddresses(a.list);
  assignMemorySlots(a.list, domain);
  a.list.writeBack();
}

// ---------------------------------------------------------------- spapr-vio

/** Default spapr-vio registers, as QEMU numbers them (spapr_llan, spapr_vscsi, spapr_vty, ...). */
const VIO_REG = { net: 0x1000n, scsi: 0x2000n, serial: 0x30000000n, nvram: 0x3000n, tpm: 0x4000n } as const;

/** Devices on the pSeries VIO bus get a register, 0x1000 apart when the default is taken. */
function assignSpaprVioAddresses(a: Assignment): void {
  const pseries = isPSeries(a.machine);
  const toVio = (d: Device) => { d.address = { type: 'spapr-vio' }; };
  const groups: [Device[], bigint][] = [
    [a.list.named('interface'), VIO_REG.net],
    [a.list.controllers(), VIO_REG.scsi],
    [a.list.named('serial'), VIO_REG.serial],
    [a.list.named('nvram').slice(0, 1), VIO_REG.nvram],
    [a.list.named('tpm'), VIO_REG.tpm],
  ];
  for (const [devices, reg] of groups) {
    for (const d of devices) {
      const kind = d.el.name;
      if (kind === 'interface' && child(d.el, 'model')?.attrs.type === 'spapr-vlan') toVio(d);
      if (kind === 'controller' && d.el.attrs.type === 'scsi' && d.el.attrs.model === 'ibmvscsi') toVio(d);
      if (kind === 'serial' && child(d.el, 'target')?.attrs.type === 'spapr-vio-serial') toVio(d);
      if (kind === 'nvram' && pseries) toVio(d);
      if (kind === 'tpm' && pseries && d.el.attrs.model !== 'spapr-tpm-proxy') toVio(d);
      assignSpaprVioReg(a, d, reg);
    }
  }
}

function assignSpaprVioReg(a: Assignment, dev: Device, defaultReg: bigint): void {
  if (dev.address?.type !== 'spapr-vio') return;
  const addr = dev.address;
  const userReg = addr.reg !== undefined;
  addr.reg ??= defaultReg;
  const clash = () => a.list.iterationOrder().some((o) => o !== dev && o.address?.type === 'spapr-vio' && o.address.reg === addr.reg);
  while (clash()) {
    if (userReg) throw virError(ErrorCode.XML_ERROR, `spapr-vio address 0x${addr.reg.toString(16)} already in use`);
    addr.reg += 0x1000n;
  }
}

// ---------------------------------------------------------------- virtio-mmio

/**
 * On ARM/RISC-V virt machines with PCIe, virtio devices use PCI unless some
 * device already has a virtio-mmio address; machines without PCIe (vexpress)
 * always use virtio-mmio (qemuDomainAssignVirtioMMIOAddresses).
 */
function primeVirtioMmio(a: Assignment): void {
  if (!a.machine.armOrRiscv || !(a.machine.machine.startsWith('vexpress-') || a.machine.virt)) return;
  const hasMmio = a.list.iterationOrder().some((d) => d.address?.type === 'virtio-mmio');
  if (a.hasRoot('pcie-root') && !hasMmio) return;
  const mmio = (d: Device) => {
    if (d.address === undefined) d.address = { type: 'virtio-mmio' };
  };
  a.list.named('disk').filter((d) => child(d.el, 'target')?.attrs.bus === 'virtio').forEach(mmio);
  a.list.named('interface').filter((d) => (child(d.el, 'model')?.attrs.type ?? 'virtio').startsWith('virtio')).forEach(mmio);
  a.list.named('video').filter((d) => child(d.el, 'model')?.attrs.type === 'virtio').forEach(mmio);
  a.list.named('input').filter((d) => d.el.attrs.bus === 'virtio').forEach(mmio);
  a.list.controllers().filter((d) => d.el.attrs.type === 'virtio-serial' || d.el.attrs.type === 'scsi').forEach(mmio);
  a.list.hostdevs().filter((d) => d.el.attrs.type === 'scsi_host').forEach(mmio);
  a.list.named('memballoon').filter((d) => d.el.attrs.model !== 'none').forEach(mmio);
  a.list.named('rng').forEach(mmio);
  a.list.named('memory').filter((d) => d.el.attrs.model === 'virtio-pmem' || d.el.attrs.model === 'virtio-mem').forEach(mmio);
}

// ---------------------------------------------------------------- PCI

/** An index whose bus can never get a slot: every bus up to it would need one first. */
const HOPELESS_PCI_INDEX = 4 * MAX_PCI_BUS_INDEX;

function assignPciAddresses(a: Assignment, sparePorts: number): void {
  let maxIndex = -1;
  for (const c of a.pciControllers()) maxIndex = Math.max(maxIndex, controllerIndex(c.el));
  // libvirt reports a too-high index through the address assignment below
  // ("a PCI slot is needed ..."), and only then virDomainControllerDefValidate's
  // limit. Far past any usable bus number its message comes first here: tens of
  // thousands of buses would take seconds to fill just to fail.
  if (maxIndex > HOPELESS_PCI_INDEX) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `PCI controller index ${maxIndex} too high, maximum is ${MAX_PCI_BUS_INDEX}`);
  }
  let nbuses = maxIndex + 1;
  a.fillConnectFlags();

  if (nbuses > 0) {
    const dry = createAddressSet(a, nbuses, true);
    reserveChipsetSlots(a, dry);
    if (a.hasRoot('pci-root')) {
      // Keep one legacy slot free for a future device (or a pci-bridge).
      const full = dry.buses.every((_, i) => dry.isBusFullyReserved(i));
      if (!full) dry.reserveNext(Connect.AUTOASSIGN | Connect.PCI_DEVICE);
    }
    assignDeviceSlots(a, dry);
    const hotplugSpare = maxIndex <= 0 && dry.nbuses > maxIndex + 1 && a.hasRoot('pcie-root');
    if (hotplugSpare && sparePorts > 0) {
      // libvirt's one-time reservation: make sure one empty root port exists.
      dry.reserveNext(Connect.AUTOASSIGN | Connect.PCIE_DEVICE);
    }
    addInventedControllers(a, dry);
    nbuses = dry.nbuses;
    const real = runRealPass(a, nbuses);
    if (hotplugSpare) addSparePorts(a, real, sparePorts);
    return finishPci(a, real);
  }
  finishPci(a, runRealPass(a, nbuses));
}

function runRealPass(a: Assignment, nbuses: number): PciAddressSet | undefined {
  const real = createAddressSet(a, nbuses, false);
  if (!machineSupportsPci(a.machine)) return undefined;
  reserveChipsetSlots(a, real);
  assignDeviceSlots(a, real);
  return real;
}

function finishPci(a: Assignment, real: PciAddressSet | undefined): void {
  if (real === undefined) return;
  markMultifunction(a);
  fillControllerDefaults(a);
}

/** Builds the bus set from the PCI controllers and reserves every explicit address. */
function createAddressSet(a: Assignment, nbuses: number, dryRun: boolean, exclude?: XmlElement): PciAddressSet {
  const set = new PciAddressSet({ dryRun });
  const models = new Map<number, { model: PciControllerModel; hotplug: boolean }>();
  for (const c of a.pciControllers()) {
    const idx = controllerIndex(c.el);
    if (idx >= nbuses) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Inappropriate new pci controller index ${idx} exceeds addrs array length`);
    }
    const model = c.el.attrs.model;
    if (!isPciControllerModel(model)) throw virError(ErrorCode.INTERNAL_ERROR, 'PCI controller model was not set correctly');
    models.set(idx, { model, hotplug: child(c.el, 'target')?.attrs.hotplug !== 'off' });
  }
  const gapModel: PciControllerModel = models.get(0)?.model === 'pcie-root' ? 'pcie-root-port' : 'pci-bridge';
  for (let i = 0; i < nbuses; i++) {
    const m = models.get(i);
    if (m !== undefined) set.setBus(i, m.model, m.hotplug);
    else set.setBus(i, i === 0 ? 'pci-root' : gapModel, true);
  }
  for (const dev of a.list.iterationOrder()) if (dev.el !== exclude) collectExplicitAddress(set, dev);
  return set;
}

function collectExplicitAddress(set: PciAddressSet, dev: Device): void {
  if (!hasPciAddress(dev)) return;
  // A device that never uses PCI but was given an address is tolerated as PCI.
  const flags = dev.pciFlags === 0 ? Connect.PCI_DEVICE : dev.pciFlags;
  const addr = dev.address;
  if (isPiix3Integrated(dev, addr)) {
    // Reserved by the chipset rules (only where bus 0 really is PCI).
    if (set.nbuses > 0 && !(set.buses[0]!.flags & Connect.PCI_DEVICE)) {
      throw virError(ErrorCode.INTERNAL_ERROR, 'Bus 0 must be PCI for integrated PIIX3 USB or IDE controllers');
    }
    return;
  }
  set.reserve(addr, flags, true);
}

function isPiix3Integrated(dev: Device, addr: PciAddress): boolean {
  if (dev.el.name !== 'controller' || addr.domain !== 0 || addr.bus !== 0 || addr.slot !== 1) return false;
  const { type, model } = dev.el.attrs;
  const idx = controllerIndex(dev.el);
  if (type === 'ide' && idx === 0 && addr.function === 1) return true;
  return type === 'usb' && idx === 0 && (model === undefined || model === 'piix3-uhci') && addr.function === 2;
}

/** Gives `dev` the next free address (kept only in the real pass). */
function reserveNext(set: PciAddressSet, dev: Device, fn = -1): PciLocation {
  const loc = set.reserveNext(dev.pciFlags, fn);
  if (!set.dryRun) dev.address = { type: 'pci', domain: loc.domain, bus: loc.bus, slot: loc.slot, function: loc.function };
  return loc;
}

function pciAt(slot: number, fn = 0): PciAddress {
  return { type: 'pci', domain: 0, bus: 0, slot, function: fn };
}

function sameLocation(a: PciAddress, b: PciAddress): boolean {
  return a.domain === b.domain && a.bus === b.bus && a.slot === b.slot && a.function === b.function;
}

// ---- chipset rules (qemuDomainValidateDevicePCISlotsChipsets)

function reserveChipsetSlots(a: Assignment, set: PciAddressSet): void {
  if (a.machine.i440fx) reservePiix3Slots(a, set);
  if (a.machine.q35) reserveQ35Slots(a, set);
}

/** A fixed chipset address: an explicit one must match, an absent one is set. */
function pinAddress(dev: Device, fixed: PciAddress, message: string): void {
  if (hasPciAddress(dev)) {
    if (!sameLocation(dev.address, fixed)) throw virError(ErrorCode.INTERNAL_ERROR, message);
  } else {
    dev.address = { ...fixed };
  }
}

function reservePiix3Slots(a: Assignment, set: PciAddressSet): void {
  const flags = Connect.AUTOASSIGN | Connect.PCI_DEVICE;
  for (const c of a.list.controllers()) {
    const { type, model } = c.el.attrs;
    const idx = controllerIndex(c.el);
    if (type === 'ide' && idx === 0) {
      pinAddress(c, pciAt(1, 1), 'Primary IDE controller must have PCI address 0:0:1.1');
    } else if (type === 'usb' && idx === 0 && (model === undefined || model === 'piix3-uhci')) {
      pinAddress(c, pciAt(1, 2), 'PIIX3 USB controller at index 0 must have PCI address 0:0:1.2');
    } else {
      continue;
    }
    if (set.nbuses > 0) set.reserve(c.address as PciAddress, flags, true);
  }
  if (set.nbuses > 0) {
    set.reserve(pciAt(1, 0), flags, true); // ISA bridge
    set.reserve(pciAt(1, 3), flags, true); // ACPI / SMBus
  }
  placePrimaryVideo(a, set, 2, flags);
}

function reserveQ35Slots(a: Assignment, set: PciAddressSet): void {
  const flags = Connect.PCIE_DEVICE;
  for (const c of a.list.controllers()) {
    const { type, model } = c.el.attrs;
    if (type === 'sata' && controllerIndex(c.el) === 0) {
      pinAddress(c, pciAt(0x1f, 2), 'Primary SATA controller must have PCI address 0:0:1f.2');
    } else if (type === 'usb' && model === 'ich9-uhci1' && c.address === undefined) {
      // The standard places of the first two USB2 groups, when free.
      const slot = [0x1d, 0x1a].find((s) => !set.slotInUse(0, s));
      if (slot !== undefined) {
        set.reserve(pciAt(slot), flags, true);
        c.address = { ...pciAt(slot), multifunction: 'on' };
      }
    } else if (type === 'pci' && model === 'dmi-to-pci-bridge' && c.address === undefined) {
      if (!set.slotInUse(0, 0x1e)) {
        set.reserve(pciAt(0x1e), flags, true);
        c.address = pciAt(0x1e);
      }
    }
  }
  if (set.nbuses > 0) {
    set.reserve(pciAt(0x1f, 0), flags, true); // LPC / ISA bridge
    set.reserve(pciAt(0x1f, 3), flags, true); // SMBus
  }
  placePrimaryVideo(a, set, 1, flags);
  if (!set.slotInUse(0, 0x1b)) {
    const sound = a.list.named('sound').find((s) => s.el.attrs.model === 'ich9' && wantsPciAddress(s));
    if (sound !== undefined) {
      set.reserve(pciAt(0x1b), flags, true);
      sound.address = pciAt(0x1b);
    }
  }
}

/** The primary video goes to its chipset slot if free, else to the next free place right away. */
function placePrimaryVideo(a: Assignment, set: PciAddressSet, slot: number, flags: number): void {
  const video = a.list.named('video')[0];
  if (video === undefined) return;
  const type = child(video.el, 'model')?.attrs.type;
  if (type === 'none' || type === 'ramfb' || !wantsPciAddress(video)) return;
  const fixed = pciAt(slot);
  set.validate(fixed, flags, true);
  if (set.slotInUse(0, slot)) {
    reserveNext(set, video);
  } else {
    set.reserve(fixed, flags, true);
    video.address = fixed;
  }
}

// ---- ordinary assignment (qemuDomainAssignDevicePCISlots)

const USB2_FUNCTION: Record<string, { fn: number; multi?: 'on' }> = {
  'ich9-ehci1': { fn: 7 },
  'ich9-uhci1': { fn: 0, multi: 'on' },
  'ich9-uhci2': { fn: 1 },
  'ich9-uhci3': { fn: 2 },
};

function assignDeviceSlots(a: Assignment, set: PciAddressSet): void {
  const list = a.list;
  const next = (dev: Device) => {
    if (wantsPciAddress(dev)) reserveNext(set, dev);
  };
  for (const c of a.pciControllers()) {
    const model = c.el.attrs.model;
    if (model !== 'pci-root' && model !== 'pcie-root') next(c);
  }
  list.named('filesystem').forEach(next);
  list.named('interface').filter((d) => d.el.attrs.type !== 'hostdev').forEach(next);
  list.named('sound').filter((d) => !['sb16', 'pcspk', 'usb'].includes(d.el.attrs.model ?? '')).forEach(next);
  for (const c of list.controllers()) {
    const { type, model } = c.el.attrs;
    if (type === 'pci' || type === 'fdc' || type === 'ccid') continue;
    if (type === 'usb' && model === 'none') continue;
    if (type === 'ide' && controllerIndex(c.el) === 0) continue;
    if (type === 'scsi' && model === 'ncr53c90') continue;
    if (!wantsPciAddress(c)) continue;
    const usb2 = type === 'usb' ? USB2_FUNCTION[model ?? ''] : undefined;
    if (usb2 !== undefined) assignUsb2Companion(list, set, c, usb2);
    else reserveNext(set, c);
  }
  for (const d of list.named('disk')) {
    if (child(d.el, 'target')?.attrs.bus !== 'virtio') continue;
    if (hasPciAddress(d) || d.address?.type === 'ccw' || d.address?.type === 'virtio-mmio') continue;
    if (!wantsPciAddress(d)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `virtio disk cannot have an address of type '${d.address!.type}'`);
    }
    reserveNext(set, d);
  }
  for (const h of list.hostdevs()) {
    const type = hostdevSubsystemType(h.el);
    if ((h.el.attrs.mode ?? 'subsystem') !== 'subsystem') continue;
    if (type !== 'pci' && type !== 'scsi_host' && !(type === 'mdev' && h.el.attrs.model === 'vfio-pci')) continue;
    next(h);
  }
  list.named('memballoon').filter((d) => d.el.attrs.model !== 'none').slice(0, 1).forEach(next);
  list.named('rng').forEach(next);
  list.named('watchdog').slice(0, 1).filter((d) => d.el.attrs.model === 'i6300esb').forEach(next);
  list.named('video').filter((d) => !['none', 'ramfb'].includes(child(d.el, 'model')?.attrs.type ?? '')).forEach(next);
  list.named('shmem').forEach(next);
  list.named('input').filter((d) => d.el.attrs.bus === 'virtio').forEach(next);
  list.named('serial').filter((d) => child(d.el, 'target')?.attrs.type === 'pci-serial').forEach(next);
  list.named('iommu').filter((d) => d.el.attrs.model === 'virtio').forEach(next);
  list.named('vsock').forEach(next);
  list.named('memory').filter((d) => d.el.attrs.model === 'virtio-pmem' || d.el.attrs.model === 'virtio-mem').forEach(next);
}

/** USB2 controllers of one index share a slot, each on its fixed function. */
function assignUsb2Companion(list: DeviceList, set: PciAddressSet, c: Device, usb2: { fn: number; multi?: 'on' }): void {
  const idx = controllerIndex(c.el);
  const placed = list.controllers('usb').find((o) => USB2_FUNCTION[o.el.attrs.model ?? ''] !== undefined
    && controllerIndex(o.el) === idx && hasPciAddress(o));
  if (placed !== undefined) {
    const at = placed.address as PciAddress;
    const addr: PciAddress = { type: 'pci', domain: at.domain, bus: at.bus, slot: at.slot, function: usb2.fn };
    if (usb2.multi) addr.multifunction = usb2.multi;
    set.reserve(addr, c.pciFlags, true);
    c.address = addr;
    return;
  }
  reserveNext(set, c, usb2.fn);
  if (!set.dryRun && usb2.multi && c.address?.type === 'pci') c.address.multifunction = usb2.multi;
}

// ---- controllers invented by the dry run

/** Turns the buses the dry run invented into controllers, and finds each a slot. */
function addInventedControllers(a: Assignment, dry: PciAddressSet): void {
  const existing = new Set(a.pciControllers().map((c) => controllerIndex(c.el)));
  for (let i = 1; i < dry.nbuses; i++) {
    if (existing.has(i)) continue;
    const model = dry.buses[i]!.model;
    const dev = a.list.appendController({ type: 'pci', index: `${i}`, model });
    dev.pciFlags = controllerConnectFlags(model);
    existing.add(i);
    if (model !== 'pci-root' && model !== 'pcie-root') reserveNext(dry, dev);
  }
}

/**
 * tsvirt's configurable reservation: after every device has its address,
 * add root ports until `wanted` of them are empty. They take the next free
 * functions of pcie-root (8 per slot), so no existing device moves.
 */
function addSparePorts(a: Assignment, real: PciAddressSet | undefined, wanted: number): void {
  if (real === undefined) return;
  const emptyPorts = a.pciControllers().filter((c) => {
    const model = c.el.attrs.model;
    return (model === 'pcie-root-port' || model === 'pcie-switch-downstream-port') && real.isBusEmpty(controllerIndex(c.el));
  }).length;
  for (let n = emptyPorts; n < wanted; n++) {
    const index = real.nbuses;
    if (index > MAX_PCI_BUS_INDEX) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED,
        `cannot reserve ${wanted} hotplug pcie-root-ports: PCI bus numbers would exceed ${MAX_PCI_BUS_INDEX}`);
    }
    const flags = controllerConnectFlags('pcie-root-port');
    let loc: PciLocation;
    try {
      loc = real.reserveNext(flags);
    } catch {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED,
        `cannot reserve ${wanted} hotplug pcie-root-ports: no free function left on pcie-root for root port ${index}`);
    }
    real.setBus(index, 'pcie-root-port', true);
    const dev = a.list.appendController({ type: 'pci', index: `${index}`, model: 'pcie-root-port' });
    dev.pciFlags = flags;
    dev.address = { type: 'pci', domain: 0, bus: loc.bus, slot: loc.slot, function: loc.function };
  }
}

// ---- finishing touches

/** A device at function 0 of a slot with other functions used gets multifunction='on' (unless set). */
function markMultifunction(a: Assignment): void {
  const devices = a.list.iterationOrder();
  const slotKey = (p: PciAddress) => `${p.domain}:${p.bus}:${p.slot}`;
  const heads = new Map<string, PciAddress>();
  for (const d of devices) {
    if (d.address?.type === 'pci' && d.address.function === 0 && !heads.has(slotKey(d.address))) heads.set(slotKey(d.address), d.address);
  }
  for (const d of devices) {
    if (d.address?.type !== 'pci' || d.address.function === 0) continue;
    const head = heads.get(slotKey(d.address));
    if (head !== undefined && head.multifunction === undefined) head.multifunction = 'on';
  }
}

const TARGET_ATTR_ORDER = ['chassisNr', 'chassis', 'port', 'busNr', 'index', 'hotplug'];

/** Fills <model name>, chassis/port/busNr defaults and checks bridge indexes (end of qemuDomainAssignPCIAddresses). */
function fillControllerDefaults(a: Assignment): void {
  for (const c of a.pciControllers()) {
    const model = c.el.attrs.model as PciControllerModel;
    const idx = controllerIndex(c.el);
    const addr = c.address?.type === 'pci' ? c.address : undefined;
    const name = defaultPciModelName(model);
    if (name !== undefined && child(c.el, 'model')?.attrs.name === undefined) setModelName(c.el, name);
    const defaults: Record<string, string> = {};
    switch (model) {
      case 'pci-bridge': defaults.chassisNr = `${idx}`; break;
      case 'pcie-root-port':
        defaults.chassis = `${idx}`;
        defaults.port = `0x${(((addr?.slot ?? 0) << 3) + (addr?.function ?? 0)).toString(16)}`;
        break;
      case 'pcie-switch-downstream-port':
        defaults.chassis = `${idx}`;
        defaults.port = `0x${(addr?.slot ?? 0).toString(16)}`;
        break;
      case 'pci-expander-bus':
      case 'pcie-expander-bus':
        if (child(c.el, 'target')?.attrs.busNr === undefined) defaults.busNr = `${newExpanderBusNr(a, addr?.bus ?? 0)}`;
        break;
      default: break;
    }
    if (Object.keys(defaults).length > 0) fillTarget(c.el, defaults);
    if (model === 'pci-bridge' && addr !== undefined && idx <= addr.bus) {
      const hex2 = (n: number) => n.toString(16).padStart(2, '0');
      throw virError(ErrorCode.CONFIG_UNSUPPORTED,
        `PCI controller at index ${idx} (0x${hex2(idx)}) has bus='0x${hex2(addr.bus)}', but index must be larger than bus`);
    }
  }
}

function setModelName(el: XmlElement, name: string): void {
  const existing = child(el, 'model');
  if (existing !== undefined) {
    existing.attrs = { name, ...existing.attrs };
    return;
  }
  el.children.unshift(element('model', { name }));
}

/** Adds the attributes the <target> lacks, keeping libvirt's attribute order. */
function fillTarget(el: XmlElement, defaults: Record<string, string>): void {
  let target = child(el, 'target');
  if (target === undefined) {
    target = element('target');
    const modelAt = el.children.findIndex((c) => c.name === 'model');
    el.children.splice(modelAt + 1, 0, target);
  }
  const merged: Record<string, string> = { ...defaults, ...target.attrs };
  const ordered: Record<string, string> = {};
  for (const k of TARGET_ATTR_ORDER) if (merged[k] !== undefined) ordered[k] = merged[k]!;
  for (const [k, v] of Object.entries(merged)) if (!(k in ordered)) ordered[k] = v;
  target.attrs = ordered;
}

/** busNr for a new expander bus: two below the lowest one in use (qemuDomainAddressFindNewBusNr). */
function newExpanderBusNr(a: Assignment, parentBus: number): number {
  let lowest = 256;
  for (const c of a.pciControllers()) {
    const v = child(c.el, 'target')?.attrs.busNr;
    if (v !== undefined) lowest = Math.min(lowest, Number.parseInt(v, 10));
  }
  if (lowest <= 2) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED,
      `No free busNr lower than current lowest busNr is available to auto-assign to bus ${parentBus}. Must be manually assigned`);
  }
  return lowest - 2;
}

// ---------------------------------------------------------------- hotplug and topology

/** The address set of an already addressed domain, as libvirt keeps it for a running guest. */
function liveAddressSet(a: Assignment, exclude?: XmlElement): PciAddressSet {
  a.fillConnectFlags();
  let nbuses = 0;
  for (const c of a.pciControllers()) nbuses = Math.max(nbuses, controllerIndex(c.el) + 1);
  const set = createAddressSet(a, nbuses, false, exclude);
  reserveChipsetSlots(a, set);
  return set;
}

/**
 * Finds and reserves a PCI address for one new device of a running domain
 * without moving anything (libvirt's qemuDomainEnsurePCIAddress): an explicit
 * address must use function 0, exist, be free and sit on a bus that takes
 * this kind of device and supports hotplug. `device` may already be inside
 * the domain's <devices>. Returns the address written into `device`, or
 * undefined when the device does not use PCI or has another kind of address
 * (ccw, virtio-mmio, ...).
 */
export function assignAddressForNewDevice(domain: XmlElement, device: XmlElement): PciAddress | undefined {
  const a = new Assignment(domain);
  const dev = a.list.get(device);
  if (dev.address !== undefined && dev.address.type !== 'pci') return undefined;
  dev.pciFlags = deviceConnectFlags(device, connectPolicy(a.hasRoot('pcie-root')), a.machine);
  if (dev.pciFlags === 0) {
    // a USB device takes the first free port, as libvirt's virDomainUSBAddressEnsure (the others have theirs)
    assignUsbAddresses(a.list);
    a.list.writeBack();
    return undefined;
  }
  const set = liveAddressSet(a, device);
  const flags = dev.pciFlags | Connect.HOTPLUGGABLE;
  let addr: PciAddress;
  if (hasPciAddress(dev)) {
    addr = dev.address;
    if (addr.function !== 0) throw virError(ErrorCode.INTERNAL_ERROR, 'Only PCI device addresses with function=0 are supported');
    set.reserve(addr, flags, true);
  } else {
    const loc = set.reserveNext(flags);
    addr = { type: 'pci', domain: loc.domain, bus: loc.bus, slot: loc.slot, function: loc.function };
  }
  setDeviceAddress(device, addr);
  return addr;
}

const CHIPSET_FUNCTIONS: Record<string, string> = {
  'i440fx 0000:00:01.0': 'PIIX3 ISA bridge',
  'i440fx 0000:00:01.3': 'PIIX4 ACPI / SMBus',
  'q35 0000:00:1f.0': 'ICH9 LPC / ISA bridge',
  'q35 0000:00:1f.3': 'ICH9 SMBus',
};

/**
 * The PCI tree of a defined (fully addressed) QEMU domain, for domtopology.
 * `aliasOf` lets the driver show the aliases it gives devices.
 */
export function qemuPciTopology(domain: XmlElement, aliasOf?: (device: XmlElement) => string | undefined): PciTopology {
  const a = new Assignment(cloneElement(domain));
  const set = liveAddressSet(a);
  const chipset = a.machine.i440fx ? 'i440fx' : a.machine.q35 ? 'q35' : '';
  const acpi = child(child(domain, 'features') ?? domain, 'acpi') !== undefined;
  const options: PciTopologyOptions = {
    chipsetLabel: (addr) => CHIPSET_FUNCTIONS[`${chipset} ${pciAddressString(addr)}`],
    rootHotplug: !a.machine.i440fx || acpi,
    expansionFlags: a.hasRoot('pcie-root') ? controllerConnectFlags('pcie-root-port') : controllerConnectFlags('pci-bridge'),
    maxBusIndex: MAX_PCI_BUS_INDEX,
  };
  if (aliasOf !== undefined) options.aliasOf = aliasOf;
  return buildPciTopology(a.domain, set, options);
}
