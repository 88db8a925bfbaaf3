// Finding a domain's disk or interface by the names the API takes for them
// (virDomainDiskByName, virDomainNetFind), shared by the drivers' statistics calls.
import { ErrorCode, virError } from '../util/error.js';
import { parseMAC } from '../util/mac.js';
import { child, childrenNamed, type XmlElement } from '../util/xml.js';

function devicesNamed(dom: XmlElement, kind: string): XmlElement[] {
  const devices = child(dom, 'devices');
  return devices ? childrenNamed(devices, kind) : [];
}

/** A disk's source: file, device, directory or network name (virDomainDiskGetSource). */
export function diskSource(disk: XmlElement): string | undefined {
  const source = child(disk, 'source');
  return source && (source.attrs.file ?? source.attrs.dev ?? source.attrs.dir ?? source.attrs.name ?? source.attrs.volume);
}

/**
 * virDomainDiskByName: by target name, or, for a name starting with '/', by
 * source path when exactly one disk has it.
 */
export function findDiskByName(dom: XmlElement, name: string): XmlElement | undefined {
  const disks = devicesNamed(dom, 'disk');
  if (!name.startsWith('/')) return disks.find((d) => child(d, 'target')?.attrs.dev === name);
  const bySource = disks.filter((d) => diskSource(d) === name);
  return bySource.length === 1 ? bySource[0] : undefined;
}

/** virDomainNetFind: an interface by MAC address or host interface name; libvirt's error when none matches. */
export function findInterface(dom: XmlElement, device: string): XmlElement {
  const mac = parseMAC(device);
  const net = devicesNamed(dom, 'interface').find((n) => (mac ? parseMAC(child(n, 'mac')?.attrs.address ?? '') === mac : child(n, 'target')?.attrs.dev === device));
  if (!net) throw virError(ErrorCode.INVALID_ARG, `'${device}' is not a known interface`);
  return net;
}
