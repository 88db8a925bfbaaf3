// The PCI tree of a defined domain, for people who need to know where hotplug
// room is left (tsvirt's `domtopology`): root bus → slots → functions →
// devices, PCI controllers opening their own buses, every empty slot marked
// hotpluggable or not, and a summary. Plain data, ready for JSON.

import { child, type XmlElement } from '../util/xml.js';
import { pciAddressString, type PciAddress } from './device-address.js';
import { controllerIndex, DeviceList, hasPciAddress } from './device-list.js';
import { CONNECT_NAMES, Connect, type PciAddressSet, type PciControllerModel } from './pci-address-set.js';

export interface PciTopologyDevice {
  /** Element name: interface, disk, controller, video, ... */
  kind: string;
  /** Most telling attribute: controller type/model, interface/video model, disk target, ... */
  model?: string;
  /** The device's alias when known (user alias, or the driver's naming). */
  alias?: string;
}

export interface PciTopologyFunction {
  function: number;
  /** 0000:BB:SS.F */
  address: string;
  /** The device using this function; absent for functions the chipset uses. */
  device?: PciTopologyDevice;
  /** What the chipset has here (e.g. "ISA bridge"), for functions no device element describes. */
  chipset?: string;
  /** The bus a PCI controller at this function provides. */
  bus?: PciTopologyBus;
}

export interface PciTopologySlot {
  slot: number;
  /** Used functions, lowest first; empty for a free slot. */
  functions: PciTopologyFunction[];
  /** For a free slot: whether a device can be hot-plugged into it. */
  hotpluggable?: boolean;
}

export interface PciTopologyBus {
  /** Controller index = the bus number used in addresses. */
  index: number;
  model: PciControllerModel;
  /** <model name=...> (the QEMU device), when set. */
  modelName?: string;
  /** The bus accepts hot-plugged devices. */
  hotplug: boolean;
  /** Kinds of device this bus takes: "PCI", "PCIe", "pcie-root-port", ... */
  accepts: string[];
  slots: PciTopologySlot[];
}

export interface PciTopologySummary {
  /** Empty PCI Express slots a device can be hot-plugged into (root/downstream ports). */
  freeHotplugPciePorts: number;
  /** Empty conventional PCI slots a device can be hot-plugged into. */
  freeHotplugPciSlots: number;
  /** Another PCI controller (root port or bridge) can still be added to the persistent definition. */
  canAddControllersOffline: boolean;
}

export interface PciTopology {
  root: PciTopologyBus;
  summary: PciTopologySummary;
}

export interface PciTopologyOptions {
  /** Names chipset functions no device element describes (e.g. 00:1f.0 on q35). */
  chipsetLabel?: (addr: PciAddress) => string | undefined;
  /** The alias to show for a device; defaults to its <alias name>. */
  aliasOf?: (device: XmlElement) => string | undefined;
  /** Slots of the root bus take hot-plugged devices (pc without ACPI: no). */
  rootHotplug?: boolean;
  /** Flags of a new controller that would extend the topology offline (root port or pci-bridge). */
  expansionFlags: number;
  /** Highest usable controller index. */
  maxBusIndex: number;
}

/** CONNECT_NAMES with the endpoint kinds shortened for the tree view. */
const ACCEPT_NAMES: readonly [number, string][] = CONNECT_NAMES.map(([bit, name]) => [
  bit,
  bit === Connect.PCI_DEVICE ? 'PCI' : bit === Connect.PCIE_DEVICE ? 'PCIe' : name,
]);

function describe(el: XmlElement, aliasOf: (el: XmlElement) => string | undefined): PciTopologyDevice {
  let model: string | undefined;
  switch (el.name) {
    case 'controller': model = [el.attrs.type, el.attrs.model].filter((x) => x !== undefined).join(' '); break;
    case 'disk': model = child(el, 'target')?.attrs.dev; break;
    case 'interface':
    case 'video': model = child(el, 'model')?.attrs.type; break;
    case 'hostdev': model = el.attrs.type; break;
    default: model = el.attrs.model;
  }
  const out: PciTopologyDevice = { kind: el.name };
  if (model !== undefined && model !== '') out.model = model;
  const alias = aliasOf(el);
  if (alias !== undefined) out.alias = alias;
  return out;
}

/**
 * Builds the tree from a domain whose devices all have their addresses and
 * the address set the driver built for it (explicit addresses and chipset
 * functions reserved).
 */
export function buildPciTopology(domain: XmlElement, set: PciAddressSet, options: PciTopologyOptions): PciTopology {
  const list = new DeviceList(domain);
  const aliasOf = options.aliasOf ?? ((el: XmlElement) => child(el, 'alias')?.attrs.name);
  const at = new Map<string, XmlElement>();
  for (const dev of list.iterationOrder()) {
    if (hasPciAddress(dev) && dev.address.domain === 0) at.set(pciAddressString(dev.address), dev.el);
  }
  const controllers = new Map(list.controllers('pci').map((c) => [controllerIndex(c.el), c.el]));
  const summary: PciTopologySummary = { freeHotplugPciePorts: 0, freeHotplugPciSlots: 0, canAddControllersOffline: false };

  const buildBus = (index: number, seen: Set<number>): PciTopologyBus => {
    seen.add(index);
    const bus = set.buses[index]!;
    const el = controllers.get(index);
    const hotplug = (bus.flags & Connect.HOTPLUGGABLE) !== 0 && (index !== 0 || options.rootHotplug !== false);
    const out: PciTopologyBus = {
      index,
      model: bus.model,
      hotplug,
      accepts: ACCEPT_NAMES.filter(([bit]) => bus.flags & bit).map(([, name]) => name),
      slots: [],
    };
    const modelName = el === undefined ? undefined : child(el, 'model')?.attrs.name;
    if (modelName !== undefined) out.modelName = modelName;
    for (let s = bus.minSlot; s <= bus.maxSlot; s++) {
      const slot: PciTopologySlot = { slot: s, functions: [] };
      for (let f = 0; f < 8; f++) {
        const loc: PciAddress = { type: 'pci', domain: 0, bus: index, slot: s, function: f };
        const address = pciAddressString(loc);
        const devEl = at.get(address);
        if (devEl === undefined && !set.functionInUse(loc)) continue;
        const fn: PciTopologyFunction = { function: f, address };
        if (devEl !== undefined) {
          fn.device = describe(devEl, aliasOf);
          const childIndex = devEl.name === 'controller' && devEl.attrs.type === 'pci' ? controllerIndex(devEl) : -1;
          if (childIndex > 0 && childIndex < set.nbuses && !seen.has(childIndex)) fn.bus = buildBus(childIndex, seen);
        } else {
          const label = options.chipsetLabel?.(loc);
          fn.chipset = label ?? 'reserved';
        }
        slot.functions.push(fn);
      }
      if (slot.functions.length === 0) {
        slot.hotpluggable = hotplug && (bus.flags & (Connect.PCI_DEVICE | Connect.PCIE_DEVICE)) !== 0;
        if (slot.hotpluggable) {
          if (bus.flags & Connect.PCIE_DEVICE) summary.freeHotplugPciePorts++;
          else summary.freeHotplugPciSlots++;
        }
      }
      out.slots.push(slot);
    }
    return out;
  };

  const root = buildBus(0, new Set());
  summary.canAddControllersOffline = set.nbuses <= options.maxBusIndex && canPlace(set, options.expansionFlags);
  return { root, summary };
}

function canPlace(set: PciAddressSet, flags: number): boolean {
  try {
    set.findNext(flags);
    return true;
  } catch {
    return false;
  }
}
