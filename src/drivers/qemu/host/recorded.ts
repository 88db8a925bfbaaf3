// A host known from its record instead of its kernel: a folder laid out like
// the conformance corpus's _host/ (`virsh capabilities` as capabilities.xml,
// `virsh domcapabilities` per binary, machine and virt type as
// domcapabilities-ARCH-MACHINE[-tcg].xml). It stands in for the machine the
// corpus was recorded on, so that the corpus replays on any host with the
// same QEMU. Selected by TSVIRT_RECORDED_HOST=DIR (a test facility).
//
// From the record: KVM (a domcapabilities with <domain>kvm</domain>), QEMU's
// KVM host CPU model (its host-model CPU) and Hyper-V enlightenments, the host CPU with its features,
// signature and TSC counter, the NUMA cells, swtpm (the TPM emulator backend
// and its versions). Not recorded, so taken from the live host: hugetlbfs
// mounts, numad, device nodes and files, firmware descriptors.

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { featureNamesIn, modelCpuBits, type X86CpuMap } from '../../../conf/cpu-map.js';
import { makeSignature } from '../../../conf/cpu-decode.js';
import { ErrorCode, ErrorDomain, virError } from '../../../util/error.js';
import { child, childrenNamed, parseXml, type XmlElement } from '../../../util/xml.js';
import type { QemuHostCpuModel } from '../capabilities.js';
import { x86FeatureToQemu } from '../cpu-feature-names.js';
import type { FirmwareDescriptor } from '../firmware-select.js';
import { hostX86CpuMap, type HostX86Cpu } from '../host-cpu.js';
import type { HostFacts, HostX86CpuFacts, KvmFacts } from './facts.js';

/** A CPU as libvirt prints it: a model, a vendor, features with their policies (require when none is given). */
interface RecordedCpu {
  model: string;
  vendor?: string;
  required: string[];
  disabled: string[];
}

/** One domcapabilities-*.xml: what libvirt reported for a binary, machine and virt type. */
interface RecordedDomainCaps {
  arch: string;
  virtType: string;
  hostModel?: RecordedCpu;
  tpmBackends: string[];
  tpmVersions: string[];
  /** the Hyper-V enlightenments listed, when libvirt probed KVM */
  hypervFeatures?: string[];
}

function recordedCpu(cpu: XmlElement): RecordedCpu {
  const features = childrenNamed(cpu, 'feature');
  const named = (policy: string) => features.filter((f) => (f.attrs.policy ?? 'require') === policy).map((f) => f.attrs.name ?? '');
  const vendor = child(cpu, 'vendor')?.text.trim();
  return { model: child(cpu, 'model')?.text.trim() ?? '', ...(vendor ? { vendor } : {}), required: named('require'), disabled: named('disable') };
}

function enumValues(parent: XmlElement | undefined, name: string): string[] {
  const list = parent && childrenNamed(parent, 'enum').find((e) => e.attrs.name === name);
  return list ? childrenNamed(list, 'value').map((v) => v.text.trim()) : [];
}

function parseDomainCaps(root: XmlElement): RecordedDomainCaps {
  const cpu = child(root, 'cpu');
  const hostModel = cpu && childrenNamed(cpu, 'mode').find((m) => m.attrs.name === 'host-model' && m.attrs.supported === 'yes');
  const tpm = child(child(root, 'devices') ?? root, 'tpm');
  const hyperv = child(child(root, 'features') ?? root, 'hyperv');
  return {
    arch: child(root, 'arch')?.text.trim() ?? '',
    virtType: child(root, 'domain')?.text.trim() ?? '',
    ...(hostModel && child(hostModel, 'model') ? { hostModel: recordedCpu(hostModel) } : {}),
    tpmBackends: tpm?.attrs.supported === 'yes' ? enumValues(tpm, 'backendModel') : [],
    tpmVersions: tpm?.attrs.supported === 'yes' ? enumValues(tpm, 'backendVersion') : [],
    ...(hyperv?.attrs.supported === 'yes' ? { hypervFeatures: enumValues(hyperv, 'features') } : {}),
  };
}

export class RecordedHostFacts implements HostFacts {
  readonly identity: string;
  private readonly hostCpu: XmlElement | undefined;
  private readonly cells: ReadonlySet<number>;
  private readonly domainCaps: RecordedDomainCaps[];
  private cpu: HostX86CpuFacts | null | undefined;

