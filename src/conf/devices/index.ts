// The <devices> element: every device kind in libvirt's output order, the
// parse-time ordering rules, and the generic post-parse pipeline
// (virDomainDefPostParse's device parts) with hooks for the hypervisor driver.

import type { XmlElement } from '../../util/xml.js';
import { deviceAddressOf, setDeviceAddress } from '../device-address.js';
import type { ElementSchema, SchemaRef } from '../schema.js';
import { audioSchema } from './audio.js';
import { addConsoleCompat, assignIsaSerialPorts, checkIsaSerialPorts, chrSchema, mirrorSerialConsoles, parseChrPorts, postParseChr } from './chr.js';
import { deviceContext, devicesNamed, type DeviceContext } from './common.js';
import { addControllersUpTo, assignControllerIndexes, controllerSchema, maybeAddController, parseControllers, postParseController, rejectDuplicateControllers } from './controller.js';
import { diskSchema, insertDisk, parseDisk, postParseDisk } from './disk.js';
import { filesystemSchema, postParseFilesystem } from './filesystem.js';
import { finishGraphics, graphicsSchema, parseGraphics, postParseGraphics } from './graphics.js';
import { hostdevSchema, parseHostdev, postParseHostdev, addHostdevScsiControllers } from './hostdev.js';
import { hubSchema, parseHub, postParseHub } from './hub.js';
import { inputSchema, parseInput, postParseInput } from './input.js';
import { interfaceSchema, parseInterface, postParseInterface } from './interface.js';
import { iommuSchema } from './iommu.js';
import { leaseSchema } from './lease.js';
import { memballoonSchema, parseMemballoon, postParseMemballoon } from './memballoon.js';
import { memorySchema, postParseMemory } from './memory.js';
import { nvramSchema } from './nvram.js';
import { panicSchema, postParsePanic, rejectDuplicatePanics } from './panic.js';
import { postParseRedirdev, postParseRedirfilter, redirdevSchema, redirfilterSchema } from './redirdev.js';
import { parseRng, postParseRng, rngSchema } from './rng.js';
import { addSmartcardControllers, postParseSmartcard, smartcardSchema } from './smartcard.js';
import { parseSound, postParseSound, soundSchema } from './sound.js';
import { parseShmem, postParseShmem, shmemSchema } from './shmem.js';
import { parseTpm, postParseTpm, tpmSchema } from './tpm.js';
import { addImplicitVideo, finishVideos, parseVideos, postParseVideo, videoSchema } from './video.js';
import { postParseVsock, vsockSchema } from './vsock.js';
import { parseWatchdog, postParseWatchdog, watchdogSchema } from './watchdog.js';

export interface DeviceKind {
  /** Element name under <devices>. */
  readonly name: string;
  readonly schema: SchemaRef;
  /** Parse-time checks with libvirt's messages (virDomain*DefParseXML). */
  readonly parse?: (dev: XmlElement, ctx: DeviceContext) => void;
  /** Generic post-parse (virDomainDeviceDefPostParseCommon). */
  readonly postParse?: (dev: XmlElement, ctx: DeviceContext) => void;
}

