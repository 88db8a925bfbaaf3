// Controllers: PCI bridges and ports, USB host controllers, SCSI HBAs, SATA,
// virtio-serial, plus the -global options that tune the root bus.
import type { XmlElement } from '../../../util/xml.js';
import { child, childText } from '../../../util/xml.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import type { BuildContext, JsonProps } from './context.js';
import { props } from './context.js';
import { addAddressProps, addVirtioOptions, virtioModel } from './address.js';
import { isS390Arch } from '../../../conf/machine-family.js';

const USB_DRIVERS: Record<string, string> = {
  'piix3-uhci': 'piix3-usb-uhci', 'piix4-uhci': 'piix4-usb-uhci', ehci: 'usb-ehci', 'ich9-ehci1': 'ich9-usb-ehci1',
  'ich9-uhci1': 'ich9-usb-uhci1', 'ich9-uhci2': 'ich9-usb-uhci2', 'ich9-uhci3': 'ich9-usb-uhci3',
  'vt82c686b-uhci': 'vt82c686b-usb-uhci', 'pci-ohci': 'pci-ohci', 'nec-xhci': 'nec-usb-xhci', qusb1: 'qusb1',
  qusb2: 'qusb2', 'qemu-xhci': 'qemu-xhci',
};

const SCSI_DRIVERS: Record<string, string> = {
  lsilogic: 'lsi', ibmvscsi: 'spapr-vscsi', lsisas1068: 'mptsas1068', lsisas1078: 'megasas', vmpvscsi: 'pvscsi',
  am53c974: 'am53c974', dc390: 'dc-390',
};

/** Controllers QEMU creates by itself with the machine, which therefore get no -device. */
function isImplicit(ctx: BuildContext, c: XmlElement): boolean {
  const { view } = ctx;
  const index = Number(c.attrs.index ?? 0);
  switch (c.attrs.type) {
    case 'pci': return c.attrs.model === 'pcie-root' || c.attrs.model === 'pci-root';
    case 'sata': return index === 0 && view.family === 'q35';
    case 'ide': return index === 0 && view.hasBuiltinIde;
    case 'scsi': return index === 0 && c.attrs.model === 'ncr53c90';
    default: return false;
  }
}

function pciControllerProps(ctx: BuildContext, c: XmlElement): JsonProps {
  const id = ctx.view.alias(c);
  const modelName = child(c, 'model')?.attrs.name ?? '';
  const target = child(c, 'target');
  const int = (k: string) => (target?.attrs[k] !== undefined ? Number(target.attrs[k]) : undefined);
  const node = target ? childText(target, 'node') : undefined;
  switch (c.attrs.model) {
    case 'pci-bridge':
      return props(['driver', modelName], ['chassis_nr', int('chassisNr')], ['id', id]);
    case 'pci-expander-bus':
    case 'pcie-expander-bus':
      return props(['driver', modelName], ['bus_nr', int('busNr')], ['id', id], ['numa_node', node === undefined ? undefined : Number(node)]);
    case 'dmi-to-pci-bridge':
    case 'pcie-switch-upstream-port':
    case 'pcie-to-pci-bridge':
      return props(['driver', modelName], ['id', id]);
    case 'pcie-root-port':
    case 'pcie-switch-downstream-port': {
      const hotplug = target?.attrs.hotplug;
      return props(['driver', modelName], ['port', int('port')], ['chassis', int('chassis')], ['id', id],
        ['hotplug', hotplug === 'on' ? true : hotplug === 'off' ? false : undefined]);
    }
    default:
      throw virError(ErrorCode.INTERNAL_ERROR, `Unexpected PCI controller model ${c.attrs.model}`, ErrorDomain.QEMU);
  }
}

function usbControllerProps(ctx: BuildContext, c: XmlElement): JsonProps {
  const model = c.attrs.model ?? '';
  const ports = c.attrs.ports !== undefined ? Number(c.attrs.ports) : undefined;
  const out = props(['driver', USB_DRIVERS[model] ?? model], ['p2', ports], ['p3', ports]);
  const master = child(c, 'master');
  if (master) {
    const ehci = ctx.view.controllers('usb').find((o) => o.attrs.index === c.attrs.index && !child(o, 'master'));
    out.masterbus = `${ehci ? ctx.view.alias(ehci) : 'usb'}.0`;
    out.firstport = Number(master.attrs.startport ?? 0);
  } else {
    out.id = ctx.view.alias(c);
  }
  return out;
}

