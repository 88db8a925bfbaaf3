// The test driver's host calls: version, capabilities, node info and memory,
// NUMA cells, security model, and the default node's devices (the nodedev family).

import { hostname } from 'node:os';
import type { HypervisorDriver, NodeDeviceDriver } from '../../driver/families.js';
import { DriverFeature, globalFeatureSupport } from '../../driver/features.js';
import type { ProcArgs, ProcRet } from '../../driver/procedures.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import { formatCapabilities } from './host.js';
import { hostHasIOMMU, type NodeDeviceObj } from './node.js';
import { TestObjects, cChars, checkFlags, wanted, MAX_VCPUS } from './objects.js';

/** virNodeDevCap names, in the order of the VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bits. */
const NODE_DEVICE_CAPS = [
  'system', 'pci', 'usb_device', 'usb', 'net', 'scsi_host', 'scsi_target', 'scsi', 'storage', 'fc_host', 'vports',
  'scsi_generic', 'drm', 'mdev_types', 'mdev', 'ccw', 'css', 'vdpa', 'ap_card', 'ap_queue', 'ap_matrix', 'vpd',
];

/** virNodeInfo.model: char[32] */
const NODE_MODEL_LENGTH = 32;

export class HostAPI extends TestObjects implements HypervisorDriver {
  async connectGetType(): Promise<ProcRet<'connectGetType'>> {
    return { type: 'TEST' };
  }
  /** testConnectSupportsFeature: the global answers, typed string parameters and net-update's corrected order. */
  async connectSupportsFeature({ feature }: ProcArgs<'connectSupportsFeature'>): Promise<ProcRet<'connectSupportsFeature'>> {
    const global = globalFeatureSupport(feature);
    if (global !== undefined) return { supported: global };
    const own = feature === DriverFeature.TYPED_PARAM_STRING || feature === DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER;
    return { supported: own ? 1 : 0 };
  }
  async connectGetVersion(): Promise<ProcRet<'connectGetVersion'>> {
    return { hv_ver: 2n }; // "Running hypervisor: TEST 0.0.2"
  }
  async connectGetHostname(): Promise<ProcRet<'connectGetHostname'>> {
    return { hostname: hostname() };
  }
  async connectGetCapabilities(): Promise<ProcRet<'connectGetCapabilities'>> {
    return { capabilities: formatCapabilities(this.node.cells, hostHasIOMMU()) };
  }
  async connectGetSysinfo({ flags }: ProcArgs<'connectGetSysinfo'>): Promise<ProcRet<'connectGetSysinfo'>> {
    checkFlags(flags, 0, 'testConnectGetSysinfo');
    return {
      sysinfo:
        "<sysinfo type='smbios'>\n  <bios>\n    <entry name='vendor'>LENOVO</entry>\n    <entry name='version'>G4ETA1WW (2.61 )</entry>\n" +
        "    <entry name='date'>05/07/2014</entry>\n    <entry name='release'>2.61</entry>\n  </bios>\n</sysinfo>\n",
    };
  }
  async connectGetMaxVcpus(_args: ProcArgs<'connectGetMaxVcpus'>): Promise<ProcRet<'connectGetMaxVcpus'>> {
    return { max_vcpus: MAX_VCPUS };
  }
  async nodeGetInfo(): Promise<ProcRet<'nodeGetInfo'>> {
    const { model, memory, ...counts } = this.node.nodeInfo;
    const chars = cChars(model).slice(0, NODE_MODEL_LENGTH);
    return { model: [...chars, ...Array<number>(NODE_MODEL_LENGTH - chars.length).fill(0)], memory: BigInt(memory), ...counts };
  }
  async nodeGetCellsFreeMemory({ startCell, maxcells }: ProcArgs<'nodeGetCellsFreeMemory'>): Promise<ProcRet<'nodeGetCellsFreeMemory'>> {
    if (startCell >= this.node.cells.length) {
      throw virError(ErrorCode.INVALID_ARG, 'Range exceeds available cells', ErrorDomain.TEST);
    }
    const start = Math.max(startCell, 0);
    return { cells: this.node.cells.slice(start, start + Math.max(maxcells, 0)).map((c) => BigInt(c.memory)) };
  }
  /** testNodeGetFreeMemory sums the cells' free KiB and returns them as the byte count. */
  async nodeGetFreeMemory(): Promise<ProcRet<'nodeGetFreeMemory'>> {
    return { freeMem: BigInt(this.node.cells.reduce((n, c) => n + c.freeMemory, 0)) };
  }
  /** testNodeGetCPUMap: 8 CPUs, of which 0, 2 and 4 are online. */
  async nodeGetCPUMap({ need_map, need_online, flags }: ProcArgs<'nodeGetCPUMap'>): Promise<ProcRet<'nodeGetCPUMap'>> {
    checkFlags(flags, 0, 'testNodeGetCPUMap');
    return { cpumap: Buffer.from(need_map ? [0x15] : []), online: need_online ? 3 : 0, ret: 8 };
  }
  async nodeGetSecurityModel(): Promise<ProcRet<'nodeGetSecurityModel'>> {
    return { model: cChars('testSecurity'), doi: cChars('') };
  }
}

export class NodeDeviceAPI extends TestObjects implements NodeDeviceDriver {
  /** Host devices, filtered by the VIR_CONNECT_LIST_NODE_DEVICES_CAP_* bits (virNodeDevCap order). */
  async connectListAllNodeDevices({ need_results, flags }: ProcArgs<'connectListAllNodeDevices'>): Promise<ProcRet<'connectListAllNodeDevices'>> {
    checkFlags(flags, (1 << NODE_DEVICE_CAPS.length) - 1, 'testConnectListAllNodeDevices');
    const devices = this.node.nodeDevices
      .filter((d) => flags === 0 || d.caps.some((c) => NODE_DEVICE_CAPS.includes(c) && (flags & (1 << NODE_DEVICE_CAPS.indexOf(c))) !== 0))
      .map((d) => ({ name: d.name }));
    return { devices: wanted(devices, need_results), ret: devices.length };
  }
  async nodeDeviceLookupByName({ name }: ProcArgs<'nodeDeviceLookupByName'>): Promise<ProcRet<'nodeDeviceLookupByName'>> {
    return { dev: { name: this.device(name).name } };
  }
  async nodeDeviceGetParent({ name }: ProcArgs<'nodeDeviceGetParent'>): Promise<ProcRet<'nodeDeviceGetParent'>> {
    return { parentName: this.device(name).parent ?? null };
  }
  async nodeDeviceListCaps({ name, maxnames }: ProcArgs<'nodeDeviceListCaps'>): Promise<ProcRet<'nodeDeviceListCaps'>> {
    return { names: this.device(name).caps.slice(0, maxnames) };
  }

  private device(name: string): NodeDeviceObj {
    const dev = this.node.nodeDevices.find((d) => d.name === name);
    if (!dev) throw virError(ErrorCode.NO_NODE_DEVICE, `no node device with matching name '${name}'`, ErrorDomain.NODEDEV);
    return dev;
  }
}
