// What libvirt checks before it builds a command line, for a start and for
// domxml-to-native alike (qemuProcessStartValidate, then the refusals of the
// prepare steps: host resources, the guest CPU against the host's), in
// libvirt's order, so that both report the same first problem.
import { child, childrenNamed } from '../../util/xml.js';
import type { XmlElement } from '../../util/xml.js';
import { ErrorCode, ErrorDomain, virError } from '../../util/error.js';
import type { QemuCaps } from './capabilities.js';
import { checkCpuAgainstHost, checkTscAgainstHost } from './guest-cpu-check.js';
import { checkHostResources, type HostResources } from './host-resources.js';

export function validateLaunch(def: XmlElement, caps: QemuCaps, host: HostResources): void {
  checkGraphicsListens(def);
  checkDiskProtocols(def);
  checkTscAgainstHost(def, caps);
  checkHostResources(def, host);
  checkCpuAgainstHost(def, caps);
}

/** qemuProcessStartValidateGraphics: QEMU's VNC and SPICE servers listen on one address each. */
function checkGraphicsListens(def: XmlElement): void {
  const devices = child(def, 'devices');
  for (const graphics of devices ? childrenNamed(devices, 'graphics') : []) {
    if ((graphics.attrs.type === 'vnc' || graphics.attrs.type === 'spice') && childrenNamed(graphics, 'listen').length > 1) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'QEMU does not support multiple listens for one graphics device.', ErrorDomain.QEMU);
    }
  }
}

/**
 * qemuProcessStartValidateDisks: VxHS disks need a QEMU built with VxHS. QEMU
 * dropped it in 6.0 and tsvirt has no VxHS block driver to drive one anyway.
 */
function checkDiskProtocols(def: XmlElement): void {
  const devices = child(def, 'devices');
  for (const disk of devices ? childrenNamed(devices, 'disk') : []) {
    if (disk.attrs.type === 'network' && child(disk, 'source')?.attrs.protocol === 'vxhs') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'VxHS protocol is not supported with this QEMU binary', ErrorDomain.QEMU);
    }
  }
}
