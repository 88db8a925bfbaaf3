// The test driver's host calls: version, capabilities, node info and memory,
// NUMA cells, security model and the default node's devices.

import { hostname } from 'node:os';
import type { NodeInfo } from '../../api/types.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { formatCapabilities } from './host.js';
import { hostHasIOMMU } from './node.js';
import { TestObjects, checkFlags, MAX_VCPUS } from './objects.js';


/** virNodeDevCap names, in the order of the VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bits. */
const NODE_DEVICE_CAPS = [
  'system', 'pci', 'usb_device', 'usb', 'net', 'scsi_host', 'scsi_target', 'scsi', 'storage', 'fc_host', 'vports',
  'scsi_generic', 'drm', 'mdev_types', 'mdev', 'ccw', 'css', 'vdpa', 'ap_card', 'ap_queue', 'ap_matrix', 'vpd',
];

export class HostAPI extends TestObjects {
  async connectGetVersion(): Promise<number> {
    return 2; // "Running hypervisor: TEST 0.0.2"
  }
  async connectGetHostname(): Promise<string> {
    return hostname();
  }
  async connectGetCapabilities(): Promise<string> {
    return formatCapabilities(this.node.cells, hostHasIOMMU());
  }
  async connectGetSysinfo(flags = 0): Promise<string> {
    checkFlags(flags, 0, 'testConnectGetSysinfo');
    return (
      "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>LENOVO</entry>\n    <entry name='version'>G4ETA1WW (2.61 )</entry>\n" +
      "    <entry name='date'>05/07/2014</entry>\n    <entry name='release'>2.61</entry>\n  </bios>\n</sysinfo>\n"
    );
  }
  async connectGetMaxVcpus(_type?: string): Promise<number> {
    return MAX_VCPUS;
  }
  async nodeGetInfo(): Promise<NodeInfo> {
    return { ...this.node.nodeInfo };
  }
  async nodeGetCellsFreeMemory(start: number, max: number): Promise<bigint[]> {
    if (start >= this.node.cells.length) {
      throw virError(ErrorCode.INVALID_ARG, 'Range exceeds available cells', ErrorDomain.TEST);
    }
    return this.node.cells.slice(Math.max(start, 0), Math.max(start, 0) + Math.max(max, 0)).map((c) => BigInt(c.memory));
  }
  /** testNodeGetFreeMemory sums the cells' free KiB and returns them as the byte count. */
  async nodeGetFreeMemory(): Promise<bigint> {
    return BigInt(this.node.cells.reduce((n, c) => n + c.freeMemory, 0));
  }
  async nodeGetCPUMap(): Promise<{ online: boolean[] }> {
    // testNodeGetCPUMap: 8 CPUs, 0, 2 and 4 online.
    return { online: [true, false, true, false, true, false, false, false] };
  }
  /** Host devices, filtered by the VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bits (virNodeDevCap order). */
  async connectListAllNodeDevices(flags: number): Promise<{ name: string }[]> {
    checkFlags(flags, (1 << NODE_DEVICE_CAPS.length) - 1, 'testConnectListAllNodeDevices');
    return this.node.nodeDevices
      .filter((d) => flags === 0 || d.caps.some((c) => (flags & (1 << NODE_DEVICE_CAPS.indexOf(c))) !== 0 && NODE_DEVICE_CAPS.includes(c)))
      .map((d) => ({ name: d.name }));
  }
  async nodeDeviceLookupByName(name: string): Promise<{ name: string }> {
    const dev = this.node.nodeDevices.find((d) => d.name === name);
    if (!dev) throw virError(ErrorCode.NO_NODE_DEVICE, `no node device with matching name '${name}'`, ErrorDomain.NODEDEV);
    return { name };
  }
  async nodeDeviceGetParent(dev: { name: string }): Promise<string | null> {
    await this.nodeDeviceLookupByName(dev.name);
    return this.node.nodeDevices.find((d) => d.name === dev.name)!.parent ?? null;
  }
  async nodeDeviceListCaps(dev: { name: string }): Promise<string[]> {
    await this.nodeDeviceLookupByName(dev.name);
    return [...this.node.nodeDevices.find((d) => d.name === dev.name)!.caps];
  }
}
