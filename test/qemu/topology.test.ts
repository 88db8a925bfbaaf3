// domtopology through the public API: the PCI tree of a defined domain, free
// hotplug capacity, and the spare-port setting reflected in the summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect } from '../../src/api/connection.js';
import type { PciTopologyBus } from '../../src/api/types.js';
import { domainXML } from './driver-fixtures.js';

const NIC = "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>";

function devicesOn(bus: PciTopologyBus): string[] {
  return bus.slots.flatMap((s) => s.functions.flatMap((f) => [
    ...(f.device ? [`${f.address} ${f.device.alias}`] : []),
    ...(f.bus ? devicesOn(f.bus) : []),
  ]));
}

async function topologyWithSparePorts(spare: number | undefined) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsvirt-topology-'));
  try {
    if (spare !== undefined) {
      mkdirSync(path.join(root, 'etc'), { recursive: true });
      writeFileSync(path.join(root, 'etc', 'qemu.conf'), `hotplug_pcie_spare_ports = ${spare}\n`);
    }
    const conn = await connect(`qemu:///embed?root=${root}`);
    try {
      const dom = await conn.defineDomain(domainXML('topo', 'f0f0f0f0-0000-4000-8000-000000000001', 131072, NIC));
      return await dom.getPciTopology();
    } finally {
      await conn.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('q35 domain: devices listed with their QEMU aliases and one spare hotplug root port', async () => {
  const t = await topologyWithSparePorts(undefined);
  assert.equal(t.root.model, 'pcie-root');
  const devices = devicesOn(t.root);
  assert.ok(devices.includes('0000:01:00.0 net0'), devices.join('\n'));
  assert.ok(devices.some((d) => d.endsWith(' balloon0')), devices.join('\n'));
  assert.equal(t.summary.freeHotplugPciePorts, 1);
  assert.equal(t.summary.canAddControllersOffline, true);
});

test('the spare-port setting shows up as free hotpluggable PCIe ports without moving devices', async () => {
  const one = await topologyWithSparePorts(1);
  const eight = await topologyWithSparePorts(8);
  assert.equal(eight.summary.freeHotplugPciePorts, 8);
  const withAlias = (ds: string[]) => ds.filter((d) => !d.endsWith(' undefined'));
  assert.deepEqual(withAlias(devicesOn(eight.root)).filter((d) => !/ pci\.\d+$/.test(d)), withAlias(devicesOn(one.root)).filter((d) => !/ pci\.\d+$/.test(d)));
});
