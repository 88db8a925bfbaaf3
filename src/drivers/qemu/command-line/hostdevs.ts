// Host device assignment: PCI functions and mediated devices through VFIO,
// USB devices through usb-host.
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import type { BuildContext, JsonProps } from './context.js';
import { props } from './context.js';
import { addAddressProps, addRomProps } from './address.js';
import { lastDiskStorageId, networkStorageProps } from './disks.js';

function hex(el: XmlElement | undefined, key: string, width: number): string {
  return Number(el?.attrs[key] ?? 0).toString(16).padStart(width, '0');
}

function hostdevProps(ctx: BuildContext, hostdev: XmlElement): JsonProps | undefined {
  const id = ctx.view.alias(hostdev);
  const source = child(hostdev, 'source');
  const bootOrder = child(hostdev, 'boot')?.attrs.order;
  const bootindex = bootOrder !== undefined ? Number(bootOrder) : undefined;
  switch (hostdev.attrs.type) {
    case 'pci': {
      const a = source ? child(source, 'address') : undefined;
      const host = `${hex(a, 'domain', 4)}:${hex(a, 'bus', 2)}:${hex(a, 'slot', 2)}.${hex(a, 'function', 1)}`;
      const out = props(['driver', 'vfio-pci'], ['host', host], ['id', id], ['bootindex', bootindex]);
      addAddressProps(ctx.view, hostdev, out);
      addRomProps(hostdev, out);
      return out;
    }
    case 'mdev': {
      const uuid = source ? child(source, 'address')?.attrs.uuid : undefined;
      const display = hostdev.attrs.display;
      const ramfb = hostdev.attrs.ramfb;
      // ramfb needs a device QEMU will never hot-unplug.
      const driver = hostdev.attrs.model === 'vfio-ccw' ? 'vfio-ccw' : hostdev.attrs.model === 'vfio-ap' ? 'vfio-ap' : ramfb === 'on' ? 'vfio-pci-nohotplug' : 'vfio-pci';
      const out = props(['driver', driver], ['id', id], ['sysfsdev', `/sys/bus/mdev/devices/${uuid}`],
        ['display', display === 'on' || display === 'off' ? display : undefined], ['ramfb', ramfb === 'on' ? true : undefined], ['bootindex', bootindex]);
      addAddressProps(ctx.view, hostdev, out);
      return out;
    }
    case 'usb': {
      const a = source ? child(source, 'address') : undefined;
      const out = props(['driver', 'usb-host']);
      if (a) out.hostdevice = `/dev/bus/usb/${String(Number(a.attrs.bus ?? 0)).padStart(3, '0')}/${String(Number(a.attrs.device ?? 0)).padStart(3, '0')}`;
      else {
        const vendor = source ? child(source, 'vendor')?.attrs.id : undefined;
        const product = source ? child(source, 'product')?.attrs.id : undefined;
        if (vendor) out.vendorid = vendor;
        if (product) out.productid = product;
      }
      // guestReset: off → no resets, uusb → only unconfigured devices, on → all (virDomainHostdevSubsysUSBGuestReset).
      const reset = source?.attrs.guestReset;
      Object.assign(out, props(['id', id], ['bootindex', bootindex],
        ['guest-reset', reset === undefined ? undefined : reset !== 'off'],
        ['guest-resets-all', reset === undefined || reset === 'off' ? undefined : reset === 'on']));
      addAddressProps(ctx.view, hostdev, out);
      return out;
    }
    default:
      return undefined;
  }
}

/** SCSI host devices reached over iSCSI: a block node of their own, driven by scsi-generic. */
function scsiHostdevProps(ctx: BuildContext, hostdev: XmlElement, storageId: number): JsonProps | undefined {
  const source = child(hostdev, 'source');
  if (!source || source.attrs.protocol !== 'iscsi') return undefined;
  const node = `libvirt-${storageId}-backend`;
  ctx.cmd.json('-blockdev', { ...networkStorageProps(source), 'node-name': node, 'read-only': child(hostdev, 'readonly') !== undefined });
  const out = props(['driver', 'scsi-generic'], ['drive', node], ['id', ctx.view.alias(hostdev)]);
  addAddressProps(ctx.view, hostdev, out);
  return out;
}

export function buildHostdevs(ctx: BuildContext): void {
  let storageId = lastDiskStorageId(ctx.view.deviceList('disk'));
  for (const hostdev of ctx.view.deviceList('hostdev')) {
    if (hostdev.attrs.mode !== undefined && hostdev.attrs.mode !== 'subsystem') continue;
    // An unassigned PCI device is only reserved for the guest, not given to it.
    if (child(hostdev, 'address')?.attrs.type === 'unassigned') continue;
    const out = hostdev.attrs.type === 'scsi' ? scsiHostdevProps(ctx, hostdev, ++storageId) : hostdevProps(ctx, hostdev);
    if (out) ctx.cmd.json('-device', out);
  }
}
