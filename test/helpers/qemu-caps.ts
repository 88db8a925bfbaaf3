// Hand-made QEMU capabilities for the driver's rule tests: only what the rules
// read (machines, device types, CPU models, KVM, commands), nothing probed.
import type { QemuCaps, QemuMachine } from '../../src/drivers/qemu/capabilities.js';
import { fakeHostFacts } from './host-facts.js';

export type TestArch = 'x86_64' | 'aarch64';

function machine(name: string, alias: string, extra: Partial<QemuMachine> = {}): QemuMachine {
  return { name, alias, isDefault: false, qemuDefault: false, maxCpus: 255, hotplugCpus: true, numaMemSupported: true, deprecated: false, ...extra };
}

const BASE_DEVICE_TYPES: Record<TestArch, string[]> = {
  x86_64: ['max-x86_64-cpu', 'vmcoreinfo', 'cirrus-vga', 'VGA', 'lsi53c895a'],
  aarch64: ['virtio-gpu-pci', 'VGA'],
};

/** QEMU 7.2's x86_64 (pc default, q35) or aarch64 (virt, GICv2 and v3) binary, plus `extra`. */
export function fakeQemuCaps(arch: TestArch, extra: { deviceTypes?: string[]; commands?: string[] } & Partial<Pick<QemuCaps, 'kvmPresent' | 'kvmUsable' | 'host' | 'hostCpuModels'>> = {}): QemuCaps {
  const x86 = arch === 'x86_64';
  return {
    binary: `/usr/bin/qemu-system-${arch}`,
    arch,
    version: { major: 7, minor: 2, micro: 0, package: '' },
    versionNumber: 7002000,
    machines: x86
      ? [machine('pc-i440fx-7.2', 'pc', { isDefault: true, defaultCpuType: 'qemu64-x86_64-cpu' }), machine('pc-q35-7.2', 'q35', { defaultCpuType: 'qemu64-x86_64-cpu', maxCpus: 288 })]
      : [machine('virt-7.2', 'virt', { defaultCpuType: 'cortex-a15-arm-cpu', maxCpus: 512 })],
    deviceTypes: new Set([...BASE_DEVICE_TYPES[arch], ...(extra.deviceTypes ?? [])]),
    cpuModels: [
      { name: 'qemu64', typename: 'qemu64-x86_64-cpu', deprecated: false, static: false },
      { name: 'cortex-a15', typename: 'cortex-a15-arm-cpu', deprecated: false, static: false },
    ],
    kvmPresent: extra.kvmPresent ?? false,
    tcgUsable: true,
    kvmUsable: extra.kvmUsable ?? false,
    commands: new Set(extra.commands ?? []),
    displayTypes: [],
    gicVersions: x86 ? [] : [{ version: 2, emulated: true, kernel: false }, { version: 3, emulated: true, kernel: false }],
    sev: false,
    sgx: false,
    hostCpuModels: extra.hostCpuModels ?? {},
    cpuMigratable: true,
    host: extra.host ?? fakeHostFacts(),
  };
}
