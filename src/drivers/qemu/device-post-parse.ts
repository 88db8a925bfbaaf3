// The QEMU driver's per-device defaults (qemuDomainDeviceDefPostParse), for
// QEMU 7.2's device set: default models per machine, the driver name and
// format of disks, generated socket paths that are not part of a definition.
// Runs before the generic post-parse of each device (src/conf/devices/).

import { ErrorCode, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';
import { deviceAddressOf } from '../../conf/device-address.js';
import { ensureChild, firstChild, setDefault, type DeviceContext } from '../../conf/devices/common.js';
import { isArmArch, isArmVirt, isI440fx, isPpc64Arch, isPSeries, isQ35, isRiscvVirt, isS390, isX86 } from '../../conf/machine-family.js';
import type { DeviceDriverHooks } from '../../conf/devices/index.js';
import { shmemSizeBytes } from '../../conf/devices/shmem.js';
import { numaNodeCount } from '../../conf/devices/validate.js';
import { isGeneratedChannelPath } from './agent-channel.js';

export interface DevicePostParseOptions {
  /** where generated guest-agent channel sockets live (the driver's channel/target folder) */
  channelTargetDir: string;
}

/** qemuDomainDeviceDefPostParse. */
export function qemuPostParseDevice(dev: XmlElement, ctx: DeviceContext, options: DevicePostParseOptions): void {
  switch (dev.name) {
    case 'interface':
      return postParseInterface(dev, ctx);
    case 'disk':
      return postParseDisk(dev);
    case 'video':
      return postParseVideo(dev, ctx);
    case 'controller':
      return postParseController(dev, ctx);
    case 'shmem':
      return postParseShmem(dev);
    case 'hostdev':
      return postParseHostdev(dev);
    case 'panic':
      return postParsePanic(dev, ctx);
    case 'serial':
    case 'parallel':
    case 'console':
    case 'channel':
      return postParseChr(dev, ctx, options.channelTargetDir);
    case 'tpm':
      return postParseTpm(dev, ctx);
  }
}

/** The QEMU driver's hooks for the generic device pipeline. */
export function qemuDeviceHooks(options: DevicePostParseOptions): DeviceDriverHooks {
  return { postParseDevice: (dev, ctx) => qemuPostParseDevice(dev, ctx, options) };
}

/** qemuDomainDefaultNetModel for QEMU 7.2 (rtl8139 is available on x86). */
function defaultNetModel(ctx: DeviceContext): string {
  if (isS390(ctx)) return 'virtio';
  if (isArmArch(ctx.arch)) {
    if (ctx.machine === 'versatilepb') return 'smc91c111';
    return isArmVirt(ctx) ? 'virtio' : 'lan9118';
  }
  if (isRiscvVirt(ctx)) return 'virtio';
  return 'rtl8139';
}

/** QEMU driver post-parse (qemuDomainDeviceNetDefPostParse). */
function postParseInterface(net: XmlElement, ctx: DeviceContext): void {
  if (firstChild(net, 'model')?.attrs['type'] !== undefined) return;
  let model: string | undefined;
  if (net.attrs['type'] === 'vdpa') model = 'virtio';
  else if (net.attrs['type'] !== 'hostdev') model = defaultNetModel(ctx);
  if (model === undefined) return;
  const existing = firstChild(net, 'model');
  if (existing) existing.attrs['type'] = model;
  else net.children.push(element('model', { type: model }));
}

/** QEMU driver post-parse (qemuDomainDeviceDiskDefPostParse): driver name and raw format defaults. */
function postParseDisk(disk: XmlElement): void {
  let driver = firstChild(disk, 'driver');
  if (!driver) {
    driver = element('driver');
    disk.children.unshift(driver);
  }
  setDefault(driver, 'name', 'qemu');
  if (disk.attrs['type'] !== 'volume') setDefault(driver, 'type', 'raw');
  for (let src: XmlElement | undefined = disk; src; src = firstChild(src, 'backingStore')) {
    const holder = src === disk ? disk : src;
    for (const enc of [firstChild(holder, 'encryption'), firstChild(firstChild(holder, 'source') ?? element('x'), 'encryption')]) {
      if (enc) setDefault(enc, 'engine', 'qemu');
    }
  }
}

/** qemuDomainDefaultVideoDevice for QEMU 7.2 (cirrus-vga is available on x86). */
function defaultVideoType(ctx: DeviceContext): string {
  if (isPpc64Arch(ctx.arch)) return 'vga';
  if (isArmVirt(ctx) || isRiscvVirt(ctx) || isS390(ctx)) return 'virtio';
  return 'cirrus';
}

/** QEMU driver post-parse (qemuDomainDeviceVideoDefPostParse). */
function postParseVideo(video: XmlElement, ctx: DeviceContext): void {
  const model = ensureChild(video, 'model');
  if (model.attrs['type'] === undefined || model.attrs['type'] === 'default') model.attrs['type'] = defaultVideoType(ctx);
  if (model.attrs['type'] === 'qxl' && !Number(model.attrs['vgamem'] ?? 0)) model.attrs['vgamem'] = String(16 * 1024);
}

const XHCI_MAX_PORTS = 15;

/** QEMU driver post-parse (qemuDomainControllerDefPostParse) for QEMU 7.2's device set. */
function postParseController(c: XmlElement, ctx: DeviceContext): void {
  const type = c.attrs['type'];
  const model = c.attrs['model'];
  if (type === 'scsi' && model === undefined) {
    c.attrs['model'] = isPSeries(ctx) ? 'ibmvscsi' : isS390(ctx) ? 'virtio-scsi' : 'lsilogic';
  } else if (type === 'usb') {
    if (model === undefined) {
      let chosen: string | undefined = 'piix3-uhci';
      if (isS390(ctx) && deviceAddressOf(c) === undefined) chosen = 'none';
      else if (isPpc64Arch(ctx.arch)) chosen = 'pci-ohci';
      else if (ctx.arch === 'aarch64') chosen = 'qemu-xhci';
      c.attrs['model'] = chosen;
    }
    const m = c.attrs['model'];
    if (m === 'qusb1' || m === 'qusb2') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `USB controller model type 'qusb1' or 'qusb2' is not supported in ${ctx.virtType}`);
    }
    if ((m === 'nec-xhci' || m === 'qemu-xhci') && Number(c.attrs['ports'] ?? -1) > XHCI_MAX_PORTS) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `'${m}' controller only supports up to '${XHCI_MAX_PORTS}' ports`);
    }
  } else if (type === 'pci') {
    if (!isPSeries(ctx) && (model === 'pci-root' || model === 'pcie-root') && Number(c.attrs['index'] ?? -1) !== 0) {
      throw virError(ErrorCode.XML_ERROR, 'pci-root and pcie-root controllers should have index 0');
    }
    if (model === 'pci-expander-bus' && !isI440fx(ctx)) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'pci-expander-bus controllers are only supported on 440fx-based machinetypes');
    }
    if (model === 'pcie-expander-bus' && !(isQ35(ctx) || isArmVirt(ctx))) {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'pcie-expander-bus controllers are not supported with this machine type');
    }
    // an expander bus (or a pSeries PHB) on a NUMA node needs that node in <cpu><numa>
    const node = firstChild(firstChild(c, 'target') ?? c, 'node');
    if (node && (model === 'pci-expander-bus' || model === 'pcie-expander-bus' || (model === 'pci-root' && isPSeries(ctx)))) {
      const count = numaNodeCount(ctx);
      if (Number(node.text.trim()) >= count) {
        throw virError(
          ErrorCode.XML_ERROR,
          `${model} with index ${c.attrs['index']} is configured for a NUMA node (${node.text.trim()}) not present in the domain's <cpu><numa> array (${count})`,
        );
      }
    }
  }
}

