// Hand-made host facts for rule tests: a host without KVM, CPU data, swtpm,
// hugetlbfs or devices unless a test says otherwise.
import type { HostFacts } from '../../src/drivers/qemu/host/facts.js';

export function fakeHostFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    identity: 'fake',
    kvmDeviceUsable: () => false,
    hardwareVirtualization: () => false,
    kvm: async () => ({ enabled: false }),
    x86Cpu: () => undefined,
    swtpmVersions: () => undefined,
    hugetlbfsMounted: () => false,
    numaNodes: () => new Set([0]),
    numadAvailable: () => false,
    pathExists: () => false,
    firmwareDescriptors: () => [],
    ...overrides,
  };
}
