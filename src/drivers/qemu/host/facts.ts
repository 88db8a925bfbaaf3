// Everything the qemu driver knows about the host it runs on, behind one
// interface: KVM, the host CPU and its TSC, helper programs (swtpm), NUMA
// nodes, hugetlbfs, numad, device nodes and firmware descriptors. The live
// host (live.ts) reads them from the kernel; a recorded host (recorded.ts)
// answers from another machine's record so that the conformance corpus,
// recorded there, can be replayed anywhere. The QEMU binaries themselves are
// always probed for real: only the host around them is substituted.

import type { X86CpuMap } from '../../../conf/cpu-map.js';
import type { QemuHostCpuModel } from '../capabilities.js';
import type { FirmwareDescriptor } from '../firmware-select.js';
import type { HostX86Cpu } from '../host-cpu.js';

/** libvirt's CPU map with the host CPU decoded by it; no `host` when the CPU cannot be read (not root, no cpuid driver). */
export interface HostX86CpuFacts {
  map: X86CpuMap;
  host?: HostX86Cpu;
}

/** What KVM offers guests of one QEMU binary. */
export interface KvmFacts {
  /** QEMU runs with KVM (libvirt's QEMU_CAPS_KVM: it decides whether 'kvm' is a virt type of the binary) */
  enabled: boolean;
  /** QEMU's "host" CPU model under KVM */
  hostCpuModel?: QemuHostCpuModel;
  /** the features KVM cannot give each CPU model (query-cpu-definitions under KVM), when QEMU lists them */
  cpuModelBlockers?: Readonly<Record<string, readonly string[]>>;
  /** the Hyper-V enlightenments KVM's "host" CPU can have, in libvirt's names and order */
  hypervFeatures?: readonly string[];
}

export interface HostFacts {
  /** 'live', or 'recorded:DIR': what is cached per host is kept apart per identity */
  readonly identity: string;
  /** /dev/kvm can be opened read-write (libvirt's virQEMUCapsKVMUsable): only then is QEMU asked about KVM */
  kvmDeviceUsable(): boolean;
  /**
   * The CPU has hardware virtualisation (vmx/svm). Without it a usable
   * /dev/kvm is a paravirtualised KVM under which stock guest kernels hang.
   */
  hardwareVirtualization(): boolean;
  /** KVM for guests of a binary of `arch`: the live host asks QEMU through `probe`, a recorded host answers from its record. */
  kvm(arch: string, probe: () => Promise<KvmFacts>): Promise<KvmFacts>;
  /** libvirt's CPU map and the host CPU; undefined on a non-x86 host or without the map */
  x86Cpu(): HostX86CpuFacts | undefined;
  /** TPM versions swtpm emulates (virTPMHasSwtpm + swtpm_setup --print-capabilities); undefined without swtpm */
  swtpmVersions(): readonly string[] | undefined;
  hugetlbfsMounted(): boolean;
  numaNodes(): ReadonlySet<number>;
  numadAvailable(): boolean;
  /** a device node or sysfs entry libvirt opens (/dev/vfio/vfio, /dev/dri, ...), a script, a firmware image */
  pathExists(path: string): boolean;
  /** QEMU firmware descriptors in libvirt's precedence (file names sorted, /etc/qemu/firmware first) */
  firmwareDescriptors(): readonly FirmwareDescriptor[];
}