/** Device kinds in the order virDomainDefFormat prints them. */
export const DEVICE_KINDS: readonly DeviceKind[] = [
  { name: 'disk', schema: diskSchema, parse: parseDisk, postParse: postParseDisk },
  { name: 'controller', schema: controllerSchema, postParse: postParseController },
  { name: 'lease', schema: leaseSchema },
  { name: 'filesystem', schema: filesystemSchema, postParse: postParseFilesystem },
  { name: 'interface', schema: interfaceSchema, parse: parseInterface, postParse: postParseInterface },
  { name: 'smartcard', schema: smartcardSchema, postParse: postParseSmartcard },
  { name: 'serial', schema: chrSchema, postParse: postParseChr },
  { name: 'parallel', schema: chrSchema, postParse: postParseChr },
  { name: 'console', schema: chrSchema, postParse: postParseChr },
  { name: 'channel', schema: chrSchema, postParse: postParseChr },
  { name: 'input', schema: inputSchema, parse: parseInput, postParse: postParseInput },
  { name: 'tpm', schema: tpmSchema, parse: parseTpm, postParse: postParseTpm },
  { name: 'graphics', schema: graphicsSchema, parse: parseGraphics, postParse: postParseGraphics },
  { name: 'sound', schema: soundSchema, parse: parseSound, postParse: postParseSound },
  { name: 'audio', schema: audioSchema },
  { name: 'video', schema: videoSchema, postParse: postParseVideo },
  { name: 'hostdev', schema: hostdevSchema, parse: parseHostdev, postParse: postParseHostdev },
  { name: 'redirdev', schema: redirdevSchema, postParse: postParseRedirdev },
  { name: 'redirfilter', schema: redirfilterSchema, postParse: postParseRedirfilter },
  { name: 'hub', schema: hubSchema, parse: parseHub, postParse: postParseHub },
  { name: 'watchdog', schema: watchdogSchema, parse: parseWatchdog, postParse: postParseWatchdog },
  { name: 'memballoon', schema: memballoonSchema, parse: parseMemballoon, postParse: postParseMemballoon },
  { name: 'rng', schema: rngSchema, parse: parseRng, postParse: postParseRng },
  { name: 'nvram', schema: nvramSchema },
  { name: 'panic', schema: panicSchema, postParse: postParsePanic },
  { name: 'shmem', schema: shmemSchema, parse: parseShmem, postParse: postParseShmem },
  { name: 'memory', schema: memorySchema, postParse: postParseMemory },
  { name: 'iommu', schema: iommuSchema },
  { name: 'vsock', schema: vsockSchema, postParse: postParseVsock },
];

const KIND_BY_NAME = new Map(DEVICE_KINDS.map((k) => [k.name, k]));

/** Schema of <devices>: the emulator path, then every device kind in output order. */
export const devicesSchema: ElementSchema = {
  children: {
    emulator: { text: true },
    ...Object.fromEntries(DEVICE_KINDS.map((k) => [k.name, k.schema])),
  },
};

/** What the hypervisor driver adds to the generic device post-parse (libvirt's xmlopt callbacks). */
export interface DeviceDriverHooks {
  /** Implicit devices of the machine (qemuDomainDefAddDefaultDevices); runs after controller indexes are assigned. */
  readonly addDefaultDevices?: (ctx: DeviceContext) => void;
  /** Per-device defaults (qemuDomainDeviceDefPostParse); runs before the generic post-parse of each device. */
  readonly postParseDevice?: (dev: XmlElement, ctx: DeviceContext) => void;
}

/**
 * Parse-time work on user input, after the strict schema check: value checks,
 * and the orders libvirt's parser builds (disks by bus and index, controllers
 * by type and index, the primary video first), the SCSI controllers SCSI host
 * devices name, and indexes for controllers written without one
 * (virDomainAssignControllerIndexes).
 */
export function parseDevices(domain: XmlElement): void {
  const ctx = deviceContext(domain);
  for (const dev of ctx.devices.children) {
    // libvirt keeps the parsed address, so it always prints it canonically (slot='0x1' → '0x01')
    const address = deviceAddressOf(dev);
    if (address !== undefined) setDeviceAddress(dev, address);
    KIND_BY_NAME.get(dev.name)?.parse?.(dev, ctx);
  }
  const disks = devicesNamed(ctx, 'disk');
  if (disks.length > 1) {
    const sorted: XmlElement[] = [];
    for (const d of disks) insertDisk(sorted, d);
    let i = 0;
    ctx.devices.children = ctx.devices.children.map((c) => (c.name === 'disk' ? sorted[i++]! : c));
  }
  parseControllers(ctx.devices);
  addHostdevScsiControllers(ctx);
  parseVideos(ctx);
  parseChrPorts(ctx);
  assignControllerIndexes(ctx.devices);
}

function postParseOne(dev: XmlElement, ctx: DeviceContext, hooks: DeviceDriverHooks): void {
  hooks.postParseDevice?.(dev, ctx);
  KIND_BY_NAME.get(dev.name)?.postParse?.(dev, ctx);
}

