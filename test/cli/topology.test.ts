// domtopology's text rendering: nested buses, runs of free slots, summary line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PciTopology } from '../../src/api/types.js';
import { formatTopology } from '../../src/cli/topology.js';

test('buses nest under their controllers, free slots collapse into runs, the summary ends the output', () => {
  const topology: PciTopology = {
    root: {
      index: 0,
      model: 'pcie-root',
      modelName: null,
      hotplug: false,
      accepts: ['PCIe'],
      slots: [
        { slot: 0, functions: [{ function: 0, address: '0000:00:00.0', device: null, chipset: 'host bridge', bus: null }], hotpluggable: null },
        {
          slot: 1,
          functions: [
            {
              function: 0,
              address: '0000:00:01.0',
              device: { kind: 'controller', model: 'pci pcie-root-port', alias: 'pci.1' },
              chipset: null,
              bus: {
                index: 1,
                model: 'pcie-root-port',
                modelName: null,
                hotplug: true,
                accepts: ['PCIe'],
                slots: [{ slot: 0, functions: [], hotpluggable: true }],
              },
            },
          ],
          hotpluggable: null,
        },
        { slot: 2, functions: [], hotpluggable: false },
        { slot: 3, functions: [], hotpluggable: false },
        { slot: 4, functions: [{ function: 0, address: '0000:00:04.0', device: { kind: 'interface', model: 'virtio', alias: 'net0' }, chipset: null, bus: null }], hotpluggable: null },
      ],
    },
    summary: { freeHotplugPciePorts: 1, freeHotplugPciSlots: 0, canAddControllersOffline: true },
  };
  assert.equal(
    formatTopology(topology),
    [
      'bus 0x00 pcie-root, no hotplug, takes PCIe',
      '+- 00.0  chipset: host bridge',
      '+- 01.0  controller pci pcie-root-port (pci.1)',
      '|  `- bus 0x01 pcie-root-port, hotplug, takes PCIe',
      '|     `- 00  free, hotpluggable',
      '+- 02-03  free, not hotpluggable',
      '`- 04.0  interface virtio (net0)',
      'Free hotpluggable PCIe ports: 1, free hotpluggable PCI slots: 0, more controllers can be added offline: yes',
      '',
    ].join('\n'),
  );
});