  /** `live` answers what the record does not hold. */
  constructor(dir: string, private readonly live: HostFacts) {
    const folder = resolve(dir);
    this.identity = `recorded:${folder}`;
    const read = (name: string) => {
      try {
        return parseXml(readFileSync(join(folder, name), 'utf8'));
      } catch (e) {
        throw virError(ErrorCode.CONFIG_UNSUPPORTED, `recorded host '${folder}': cannot read ${name}: ${(e as Error).message}`, ErrorDomain.QEMU);
      }
    };
    const host = child(read('capabilities.xml'), 'host');
    this.hostCpu = host && child(host, 'cpu');
    const topology = host && child(host, 'topology');
    const cellList = topology && child(topology, 'cells');
    const cells = cellList ? childrenNamed(cellList, 'cell') : [];
    this.cells = new Set(cells.length ? cells.map((c) => Number(c.attrs.id)) : [0]);
    let names: string[];
    try {
      names = readdirSync(folder).filter((n) => /^domcapabilities-.*\.xml$/.test(n)).sort();
    } catch (e) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `recorded host '${folder}': ${(e as Error).message}`, ErrorDomain.QEMU);
    }
    this.domainCaps = names.map((n) => parseDomainCaps(read(n)));
  }

  /** The recording host had KVM when libvirt reported a kvm domain for some binary. */
  kvmDeviceUsable(): boolean {
    return this.domainCaps.some((d) => d.virtType === 'kvm');
  }

  hardwareVirtualization(): boolean {
    return this.kvmDeviceUsable();
  }

  /** QEMU's KVM host model, rebuilt from the host-model CPU libvirt decoded it into (the same host CPU serves every binary). */
  async kvm(arch: string): Promise<KvmFacts> {
    if (!this.kvmDeviceUsable()) return { enabled: false };
    const recorded = this.domainCaps.find((d) => d.virtType === 'kvm' && d.arch === arch && d.hostModel)?.hostModel
      ?? this.domainCaps.find((d) => d.virtType === 'kvm' && d.hostModel)?.hostModel;
    const map = this.x86Cpu()?.map;
    const hostCpuModel = recorded && map ? this.qemuHostModel(map, recorded, arch) : undefined;
    const hypervFeatures = this.domainCaps.find((d) => d.arch === arch && d.hypervFeatures)?.hypervFeatures;
    return { enabled: true, ...(hostCpuModel ? { hostCpuModel } : {}), ...(hypervFeatures ? { hypervFeatures } : {}) };
  }

  /**
   * The expansion QEMU gave: the model's features plus the required minus the
   * disabled ones, in QEMU's names, with the host's vendor and signature.
   * libvirt reports the non-migratable expansion; which of its features a
   * migratable CPU lacks is what libvirt's CPU map marks migratable='no'. A
   * binary of a 32-bit target has no long mode to offer (QEMU masks 'lm'
   * out of what KVM supports), whatever binary the record was taken with.
   */
  private qemuHostModel(map: X86CpuMap, cpu: RecordedCpu, arch: string): QemuHostCpuModel {
    const names = featureNamesIn(map, modelCpuBits(map, cpu.model, cpu.required, cpu.disabled))
      .filter((name) => !(arch === 'i686' && name === 'lm'));
    const signature = this.hostCpu && child(this.hostCpu, 'signature');
    const vendor = cpu.vendor !== undefined ? map.vendors.get(cpu.vendor) : undefined;
    return {
      features: names.map(x86FeatureToQemu),
      nonMigratable: names.filter((name) => map.featureByName.get(name)?.nonMigratable).map(x86FeatureToQemu),
      ...(vendor !== undefined ? { vendor } : {}),
      ...(signature ? { family: Number(signature.attrs.family), model: Number(signature.attrs.model), stepping: Number(signature.attrs.stepping) } : {}),
    };
  }

  x86Cpu(): HostX86CpuFacts | undefined {
    if (this.cpu === undefined) {
      const arch = this.hostCpu ? child(this.hostCpu, 'arch')?.text.trim() : undefined;
      const map = arch === 'x86_64' || arch === 'i686' ? hostX86CpuMap() : undefined;
      this.cpu = map ? { map, ...(this.hostCpu ? { host: this.decodedHostCpu(map, this.hostCpu) } : {}) } : null;
    }
    return this.cpu ?? undefined;
  }

  private decodedHostCpu(map: X86CpuMap, cpu: XmlElement): HostX86Cpu {
    const recorded = recordedCpu(cpu);
    const signature = child(cpu, 'signature');
    const counter = childrenNamed(cpu, 'counter').find((c) => c.attrs.name === 'tsc');
    const vendor = recorded.vendor;
    return {
      ...(vendor !== undefined && map.vendors.has(vendor) ? { vendor } : {}),
      signature: signature ? makeSignature(Number(signature.attrs.family), Number(signature.attrs.model), Number(signature.attrs.stepping)) : 0,
      data: modelCpuBits(map, recorded.model, recorded.required, []),
      ...(counter?.attrs.frequency ? {
        tsc: { frequency: Number(counter.attrs.frequency), ...(counter.attrs.scaling ? { scaling: counter.attrs.scaling === 'yes' } : {}) },
      } : {}),
    };
  }

  /** swtpm was installed when libvirt offered the TPM emulator backend. */
  swtpmVersions(): readonly string[] | undefined {
    const emulator = this.domainCaps.find((d) => d.tpmBackends.includes('emulator'));
    return emulator ? emulator.tpmVersions : undefined;
  }

  numaNodes(): ReadonlySet<number> {
    return this.cells;
  }

  hugetlbfsMounted(): boolean {
    return this.live.hugetlbfsMounted();
  }

  numadAvailable(): boolean {
    return this.live.numadAvailable();
  }

  pathExists(path: string): boolean {
    return this.live.pathExists(path);
  }

  firmwareDescriptors(): readonly FirmwareDescriptor[] {
    return this.live.firmwareDescriptors();
  }
}
