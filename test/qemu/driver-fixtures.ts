// Shared inputs of the qemu driver tests.

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
