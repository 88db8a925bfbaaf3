// QEMU's PCI policy: which machine types have which root bus and chipset
// devices, and which kind of PCI slot each device needs on that machine
// (qemuDomainDeviceCalculatePCIConnectFlags), assuming QEMU 7.2's devices
// (generic pcie-root-port, pcie-pci-bridge, virtio (non-)transitional variants).

import { child, type XmlElement } from '../../util/xml.js';
import { guestMachineOf, isArmArch, isArmVirt, isI440fx, isQ35, isRiscvArch, isRiscvVirt } from '../../conf/machine-family.js';
import { Connect, controllerConnectFlags, isPciControllerModel, type PciControllerModel } from '../../conf/pci-address-set.js';

export interface MachineInfo {
  arch: string;
  machine: string;
  i440fx: boolean;
  q35: boolean;
  /** ARM or RISC-V: no PCI unless the machine has a PCI host (virt's gpex, versatilepb). */
  armOrRiscv: boolean;
  /** ARM or RISC-V `virt`: PCIe through gpex, no chipset slot rules. */
  virt: boolean;
}

export function machineInfo(domain: XmlElement): MachineInfo {
  const written = guestMachineOf(domain);
  const m = { arch: written.arch || 'x86_64', machine: written.machine };
  return {
    ...m,
    i440fx: isI440fx(m),
    q35: isQ35(m),
    armOrRiscv: isArmArch(m.arch) || isRiscvArch(m.arch),
    virt: isArmVirt(m) || isRiscvVirt(m),
  };
}

/** Whether the machine can have PCI devices at all (qemuDomainSupportsPCI; QEMU 7.2 has gpex). */
export function machineSupportsPci(m: MachineInfo): boolean {
  return !m.armOrRiscv || m.machine === 'versatilepb' || m.virt;
}

/** Flags for "PCI Express if the machine has it" and for virtio devices. */
export interface ConnectPolicy {
  pci: number;
  pcie: number;
  virtio: number;
}

export function connectPolicy(hasPcieRoot: boolean): ConnectPolicy {
  const pci = Connect.PCI_DEVICE | Connect.AUTOASSIGN;
  const pcie = hasPcieRoot ? Connect.PCIE_DEVICE | Connect.AUTOASSIGN : pci;
  // QEMU 7.2 has the virtio transitional/non-transitional devices, so virtio follows PCIe.
  return { pci, pcie, virtio: pcie };
}

/** The <model type='...'/> of an element (interfaces, videos). */
function modelType(el: XmlElement): string | undefined {
  return child(el, 'model')?.attrs.type;
}

/** Transitional virtio devices only work in conventional PCI slots. */
function virtioVariant(model: string | undefined, p: ConnectPolicy): number {
  return model === 'virtio-transitional' ? p.pci : p.virtio;
}

/** The default NIC model QEMU's driver fills in (qemuDomainDefaultNetModel). */
export function defaultNetModel(m: MachineInfo): string {
  return m.arch === 'x86_64' || m.arch === 'i686' ? 'rtl8139' : 'virtio';
}

/**
 * Connect flags of one device element of <devices>, 0 when it never uses PCI.
 * `<interface type='hostdev'>` is addressed as the hostdev it is.
 */
