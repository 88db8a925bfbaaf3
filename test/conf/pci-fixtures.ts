// Small builders for address-assignment tests: domains as the define
// pipeline hands them to the engine (defaults and implicit devices present).

import { child, parseXml, type XmlElement } from '../../src/util/xml.js';

export function domainXml(machine: string, devices: string, extra = '', arch = 'x86_64'): XmlElement {
  return parseXml(`<domain type='qemu'><name>t</name>${extra}<os><type arch='${arch}' machine='${machine}'>hvm</type></os>
    <devices>${devices}</devices></domain>`);
}

export const Q35_BASE = `<controller type='usb' index='0' model='none'/><controller type='sata' index='0'/>
  <controller type='pci' index='0' model='pcie-root'/>`;
export const PC_BASE = `<controller type='usb' index='0' model='piix3-uhci'/><controller type='pci' index='0' model='pci-root'/>`;
export const NO_BALLOON = `<memballoon model='none'/>`;

export function nic(model: string, mac: number, address = ''): string {
  const m = mac.toString(16).padStart(2, '0');
  return `<interface type='user'><mac address='52:54:00:00:00:${m}'/><model type='${model}'/>${address}</interface>`;
}

export function nics(model: string, count: number): string {
  return Array.from({ length: count }, (_, i) => nic(model, i)).join('');
}

export function devicesOf(dom: XmlElement): XmlElement[] {
  return child(dom, 'devices')!.children;
}

/** "BB:SS.F" of a device's PCI address (with "+mf" when multifunction='on'), or '-'. */
export function pci(el: XmlElement | undefined): string {
  const a = el === undefined ? undefined : child(el, 'address');
  if (a?.attrs.type !== 'pci') return '-';
  const n = (k: string) => Number.parseInt(a.attrs[k]!, 16);
  const s = `${n('bus').toString(16).padStart(2, '0')}:${n('slot').toString(16).padStart(2, '0')}.${n('function')}`;
  return a.attrs.multifunction === 'on' ? `${s}+mf` : s;
}

export function pciController(dom: XmlElement, index: number): XmlElement | undefined {
  return devicesOf(dom).find((d) => d.name === 'controller' && d.attrs.type === 'pci' && d.attrs.index === `${index}`);
}

export function pciControllers(dom: XmlElement): XmlElement[] {
  return devicesOf(dom).filter((d) => d.name === 'controller' && d.attrs.type === 'pci');
}

export function interfaces(dom: XmlElement): XmlElement[] {
  return devicesOf(dom).filter((d) => d.name === 'interface');
}
