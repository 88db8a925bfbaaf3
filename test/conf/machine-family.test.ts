// The machine-family questions follow libvirt's qemuDomainMachineIs* rules: the
// arch matters, and so does the exact machine prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestMachineOf, isArmVirt, isI440fx, isPSeries, isQ35, isRiscvVirt, isS390 } from '../../src/conf/machine-family.js';
import { parseXml } from '../../src/util/xml.js';

const m = (arch: string, machine: string) => ({ arch, machine });

test('q35 and i440fx are x86 machine names', () => {
  assert.ok(isQ35(m('x86_64', 'q35')) && isQ35(m('i686', 'pc-q35-7.2')));
  assert.ok(!isQ35(m('x86_64', 'pc-q35')) && !isQ35(m('aarch64', 'q35')));
  for (const name of ['pc', 'pc-i440fx-7.2', 'pc-1.3', 'pc-0.15', 'rhel6.0.0']) assert.ok(isI440fx(m('x86_64', name)), name);
  assert.ok(!isI440fx(m('x86_64', 'pc-q35-7.2')) && !isI440fx(m('x86_64', 'pc-2.0')) && !isI440fx(m('ppc64', 'pc')));
});

test('virt is ARM (v6 to aarch64) or RISC-V; pseries is ppc64; s390 is the arch', () => {
  for (const arch of ['armv6l', 'armv7l', 'aarch64']) assert.ok(isArmVirt(m(arch, 'virt-7.2')), arch);
  assert.ok(!isArmVirt(m('riscv64', 'virt')) && isRiscvVirt(m('riscv64', 'virt')) && !isArmVirt(m('aarch64', 'virtual')));
  assert.ok(isPSeries(m('ppc64le', 'pseries-7.2')) && isPSeries(m('ppc64', 'pseries')) && !isPSeries(m('ppc64', 'pseriesx')));
  assert.ok(isS390(m('s390x', 's390-ccw-virtio')) && !isS390(m('x86_64', 's390-ccw-virtio')));
});

test('a domain is asked through its <os><type>', () => {
  const dom = parseXml("<domain><os><type arch='aarch64' machine='virt'>hvm</type></os></domain>");
  assert.deepEqual(guestMachineOf(dom), { arch: 'aarch64', machine: 'virt' });
  assert.deepEqual(guestMachineOf(parseXml('<domain/>')), { arch: '', machine: '' });
});