function scsiControllerProps(ctx: BuildContext, c: XmlElement): JsonProps {
  const model = c.attrs.model ?? '';
  const id = ctx.view.alias(c);
  if (model.startsWith('virtio')) {
    const out = props(['driver', virtioModel(c, 'virtio-scsi', model === 'virtio-scsi' ? undefined : model)]);
    addVirtioOptions(c, out);
    const driver = child(c, 'driver');
    const n = (k: string) => (driver?.attrs[k] !== undefined && Number(driver.attrs[k]) > 0 ? Number(driver.attrs[k]) : undefined);
    if (driver?.attrs.iothread !== undefined) out.iothread = `iothread${driver.attrs.iothread}`;
    out.id = id;
    const extra = props(['num_queues', n('queues')], ['cmd_per_lun', n('cmd_per_lun')], ['max_sectors', n('max_sectors')],
      ['ioeventfd', driver?.attrs.ioeventfd === 'on' ? true : driver?.attrs.ioeventfd === 'off' ? false : undefined]);
    return { ...out, ...extra };
  }
  const driver = SCSI_DRIVERS[model];
  if (!driver) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Unsupported controller model: ${model}`, ErrorDomain.QEMU);
  return props(['driver', driver], ['id', id]);
}

function controllerProps(ctx: BuildContext, c: XmlElement): JsonProps | undefined {
  switch (c.attrs.type) {
    case 'pci': return pciControllerProps(ctx, c);
    case 'usb': return usbControllerProps(ctx, c);
    case 'scsi': return scsiControllerProps(ctx, c);
    case 'sata': return props(['driver', 'ahci'], ['id', ctx.view.alias(c)]);
    case 'virtio-serial': {
      const out = props(['driver', virtioModel(c, 'virtio-serial', c.attrs.model)]);
      addVirtioOptions(c, out);
      out.id = ctx.view.alias(c);
      if (c.attrs.ports !== undefined) out.max_ports = Number(c.attrs.ports);
      if (c.attrs.vectors !== undefined) out.vectors = Number(c.attrs.vectors);
      return out;
    }
    case 'ccid': return props(['driver', 'usb-ccid'], ['id', ctx.view.alias(c)]);
    default:
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `Unsupported controller type: ${c.attrs.type}`, ErrorDomain.QEMU);
  }
}

/** -global pci-hole64-size for root buses (qemuBuildGlobalControllerCommandLine). */
export function buildGlobalControllers(ctx: BuildContext): void {
  for (const c of ctx.view.controllers('pci')) {
    const hole = child(c, 'pcihole64');
    if (!hole) continue;
    const host = c.attrs.model === 'pci-root' ? 'i440FX-pcihost' : 'q35-pcihost';
    const kib = Number(hole.text.trim()) * (hole.attrs.unit === 'GiB' ? 1024 * 1024 : hole.attrs.unit === 'MiB' ? 1024 : 1);
    if (kib > 0) ctx.cmd.add('-global', `${host}.pci-hole64-size=${kib}K`);
  }
}

/** Controllers of one type, in document order (qemuBuildControllersByTypeCommandLine). */
export function buildControllersOfType(ctx: BuildContext, type: string): void {
  for (const c of ctx.view.controllers(type)) {
    if (type === 'pci' && c.attrs.model === 'pci-root' && Number(c.attrs.index ?? 0) === 0) {
      const hotplug = child(c, 'target')?.attrs.hotplug;
      if (hotplug !== undefined) ctx.cmd.add('-global', `PIIX4_PM.acpi-root-pci-hotplug=${hotplug}`);
    }
    if (isImplicit(ctx, c)) continue;
    if (type === 'usb' && (c.attrs.model === 'none' || c.attrs.model === undefined)) continue;
    const out = controllerProps(ctx, c);
    if (!out) continue;
    addAddressProps(ctx.view, c, out);
    ctx.cmd.json('-device', out);
  }
}

export function buildControllers(ctx: BuildContext): void {
  for (const type of ['pci', 'usb', 'scsi', 'ide', 'sata', 'virtio-serial']) buildControllersOfType(ctx, type);
  // A legacy "-usb" only where neither a USB controller nor a legacy-free machine says otherwise.
  const usb = ctx.view.controllers('usb');
  if (usb.some((c) => c.attrs.model === 'none')) return;
  const nusb = usb.filter((c) => c.attrs.model !== undefined).length;
  const legacyFree = ctx.view.family === 'q35' || ctx.view.family === 'virt' || isS390Arch(ctx.view.arch);
  if (nusb === 0 && !legacyFree) ctx.cmd.add('-usb');
}