/** qemuDomainShmemDefPostParse. */
function postParseShmem(shm: XmlElement): void {
  const model = firstChild(shm, 'model')?.attrs['type'] ?? 'ivshmem';
  const userBytes = shmemSizeBytes(shm);
  const bytes = model !== 'ivshmem-doorbell' && userBytes === 0n ? 4n << 20n : userBytes;
  shm.children = shm.children.filter((c) => c.name !== 'size');
  if (bytes) shm.children.push(element('size', { unit: 'M' }, [], String(bytes >> 20n)));
  if (model === 'ivshmem') return;
  if (!firstChild(shm, 'server')) {
    if (model === 'ivshmem-doorbell') throw virError(ErrorCode.CONFIG_UNSUPPORTED, `shmem model '${model}' is supported only with server option enabled`);
    return;
  }
  if (model === 'ivshmem-plain') throw virError(ErrorCode.CONFIG_UNSUPPORTED, `shmem model '${model}' is supported only with server option disabled`);
  if (userBytes) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `shmem model '${model}' does not support size setting`);
  ensureChild(shm, 'msi').attrs['ioeventfd'] ??= 'on';
}

/** qemuDomainHostdevDefMdevPostParse: QEMU 7.2 supports vfio-pci displays, so the default is stated explicitly. */
function postParseHostdev(hostdev: XmlElement): void {
  if (hostdev.attrs['type'] === 'mdev' && hostdev.attrs['model'] === 'vfio-pci') hostdev.attrs['display'] ??= 'off';
}

