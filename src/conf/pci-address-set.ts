// The set of PCI buses of a domain and which slot functions are in use: the
// data structure behind libvirt's PCI address assignment (conf/domain_addr.c).
// It knows what each controller model accepts ("connect flags"), validates and
// reserves addresses, finds the next free slot, and, during a sizing ("dry")
// run, invents new buses when nothing fits.

import { ErrorCode, virError } from '../util/error.js';
import { pciAddressString } from './device-address.js';

/** virDomainPCIConnectFlags: the bit values are libvirt's (they appear in one error message). */
export const Connect = {
  AUTOASSIGN: 1 << 0,
  HOTPLUGGABLE: 1 << 1,
  INTEGRATED: 1 << 2,
  AGGREGATE_SLOT: 1 << 3,
  PCI_DEVICE: 1 << 4,
  PCIE_DEVICE: 1 << 5,
  PCIE_ROOT_PORT: 1 << 6,
  PCIE_SWITCH_UPSTREAM_PORT: 1 << 7,
  PCIE_SWITCH_DOWNSTREAM_PORT: 1 << 8,
  DMI_TO_PCI_BRIDGE: 1 << 9,
  PCI_EXPANDER_BUS: 1 << 10,
  PCIE_EXPANDER_BUS: 1 << 11,
  PCI_BRIDGE: 1 << 12,
  PCIE_TO_PCI_BRIDGE: 1 << 13,
} as const;

const ENDPOINT = Connect.PCI_DEVICE | Connect.PCIE_DEVICE;
const TYPES_MASK = ENDPOINT | Connect.PCIE_ROOT_PORT | Connect.PCIE_SWITCH_UPSTREAM_PORT
  | Connect.PCIE_SWITCH_DOWNSTREAM_PORT | Connect.DMI_TO_PCI_BRIDGE | Connect.PCI_EXPANDER_BUS
  | Connect.PCIE_EXPANDER_BUS | Connect.PCI_BRIDGE | Connect.PCIE_TO_PCI_BRIDGE;

export const PCI_CONTROLLER_MODELS = [
  'pci-root', 'pcie-root', 'pci-bridge', 'dmi-to-pci-bridge', 'pcie-to-pci-bridge', 'pcie-root-port',
  'pcie-switch-upstream-port', 'pcie-switch-downstream-port', 'pci-expander-bus', 'pcie-expander-bus',
] as const;
export type PciControllerModel = (typeof PCI_CONTROLLER_MODELS)[number];

export function isPciControllerModel(model: string | undefined): model is PciControllerModel {
  return (PCI_CONTROLLER_MODELS as readonly (string | undefined)[]).includes(model);
}

export const SLOT_LAST = 0x1f;
export const FUNCTION_LAST = 7;

/** What a PCI controller model offers downstream. */
interface BusShape { flags: number; minSlot: number; maxSlot: number }

function busShape(model: PciControllerModel, allowHotplug: boolean): BusShape {
  const hp = allowHotplug ? Connect.HOTPLUGGABLE : 0;
  const legacy = Connect.AUTOASSIGN | Connect.PCI_DEVICE | Connect.PCI_BRIDGE;
  switch (model) {
    case 'pci-root': return { flags: legacy | Connect.PCI_EXPANDER_BUS | hp, minSlot: 1, maxSlot: SLOT_LAST };
    case 'pci-bridge': return { flags: legacy | hp, minSlot: 1, maxSlot: SLOT_LAST };
    case 'pci-expander-bus': return { flags: legacy | hp, minSlot: 0, maxSlot: SLOT_LAST };
    case 'pcie-root':
      return {
        flags: Connect.PCIE_DEVICE | Connect.PCIE_ROOT_PORT | Connect.DMI_TO_PCI_BRIDGE | Connect.PCIE_EXPANDER_BUS,
        minSlot: 1, maxSlot: SLOT_LAST,
      };
    case 'dmi-to-pci-bridge': return { flags: Connect.PCI_DEVICE | Connect.PCI_BRIDGE, minSlot: 0, maxSlot: SLOT_LAST };
    case 'pcie-to-pci-bridge': return { flags: legacy | hp, minSlot: 1, maxSlot: SLOT_LAST };
    case 'pcie-root-port':
    case 'pcie-switch-downstream-port':
      return {
        flags: Connect.AUTOASSIGN | Connect.PCIE_DEVICE | Connect.PCIE_SWITCH_UPSTREAM_PORT | Connect.PCIE_TO_PCI_BRIDGE | hp,
        minSlot: 0, maxSlot: 0,
      };
    case 'pcie-switch-upstream-port': return { flags: Connect.PCIE_SWITCH_DOWNSTREAM_PORT, minSlot: 0, maxSlot: SLOT_LAST };
    case 'pcie-expander-bus': return { flags: Connect.PCIE_ROOT_PORT | Connect.DMI_TO_PCI_BRIDGE, minSlot: 0, maxSlot: SLOT_LAST };
  }
}

