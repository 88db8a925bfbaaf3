// The QEMU driver's implicit devices of each machine type
// (qemuDomainDefAddDefaultDevices), for QEMU 7.2's device set. Per-device
// defaults are in device-post-parse.ts.

import { ErrorCode, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import { addDefaultAudio } from '../../conf/devices/audio.js';
import { deviceContext, type DeviceContext } from '../../conf/devices/common.js';
import { isArmVirt, isI440fx, isQ35, isRiscvVirt } from '../../conf/machine-family.js';
import { addUsbController, appendController, findController } from '../../conf/devices/controller.js';
import { addImplicitInputs } from '../../conf/devices/input.js';
import { addDefaultMemballoon } from '../../conf/devices/memballoon.js';

/** Which implicit controllers and devices a machine type has (qemuDomainDefAddDefaultDevices). */
interface MachineDefaults {
  usb: boolean;
  /** Model of the default USB controller; undefined lets the USB post-parse pick one. */
  usbModel?: string;
  sata: boolean;
  root?: 'pci-root' | 'pcie-root';
  memballoon: boolean;
}

function machineDefaults(ctx: DeviceContext): MachineDefaults {
  const d: MachineDefaults = { usb: true, sata: false, memballoon: true };
  switch (ctx.arch) {
    case 'i686':
    case 'x86_64':
      if (ctx.machine === 'isapc') {
        d.usb = false;
      } else if (isQ35(ctx)) {
        d.root = 'pcie-root';
        d.sata = true;
        d.usbModel = 'qemu-xhci';
      } else if (isI440fx(ctx)) {
        d.root = 'pci-root';
      }
      break;
    case 'armv6l':
      d.usb = false;
      d.memballoon = false;
      if (ctx.machine === 'versatilepb') d.root = 'pci-root';
      break;
    case 'armv7l':
    case 'aarch64':
      d.usb = false;
      d.memballoon = false;
      if (isArmVirt(ctx)) d.root = 'pcie-root';
      break;
    case 'ppc64':
    case 'ppc64le':
    case 'alpha':
    case 'ppc':
    case 'sh4':
    case 'sh4eb':
    case 'sparc64':
      d.root = 'pci-root';
      break;
    case 'riscv32':
    case 'riscv64':
      d.usb = false;
      if (isRiscvVirt(ctx)) d.root = 'pcie-root';
      break;
    case 's390':
    case 's390x':
      d.usb = false;
      d.root = 'pci-root';
      break;
    case 'sparc':
      d.usb = false;
      d.memballoon = false;
      break;
    case 'mips':
    case 'mipsel':
    case 'mips64':
    case 'mips64el':
      if (ctx.machine.startsWith('malta')) d.root = 'pci-root';
      break;
  }
  return d;
}

/** qemuDomainDefAddDefaultDevices: runs before the per-device post-parse. */
export function addQemuDefaultDevices(domain: XmlElement): void {
  const ctx = deviceContext(domain);
  addImplicitInputs(ctx);
  const d = machineDefaults(ctx);
  if (d.usb && !findController(ctx.devices, 'usb', 0)) {
    // libvirt 9.0 adds the default controller beside a model='none' one at another
    // index, writes a config its own parser then refuses, and the domain vanishes
    // at the next start of libvirtd; tsvirt refuses it up front with that message.
    if (ctx.devices.children.some((c) => c.name === 'controller' && c.attrs['type'] === 'usb' && c.attrs['model'] === 'none')) {
      throw virError(ErrorCode.XML_DETAIL, "Can't add another USB controller: USB is disabled for this domain");
    }
    addUsbController(ctx.devices, 0, d.usbModel);
  }
  if (d.sata && !findController(ctx.devices, 'sata', 0)) appendController(ctx.devices, 'sata', 0);
  if (d.root) {
    const existing = findController(ctx.devices, 'pci', 0);
    if (!existing) appendController(ctx.devices, 'pci', 0, d.root);
    else if (existing.attrs['model'] !== d.root) {
      throw virError(
        ErrorCode.XML_ERROR,
        `The PCI controller with index='0' must be model='${d.root}' for this machine type, but model='${existing.attrs['model'] ?? ''}' was found instead`,
      );
    }
  }
  if (d.memballoon) addDefaultMemballoon(ctx);
  addDefaultAudio(ctx);
}
