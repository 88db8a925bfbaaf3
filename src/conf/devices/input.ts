// <input>: schema (virDomainInputDefFormat), bus defaults and the implicit
// PS/2 mouse and keyboard of x86 guests.

import { ErrorCode, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { propEnum } from '../xml-props.js';
import { appendDevice, devicesNamed, dropGeneratedAlias, infoChildren, usbDisabled, type DeviceContext } from './common.js';
import { isX86 } from '../machine-family.js';

const INPUT_TYPES = ['mouse', 'tablet', 'keyboard', 'passthrough', 'evdev'] as const;
const INPUT_BUSES = ['default', 'ps2', 'usb', 'xen', 'parallels', 'virtio', 'none'] as const;

export const inputSchema: ElementSchema = {
  attrs: ['type', 'bus', 'model'],
  children: {
    driver: { attrs: ['iommu', 'ats', 'packed', 'page_per_vq'] },
    source: { attrs: ['dev', 'evdev', 'grab', 'grabToggle', 'repeat'] },
    ...infoChildren(),
  },
};

export function parseInput(input: XmlElement, ctx: DeviceContext): void {
  const type = propEnum(input, 'type', INPUT_TYPES, { required: true })!;
  propEnum(input, 'bus', INPUT_BUSES);
  if (input.attrs['bus'] === undefined) {
    // virDomainInputDefParseXML: the default bus depends on the guest and device type.
    if (ctx.osType === 'hvm') {
      if (type === 'mouse' || type === 'keyboard') input.attrs['bus'] = isX86(ctx) ? 'ps2' : 'usb';
      else if (type === 'tablet') input.attrs['bus'] = 'usb';
      else if (type === 'passthrough') input.attrs['bus'] = 'virtio';
    } else if (ctx.osType === 'xen' || ctx.osType === 'linux') {
      input.attrs['bus'] = 'xen';
    }
  }
  if (input.attrs['bus'] === 'ps2' && type !== 'mouse' && type !== 'keyboard') {
    throw virError(ErrorCode.INTERNAL_ERROR, `ps2 bus does not support ${type} input device`);
  }
  if (input.attrs['bus'] === 'usb' && usbDisabled(ctx)) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, "Can't add USB input device. USB bus is disabled");
  }
}

export function postParseInput(input: XmlElement): void {
  dropGeneratedAlias(input);
}

/** virDomainDefMaybeAddInput: adds an input of that type and bus unless one exists. */
export function maybeAddInput(ctx: DeviceContext, type: string, bus: string): void {
  if (devicesNamed(ctx, 'input').some((i) => i.attrs['type'] === type && i.attrs['bus'] === bus)) return;
  appendDevice(ctx, element('input', { type, bus }));
}

/** qemuDomainDefAddImplicitInputDevice: x86 machines always have a PS/2 mouse and keyboard. */
export function addImplicitInputs(ctx: DeviceContext): void {
  if (!isX86(ctx)) return;
  maybeAddInput(ctx, 'mouse', 'ps2');
  maybeAddInput(ctx, 'keyboard', 'ps2');
}