/** The connect flags of a PCI controller as a device plugged into its parent bus. */
export function controllerConnectFlags(model: PciControllerModel): number {
  switch (model) {
    case 'pci-root':
    case 'pcie-root': return 0;
    case 'pci-bridge': return Connect.PCI_BRIDGE;
    case 'pci-expander-bus': return Connect.PCI_EXPANDER_BUS;
    case 'pcie-expander-bus': return Connect.PCIE_EXPANDER_BUS;
    case 'dmi-to-pci-bridge': return Connect.DMI_TO_PCI_BRIDGE;
    case 'pcie-to-pci-bridge': return Connect.PCIE_TO_PCI_BRIDGE;
    case 'pcie-root-port': return Connect.PCIE_ROOT_PORT | Connect.AGGREGATE_SLOT;
    case 'pcie-switch-upstream-port': return Connect.PCIE_SWITCH_UPSTREAM_PORT;
    case 'pcie-switch-downstream-port': return Connect.PCIE_SWITCH_DOWNSTREAM_PORT;
  }
}

/** The controller model a set of connect flags stands for, if any (for error messages). */
function controllerModelOfFlags(flags: number): PciControllerModel | undefined {
  const order: [number, PciControllerModel][] = [
    [Connect.PCIE_ROOT_PORT, 'pcie-root-port'],
    [Connect.PCIE_SWITCH_UPSTREAM_PORT, 'pcie-switch-upstream-port'],
    [Connect.PCIE_SWITCH_DOWNSTREAM_PORT, 'pcie-switch-downstream-port'],
    [Connect.DMI_TO_PCI_BRIDGE, 'dmi-to-pci-bridge'],
    [Connect.PCI_EXPANDER_BUS, 'pci-expander-bus'],
    [Connect.PCIE_EXPANDER_BUS, 'pcie-expander-bus'],
    [Connect.PCI_BRIDGE, 'pci-bridge'],
  ];
  return order.find(([bit]) => (flags & bit) !== 0)?.[1];
}

/** What each connect flag lets a bus take, by the names libvirt's error messages use. */
export const CONNECT_NAMES: readonly [number, string][] = [
  [Connect.PCI_DEVICE, 'standard PCI device'],
  [Connect.PCIE_DEVICE, 'PCI Express device'],
  [Connect.PCIE_ROOT_PORT, 'pcie-root-port'],
  [Connect.PCIE_SWITCH_UPSTREAM_PORT, 'pcie-switch-upstream-port'],
  [Connect.PCIE_SWITCH_DOWNSTREAM_PORT, 'pcie-switch-downstream-port'],
  [Connect.DMI_TO_PCI_BRIDGE, 'dmi-to-pci-bridge'],
  [Connect.PCIE_TO_PCI_BRIDGE, 'pcie-to-pci-bridge'],
  [Connect.PCI_EXPANDER_BUS, 'pci-expander-bus'],
  [Connect.PCIE_EXPANDER_BUS, 'pcie-expander-bus'],
  [Connect.PCI_BRIDGE, 'pci-bridge'],
];

export interface PciSlotState {
  /** Bit n set = function n in use. */
  functions: number;
  /** The first function reserved here was a pcie-root-port: others may share the slot. */
  aggregate: boolean;
}

export interface PciBus {
  model: PciControllerModel;
  flags: number;
  minSlot: number;
  maxSlot: number;
  slots: PciSlotState[];
}

/** A location on a bus; `function` may be changed by the search. */
export interface PciLocation { domain: number; bus: number; slot: number; function: number }

