// Host resources a domain start (and domxml-to-native, which prepares the
// host the same way) depends on: hugetlbfs, host NUMA nodes, numad, device
// nodes, secrets, networks, storage pools. libvirt refuses to build a
// command line when one is missing, with these messages.
import type { XmlElement } from '../../util/xml.js';
import { child, childrenNamed } from '../../util/xml.js';
import { virError, ErrorCode, ErrorDomain } from '../../util/error.js';
import { parseBitmap } from '../../util/bitmap.js';
import type { HostFacts } from './host/facts.js';

export interface SecretLookup { uuid?: string; usage?: string }

export interface HostResources {
  hugetlbfsMounted: boolean;
  numaNodes: ReadonlySet<number>;
  numadAvailable: boolean;
  pathExists(path: string): boolean;
  secretExists(lookup: SecretLookup): boolean;
  /** Why a secret the driver knows cannot give its value (none set, another usage type), if it cannot. */
  secretValueFailure?(lookup: SecretLookup): Error | undefined;
  networkExists(name: string): boolean;
  storagePoolExists(name: string): boolean;
  /** Why a <disk type='volume'> could not be translated through the storage driver (volume-disks.ts), if it could not. */
  volumeDiskFailure?(disk: XmlElement): Error | undefined;
  /** The environment libvirt runs interface scripts with, as its error messages print it. */
  scriptEnvironment: string;
}

/** What the host offers; secrets, networks and pools come from the caller's drivers (none by default). */
export function probeHostResources(host: HostFacts, objects: Partial<Pick<HostResources, 'secretExists' | 'secretValueFailure' | 'networkExists' | 'storagePoolExists' | 'volumeDiskFailure'>> = {}): HostResources {
  return {
    hugetlbfsMounted: host.hugetlbfsMounted(),
    numaNodes: host.numaNodes(),
    numadAvailable: host.numadAvailable(),
    pathExists: (p) => host.pathExists(p),
    secretExists: objects.secretExists ?? (() => false),
    networkExists: objects.networkExists ?? (() => false),
    storagePoolExists: objects.storagePoolExists ?? (() => false),
    ...(objects.volumeDiskFailure ? { volumeDiskFailure: objects.volumeDiskFailure } : {}),
    ...(objects.secretValueFailure ? { secretValueFailure: objects.secretValueFailure } : {}),
    scriptEnvironment: `LC_ALL=C PATH=${process.env.PATH ?? ''} HOME=${process.env.HOME ?? '/'}`,
  };
}

function noSuchFile(what: string): never {
  throw virError(ErrorCode.SYSTEM_ERROR, `${what}: No such file or directory`, ErrorDomain.QEMU);
}

function checkSecret(host: HostResources, secret: XmlElement | undefined): void {
  if (!secret) return;
  const uuid = secret.attrs.uuid;
  const usage = secret.attrs.usage;
  if (uuid === undefined && usage === undefined) return;
  if (host.secretExists({ uuid, usage })) {
    const failure = host.secretValueFailure?.({ uuid, usage });
    if (failure) throw failure;
    return;
  }
  throw virError(ErrorCode.NO_SECRET, uuid !== undefined ? `no secret with matching uuid '${uuid}'` : `no secret with matching usage '${usage}'`, ErrorDomain.QEMU);
}

/** Every <source> of a disk's backing chain. */
function chainSources(disk: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (let holder: XmlElement | undefined = disk; holder; holder = child(holder, 'backingStore')) {
    const s = child(holder, 'source');
    if (s) out.push(s);
  }
  return out;
}

function pageKiB(page: XmlElement): number {
  const factor: Record<string, number> = { b: 1 / 1024, k: 1, kib: 1, m: 1024, mib: 1024, g: 1024 * 1024, gib: 1024 * 1024 };
  return Number(page.attrs.size ?? 0) * (factor[(page.attrs.unit ?? 'KiB').toLowerCase()] ?? 1);
}

function checkNuma(def: XmlElement, host: HostResources): void {
  const numatune = child(def, 'numatune');
  const vcpu = child(def, 'vcpu');
  const memory = numatune ? child(numatune, 'memory') : undefined;
  // A static memory nodeset already answers what numad would be asked for.
  const autoPlacement = memory?.attrs.placement === 'auto' || (vcpu?.attrs.placement === 'auto' && memory?.attrs.nodeset === undefined);
  if (autoPlacement && !host.numadAvailable) {
    throw virError(ErrorCode.INTERNAL_ERROR, 'Advice from numad is needed in case of automatic numa placement', ErrorDomain.QEMU);
  }
  const nodesets = [memory, ...(numatune ? childrenNamed(numatune, 'memnode') : [])].map((m) => m?.attrs.nodeset).filter((n): n is string => n !== undefined);
  for (const nodeset of nodesets) {
    for (const node of parseBitmap(nodeset) ?? []) {
      if (!host.numaNodes.has(node)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `NUMA node ${node} is unavailable`, ErrorDomain.QEMU);
    }
  }
  const backing = child(def, 'memoryBacking');
  const devices = child(def, 'devices');
  const modulePages = (devices ? childrenNamed(devices, 'memory') : []).some((m) => child(child(m, 'source') ?? m, 'pagesize') !== undefined);
  // Pages of the system's own size (4 KiB) are ordinary memory, not hugetlbfs.
  const hugepages = backing ? child(backing, 'hugepages') : undefined;
  const pages = hugepages ? childrenNamed(hugepages, 'page') : [];
  const needsHugetlbfs = hugepages !== undefined && (pages.length === 0 || pages.some((p) => pageKiB(p) !== 4));
  if ((needsHugetlbfs || modulePages) && !host.hugetlbfsMounted) {
    throw virError(ErrorCode.INTERNAL_ERROR, 'hugetlbfs filesystem is not mounted or disabled by administrator config', ErrorDomain.QEMU);
  }
}

