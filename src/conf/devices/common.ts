// Pieces shared by every device module: the domain facts a device's defaults
// depend on, the device-info children (boot/alias/rom/acpi/address) that most
// devices carry at the end, and small tree-editing helpers.

import { element, type XmlElement } from '../../util/xml.js';
import { addressSchema } from '../device-address.js';
import type { GuestMachine } from '../machine-family.js';
import type { ElementSchema, SchemaRef } from '../schema.js';

/** What device defaults depend on, read from the <domain> tree; its machine family is asked of machine-family.ts. */
export interface DeviceContext extends GuestMachine {
  readonly domain: XmlElement;
  readonly devices: XmlElement;
  readonly osType: string;
  readonly virtType: string;
}

export function deviceContext(domain: XmlElement): DeviceContext {
  const os = domain.children.find((c) => c.name === 'os');
  const type = os?.children.find((c) => c.name === 'type');
  let devices = domain.children.find((c) => c.name === 'devices');
  if (!devices) {
    devices = element('devices');
    domain.children.push(devices);
  }
  return {
    domain,
    devices,
    arch: type?.attrs['arch'] ?? '',
    machine: type?.attrs['machine'] ?? '',
    osType: type?.text.trim() ?? '',
    virtType: domain.attrs['type'] ?? '',
  };
}

export interface InfoOptions {
  readonly boot?: boolean;
  readonly master?: boolean;
  readonly rom?: boolean;
}

/** virDomainDeviceInfoFormat's children, in its order; spread at the end of a device's children. */
export function infoChildren(opts: InfoOptions = {}): Record<string, SchemaRef> {
  const out: Record<string, SchemaRef> = {};
  if (opts.boot) out['boot'] = { attrs: ['order', 'loadparm'] };
  out['alias'] = { attrs: ['name'] };
  if (opts.master) out['master'] = { attrs: ['startport'] };
  if (opts.rom) out['rom'] = { attrs: ['enabled', 'bar', 'file'] };
  out['acpi'] = { attrs: ['index'] };
  out['address'] = addressSchema;
  return out;
}

/** libvirt keeps only user aliases ("ua-" prefix) in inactive definitions. */
export function dropGeneratedAlias(dev: XmlElement): void {
  dev.children = dev.children.filter((c) => c.name !== 'alias' || (c.attrs['name'] ?? '').startsWith('ua-'));
}

/** `<seclabel>` inside a source: model/relabel attributes, label/baselabel text. */
export const sourceSeclabelSchema: ElementSchema = {
  attrs: ['model', 'relabel', 'labelskip'],
  children: { label: { text: true } },
};

/** Character device backend shape shared by serial/parallel/console/channel, smartcard, redirdev, rng. */
export const chardevChildren: Record<string, SchemaRef> = {
  source: {
    attrs: ['mode', 'host', 'service', 'path', 'append', 'channel', 'master', 'slave', 'tls'],
    children: {
      seclabel: sourceSeclabelSchema,
      reconnect: { attrs: ['enabled', 'timeout'] },
      clipboard: { attrs: ['copypaste'] },
      mouse: { attrs: ['mode'] },
    },
  },
  protocol: { attrs: ['type'] },
  log: { attrs: ['file', 'append'] },
};

/**
 * Normalises a chardev backend the way libvirt re-formats it for an inactive
 * definition (virDomainChrSourceDefFormat): pty paths are runtime data,
 * tcp always gets an explicit protocol, udp keeps a bind and a connect source.
 */
export function normalizeChardevSource(dev: XmlElement, type: string): void {
  const sources = dev.children.filter((c) => c.name === 'source');
  switch (type) {
    case 'pty':
      dev.children = dev.children.filter((c) => c.name !== 'source');
      break;
    case 'null':
    case 'vc':
    case 'stdio':
    case 'spicevmc':
      dev.children = dev.children.filter((c) => c.name !== 'source' && c.name !== 'protocol');
      break;
    case 'tcp': {
      const src = sources[0];
      if (src) {
        const mode = src.attrs['mode'] === 'bind' ? 'bind' : 'connect';
        const { mode: _m, ...rest } = src.attrs;
        src.attrs = { mode, ...rest };
      }
      dev.children = dev.children.filter((c) => c.name !== 'source' || c === src);
      const protocol = dev.children.find((c) => c.name === 'protocol');
      if (!protocol) dev.children.push(element('protocol', { type: 'raw' }));
      else if (!protocol.attrs['type']) protocol.attrs['type'] = 'raw';
      break;
    }
    case 'unix': {
      // Without a path (one is generated at start) nothing is printed.
      const src = sources.find((s) => s.attrs['path'] !== undefined);
      if (src) src.attrs['mode'] = src.attrs['mode'] === 'bind' ? 'bind' : 'connect';
      dev.children = dev.children.filter((c) => (c.name !== 'source' || c === src) && c.name !== 'protocol');
      break;
    }
    default:
      dev.children = dev.children.filter((c) => c.name !== 'protocol');
  }
}

export function setDefault(el: XmlElement, name: string, value: string): void {
  if (el.attrs[name] === undefined) el.attrs[name] = value;
}

/** The first child named `name`, created (appended) when missing. */
export function ensureChild(el: XmlElement, name: string, attrs: Record<string, string> = {}): XmlElement {
  let c = el.children.find((x) => x.name === name);
  if (!c) {
    c = element(name, attrs);
    el.children.push(c);
  }
  return c;
}

export function firstChild(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** A USB controller of model none disables USB for the whole domain. */
export function usbDisabled(ctx: DeviceContext): boolean {
  return devicesNamed(ctx, 'controller').some((c) => c.attrs['type'] === 'usb' && c.attrs['model'] === 'none');
}

export function devicesNamed(ctx: DeviceContext, name: string): XmlElement[] {
  return ctx.devices.children.filter((c) => c.name === name);
}

/** Inserts `dev` after the last device of the same element name (devices are grouped by kind). */
export function appendDevice(ctx: DeviceContext, dev: XmlElement): void {
  const list = ctx.devices.children;
  let at = -1;
  list.forEach((c, i) => {
    if (c.name === dev.name) at = i;
  });
  if (at < 0) list.push(dev);
  else list.splice(at + 1, 0, dev);
}