export interface PciAddressSetOptions {
  /** Sizing pass: unknown buses are invented instead of failing. */
  dryRun: boolean;
  /** QEMU has pcie-pci-bridge (7.2 does): legacy PCI on PCIe uses root port + pcie-to-pci-bridge. */
  pcieToPciBridge?: boolean;
}

export class PciAddressSet {
  readonly buses: PciBus[] = [];
  readonly dryRun: boolean;
  private readonly pcieToPciBridge: boolean;
  /** Per search (flags, function): the first bus that may still have room. */
  private readonly searchFrom = new Map<string, number>();

  constructor(options: PciAddressSetOptions) {
    this.dryRun = options.dryRun;
    this.pcieToPciBridge = options.pcieToPciBridge ?? true;
  }

  get nbuses(): number {
    return this.buses.length;
  }

  /** Defines bus `index` as a controller of `model` (virDomainPCIAddressBusSetModel). */
  setBus(index: number, model: PciControllerModel, allowHotplug: boolean): void {
    const shape = busShape(model, allowHotplug);
    const existing = this.buses[index];
    const slots = existing?.slots ?? Array.from({ length: SLOT_LAST + 1 }, () => ({ functions: 0, aggregate: false }));
    this.buses[index] = { model, flags: shape.flags, minSlot: shape.minSlot, maxSlot: shape.maxSlot, slots };
    if (existing !== undefined) this.searchFrom.clear();
  }

  isBusFullyReserved(index: number): boolean {
    const bus = this.buses[index]!;
    for (let s = bus.minSlot; s <= bus.maxSlot; s++) if (bus.slots[s]!.functions === 0) return false;
    return true;
  }

  isBusEmpty(index: number): boolean {
    const bus = this.buses[index]!;
    for (let s = bus.minSlot; s <= bus.maxSlot; s++) if (bus.slots[s]!.functions !== 0) return false;
    return true;
  }

  slotInUse(bus: number, slot: number): boolean {
    return this.buses[bus]!.slots[slot]!.functions !== 0;
  }

  functionInUse(loc: PciLocation): boolean {
    return (this.buses[loc.bus]!.slots[loc.slot]!.functions & (1 << loc.function)) !== 0;
  }

  /**
   * Checks that `loc` exists and that its bus accepts a device with `flags`
   * (virDomainPCIAddressValidate). `fromConfig` selects libvirt's relaxed rules
   * and XML-error wording for addresses written by the user.
   */
  validate(loc: PciLocation, flags: number, fromConfig: boolean, named: PciLocation = loc): void {
    const code = fromConfig ? ErrorCode.XML_ERROR : ErrorCode.INTERNAL_ERROR;
    if (this.nbuses > 0 && loc.domain === 0 && loc.bus < this.nbuses && isCompatible(loc, this.buses[loc.bus]!.flags, flags, fromConfig)) {
      const bus = this.buses[loc.bus]!;
      if ((bus.minSlot === 0 || loc.slot >= bus.minSlot) && loc.slot <= bus.maxSlot && loc.function <= FUNCTION_LAST) return;
    }
    const label = pciAddressString(named);
    if (this.nbuses === 0) throw virError(code, 'No PCI buses available');
    if (loc.domain !== 0) throw virError(code, `Invalid PCI address ${label}. Only PCI domain 0 is available`);
    if (loc.bus >= this.nbuses) throw virError(code, `Invalid PCI address ${label}. Only PCI buses up to ${this.nbuses - 1} are available`);
    const bus = this.buses[loc.bus]!;
    const problem = compatibility(loc, bus.flags, flags, fromConfig, label);
    if (problem !== undefined) throw virError(code, problem);
    if (bus.minSlot > 0 && loc.slot < bus.minSlot) throw virError(code, `Invalid PCI address ${label}. slot must be >= ${bus.minSlot}`);
    if (loc.slot > bus.maxSlot) throw virError(code, `Invalid PCI address ${label}. slot must be <= ${bus.maxSlot}`);
    if (loc.function > FUNCTION_LAST) throw virError(code, `Invalid PCI address ${label}. function must be <= ${FUNCTION_LAST}`);
  }

