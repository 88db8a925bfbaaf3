// <smartcard>: schema (virDomainSmartcardDefFormat); smartcards without an
// address get the next CCID slot on controller 0 (virDomainDefMaybeAddSmartcardController).

import type { XmlElement } from '../../util/xml.js';
import { deviceAddressOf, setDeviceAddress } from '../device-address.js';
import type { ElementSchema } from '../schema.js';
import { maybeAddController } from './controller.js';
import { chardevChildren, devicesNamed, dropGeneratedAlias, infoChildren, normalizeChardevSource, type DeviceContext } from './common.js';

export const smartcardSchema: ElementSchema = {
  attrs: ['mode', 'type'],
  children: { certificate: { text: true }, database: { text: true }, ...chardevChildren, ...infoChildren() },
};

export function postParseSmartcard(card: XmlElement): void {
  dropGeneratedAlias(card);
  if (card.attrs['mode'] === 'passthrough') normalizeChardevSource(card, card.attrs['type'] ?? 'pty');
}

/** Gives address-less smartcards a CCID slot and makes sure their CCID controllers exist. */
export function addSmartcardControllers(ctx: DeviceContext): void {
  for (const card of devicesNamed(ctx, 'smartcard')) {
    let addr = deviceAddressOf(card);
    if (addr === undefined) {
      let max = -1;
      for (const other of devicesNamed(ctx, 'smartcard')) {
        const a = deviceAddressOf(other);
        if (a?.type === 'ccid' && a.controller === 0 && a.slot > max) max = a.slot;
      }
      setDeviceAddress(card, { type: 'ccid', controller: 0, slot: max + 1 });
      addr = deviceAddressOf(card);
    }
    maybeAddController(ctx.devices, 'ccid', addr?.type === 'ccid' ? addr.controller : 0);
  }
}
