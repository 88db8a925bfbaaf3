// CCID slot addresses of smartcards, assigned at post-parse while implicit
// CCID controllers are added (virDomainDefMaybeAddSmartcardController).

import { type XmlElement } from '../util/xml.js';
import { deviceAddressOf, setDeviceAddress } from './device-address.js';

/**
 * Gives a smartcard without an address the slot after the highest one used on
 * CCID controller 0, and returns the index of the CCID controller the
 * smartcard needs (the caller adds it when missing).
 */
export function assignSmartcardCcidAddress(smartcard: XmlElement, devices: XmlElement): number {
  const own = deviceAddressOf(smartcard);
  if (own?.type === 'ccid') return own.controller;
  if (own !== undefined) return 0;
  let max = -1;
  for (const other of devices.children) {
    if (other.name !== 'smartcard') continue;
    const a = deviceAddressOf(other);
    if (a?.type === 'ccid' && a.controller === 0) max = Math.max(max, a.slot);
  }
  setDeviceAddress(smartcard, { type: 'ccid', controller: 0, slot: max + 1 });
  return 0;
}