  /**
   * Marks one function as used (virDomainPCIAddressReserveAddrInternal). In a
   * dry run a missing bus is invented first, which may bump `loc.bus` (libvirt
   * rewrites the caller's address in that case).
   */
  reserve(loc: PciLocation, flags: number, fromConfig = true): void {
    // Messages name the address as given, before a dry run may bump its bus.
    const given = { ...loc };
    if (this.dryRun) this.grow(loc, flags);
    this.validate(loc, flags, fromConfig, given);
    const slot = this.buses[loc.bus]!.slots[loc.slot]!;
    if (slot.functions & (1 << loc.function)) {
      throw virError(fromConfig ? ErrorCode.XML_ERROR : ErrorCode.INTERNAL_ERROR, `Attempted double use of PCI Address ${pciAddressString(given)}`);
    }
    if (slot.functions === 0 && (flags & Connect.AGGREGATE_SLOT)) slot.aggregate = true;
    slot.functions |= 1 << loc.function;
  }

  release(loc: PciLocation): void {
    this.buses[loc.bus]!.slots[loc.slot]!.functions &= ~(1 << loc.function);
    this.searchFrom.clear();
  }

  /**
   * The first free place for a device with `flags` (virDomainPCIAddressGetNextAddr):
   * buses in index order, the first free slot, or for a root port a free function
   * of an aggregate slot. `fn` forces the function (USB2 companions); -1 = any.
   */
  findNext(flags: number, fn = -1): PciLocation {
    if (this.nbuses === 0) throw virError(ErrorCode.XML_ERROR, 'No PCI buses available');
    // Slots only fill up while a set lives (until release()), so a bus that had
    // no room for these flags never will: later searches start after it.
    const key = `${flags}:${fn}`;
    for (let b = this.searchFrom.get(key) ?? 0; b < this.nbuses; b++) {
      const found = this.findOnBus(b, flags, fn);
      if (found !== undefined) {
        this.searchFrom.set(key, b);
        return found;
      }
    }
    this.searchFrom.set(key, this.nbuses);
    if (this.dryRun) {
      const loc: PciLocation = { domain: 0, bus: this.nbuses, slot: 0, function: fn < 0 ? 0 : fn };
      this.grow(loc, flags);
      loc.slot = this.buses[loc.bus]!.minSlot;
      return loc;
    }
    throw virError(ErrorCode.INTERNAL_ERROR, 'No more available PCI slots');
  }

  /** findNext + reserve. */
  reserveNext(flags: number, fn = -1): PciLocation {
    const loc = this.findNext(flags, fn);
    this.reserve(loc, flags, false);
    return loc;
  }

  private findOnBus(b: number, flags: number, fn: number): PciLocation | undefined {
    const bus = this.buses[b]!;
    const first = fn < 0 ? 0 : fn;
    if (!isCompatible({ domain: 0, bus: b, slot: bus.minSlot, function: first }, bus.flags, flags, false)) return undefined;
    const found = (slot: number, f: number): PciLocation => ({ domain: 0, bus: b, slot, function: f });
    for (let s = bus.minSlot; s <= bus.maxSlot; s++) {
      const slot = bus.slots[s]!;
      if (slot.functions === 0) return found(s, first);
      if (!(flags & Connect.AGGREGATE_SLOT) || !slot.aggregate) continue;
      if ((slot.functions & (1 << first)) === 0) return found(s, first);
      if (fn === -1) {
        for (let f = first; f <= FUNCTION_LAST; f++) if ((slot.functions & (1 << f)) === 0) return found(s, f);
      }
    }
    return undefined;
  }