/** virDomainDeviceInfoIterate's order, which decides e.g. serial port numbering. */
const ITERATION_ORDER = [
  'disk', 'interface', 'sound', 'hostdev', 'video', 'controller', 'smartcard', 'serial', 'parallel', 'channel', 'console',
  'input', 'filesystem', 'watchdog', 'memballoon', 'rng', 'nvram', 'hub', 'shmem', 'tpm', 'memory', 'redirdev', 'iommu', 'vsock',
  'lease', 'graphics', 'audio', 'panic', 'redirfilter',
];

/**
 * Per-device post-parse (the device iteration of virDomainDefPostParse):
 * explicit ISA serial ports first, then every device gets the driver's
 * defaults followed by the generic ones. Controller indexes were assigned
 * by parseDevices, before the driver added its default devices.
 */
export function postParseDevices(domain: XmlElement, hooks: DeviceDriverHooks = {}): void {
  const ctx = deviceContext(domain);
  assignIsaSerialPorts(ctx);
  for (const name of ITERATION_ORDER) for (const dev of devicesNamed(ctx, name)) postParseOne(dev, ctx, hooks);
  // Serials the driver has just made isa-serial meet the limits above only when the
  // written config is parsed again; libvirt 9.0 defines such a domain and loses it
  // at the next daemon start, tsvirt refuses it now with the message of that reload.
  checkIsaSerialPorts(ctx);
}

/**
 * The device part of virDomainDefPostParseCommon: duplicate checks, then the
 * implicit devices every libvirt driver gets (console/serial linking,
 * controllers for drive addresses, virtio-serial, CCID, a video for
 * graphics) and the post-parse of what was added.
 */
export function addImplicitDevices(domain: XmlElement, hooks: DeviceDriverHooks = {}): void {
  const ctx = deviceContext(domain);
  rejectDuplicateControllers(ctx.devices);
  rejectDuplicatePanics(ctx);
  const newSerial = addConsoleCompat(ctx);
  addImplicitControllers(ctx);
  const implicitVideo = addImplicitVideo(ctx);
  if (implicitVideo) postParseOne(implicitVideo, ctx, hooks);
  const primary = finishVideos(ctx);
  if (primary && !implicitVideo) postParseOne(primary, ctx, hooks);
  const firstSerial = newSerial ?? devicesNamed(ctx, 'serial')[0];
  if (firstSerial) postParseOne(firstSerial, ctx, hooks);
  for (const c of devicesNamed(ctx, 'controller')) {
    if (c.attrs['type'] === 'scsi' && c.attrs['model'] === undefined) postParseOne(c, ctx, hooks);
  }
  finishGraphics(ctx);
  mirrorSerialConsoles(ctx);
}

const INT_MAX = 0x7fffffff;

/** virDomainDefAddImplicitControllers. */
function addImplicitControllers(ctx: DeviceContext): void {
  for (const [type, bus] of [['scsi', 'scsi'], ['fdc', 'fdc'], ['ide', 'ide'], ['sata', 'sata']] as const) {
    let max = -1;
    for (const disk of devicesNamed(ctx, 'disk')) {
      if (disk.children.find((c) => c.name === 'target')?.attrs['bus'] !== bus) continue;
      const addr = disk.children.find((c) => c.name === 'address');
      if (addr?.attrs['type'] !== 'drive') continue;
      // libvirt compares the unsigned index as an int: one past INT_MAX adds nothing.
      const controller = Number(addr.attrs['controller'] ?? 0);
      if (controller <= INT_MAX) max = Math.max(max, controller);
    }
    addControllersUpTo(ctx.devices, type, max);
  }
  for (const name of ['channel', 'console']) {
    for (const chr of devicesNamed(ctx, name)) {
      if (chr.children.find((c) => c.name === 'target')?.attrs['type'] !== 'virtio') continue;
      const addr = chr.children.find((c) => c.name === 'address');
      const idx = addr?.attrs['type'] === 'virtio-serial' ? Number(addr.attrs['controller'] ?? 0) : 0;
      maybeAddController(ctx.devices, 'virtio-serial', idx);
    }
  }
  addSmartcardControllers(ctx);
}

export { deviceContext, type DeviceContext } from './common.js';
export { insertController, appendController, maybeAddController, addUsbController, findController } from './controller.js';
export { mirrorSerialConsoles } from './chr.js';
