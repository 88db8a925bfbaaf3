// <hostdev>: schema (virDomainHostdevDefFormat), explicit managed='no', host
// PCI addresses in libvirt's hex form, and SCSI hostdev drive addresses.

import { ErrorCode, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import { deviceAddressOf, setDeviceAddress } from '../device-address.js';
import type { ElementSchema } from '../schema.js';
import { parseUnsigned, propEnum } from '../xml-props.js';
import { devicesNamed, dropGeneratedAlias, firstChild, infoChildren, type DeviceContext } from './common.js';
import { addControllersUpTo, findController } from './controller.js';
import { driveKey, scsiDiskAt, usedScsiDriveAddresses } from './validate.js';

const HOSTDEV_MODES = ['subsystem', 'capabilities'] as const;
/** virDomainHostdevSubsysType and virDomainHostdevCapsType names, by mode. */
const HOSTDEV_TYPES: Record<string, readonly string[]> = {
  subsystem: ['usb', 'pci', 'scsi', 'scsi_host', 'mdev'],
  capabilities: ['storage', 'misc', 'net'],
};

const secretAuth: ElementSchema = { attrs: ['username'], children: { secret: { attrs: ['type', 'usage', 'uuid'] } } };

export const hostdevSchema: ElementSchema = {
  attrs: ['mode', 'type', 'managed', 'sgio', 'rawio', 'model', 'display', 'ramfb'],
  children: {
    driver: { attrs: ['name'] },
    source: {
      attrs: ['protocol', 'name', 'wwpn', 'writeFiltering', 'startupPolicy', 'guestReset'],
      children: {
        vendor: { attrs: ['id'] },
        product: { attrs: ['id'] },
        adapter: { attrs: ['name'] },
        host: { attrs: ['name', 'port'] },
        address: { attrs: ['type', 'domain', 'bus', 'slot', 'function', 'device', 'target', 'unit', 'uuid'] },
        auth: secretAuth,
        initiator: { children: { iqn: { attrs: ['name'] } } },
        block: { text: true },
        char: { text: true },
        interface: { text: true },
      },
    },
    ip: { attrs: ['address', 'family', 'prefix', 'peer'] },
    route: { attrs: ['family', 'address', 'netmask', 'prefix', 'gateway', 'metric'] },
    teaming: { attrs: ['type', 'persistent'] },
    readonly: {},
    shareable: {},
    ...infoChildren({ boot: true, rom: true }),
  },
};

export function parseHostdev(hostdev: XmlElement): void {
  propEnum(hostdev, 'mode', HOSTDEV_MODES);
  if (hostdev.attrs['type'] === undefined) {
    throw virError(ErrorCode.XML_ERROR, "Missing required attribute 'type' in element 'hostdev'");
  }
  const mode = hostdev.attrs['mode'] ?? 'subsystem';
  if (!HOSTDEV_TYPES[mode]!.includes(hostdev.attrs['type'])) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown host device source address type '${hostdev.attrs['type']}'`);
  }
  if (!firstChild(hostdev, 'source')) throw virError(ErrorCode.XML_ERROR, 'Missing <source> element in hostdev device');
  if (hostdev.attrs['type'] === 'mdev') parseMdevSource(hostdev);
}

/** virDomainHostdevSubsysMediatedDevDefParseXML: the device is named by <source><address uuid=.../>. */
function parseMdevSource(hostdev: XmlElement): void {
  const address = firstChild(firstChild(hostdev, 'source')!, 'address');
  if (!address) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Missing <address> element');
  if (address.attrs['uuid'] === undefined) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, "Missing 'uuid' attribute for element <address>");
  }
}

function hex(value: string, width: number): string {
  const n = parseUnsigned(value, 0);
  return n === undefined ? value : `0x${n.toString(16).padStart(width, '0')}`;
}

/** Generic post-parse (virDomainHostdevDefPostParse) plus the values libvirt always prints. */
export function postParseHostdev(hostdev: XmlElement, ctx: DeviceContext): void {
  dropGeneratedAlias(hostdev);
  if ((hostdev.attrs['mode'] ?? 'subsystem') !== 'subsystem') return;
  hostdev.attrs['mode'] = 'subsystem';
  hostdev.attrs['managed'] = hostdev.attrs['managed'] === 'yes' ? 'yes' : 'no';
  const source = firstChild(hostdev, 'source');
  const type = hostdev.attrs['type'];
  if (type === 'pci') {
    const addr = source && firstChild(source, 'address');
    if (addr) {
      for (const [k, w] of [['domain', 4], ['bus', 2], ['slot', 2]] as const) if (addr.attrs[k] !== undefined) addr.attrs[k] = hex(addr.attrs[k], w);
      if (addr.attrs['function'] !== undefined) addr.attrs['function'] = `0x${Number(parseUnsigned(addr.attrs['function'], 0) ?? 0)}`;
      addr.attrs['domain'] ??= '0x0000';
    }
  }
  if (type === 'usb' && source) {
    for (const c of source.children) if ((c.name === 'vendor' || c.name === 'product') && c.attrs['id'] !== undefined) c.attrs['id'] = hex(c.attrs['id'], 4);
  }
  if (type === 'mdev') checkMdevAddressType(hostdev);
  if (type === 'scsi') {
    if (source?.attrs['protocol'] === 'iscsi' && source.attrs['name'] !== undefined && !source.attrs['name'].includes('/')) {
      source.attrs['name'] = `${source.attrs['name']}/0`;
    }
    if (deviceAddressOf(hostdev) === undefined) assignScsiHostdevAddress(hostdev, ctx);
    const addr = deviceAddressOf(hostdev);
    if (addr?.type === 'drive' && scsiDiskAt(ctx, addr)) {
      throw virError(ErrorCode.XML_ERROR,
        `SCSI host address controller='${addr.controller}' bus='${addr.bus}' target='${addr.target}' unit='${addr.unit}' in use by a SCSI disk`);
    }
  }
}

/** A mediated device sits on the bus its model plugs into (virDomainHostdevDefPostParse). */
function checkMdevAddressType(hostdev: XmlElement): void {
  const addr = deviceAddressOf(hostdev);
  const model = hostdev.attrs['model'] ?? '';
  const wanted = model === 'vfio-pci' ? 'pci' : model === 'vfio-ccw' ? 'ccw' : undefined;
  if (addr && wanted && addr.type !== wanted) {
    throw virError(ErrorCode.XML_ERROR, `Unsupported address type '${addr.type}' with mediated device model '${model}'`);
  }
}

/** Highest unit, and a unit the controller itself uses, per SCSI controller model (virDomainSCSIDriveAddressIsUsed). */
const SCSI_UNIT_LIMITS: Record<string, { max?: number; reserved?: number }> = {
  'virtio-scsi': { max: 16383 }, 'virtio-transitional': { max: 16383 }, 'virtio-non-transitional': { max: 16383 },
  ibmvscsi: { max: 31, reserved: 7 }, lsisas1068: { max: 1 }, lsisas1078: { max: 255 },
  lsilogic: { reserved: 7 }, vmpvscsi: { reserved: 7 }, buslogic: { reserved: 7 },
  ncr53c90: { max: 6 }, dc390: { max: 6 }, am53c974: { max: 6 },
};

/**
 * virDomainHostdevAssignAddress: the first free unit (of 7) on bus 0 target 0,
 * controller by controller; a unit is taken when it is beyond the controller
 * model's units, the model's own, or used by a SCSI disk or host device
 * (virDomainSCSIDriveAddressIsUsed, with the used addresses gathered once).
 */
function assignScsiHostdevAddress(hostdev: XmlElement, ctx: DeviceContext): void {
  const used = usedScsiDriveAddresses(ctx);
  for (let controller = 0; ; controller++) {
    const limits = SCSI_UNIT_LIMITS[findController(ctx.devices, 'scsi', controller)?.attrs['model'] ?? ''] ?? {};
    for (let unit = 0; unit < 7; unit++) {
      if ((limits.max !== undefined && unit > limits.max) || unit === limits.reserved) continue;
      if (used.has(driveKey({ controller, bus: 0, target: 0, unit }))) continue;
      setDeviceAddress(hostdev, { type: 'drive', controller, bus: 0, target: 0, unit });
      return;
    }
  }
}

const isScsiHostdev = (h: XmlElement) => (h.attrs['mode'] ?? 'subsystem') === 'subsystem' && h.attrs['type'] === 'scsi';

/**
 * virDomainDefMaybeAddHostdevSCSIcontroller, at parse time: SCSI controllers
 * 0..N for the highest controller a SCSI host device names (0 when it has no
 * address yet), of the model of that highest one's controller when it exists.
 */
export function addHostdevScsiControllers(ctx: DeviceContext): void {
  let max = -1;
  let model: string | undefined;
  for (const hostdev of devicesNamed(ctx, 'hostdev').filter(isScsiHostdev)) {
    const a = deviceAddressOf(hostdev);
    const controller = a?.type === 'drive' ? a.controller : 0;
    if (controller <= max) continue;
    max = controller;
    model = findController(ctx.devices, 'scsi', controller)?.attrs['model'] ?? model;
  }
  addControllersUpTo(ctx.devices, 'scsi', max, model);
}