/** Disk sources (last disk first, each chain top-down) and the secrets of disks and SCSI host devices. */
function checkStorageAndSecrets(devices: XmlElement, host: HostResources): void {
  for (const disk of [...childrenNamed(devices, 'disk')].reverse()) {
    for (const source of chainSources(disk)) {
      if (source.attrs.fdgroup !== undefined) {
        throw virError(ErrorCode.INVALID_ARG, `file descriptor group '${source.attrs.fdgroup}' was not associated with the domain`, ErrorDomain.QEMU);
      }
      const failure = disk.attrs.type === 'volume' ? host.volumeDiskFailure?.(disk) : undefined;
      if (failure) throw failure;
      if (disk.attrs.type === 'volume' && source.attrs.pool && !host.storagePoolExists(source.attrs.pool)) {
        throw virError(ErrorCode.NO_STORAGE_POOL, `no storage pool with matching name '${source.attrs.pool}'`, ErrorDomain.STORAGE);
      }
      const auth = child(source, 'auth') ?? child(disk, 'auth');
      checkSecret(host, auth ? child(auth, 'secret') : undefined);
      const encryption = child(source, 'encryption') ?? child(disk, 'encryption');
      if (encryption) for (const s of childrenNamed(encryption, 'secret')) checkSecret(host, s);
    }
  }
  for (const hostdev of childrenNamed(devices, 'hostdev')) {
    const auth = hostdev.attrs.type === 'scsi' ? child(child(hostdev, 'source') ?? hostdev, 'auth') : undefined;
    checkSecret(host, auth ? child(auth, 'secret') : undefined);
  }
}

/** Refuses, as libvirt does while preparing the host, a domain whose host resources are missing. */
export function checkHostResources(def: XmlElement, host: HostResources): void {
  const devices = child(def, 'devices');
  // libvirt prepares the domain (storage sources, every secret) before the host (memory, devices)
  if (devices) checkStorageAndSecrets(devices, host);
  checkNuma(def, host);
  const nvramSource = child(child(child(def, 'os') ?? def, 'nvram') ?? def, 'source');
  const nvramAuth = nvramSource ? child(nvramSource, 'auth') : undefined;
  checkSecret(host, nvramAuth ? child(nvramAuth, 'secret') : undefined);
  if (!devices) return;
  for (const net of childrenNamed(devices, 'interface')) {
    // libvirt runs an interface's ifup script on the tap device it opened for it.
    const script = child(net, 'script')?.attrs.path;
    if (script && !host.pathExists(script)) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Child process (${host.scriptEnvironment} ${script} vnet0) unexpected exit status 127: libvirt:  error : cannot execute binary ${script}: No such file or directory`, ErrorDomain.QEMU);
    }
  }
  for (const g of childrenNamed(devices, 'graphics')) {
    for (const listen of childrenNamed(g, 'listen')) {
      if (listen.attrs.type === 'network' && listen.attrs.network && !host.networkExists(listen.attrs.network)) {
        throw virError(ErrorCode.NO_NETWORK, `no network with matching name '${listen.attrs.network}'`, ErrorDomain.NETWORK);
      }
    }
    const gl = child(g, 'gl');
    // libvirt picks a DRI render node itself where the display renders with GL and none is given.
    const needsRenderNode = g.attrs.type === 'egl-headless' ? !gl?.attrs.rendernode
      : (g.attrs.type === 'spice' || g.attrs.type === 'dbus') && gl?.attrs.enable === 'yes' && !gl.attrs.rendernode;
    if (needsRenderNode && !host.pathExists('/dev/dri')) noSuchFile("cannot open directory '/dev/dri'");
  }
  for (const video of childrenNamed(devices, 'video')) {
    if (child(video, 'driver')?.attrs.name === 'vhostuser') {
      throw virError(ErrorCode.OPERATION_FAILED, 'Unable to find a satisfying vhost-user-gpu', ErrorDomain.QEMU);
    }
  }
  for (const hostdev of childrenNamed(devices, 'hostdev')) {
    const source = child(hostdev, 'source');
    if (hostdev.attrs.type === 'scsi_host' && !host.pathExists('/dev/vhost-scsi')) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, "vhost-scsi device file '/dev/vhost-scsi' cannot be found", ErrorDomain.QEMU);
    }
    // Without an explicit backend libvirt needs VFIO on the host to pick one.
    if (hostdev.attrs.type === 'pci' && !child(hostdev, 'driver')?.attrs.name && !host.pathExists('/dev/vfio/vfio')) {
      throw virError(ErrorCode.INTERNAL_ERROR, "invalid PCI passthrough type 'default'", ErrorDomain.QEMU);
    }
    if (hostdev.attrs.type === 'scsi' && source?.attrs.protocol !== 'iscsi') {
      const adapter = /(\d+)$/.exec(child(source ?? hostdev, 'adapter')?.attrs.name ?? '')?.[1] ?? '0';
      const addr = child(source ?? hostdev, 'address');
      const dir = `/sys/bus/scsi/devices/${adapter}:${addr?.attrs.bus ?? 0}:${addr?.attrs.target ?? 0}:${addr?.attrs.unit ?? 0}/scsi_generic`;
      if (!host.pathExists(dir)) noSuchFile(`cannot open directory '${dir}'`);
    }
  }
  for (const tpm of childrenNamed(devices, 'tpm')) {
    const backend = child(tpm, 'backend');
    const path = backend?.attrs.type === 'passthrough' ? (child(backend, 'device')?.attrs.path ?? '/dev/tpm0') : undefined;
    if (path && !host.pathExists(path)) noSuchFile(`Could not open TPM device ${path}`);
  }
}