  /**
   * Invents buses up to `loc.bus` for a device with `flags` (virDomainPCIAddressSetGrow).
   * Returns how many were added.
   */
  private grow(loc: PciLocation, flags: number): number {
    let add = loc.bus - this.nbuses + 1;
    if (add <= 0) return 0;
    let model: PciControllerModel;
    let bridgeChain: 'none' | 'dmi' | 'pcie-to-pci' = 'none';
    if (flags & Connect.PCI_DEVICE) {
      model = 'pci-bridge';
      if (!this.buses.some((bus) => bus.flags & Connect.PCI_BRIDGE)) {
        // A pure PCIe topology: a legacy device first needs a bridge chain.
        bridgeChain = this.pcieToPciBridge ? 'pcie-to-pci' : 'dmi';
        if (add === 1) {
          add++;
          loc.bus++;
        }
      }
    } else if (flags & (Connect.PCIE_DEVICE | Connect.PCIE_SWITCH_UPSTREAM_PORT)) {
      model = 'pcie-root-port';
    } else {
      const wanted = controllerModelOfFlags(flags);
      if (wanted !== undefined) {
        throw virError(ErrorCode.INTERNAL_ERROR,
          `a PCI slot is needed to connect a PCI controller model='${wanted}', but none is available, and it cannot be automatically added`);
      }
      throw virError(ErrorCode.INTERNAL_ERROR,
        `Cannot automatically add a new PCI bus for a device with connect flags ${flags.toString(16).padStart(2, '0')}`);
    }
    let i = this.nbuses;
    const end = this.nbuses + add;
    if (bridgeChain === 'dmi') this.setBus(i++, 'dmi-to-pci-bridge', false);
    if (bridgeChain === 'pcie-to-pci') {
      // This root port exists only to hold the pcie-to-pci-bridge: nothing else
      // (in particular not the hotplug spare) may take it during the dry run.
      this.setBus(i, 'pcie-root-port', true);
      this.buses[i]!.flags = Connect.PCIE_TO_PCI_BRIDGE;
      i++;
      this.setBus(i++, 'pcie-to-pci-bridge', true);
    }
    for (; i < end; i++) this.setBus(i, model, true);
    return add;
  }
}

/** Fast form of compatibility() for searches: no message is built. */
function isCompatible(loc: PciLocation, busFlags: number, devFlags: number, fromConfig: boolean): boolean {
  if (devFlags & Connect.INTEGRATED) {
    if (loc.bus !== 0) return false;
    busFlags |= Connect.AUTOASSIGN;
  }
  if (fromConfig) {
    if (busFlags & ENDPOINT) busFlags |= ENDPOINT;
    if (devFlags & Connect.PCI_BRIDGE) devFlags |= Connect.PCI_DEVICE;
  } else if ((devFlags & Connect.AUTOASSIGN) && !(busFlags & Connect.AUTOASSIGN)) {
    return false;
  }
  if ((devFlags & Connect.HOTPLUGGABLE) && !(busFlags & Connect.HOTPLUGGABLE)) return false;
  return (devFlags & busFlags & TYPES_MASK) !== 0;
}

/**
 * Why a device with `devFlags` cannot go on a bus with `busFlags`, or undefined
 * when it can (virDomainPCIAddressFlagsCompatible).
 */
function compatibility(loc: PciLocation, busFlags: number, devFlags: number, fromConfig: boolean, label: string): string | undefined {
  if (devFlags & Connect.INTEGRATED) {
    if (loc.bus !== 0) return `The device at PCI address ${label} needs to be an integrated device (bus=0)`;
    busFlags |= Connect.AUTOASSIGN;
  }
  if (fromConfig) {
    // A user-chosen address may put a PCI device on a PCIe slot and vice versa.
    if (busFlags & ENDPOINT) busFlags |= ENDPOINT;
    if (devFlags & Connect.PCI_BRIDGE) devFlags |= Connect.PCI_DEVICE;
  } else if ((devFlags & Connect.AUTOASSIGN) && !(busFlags & Connect.AUTOASSIGN)) {
    return `The device at PCI address ${label} was auto-assigned this address, but the PCI controller with index='${loc.bus}' doesn't allow auto-assignment`;
  }
  if ((devFlags & Connect.HOTPLUGGABLE) && !(busFlags & Connect.HOTPLUGGABLE)) {
    return `The device at PCI address ${label} requires hotplug capability, but the PCI controller with index='${loc.bus}' doesn't support hotplug`;
  }
  if (!(devFlags & busFlags & TYPES_MASK)) {
    const name = CONNECT_NAMES.find(([bit]) => devFlags & bit)?.[1];
    if (name === undefined) {
      return `The device at PCI address ${label} has unrecognized connection type flags 0x${(devFlags & TYPES_MASK).toString(16).padStart(2, '0')}`;
    }
    return `The device at PCI address ${label} cannot be plugged into the PCI controller with index='${loc.bus}'. It requires a controller that accepts a ${name}.`;
  }
  return undefined;
}
