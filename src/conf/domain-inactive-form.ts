// What virDomainDefFormat leaves out of a running domain's definition under
// VIR_DOMAIN_DEF_FORMAT_INACTIVE: the state QEMU's start filled in. A transient
// domain has no separate next-start definition, so `dumpxml --inactive` is its
// live one less these parts (aliases stay, as libvirt prints them too).
import { child, type XmlElement } from '../util/xml.js';
import { GENERATED_IFNAME_PREFIXES } from './devices/interface.js';

const CHARDEV_DEVICES: ReadonlySet<string> = new Set(['serial', 'console', 'parallel', 'channel']);

/** Removes the live-only parts from `dom` in place. */
/**
 * Marks a <backingStore> the hypervisor driver found by probing the image
 * above it (libvirt's virStorageSource.detected). It lives in the live XML of
 * the status file only: the formatter never prints it, and leaves detected
 * images out of an inactive definition (virDomainDiskBackingStoreFormat).
 */
export const DETECTED_BACKING = 'detected';

/** Every disk's backing chain without the marker, and (inactive) without the images it marks. */
export function formatBackingChains(dom: XmlElement, inactive: boolean): void {
  for (const disk of child(dom, 'devices')?.children ?? []) {
    if (disk.name !== 'disk') continue;
    for (let holder: XmlElement | undefined = disk; holder; ) {
      const below = child(holder, 'backingStore');
      if (below && inactive && below.attrs[DETECTED_BACKING] !== undefined) {
        holder.children = holder.children.filter((c) => c !== below);
        break;
      }
      if (below) delete below.attrs[DETECTED_BACKING];
      holder = below;
    }
  }
}

export function dropLiveState(dom: XmlElement): void {
  for (const device of child(dom, 'devices')?.children ?? []) {
    if (CHARDEV_DEVICES.has(device.name)) dropPtyPath(device);
    else if (device.name === 'interface') dropNetworkPort(device);
    else if (device.name === 'disk') device.children = device.children.filter((c) => c.name !== 'mirror');
    else if (device.name === 'graphics') dropGraphicsPorts(device);
  }
}

/** A pty's path is the one QEMU opened; the console's tty= copy of it goes too. */
function dropPtyPath(dev: XmlElement): void {
  if (dev.attrs.type !== 'pty') return;
  delete dev.attrs.tty;
  const source = child(dev, 'source');
  if (!source) return;
  delete source.attrs.path;
  if (Object.keys(source.attrs).length === 0 && source.children.length === 0) dev.children = dev.children.filter((c) => c !== source);
}

/** The port of the network (portid, the bridge it plugged into) and the tap name libvirt generated. */
function dropNetworkPort(net: XmlElement): void {
  const source = child(net, 'source');
  if (net.attrs.type === 'network' && source) {
    delete source.attrs.portid;
    delete source.attrs.bridge;
  }
  const target = child(net, 'target');
  const dev = target?.attrs.dev;
  if (target && dev !== undefined && target.attrs.managed !== 'no' && GENERATED_IFNAME_PREFIXES.some((p) => dev.startsWith(p))) {
    delete target.attrs.dev;
    if (Object.keys(target.attrs).length === 0 && target.children.length === 0) net.children = net.children.filter((c) => c !== target);
  }
}

/** A VNC autoport's port was chosen at start; a network listen's address was resolved then. */
function dropGraphicsPorts(g: XmlElement): void {
  if (g.attrs.type === 'vnc' && g.attrs.autoport === 'yes' && g.attrs.port !== undefined) g.attrs.port = '-1';
  const listens = g.children.filter((c) => c.name === 'listen');
  if (listens[0]?.attrs.type === 'network') delete g.attrs.listen;
  for (const listen of listens) if (listen.attrs.type === 'network') delete listen.attrs.address;
}
