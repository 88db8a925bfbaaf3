// Text rendering of a domain's PCI tree for `tsvirsh domtopology`: buses with
// their slots and functions, devices with kind, model and alias, runs of empty
// slots marked hotpluggable or not, and a one-line summary of the room left.
import type { PciTopology, PciTopologyBus, PciTopologyFunction, PciTopologySlot } from '../api/types.js';

interface Node {
  text: string;
  children: Node[];
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

function functionNode(slot: PciTopologySlot, fn: PciTopologyFunction): Node {
  const where = `${hex2(slot.slot)}.${fn.function}`;
  if (!fn.device) return { text: `${where}  chipset: ${fn.chipset ?? 'reserved'}`, children: [] };
  const { kind, model, alias } = fn.device;
  const text = `${where}  ${kind}${model ? ` ${model}` : ''}${alias ? ` (${alias})` : ''}`;
  return { text, children: fn.bus ? [busNode(fn.bus)] : [] };
}

function busNode(bus: PciTopologyBus): Node {
  const model = bus.modelName && bus.modelName !== bus.model ? `${bus.model} ${bus.modelName}` : bus.model;
  const text = `bus 0x${hex2(bus.index)} ${model}, ${bus.hotplug ? 'hotplug' : 'no hotplug'}${bus.accepts.length ? `, takes ${bus.accepts.join(' ')}` : ''}`;
  const children: Node[] = [];
  let run: { first: number; last: number; hotpluggable: boolean } | undefined;
  const flush = () => {
    if (!run) return;
    const range = run.first === run.last ? hex2(run.first) : `${hex2(run.first)}-${hex2(run.last)}`;
    children.push({ text: `${range}  free, ${run.hotpluggable ? 'hotpluggable' : 'not hotpluggable'}`, children: [] });
    run = undefined;
  };
  for (const slot of bus.slots) {
    if (slot.functions.length === 0) {
      const hotpluggable = slot.hotpluggable === true;
      if (run && run.hotpluggable === hotpluggable && run.last === slot.slot - 1) run.last = slot.slot;
      else {
        flush();
        run = { first: slot.slot, last: slot.slot, hotpluggable };
      }
      continue;
    }
    flush();
    for (const fn of slot.functions) children.push(functionNode(slot, fn));
  }
  flush();
  return { text, children };
}

/** ASCII tree: "+- " for a child with siblings below it, "`- " for the last one. */
function draw(node: Node, prefix: string, last: boolean, root: boolean, out: string[]): void {
  out.push(root ? node.text : `${prefix}${last ? '`- ' : '+- '}${node.text}`);
  const childPrefix = root ? '' : prefix + (last ? '   ' : '|  ');
  node.children.forEach((c, i) => draw(c, childPrefix, i === node.children.length - 1, false, out));
}

export function formatTopology(t: PciTopology): string {
  const lines: string[] = [];
  draw(busNode(t.root), '', true, true, lines);
  const s = t.summary;
  lines.push(
    `Free hotpluggable PCIe ports: ${s.freeHotplugPciePorts}, free hotpluggable PCI slots: ${s.freeHotplugPciSlots}, ` +
      `more controllers can be added offline: ${s.canAddControllersOffline ? 'yes' : 'no'}`,
  );
  return lines.join('\n') + '\n';
}
