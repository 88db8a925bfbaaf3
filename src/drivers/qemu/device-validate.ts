// The QEMU driver's per-device validation (qemuValidateDomainDeviceDef): what
// the probed binary can provide, and combinations QEMU cannot run. Called for
// each device after the generic checks of src/conf/devices/validate.ts.

import { ErrorCode, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import { deviceAddressOf } from '../../conf/device-address.js';
import { deviceContext, devicesNamed, firstChild, type DeviceContext } from '../../conf/devices/common.js';
import { isArmVirt, isI440fx, isPpc64Arch, isPSeries, isQ35, isRiscvVirt, isS390, isX86 } from '../../conf/machine-family.js';
import type { QemuCaps } from './capabilities.js';
import { graphicsTypes, tpmCaps, videoModels } from './device-caps.js';

export interface DeviceValidationContext {
  readonly caps: QemuCaps;
  /** qemu.conf spice_tls */
  readonly spiceTLS: boolean;
  /** qemu:///system (virtiofsd needs privileges) */
  readonly privileged: boolean;
}

const unsupported = (msg: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, msg);
const internal = (msg: string) => virError(ErrorCode.INTERNAL_ERROR, msg);

type Check = (dev: XmlElement, ctx: DeviceContext, v: DeviceValidationContext) => void;

const CHECKS: Record<string, Check> = {
  disk: validateDisk,
  interface: validateInterface,
  hostdev: validateHostdev,
  video: validateVideo,
  serial: validateChr,
  parallel: validateChr,
  channel: validateChr,
  console: validateChr,
  input: validateInput,
  filesystem: validateFilesystem,
  shmem: validateShmem,
  tpm: validateTpm,
  memory: validateMemory,
  iommu: validateIommu,
  graphics: validateGraphics,
  controller: validateController,
  rng: validateRng,
  redirdev: validateRedirdev,
  watchdog: validateWatchdog,
  sound: validateSound,
  memballoon: validateMemballoon,
  vsock: (_dev, _ctx, v) => {
    if (!v.caps.deviceTypes.has('vhost-vsock-device')) throw unsupported('vsock device is not supported with this QEMU binary');
  },
};

const has = (v: DeviceValidationContext, ...types: string[]) => types.some((t) => v.caps.deviceTypes.has(t));

/**
 * The device parts of qemuValidateDomainDef (consoles, panic models, TPM
 * count), which libvirt runs at the end of the domain-level checks.
 */
export function qemuValidateDomainDevices(domain: XmlElement, v: DeviceValidationContext): void {
  const ctx = deviceContext(domain);
  for (const console of devicesNamed(ctx, 'console')) {
    const type = firstChild(console, 'target')?.attrs['type'] ?? '';
    if ((type === 'sclp' || type === 'sclplm') && !has(v, `${type}console`)) throw unsupported(`${type}console is not supported in this QEMU binary`);
    if (!['sclp', 'sclplm', 'virtio', 'serial'].includes(type)) throw unsupported(`unsupported console target type ${type}`);
  }
  for (const panic of devicesNamed(ctx, 'panic')) validatePanic(panic, ctx, v);
  const tpms = devicesNamed(ctx, 'tpm');
  const proxies = tpms.filter((t) => t.attrs['model'] === 'spapr-tpm-proxy').length;
  if (proxies > 1) throw unsupported('only a single TPM Proxy device is supported');
  if (tpms.length - proxies > 1) throw unsupported('only a single TPM non-proxy device is supported');
}

/** Which guests provide each firmware panic model (qemuValidateDomainDefPanic). */
const PANIC_GUESTS: Record<string, [(ctx: DeviceContext) => boolean, string]> = {
  s390: [isS390, "only S390 guests support panic device of model 's390'"],
  hyperv: [isX86, "only i686 and x86_64 guests support panic device of model 'hyperv'"],
  pseries: [isPSeries, "only pSeries guests support panic device of model 'pseries'"],
};

function validatePanic(panic: XmlElement, ctx: DeviceContext, v: DeviceValidationContext): void {
  const model = panic.attrs['model'] ?? '';
  const addr = deviceAddressOf(panic);
  const guest = PANIC_GUESTS[model];
  if (guest) {
    if (!guest[0](ctx)) throw unsupported(guest[1]);
    if (addr) throw unsupported(`setting the panic device address is not supported for model '${model}'`);
  } else if (model === 'isa') {
    if (!has(v, 'pvpanic')) throw unsupported('the QEMU binary does not support the ISA panic device');
    if (addr && addr.type !== 'isa') throw unsupported('panic is supported only with ISA address type');
  }
}

/** qemuValidateDomainDeviceDef: the device's address and info, then its kind's checks. */
export function qemuValidateDevice(dev: XmlElement, ctx: DeviceContext, v: DeviceValidationContext): void {
  validateAddress(dev, v);
  CHECKS[dev.name]?.(dev, ctx, v);
}

/** qemuValidateDomainDeviceDefAddress. */
function validateAddress(dev: XmlElement, v: DeviceValidationContext): void {
  const addr = deviceAddressOf(dev);
  if (!addr) return;
  if (addr.type === 'pci' && addr.zpci !== undefined && !v.caps.deviceTypes.has('zpci')) {
    throw unsupported("This QEMU binary doesn't support zPCI");
  }
  if (addr.type === 'drive') {
    const bus = dev.name === 'disk' ? firstChild(dev, 'target')?.attrs['bus'] : 'scsi';
    validateDriveAddress(bus ?? '', addr);
  }
}

function validateDriveAddress(bus: string, a: { controller: number; bus: number; target: number; unit: number }): void {
  switch (bus) {
    case 'scsi':
      if (a.bus !== 0) throw internal('SCSI controller only supports 1 bus');
      break;
    case 'ide':
      if (a.controller !== 0) throw internal('Only 1 IDE controller is supported');
      if (a.target !== 0) throw unsupported('target must be 0 for ide controller');
      break;
    case 'fdc':
      if (a.controller !== 0) throw internal('Only 1 fdc controller is supported');
      if (a.bus !== 0) throw internal('Only 1 fdc bus is supported');
      if (a.target !== 0) throw unsupported('target must be 0 for controller fdc');
      break;
    case 'sata':
      if (a.bus !== 0) throw unsupported('bus must be 0 for sata controller');
      if (a.target !== 0) throw unsupported('target must be 0 for sata controller');
      break;
  }
}

/** Storage formats QEMU cannot open directly (qemuDomainValidateStorageSource). */
const REJECTED_FORMATS: Record<string, string> = {
  cow: "'cow' storage format is not supported",
  dir: "'directory' storage format is not directly supported by QEMU, use 'dir' disk type instead",
  iso: "storage format 'iso' is not directly supported by QEMU, use 'raw' instead",
};

function storageFormat(holder: XmlElement): string | undefined {
  return (firstChild(holder, 'driver') ?? firstChild(holder, 'format'))?.attrs['type'];
}

/** qemuValidateDomainDeviceDefDisk and its frontend part. */
function validateDisk(disk: XmlElement): void {
  const target = firstChild(disk, 'target');
  const bus = target?.attrs['bus'] ?? '';
  const dst = target?.attrs['dev'] ?? '';
  if ((firstChild(disk, 'vendor') || firstChild(disk, 'product')) && bus !== 'scsi') {
    throw unsupported('Only scsi disk supports vendor and product');
  }
  const addrType = deviceAddressOf(disk)?.type;
  if (['scsi', 'ide', 'fdc', 'sata'].includes(bus) && addrType !== 'drive') throw internal(`unexpected address type for ${bus} disk`);
  if (bus === 'usb' && addrType !== undefined && addrType !== 'usb') throw internal('unexpected address type for usb disk');
  const format = storageFormat(disk);
  if (firstChild(disk, 'shareable') && !firstChild(disk, 'readonly') && format !== 'raw') {
    throw unsupported(`shared access for disk '${dst}' requires use of supported storage format`);
  }
  const driverName = firstChild(disk, 'driver')?.attrs['name'];
  if (driverName !== undefined && driverName !== 'qemu') throw unsupported(`unsupported driver name '${driverName}' for disk '${dst}'`);
  const name = /^(?:fd|hd|vd|sd|xvd|ubd)[a-z]+([0-9]*)$/.exec(dst);
  if (!name) throw unsupported(`invalid disk target '${dst}'`);
  if (name[1]) throw unsupported(`invalid disk target '${dst}', partitions can't appear in disk targets`);
  for (let s: XmlElement | undefined = disk; s; s = firstChild(s, 'backingStore')) validateStorageSource(s);
}

function validateStorageSource(holder: XmlElement): void {
  const format = storageFormat(holder);
  if (format && REJECTED_FORMATS[format]) throw unsupported(REJECTED_FORMATS[format]);
  const source = firstChild(holder, 'source');
  const encryption = firstChild(source ?? holder, 'encryption') ?? firstChild(holder, 'encryption');
  if (!encryption) return;
  const encFormat = encryption.attrs['format'];
  if (encFormat === 'qcow' && format === 'qcow2') throw unsupported('old qcow/qcow2 encryption is not supported');
  if ((encryption.attrs['engine'] ?? 'qemu') === 'qemu' && (encFormat === 'luks' || encFormat === 'qcow') && format !== 'qcow2' && format !== 'raw') {
    throw unsupported("encryption is supported only with 'raw' and 'qcow2' image format");
  }
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** qemuValidateDomainDeviceDefNetwork. */
function validateInterface(net: XmlElement): void {
  const type = net.attrs['type'] ?? '';
  const model = firstChild(net, 'model')?.attrs['type'] ?? '';
  const virtio = model.startsWith('virtio');
  if (type === 'user') validateUserNetGuestIPs(net);
  else if (net.children.some((c) => c.name === 'ip' || c.name === 'route')) {
    throw unsupported('Invalid attempt to set network interface guest-side IP route and/or address info, not supported by QEMU');
  }
  // QEMU 7.2 has the vhost-vdpa netdev, so only the model is checked
  if (type === 'vdpa' && model !== 'virtio') throw unsupported(`invalid model for interface of type '${type}': '${model}'`);
  if (virtio) {
    const driver = firstChild(net, 'driver');
    for (const attr of ['rx_queue_size', 'tx_queue_size']) {
      const value = driver?.attrs[attr];
      if (value !== undefined && Number(value) !== 0 && !isPowerOfTwo(Number(value))) throw unsupported(`${attr} has to be a power of two`);
    }
  }
  if (firstChild(net, 'mtu') && !['network', 'bridge', 'ethernet', 'vhostuser'].includes(type)) {
    throw unsupported(`setting MTU on interface type ${type} is not supported yet`);
  }
  const teaming = firstChild(net, 'teaming')?.attrs['type'];
  if (teaming === 'persistent' && !virtio) throw unsupported(`virtio-net teaming persistent interface must be <model type='virtio'/>, not '${model}'`);
  if (teaming === 'transient' && type !== 'hostdev' && type !== 'network') {
    throw unsupported(`virtio-net teaming transient interface must be type='hostdev', not '${type}'`);
  }
  if (firstChild(net, 'coalesce') && type !== 'network' && type !== 'bridge') {
    throw unsupported(`coalesce settings on interface type ${type} are not supported`);
  }
}

/** The guest-side addresses slirp can hand out: one IPv4 (prefix 4-27) and one IPv6 (/64), no routes or peers. */
function validateUserNetGuestIPs(net: XmlElement): void {
  if (net.children.some((c) => c.name === 'route')) throw unsupported('Invalid attempt to set network interface guest-side IP route, not supported by QEMU');
  const seen = new Set<string>();
  for (const ip of net.children.filter((c) => c.name === 'ip')) {
    if (ip.attrs['peer'] !== undefined) throw unsupported('Invalid attempt to set peer IP for guest');
    const v6 = (ip.attrs['address'] ?? '').includes(':');
    const prefix = Number(ip.attrs['prefix'] ?? 0);
    if (seen.has(v6 ? 'v6' : 'v4')) throw unsupported(`Only one IPv${v6 ? 6 : 4} address per interface is allowed`);
    seen.add(v6 ? 'v6' : 'v4');
    if (!v6 && prefix > 0 && (prefix < 4 || prefix > 27)) throw virError(ErrorCode.XML_ERROR, 'invalid prefix, must be in range of 4-27');
    if (v6 && prefix && prefix !== 64) throw unsupported(`unsupported IPv6 address prefix='${prefix}' - must be 64`);
  }
}

/** qemuValidateDomainDeviceDefHostdev (boot and display rules of the device kinds QEMU offers). */
function validateHostdev(hostdev: XmlElement, ctx: DeviceContext): void {
  if ((hostdev.attrs['mode'] ?? 'subsystem') === 'capabilities') {
    throw unsupported(`hostdev mode 'capabilities' is not supported in ${ctx.virtType}`);
  }
  const type = hostdev.attrs['type'];
  const boot = firstChild(hostdev, 'boot') !== undefined;
  if (type === 'scsi_host' && boot) throw unsupported('booting from assigned devices is not supported by vhost SCSI devices');
  if (type !== 'mdev') return;
  const model = hostdev.attrs['model'];
  if (model === 'vfio-pci') {
    if (boot) throw unsupported('booting from assigned devices is not supported by mediated devices of model vfio-pci');
    if (hostdev.attrs['display'] === 'on' && devicesNamed(ctx, 'graphics').length === 0) {
      throw unsupported("graphics device is needed for attribute value 'display=on' in <hostdev>");
    }
  } else if (hostdev.attrs['display'] !== undefined) {
    throw unsupported("<hostdev> attribute 'display' is only supported with model='vfio-pci'");
  }
}

/** qemuValidateDomainDeviceDefVideo. */
function validateVideo(video: XmlElement, _ctx: DeviceContext, v: DeviceValidationContext): void {
  const model = firstChild(video, 'model');
  const type = model?.attrs['type'] ?? '';
  if (type === 'none') return;
  if (!videoModels(v.caps).includes(type)) throw unsupported(`domain configuration does not support video model '${type}'`);
  if (type !== 'qxl' && type !== 'virtio') {
    if (model?.attrs['primary'] !== 'yes') throw unsupported(`video type '${type}' is only valid as primary video device`);
    if ((model.attrs['heads'] ?? '1') !== '1') throw unsupported(`video type '${type}' doesn't support multiple 'heads'`);
  }
  const accel = model && firstChild(model, 'acceleration');
  if (accel?.attrs['accel2d'] === 'yes') throw unsupported('qemu does not support the accel2d setting');
  if (type === 'qxl') {
    const vgamem = Number(model?.attrs['vgamem'] ?? 0);
    if (vgamem) {
      if (vgamem < 1024) throw unsupported("value for 'vgamem' must be at least 1 MiB (1024 KiB)");
      if (!isPowerOfTwo(vgamem)) throw unsupported("value for 'vgamem' must be power of two");
    }
  }
  if (!['vga', 'qxl', 'virtio', 'bochs'].includes(type) && model && firstChild(model, 'resolution')) {
    throw virError(ErrorCode.XML_ERROR, 'model resolution is not supported');
  }
  if ((type === 'vga' || type === 'vmvga') && model?.attrs['vram'] !== undefined) {
    const vram = Number(model.attrs['vram']);
    if (vram && vram < 1024) throw unsupported("value for 'vram' must be at least 1 MiB (1024 KiB)");
  }
  if (firstChild(video, 'driver')?.attrs['name'] !== 'vhostuser' && accel?.attrs['accel3d'] === 'yes' && type !== 'virtio') {
    throw unsupported("3d acceleration is supported only with 'virtio' video device");
  }
  if (type === 'ramfb' && deviceAddressOf(video)) throw unsupported("'address' is not supported for 'ramfb' video devices");
}

/** qemuValidateDomainChrDef: backend reconnect, and targets the machine has. */
function validateChr(chr: XmlElement, ctx: DeviceContext): void {
  for (const source of chr.children.filter((c) => c.name === 'source')) {
    const reconnect = firstChild(source, 'reconnect');
    if (reconnect?.attrs['enabled'] === 'yes' && Number(reconnect.attrs['timeout'] ?? 0) === 0) {
      throw virError(ErrorCode.INVALID_ARG, "chardev reconnect source timeout cannot be '0'");
    }
  }
  if (chr.name === 'parallel' && (isS390(ctx) || isPSeries(ctx))) throw unsupported('parallel ports are not supported');
  if (chr.name !== 'serial') return;
  const target = firstChild(chr, 'target');
  const targetType = target?.attrs['type'] ?? '';
  const targetModel = (target && firstChild(target, 'model')?.attrs['name']) ?? '';
  const compatible =
    !(targetType === 'system-serial' && targetModel === 'pl011' && !isArmVirt(ctx)) &&
    !(targetType === 'system-serial' && targetModel === '16550a' && !isRiscvVirt(ctx)) &&
    !(!isPSeries(ctx) && (targetType === 'spapr-vio-serial' || targetModel === 'spapr-vty')) &&
    !(!isS390(ctx) && (targetType === 'sclp-serial' || targetModel === 'sclpconsole' || targetModel === 'sclplmconsole'));
  if (!compatible) {
    throw unsupported(
      `Serial device with target type '${targetType}' and target model '${targetModel}' not compatible with guest architecture or machine type`,
    );
  }
}

const VIRTIO_SCSI_MODELS = ['virtio-scsi', 'virtio-transitional', 'virtio-non-transitional'];

const VIRTIO_SCSI: [string[], string] = [['virtio-scsi-pci', 'virtio-scsi-ccw', 'virtio-scsi-device'], 'virtio scsi controller'];

/** The QEMU devices behind each SCSI controller model, and libvirt's name for it (qemuValidateCheckSCSIControllerModel). */
const SCSI_MODELS: Record<string, [string[], string]> = {
  lsilogic: [['lsi53c895a'], 'the LSI 53C895A SCSI controller'],
  'virtio-scsi': VIRTIO_SCSI,
  'virtio-transitional': VIRTIO_SCSI,
  'virtio-non-transitional': VIRTIO_SCSI,
  lsisas1068: [['mptsas1068'], 'the LSI SAS1068 (MPT Fusion) controller'],
  lsisas1078: [['megasas'], 'the LSI SAS1078 (MegaRAID) controller'],
  vmpvscsi: [['pvscsi'], 'the pvscsi (VMware paravirtual SCSI) controller'],
};

/** qemuValidateDomainDeviceDefController: the SCSI model, tunables only virtio-scsi has, the built-in IDE, SATA's AHCI. */
function validateController(c: XmlElement, ctx: DeviceContext, v: DeviceValidationContext): void {
  const type = c.attrs['type'];
  if (type === 'scsi') {
    const model = c.attrs['model'] ?? '';
    if (model === 'auto' || model === 'buslogic') throw unsupported(`Unsupported controller model: ${model}`);
    const needed = SCSI_MODELS[model];
    if (needed && !has(v, ...needed[0])) throw unsupported(`This QEMU doesn't support ${needed[1]}`);
  }
  const driver = firstChild(c, 'driver');
  if (driver && !(type === 'scsi' && VIRTIO_SCSI_MODELS.includes(c.attrs['model'] ?? ''))) {
    for (const attr of ['queues', 'cmd_per_lun', 'max_sectors', 'ioeventfd']) {
      if (driver.attrs[attr] !== undefined && driver.attrs[attr] !== '0') throw unsupported(`'${attr}' is only supported by virtio-scsi controller`);
    }
    if (driver.attrs['iothread'] !== undefined) throw unsupported("'iothread' is only supported for virtio-scsi controller");
  }
  const first = c.attrs['index'] === '0';
  if (type === 'ide') {
    const builtin = isI440fx(ctx) || ['malta', 'sun4u', 'g3beige'].includes(ctx.machine);
    if (first && builtin) return;
    throw unsupported(builtin ? 'Only a single IDE controller is supported for this machine type' : 'IDE controllers are unsupported for this QEMU binary or machine type');
  }
  if (type === 'sata' && !(first && isQ35(ctx)) && !has(v, 'ich9-ahci')) throw unsupported('SATA is not supported with this QEMU binary');
}

/** The QEMU device behind each virtio input type. */
const VIRTIO_INPUTS: Record<string, string> = {
  mouse: 'virtio-mouse',
  tablet: 'virtio-tablet',
  keyboard: 'virtio-keyboard',
  passthrough: 'virtio-input-host',
};

/** qemuValidateDomainDeviceDefInput. */
function validateInput(input: XmlElement, ctx: DeviceContext, v: DeviceValidationContext): void {
  const bus = input.attrs['bus'];
  const type = input.attrs['type'] ?? '';
  if (bus === 'ps2' && !isX86(ctx) && !has(v, 'i8042')) throw unsupported('ps2 is not supported by this QEMU binary');
  if (bus === 'usb' && type === 'keyboard' && !has(v, 'usb-kbd')) throw unsupported('usb keyboard is not supported by this QEMU binary');
  if (bus !== 'virtio') return;
  const model = input.attrs['model'];
  if (model === 'virtio-transitional' || model === 'virtio-non-transitional') {
    throw unsupported(`virtio (non-)transitional models are not supported for input type=${type}`);
  }
  const base = type === 'evdev' ? 'input-linux' : VIRTIO_INPUTS[type];
  if (base && !has(v, base, `${base}-pci`, `${base}-device`)) throw unsupported(`${base} is not supported by this QEMU binary`);
}

/** qemuValidateDomainRNGDef: the backend object, then the model. */
function validateRng(rng: XmlElement, _ctx: DeviceContext, v: DeviceValidationContext): void {
  const backend = firstChild(rng, 'backend')?.attrs['model'] ?? '';
  if (!has(v, `rng-${backend}`)) throw unsupported(`this qemu doesn't support the rng-${backend} backend`);
  const model = rng.attrs['model'] ?? '';
  const transitional = has(v, 'virtio-rng-pci-transitional');
  const supported = { virtio: has(v, 'virtio-rng-pci', 'virtio-rng-device'), 'virtio-transitional': transitional, 'virtio-non-transitional': transitional }[model];
  if (!supported) throw unsupported(`domain configuration does not support rng model '${model}'`);
}

/** qemuValidateDomainRedirdevDef. */
function validateRedirdev(dev: XmlElement, _ctx: DeviceContext, v: DeviceValidationContext): void {
  const bus = dev.attrs['bus'] ?? 'usb';
  if (bus !== 'usb') throw unsupported(`Redirection bus ${bus} is not supported by QEMU`);
  if (!has(v, 'usb-redir')) throw unsupported('USB redirection is not supported by this version of QEMU');
}

/** qemuValidateDomainWatchdogDef: where each watchdog model can sit. */
function validateWatchdog(dev: XmlElement, ctx: DeviceContext): void {
  const model = dev.attrs['model'] ?? '';
  const addr = deviceAddressOf(dev);
  if (model === 'i6300esb' && addr && addr.type !== 'pci') throw unsupported(`${model} model of watchdog can go only on PCI bus`);
  if (model === 'ib700' && addr) throw unsupported(`${model} model of watchdog does not support configuring the address`);
  if (model === 'diag288') {
    if (addr) throw unsupported(`${model} model of watchdog is virtual and cannot go on any bus.`);
    if (!isS390(ctx)) throw unsupported(`${model} model of watchdog is allowed for s390 and s390x only`);
  }
}

/** QEMU devices behind the HDA codecs (qemuSoundCodecTypeToCaps). */
const SOUND_CODECS: Record<string, string> = { duplex: 'hda-duplex', micro: 'hda-micro', output: 'hda-output' };

/** qemuValidateDomainDeviceDefSound. */
function validateSound(sound: XmlElement, _ctx: DeviceContext, v: DeviceValidationContext): void {
  const model = sound.attrs['model'] ?? '';
  if (model === 'usb' && !has(v, 'usb-audio')) throw unsupported('usb-audio controller is not supported by this QEMU binary');
  if (model === 'ich9' && !has(v, 'ich9-intel-hda')) throw unsupported('The ich9-intel-hda audio controller is not supported in this QEMU binary');
  if (model === 'ich7') throw internal(`sound card model '${model}' is not supported by qemu`);
  if (model !== 'ich6' && model !== 'ich9') return;
  for (const codec of sound.children.filter((c) => c.name === 'codec')) {
    const device = SOUND_CODECS[codec.attrs['type'] ?? ''];
    if (!device || !has(v, device)) throw unsupported(`${device ?? codec.attrs['type']} not supported in this QEMU binary`);
  }
}

/** qemuValidateDomainDeviceDefMemballoon: only virtio balloons exist in QEMU. */
function validateMemballoon(balloon: XmlElement): void {
  const model = balloon.attrs['model'] ?? 'none';
  if (!['none', 'virtio', 'virtio-transitional', 'virtio-non-transitional'].includes(model)) {
    throw unsupported(`Memory balloon device type '${model}' is not supported by this version of qemu`);
  }
}

/** qemuValidateDomainDeviceDefFS: virtiofs without an external daemon socket. */
function validateFilesystem(fs: XmlElement, _ctx: DeviceContext, v: DeviceValidationContext): void {
  const driver = firstChild(fs, 'driver');
  if (driver?.attrs['type'] !== 'virtiofs') return;
  if (firstChild(fs, 'source')?.attrs['socket'] !== undefined) return;
  if (firstChild(fs, 'readonly')) throw unsupported('virtiofs does not yet support read-only mode');
  if (!v.privileged) throw unsupported('virtiofs is not yet supported in session mode');
}

/** qemuValidateDomainDeviceDefShmem: QEMU 7.2 has only ivshmem-plain and ivshmem-doorbell. */
function validateShmem(shmem: XmlElement, _ctx: DeviceContext, v: DeviceValidationContext): void {
  const model = firstChild(shmem, 'model')?.attrs['type'] ?? 'ivshmem';
  if (v.caps.deviceTypes.has(model)) return;
  if (model === 'ivshmem') throw unsupported('ivshmem device is not supported with this QEMU binary');
  throw unsupported(`shmem model '${model}' is not supported by this QEMU binary`);
}

/** qemuValidateDomainDeviceDefTPM. */
function validateTpm(tpm: XmlElement, ctx: DeviceContext, v: DeviceValidationContext): void {
  const tc = tpmCaps(v.caps);
  const backend = firstChild(tpm, 'backend');
  const type = backend?.attrs['type'] ?? '';
  const model = tpm.attrs['model'] ?? '';
  if (type === 'emulator') {
    const version = backend?.attrs['version'] ?? '';
    if (!tc.versions.includes(version)) throw unsupported(`TPM version '${version}' is not supported`);
    if (version === '1.2') {
      if (model === 'tpm-crb') throw unsupported(`Unsupported interface '${model}' for TPM 1.2`);
      if (model === 'tpm-spapr') throw unsupported('TPM 1.2 is not supported with the SPAPR device model');
      if (isArmVirt(ctx)) throw unsupported('TPM 1.2 is not supported on ARM');
    }
  }
  const emulator = firstChild(ctx.devices, 'emulator')?.text ?? '';
  if (!tc.backends.includes(type)) throw unsupported(`The QEMU executable ${emulator} does not support TPM backend type ${type}`);
  if (isPpc64Arch(ctx.arch) && model === 'spapr-tpm-proxy' && type !== 'passthrough') {
    throw unsupported(`TPM Proxy model ${model} requires 'Passthrough' backend`);
  }
  if (!tc.models.includes(model)) throw unsupported(`The QEMU executable ${emulator} does not support TPM model ${model}`);
}

/** QEMU device type behind each memory model, and libvirt's message when it is missing. */
const MEMORY_DEVICES: Record<string, [string, string]> = {
  dimm: ['pc-dimm', "memory hotplug isn't supported by this QEMU binary"],
  nvdimm: ['nvdimm', "nvdimm isn't supported by this QEMU binary"],
  'virtio-pmem': ['virtio-pmem-pci', "virtio-pmem isn't supported by this QEMU binary"],
  'virtio-mem': ['virtio-mem-pci', "virtio-mem isn't supported by this QEMU binary"],
};

/** qemuValidateDomainDeviceDefMemory. */
function validateMemory(mem: XmlElement, _ctx: DeviceContext, v: DeviceValidationContext): void {
  const model = mem.attrs['model'] ?? '';
  if (model === 'sgx-epc') {
    if (!v.caps.sgx) throw unsupported("sgx epc isn't supported by this QEMU binary");
    return;
  }
  const needed = MEMORY_DEVICES[model];
  if (needed && !v.caps.deviceTypes.has(needed[0])) throw unsupported(needed[1]);
}

/** qemuValidateDomainDeviceDefIOMMU. */
function validateIommu(iommu: XmlElement, ctx: DeviceContext, v: DeviceValidationContext): void {
  const model = iommu.attrs['model'] ?? '';
  const notWithBinary = () => unsupported(`IOMMU device: '${model}' is not supported with this QEMU binary`);
  switch (model) {
    case 'intel':
      if (!isQ35(ctx)) throw unsupported(`IOMMU device: '${model}' is only supported with Q35 machines`);
      if (!v.caps.deviceTypes.has('intel-iommu')) throw notWithBinary();
      break;
    case 'smmuv3':
      if (!isArmVirt(ctx)) throw unsupported(`IOMMU device: '${model}' is only supported with ARM Virt machines`);
      break;
    case 'virtio': {
      if (!isArmVirt(ctx) && !isQ35(ctx)) throw unsupported(`IOMMU device: '${model}' is only supported with Q35 and ARM Virt machines`);
      if (!v.caps.deviceTypes.has('virtio-iommu-pci')) throw notWithBinary();
      const acpi = firstChild(firstChild(ctx.domain, 'features') ?? ctx.devices, 'acpi');
      if (!acpi || acpi.attrs['state'] === 'off') throw unsupported(`IOMMU device: '${model}' requires ACPI`);
      const addr = deviceAddressOf(iommu);
      if (addr && addr.type !== 'pci') throw unsupported(`IOMMU device: '${model}' needs a PCI address`);
      break;
    }
  }
}

/** qemuValidateDomainDeviceDefGraphics with the SPICE part. */
function validateGraphics(graphics: XmlElement, ctx: DeviceContext, v: DeviceValidationContext): void {
  const type = graphics.attrs['type'] ?? '';
  if (!graphicsTypes(v.caps).includes(type)) throw unsupported(`${type} graphics are not supported with this QEMU`);
  const gl = firstChild(graphics, 'gl')?.attrs['enable'] === 'yes';
  if (devicesNamed(ctx, 'graphics').some((g) => g.attrs['type'] === 'egl-headless')) {
    if (!['egl-headless', 'vnc', 'spice'].includes(type)) {
      throw unsupported("graphics type 'egl-headless' is only supported with one of: 'vnc', 'spice' graphics types");
    }
    if (type === 'spice' && gl) throw unsupported('multiple OpenGL displays are not supported by QEMU');
  }
  if (type !== 'spice') return;
  const listen = firstChild(graphics, 'listen');
  const listenType = listen?.attrs['type'] ?? 'address';
  if ((listenType === 'address' || listenType === 'network') && Number(graphics.attrs['tlsPort'] ?? 0) > 0 && !v.spiceTLS) {
    throw unsupported('spice TLS port set in XML configuration, but TLS is disabled in qemu.conf');
  }
}