export function deviceConnectFlags(dev: XmlElement, p: ConnectPolicy, m: MachineInfo): number {
  switch (dev.name) {
    case 'controller': return controllerFlags(dev, p);
    case 'filesystem': {
      const driver = child(dev, 'driver')?.attrs.type;
      if (driver === 'loop' || driver === 'nbd' || driver === 'ploop') return 0;
      if (driver === 'virtiofs') return p.virtio;
      return virtioVariant(dev.attrs.model, p);
    }
    case 'interface': {
      if (dev.attrs.type === 'hostdev') return hostdevFlags(dev, p);
      const model = modelType(dev) ?? defaultNetModel(m);
      if (model === 'usb-net') return 0;
      if (model === 'virtio' || model === 'virtio-non-transitional') return p.virtio;
      if (model === 'virtio-transitional') return p.pci;
      if (model === 'e1000e') return p.pcie;
      return p.pci;
    }
    case 'sound':
      return ['es1370', 'ac97', 'ich6', 'ich9'].includes(dev.attrs.model ?? '') ? p.pci : 0;
    case 'disk':
      return child(dev, 'target')?.attrs.bus === 'virtio' ? virtioVariant(dev.attrs.model, p) : 0;
    case 'hostdev': return hostdevFlags(dev, p);
    case 'memballoon': {
      const model = dev.attrs.model;
      if (model === 'virtio' || model === 'virtio-non-transitional') return p.virtio;
      return model === 'virtio-transitional' ? p.pci : 0;
    }
    case 'rng': return virtioVariant(dev.attrs.model, p);
    case 'watchdog': return dev.attrs.model === 'i6300esb' ? p.pci : 0;
    case 'video': {
      const type = modelType(dev);
      if (type === 'virtio') return p.virtio;
      if (type === 'bochs') return p.pcie;
      return ['vga', 'cirrus', 'vmvga', 'xen', 'vbox', 'qxl', 'parallels'].includes(type ?? '') ? p.pci : 0;
    }
    case 'shmem': return p.pci;
    case 'input': return dev.attrs.bus === 'virtio' ? virtioVariant(dev.attrs.model, p) : 0;
    case 'serial': return child(dev, 'target')?.attrs.type === 'pci-serial' ? p.pci : 0;
    case 'iommu': return dev.attrs.model === 'virtio' ? p.virtio | Connect.INTEGRATED : 0;
    case 'vsock': return virtioVariant(dev.attrs.model, p);
    case 'memory':
      return dev.attrs.model === 'virtio-pmem' || dev.attrs.model === 'virtio-mem' ? p.virtio : 0;
    default: return 0;
  }
}

function controllerFlags(dev: XmlElement, p: ConnectPolicy): number {
  const model = dev.attrs.model;
  switch (dev.attrs.type) {
    case 'pci': return isPciControllerModel(model) ? controllerConnectFlags(model) : 0;
    case 'sata':
    case 'ide': return p.pci;
    case 'usb':
      if (model === 'none' || model === 'qusb1' || model === 'qusb2') return 0;
      return model === 'nec-xhci' || model === 'qemu-xhci' ? p.pcie : p.pci;
    case 'scsi':
      if (model === undefined || model === 'ncr53c90') return 0;
      return model === 'virtio-scsi' || model === 'virtio-non-transitional' ? p.virtio : p.pci;
    case 'virtio-serial': return virtioVariant(model, p);
    default: return 0;
  }
}

/** The subsystem type of a <hostdev>, or of the host device behind an <interface type='hostdev'>. */
export function hostdevSubsystemType(dev: XmlElement): string | undefined {
  if (dev.name !== 'interface') return dev.attrs.type;
  return child(child(dev, 'source') ?? dev, 'address')?.attrs.type ?? 'pci';
}

function hostdevFlags(dev: XmlElement, p: ConnectPolicy): number {
  const type = hostdevSubsystemType(dev);
  const mode = dev.attrs.mode ?? 'subsystem';
  if (type !== 'mdev' && (mode !== 'subsystem' || (type !== 'pci' && type !== 'scsi_host'))) return 0;
  if (p.pci === p.pcie) return p.pci;
  if (type === 'scsi_host') return virtioVariant(dev.attrs.model, p);
  // A guest address, an mdev, or a host device that does not exist on this
  // host: libvirt assumes PCI Express (no host PCI devices are probed here).
  return p.pcie;
}

/** The QEMU device a PCI controller model is implemented by (<model name=...>). */
export function defaultPciModelName(model: PciControllerModel): string | undefined {
  switch (model) {
    case 'pci-bridge': return 'pci-bridge';
    case 'dmi-to-pci-bridge': return 'i82801b11-bridge';
    case 'pcie-to-pci-bridge': return 'pcie-pci-bridge';
    case 'pcie-root-port': return 'pcie-root-port';
    case 'pcie-switch-upstream-port': return 'x3130-upstream';
    case 'pcie-switch-downstream-port': return 'xio3130-downstream';
    case 'pci-expander-bus': return 'pxb';
    case 'pcie-expander-bus': return 'pxb-pcie';
    case 'pci-root':
    case 'pcie-root': return undefined;
  }
}
