// IP address parsing and printing with libvirt's (getaddrinfo's) rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIPAddress, offsetIPAddress, parseIPAddress } from '../../src/util/ip-address.js';

const canonical = (text: string) => {
  const addr = parseIPAddress(text);
  return addr && formatIPAddress(addr);
};

test('IPv4 accepts inet_aton forms and prints dotted quads', () => {
  assert.equal(canonical('192.168.122.1'), '192.168.122.1');
  assert.equal(canonical('1.2.3'), '1.2.0.3');
  assert.equal(canonical('10.1'), '10.0.0.1');
  assert.equal(canonical('0x7f.1'), '127.0.0.1');
  assert.equal(canonical('010.0.0.1'), '8.0.0.1');
  assert.equal(canonical('256.1.1.1'), undefined);
  assert.equal(canonical('10.0.0.x'), undefined);
  assert.equal(canonical('1..2'), undefined);
});

test('IPv6 prints in compressed canonical form', () => {
  assert.equal(canonical('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonical('::ffff:1.2.3.4'), '::ffff:1.2.3.4');
  assert.equal(canonical('::1'), '::1');
  assert.equal(canonical('::'), '::');
  assert.equal(canonical('2001:db8::1::2'), undefined);
});

test('offsets: IPv4 carries across bytes, IPv6 wraps within its last byte', () => {
  assert.equal(formatIPAddress(offsetIPAddress(parseIPAddress('192.168.122.254')!, 3)), '192.168.123.1');
  assert.equal(formatIPAddress(offsetIPAddress(parseIPAddress('2001:db8::1ff')!, 2)), '2001:db8::101');
});