/** qemuDomainDevicePanicDefPostParse. */
function postParsePanic(panic: XmlElement, ctx: DeviceContext): void {
  panic.attrs['model'] ??= isPSeries(ctx) ? 'pseries' : isS390(ctx) ? 's390' : 'isa';
}

const SERIAL_MODEL_FOR_TYPE: Record<string, string> = {
  'isa-serial': 'isa-serial',
  'usb-serial': 'usb-serial',
  'pci-serial': 'pci-serial',
  'spapr-vio-serial': 'spapr-vty',
  'sclp-serial': 'sclpconsole',
  'isa-debug': 'isa-debugcon',
};

/** QEMU driver post-parse (qemuDomainChrDefPostParse): serial target type and model per machine. */
function postParseChr(chr: XmlElement, ctx: DeviceContext, channelTargetDir: string): void {
  if (chr.name === 'serial') {
    const target = ensureChild(chr, 'target');
    if (target.attrs['type'] === undefined || target.attrs['type'] === 'isa-serial') {
      let type: string | undefined;
      if (isX86(ctx)) type = 'isa-serial';
      else if (isPSeries(ctx)) type = 'spapr-vio-serial';
      else if (isArmVirt(ctx) || isRiscvVirt(ctx)) type = 'system-serial';
      else if (isS390(ctx)) type = 'sclp-serial';
      if (type === undefined) delete target.attrs['type'];
      else target.attrs['type'] = type;
    }
    const type = target.attrs['type'];
    if (type !== undefined && !target.children.some((c) => c.name === 'model')) {
      let model: string | undefined = SERIAL_MODEL_FOR_TYPE[type];
      if (type === 'system-serial') model = isArmVirt(ctx) ? 'pl011' : isRiscvVirt(ctx) ? '16550a' : undefined;
      if (model !== undefined) target.children.push(element('model', { name: model }));
    }
  }
  dropDefaultChannelPath(chr, channelTargetDir);
  bindGeneratedSocket(chr);
}

/** qemuDomainChrDefDropDefaultPath: generated virtio channel socket paths are not part of the inactive definition. */
function dropDefaultChannelPath(chr: XmlElement, channelTargetDir: string): void {
  const target = firstChild(chr, 'target');
  const source = firstChild(chr, 'source');
  const path = source?.attrs['path'];
  if (chr.name !== 'channel' || target?.attrs['type'] !== 'virtio' || chr.attrs['type'] !== 'unix' || path === undefined) return;
  if (isGeneratedChannelPath(path, channelTargetDir, target.attrs['name'] ?? '')) delete source!.attrs['path'];
}

/**
 * A unix chardev without a path gets a generated socket, which implies
 * mode='bind' (qemuDomainChrDefPostParse). The generic post-parse then drops
 * the pathless source, so the reconnect rule that libvirt's validation applies
 * to it (virDomainChrSourceDefValidate) is checked here.
 */
function bindGeneratedSocket(chr: XmlElement): void {
  const source = firstChild(chr, 'source');
  if (chr.attrs['type'] !== 'unix' || !source || source.attrs['path'] !== undefined) return;
  source.attrs['mode'] = 'bind';
  if (firstChild(source, 'reconnect')?.attrs['enabled'] === 'yes') {
    throw virError(ErrorCode.INTERNAL_ERROR, 'chardev reconnect is possible only for connect mode');
  }
}

/** qemuDomainTPMDefPostParse. */
function postParseTpm(tpm: XmlElement, ctx: DeviceContext): void {
  tpm.attrs['model'] ??= isPpc64Arch(ctx.arch) ? 'tpm-spapr' : 'tpm-tis';
  const backend = firstChild(tpm, 'backend');
  if (backend?.attrs['type'] === 'emulator' && backend.attrs['version'] === undefined) {
    const model = tpm.attrs['model'];
    backend.attrs['version'] = model === 'tpm-spapr' || model === 'tpm-crb' || isArmVirt(ctx) ? '2.0' : '1.2';
  }
  if (backend?.attrs['type'] === 'passthrough' && !backend.children.some((c) => c.name === 'device')) {
    backend.children.push(element('device', { path: '/dev/tpm0' }));
  }
}
