// <address> parsing and formatting: libvirt's number syntax, range checks and
// canonical output for every address type.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatXml, parseXml } from '../../src/util/xml.js';
import { formatDeviceAddress, parseDeviceAddress, pciAddressString } from '../../src/conf/device-address.js';

const roundTrip = (xml: string) => formatXml(formatDeviceAddress(parseDeviceAddress(parseXml(xml)))).trim();

test('PCI addresses: hex, octal and decimal input, canonical output', () => {
  assert.equal(roundTrip("<address type='pci' domain='0' bus='1' slot='010' function='7' multifunction='on'/>"),
    "<address type='pci' domain='0x0000' bus='0x01' slot='0x08' function='0x7' multifunction='on'/>");
  assert.equal(roundTrip("<address type='pci' bus='0x1f' slot='0x1F'/>"),
    "<address type='pci' domain='0x0000' bus='0x1f' slot='0x1f' function='0x0'/>");
  assert.equal(roundTrip("<address type='pci'/>"), "<address type='pci'/>");
  assert.equal(pciAddressString({ domain: 0, bus: 0x1a, slot: 0x1f, function: 2 }), '0000:1a:1f.2');
});

test('PCI address range errors use libvirt messages', () => {
  const err = (xml: string) => () => parseDeviceAddress(parseXml(xml));
  assert.throws(err("<address type='pci' bus='0' slot='32'/>"), { message: "XML error: Invalid PCI address slot='0x20', must be <= 0x1F" });
  assert.throws(err("<address type='pci' bus='0' slot='1' function='8'/>"), { message: 'XML error: Invalid PCI address function=0x8, must be <= 7' });
  assert.throws(err("<address type='pci' bus='256' slot='1'/>"), { message: "XML error: Invalid PCI address bus='0x100', must be <= 0xFF" });
  assert.throws(err("<address type='pci' bus='x' slot='1'/>"), {
    message: "XML error: Invalid value for attribute 'bus' in element 'address': 'x'. Expected non-negative integer value",
  });
  assert.throws(err("<address type='pci' slot='1' multifunction='default'/>"), {
    message: "XML error: Invalid value for attribute 'multifunction' in element 'address': 'default'.",
  });
  assert.throws(err("<address type='bogus'/>"), { message: "unsupported configuration: unknown address type 'bogus'" });
  assert.throws(err('<address/>'), { message: 'internal error: No type specified for device address' });
});

test('other address types format as libvirt does', () => {
  assert.equal(roundTrip("<address type='drive' unit='1'/>"), "<address type='drive' controller='0' bus='0' target='0' unit='1'/>");
  assert.equal(roundTrip("<address type='virtio-serial' port='2'/>"), "<address type='virtio-serial' controller='0' bus='0' port='2'/>");
  assert.equal(roundTrip("<address type='usb' bus='0' port='1.2'/>"), "<address type='usb' bus='0' port='1.2'/>");
  assert.equal(roundTrip("<address type='usb' bus='1'/>"), "<address type='usb' bus='1'/>");
  assert.equal(roundTrip("<address type='ccid' slot='3'/>"), "<address type='ccid' controller='0' slot='3'/>");
  assert.equal(roundTrip("<address type='isa' iobase='0x505' irq='5'/>"), "<address type='isa' iobase='0x505' irq='0x5'/>");
  assert.equal(roundTrip("<address type='spapr-vio' reg='0x2000'/>"), "<address type='spapr-vio' reg='0x00002000'/>");
  assert.equal(roundTrip("<address type='dimm' slot='1' base='0x100000000'/>"), "<address type='dimm' slot='1' base='0x100000000'/>");
  assert.equal(roundTrip("<address type='ccw' cssid='0xfe' ssid='0' devno='0x0001'/>"), "<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>");
  assert.throws(() => parseDeviceAddress(parseXml("<address type='usb' bus='0' port='1.x'/>")), {
    message: "internal error: Cannot parse <address> 'port' attribute",
  });
  assert.throws(() => parseDeviceAddress(parseXml("<address type='dimm'/>")), {
    message: "XML error: Missing required attribute 'slot' in element 'address'",
  });
});
