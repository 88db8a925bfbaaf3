// Shared inputs of the qemu driver tests.
import type { QemuDriver } from '../../src/drivers/qemu/driver.js';

/** A small q35 TCG domain; `devices` is spliced into <devices>. */
export function domainXML(name: string, uuid: string, memoryKiB = 131072, devices = ''): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit='KiB'>${memoryKiB}</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>${devices}</devices>
</domain>`;
}

type Query = string | null | undefined;

/** virConnectGetDomainCapabilities on a driver opened directly: the XML (null or undefined ask for the default). */
export async function domainCapabilities(driver: QemuDriver, emulatorbin: Query, arch: Query, machine: Query, virttype: Query): Promise<string> {
  const args = { emulatorbin: emulatorbin ?? null, arch: arch ?? null, machine: machine ?? null, virttype: virttype ?? null, flags: 0 };
  return (await driver.connectGetDomainCapabilities(args)).capabilities;
}
