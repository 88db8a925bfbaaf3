// The PCI tree of a domain for tsvirt's domtopology, with every device named
// by the alias QEMU knows it by: the live alias of a running domain, else the
// one libvirt's alias rules will give it at start.
import type { PciTopologyBus, PciTopologyFunction } from '../../conf/pci-topology.js';
import type { ProcRet } from '../../driver/procedures.js';
import { child, cloneElement, type XmlElement } from '../../util/xml.js';
import { qemuPciTopology } from './address-assign.js';
import { DomainView } from './command-line/context.js';
import { setDeviceAlias } from './lifecycle.js';

/** The topology as tsvirt's protocol carries it: absent parts are null. */
type WireTopology = ProcRet<'domainGetPciTopology'>;
type WireBus = WireTopology['root'];
type WireFunction = WireBus['slots'][number]['functions'][number];

export function domainPciTopology(def: XmlElement): WireTopology {
  const named = cloneElement(def);
  for (const [device, alias] of new DomainView(named).aliases) {
    if (child(device, 'alias') === undefined) setDeviceAlias(device, alias);
  }
  const { root, summary } = qemuPciTopology(named, (device) => child(device, 'alias')?.attrs['name']);
  return { root: wireBus(root), summary };
}

function wireBus(bus: PciTopologyBus): WireBus {
  return {
    index: bus.index,
    model: bus.model,
    modelName: bus.modelName ?? null,
    hotplug: bus.hotplug,
    accepts: bus.accepts,
    slots: bus.slots.map((s) => ({ slot: s.slot, functions: s.functions.map(wireFunction), hotpluggable: s.hotpluggable ?? null })),
  };
}

function wireFunction(f: PciTopologyFunction): WireFunction {
  return {
    function: f.function,
    address: f.address,
    device: f.device ? { kind: f.device.kind, model: f.device.model ?? null, alias: f.device.alias ?? null } : null,
    chipset: f.chipset ?? null,
    bus: f.bus ? wireBus(f.bus) : null,
  };
}
