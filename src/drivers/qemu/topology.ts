// The PCI tree of a domain for tsvirt's domtopology, with every device named
// by the alias QEMU knows it by: the live alias of a running domain, else the
// one libvirt's alias rules will give it at start.
import type { PciTopology } from '../../conf/pci-topology.js';
import { child, cloneElement, type XmlElement } from '../../util/xml.js';
import { qemuPciTopology } from './address-assign.js';
import { DomainView } from './command-line/context.js';
import { setDeviceAlias } from './lifecycle.js';

export function domainPciTopology(def: XmlElement): PciTopology {
  const named = cloneElement(def);
  for (const [device, alias] of new DomainView(named).aliases) {
    if (child(device, 'alias') === undefined) setDeviceAlias(device, alias);
  }
  return qemuPciTopology(named, (device) => child(device, 'alias')?.attrs['name']);
}
