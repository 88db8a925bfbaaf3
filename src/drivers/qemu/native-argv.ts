// domxml-to-native: the command line libvirt would run for a domain, printed
// instead of executed (qemuConnectDomainXMLToNative).
import type { XmlElement } from '../../util/xml.js';
import { child, cloneElement, element } from '../../util/xml.js';
import { assignQemuAddresses } from './address-assign.js';
import { buildQemuCommandLine, formatArgvLikeVirsh } from './command-line.js';
import type { CommandLineOptions, QemuCommandLine } from './command-line.js';
import { checkHostResources } from './host-resources.js';
import type { HostResources } from './host-resources.js';

export interface NativeOptions extends CommandLineOptions {
  /** The host the command line would run on: missing hugetlbfs, devices, secrets ... make libvirt refuse. */
  host: HostResources;
}

/**
 * libvirt cannot set up bridges, networks or macvtaps for a command line it
 * only prints, so it replaces every <interface> by a bare "ethernet" one that
 * keeps only MAC, model, script and boot order, and lets address assignment
 * place those NICs again (no hotplug reservation: the domain is not new).
 */
export function prepareDomainForNative(def: XmlElement): XmlElement {
  const copy = cloneElement(def);
  const devices = child(copy, 'devices');
  if (!devices) return copy;
  devices.children = devices.children.map((dev) => {
    if (dev.name !== 'interface') return dev;
    const kept = ['mac', 'script', 'model', 'boot'].map((name) => child(dev, name)).filter((c): c is XmlElement => c !== undefined);
    return element('interface', { type: 'ethernet' }, kept);
  });
  assignQemuAddresses(copy, { sparePciePorts: 0 });
  return copy;
}

/** The argv of a canonical domain as domxml-to-native computes it. */
export function nativeCommandLine(def: XmlElement, options: NativeOptions): QemuCommandLine {
  checkHostResources(def, options.host);
  return buildQemuCommandLine(prepareDomainForNative(def), options);
}

/** What `virsh domxml-to-native qemu-argv` prints (without the trailing newline). */
export function nativeArgvText(def: XmlElement, options: NativeOptions): string {
  return formatArgvLikeVirsh(nativeCommandLine(def, options));
}
