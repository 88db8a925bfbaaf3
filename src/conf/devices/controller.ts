// <controller>: schema in virDomainControllerDefFormat's order, libvirt's two
// ways of adding controllers (sorted insertion at parse time, appending for
// implicit ones) and index assignment.

import { ErrorCode, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';

import type { ElementSchema } from '../schema.js';
import { parseMemoryKiB } from '../units.js';
import { propEnum, propInt } from '../xml-props.js';
import { dropGeneratedAlias, infoChildren } from './common.js';

const CONTROLLER_TYPES = ['ide', 'fdc', 'scsi', 'sata', 'virtio-serial', 'ccid', 'usb', 'pci', 'xenbus', 'isa'] as const;

export const controllerSchema: ElementSchema = {
  attrs: ['type', 'index', 'model', 'ports', 'vectors', 'maxGrantFrames', 'maxEventChannels'],
  children: {
    model: { attrs: ['name'] },
    target: { attrs: ['chassisNr', 'chassis', 'port', 'busNr', 'hotplug', 'index', 'memReserve'], children: { node: { text: true } } },
    driver: { attrs: ['queues', 'cmd_per_lun', 'max_sectors', 'ioeventfd', 'iothread', 'iommu', 'ats', 'packed', 'page_per_vq'] },
    ...infoChildren({ master: true }),
    pcihole64: { attrs: ['unit'], text: true },
  },
};

const USB2_MODELS = ['ich9-ehci1', 'ich9-uhci1', 'ich9-uhci2', 'ich9-uhci3'];

function indexOf(c: XmlElement): number {
  const v = c.attrs['index'];
  return v === undefined ? -1 : Number(v);
}

function hasMaster(c: XmlElement): boolean {
  return c.children.some((x) => x.name === 'master');
}

function controllers(devices: XmlElement): XmlElement[] {
  return devices.children.filter((c) => c.name === 'controller');
}

/** Position in `devices.children` to put a controller at `ctrlPos` (an index among controllers). */
function childPosition(devices: XmlElement, ctrlPos: number): number {
  const list = controllers(devices);
  if (ctrlPos < list.length) return devices.children.indexOf(list[ctrlPos]!);
  const last = list[list.length - 1];
  return last === undefined ? devices.children.length : devices.children.indexOf(last) + 1;
}

/**
 * Inserts like virDomainControllerInsertPreAlloced (parse time and hotplug):
 * before the first controller of the same type with a higher index (or a
 * companion of the same index when `controller` is a master), else after the
 * last controller of its type, else at the end.
 */
export function insertController(devices: XmlElement, controller: XmlElement): void {
  const list = controllers(devices);
  const type = controller.attrs['type'];
  const idx = indexOf(controller);
  let insertAt = -1;
  for (let i = list.length - 1; i >= 0; i--) {
    const current = list[i]!;
    if (current.attrs['type'] !== type) continue;
    if (idx === -1) {
      insertAt = i + 1;
      break;
    }
    const cur = indexOf(current);
    if (cur > idx) insertAt = i;
    else if (!hasMaster(controller) && hasMaster(current) && cur === idx) insertAt = i;
    else if (insertAt === -1) insertAt = i + 1;
  }
  devices.children.splice(childPosition(devices, insertAt < 0 ? list.length : insertAt), 0, controller);
}

/** The lowest index not used by a controller of `type` (virDomainControllerFindUnusedIndex). */
export function unusedControllerIndex(devices: XmlElement, type: string): number {
  const used = new Set(controllers(devices).filter((c) => c.attrs['type'] === type).map(indexOf));
  let idx = 0;
  while (used.has(idx)) idx++;
  return idx;
}

export function findController(devices: XmlElement, type: string, idx: number): XmlElement | undefined {
  return controllers(devices).find((c) => c.attrs['type'] === type && indexOf(c) === idx);
}

/**
 * Appends an implicit controller after all others (virDomainDefAddController):
 * libvirt adds implicit and auto-added controllers at the end of the list.
 * A negative `idx` picks the lowest unused index.
 */
export function appendController(devices: XmlElement, type: string, idx: number, model?: string): XmlElement {
  return appendControllers(devices, type, [idx < 0 ? unusedControllerIndex(devices, type) : idx], model)[0]!;
}

/** appendController for many indexes in one splice, so thousands of implicit ones stay linear. */
export function appendControllers(devices: XmlElement, type: string, indexes: number[], model?: string): XmlElement[] {
  const added = indexes.map((index) => element('controller', { type, index: String(index), model }));
  devices.children.splice(childPosition(devices, controllers(devices).length), 0, ...added);
  return added;
}

/** virDomainDefMaybeAddController: adds unless a controller of that type and index exists. */
export function maybeAddController(devices: XmlElement, type: string, idx: number, model?: string): void {
  if (idx >= 0 && findController(devices, type, idx)) return;
  appendController(devices, type, idx, model);
}

/**
 * Implicit controllers past index 0 are PCI devices, and a PCI topology has at
 * most 256 buses of 32 slots: more can never be placed. libvirt has no limit and
 * allocates every controller up to the index (running out of memory near INT_MAX).
 */
const MAX_IMPLICIT_CONTROLLER = 256 * 32 - 1;

/**
 * Every controller of `type` from index 0 to `max` that is missing (the implicit
 * controllers a drive address implies), in one pass. libvirt loops up to the
 * index and runs out of memory long before INT_MAX, so indexes past what any
 * bus can address are refused.
 */
export function addControllersUpTo(devices: XmlElement, type: string, max: number, model?: string): void {
  if (max > MAX_IMPLICIT_CONTROLLER) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, `drive address controller '${max}' exceeds the maximum of ${MAX_IMPLICIT_CONTROLLER}`);
  }
  // One lookup of the existing indexes, not one per added controller.
  const present = new Set(controllers(devices).filter((c) => c.attrs['type'] === type).map(indexOf));
  const missing: number[] = [];
  for (let i = 0; i <= max; i++) if (!present.has(i)) missing.push(i);
  appendControllers(devices, type, missing, model);
}

/** Adds a USB controller; an ich9-ehci1 master brings its three UHCI companions. */
export function addUsbController(devices: XmlElement, idx: number, model: string | undefined): void {
  const master = appendController(devices, 'usb', idx, model);
  if (model !== 'ich9-ehci1') return;
  const index = indexOf(master);
  [0, 2, 4].forEach((startport, i) => {
    const companion = appendController(devices, 'usb', index, `ich9-uhci${i + 1}`);
    companion.children.push(element('master', { startport: String(startport) }));
  });
}

/**
 * Parses the <controller> children of <devices>, putting them in libvirt's
 * order and applying its USB consistency rules (virDomainDefControllersParse).
 */
export function parseControllers(devices: XmlElement): void {
  const parsed = controllers(devices);
  devices.children = devices.children.filter((c) => c.name !== 'controller');
  let usbNone = false;
  let usbOther = false;
  let usbMaster = false;
  for (const c of parsed) {
    const type = propEnum(c, 'type', CONTROLLER_TYPES) ?? 'ide';
    c.attrs['type'] = type;
    // virXMLPropInt(..., VIR_XML_PROP_NONNEGATIVE): values past INT_MAX are refused before anything is sized by them
    propInt(c, 'index', { nonnegative: true });
    propInt(c, 'ports', { nonnegative: true });
    if (type === 'virtio-serial') propInt(c, 'vectors', { nonnegative: true });
    if (type === 'usb') {
      // UHCI companions written without <master> get their usual start port.
      const startport = { 'ich9-uhci1': '0', 'ich9-uhci2': '2', 'ich9-uhci3': '4' }[c.attrs['model'] ?? ''];
      if (startport !== undefined && !hasMaster(c)) c.children.push(element('master', { startport }));
      if (c.attrs['model'] === 'none') {
        if (usbOther || usbNone) throw virError(ErrorCode.XML_DETAIL, "Can't add another USB controller: USB is disabled for this domain");
        usbNone = true;
      } else {
        if (usbNone) throw virError(ErrorCode.XML_DETAIL, "Can't add another USB controller: USB is disabled for this domain");
        usbOther = true;
      }
      if (!hasMaster(c)) usbMaster = true;
    }
    insertController(devices, c);
  }
  if (usbOther && !usbMaster) throw virError(ErrorCode.XML_DETAIL, 'No master USB controller specified');
}

/** virDomainAssignControllerIndexes: gives every index-less controller one, keeping USB2 companion groups together. */
export function assignControllerIndexes(devices: XmlElement): void {
  const list = controllers(devices);
  list.forEach((cont, outer) => {
    if (cont.attrs['index'] !== undefined) return;
    let prev: XmlElement | undefined;
    if (outer > 0 && cont.attrs['type'] === 'usb' && USB2_MODELS.includes(cont.attrs['model'] ?? '')) {
      prev = list.slice(0, outer).reverse().find((c) => c.attrs['type'] === 'usb');
      if (prev && !USB2_MODELS.includes(prev.attrs['model'] ?? '')) prev = undefined;
      if (prev && list.some((c) => c.attrs['type'] === 'usb' && c.attrs['index'] === prev!.attrs['index'] && c.attrs['model'] === cont.attrs['model'])) {
        prev = undefined;
      }
    }
    cont.attrs['index'] = prev ? prev.attrs['index']! : String(unusedControllerIndex(devices, cont.attrs['type']!));
  });
}

/** virDomainDefRejectDuplicateControllers (USB may repeat an index: companions). */
export function rejectDuplicateControllers(devices: XmlElement): void {
  const seen = new Set<string>();
  for (const c of controllers(devices)) {
    if (c.attrs['type'] === 'usb') continue;
    const key = `${c.attrs['type']}/${indexOf(c)}`;
    if (seen.has(key)) throw virError(ErrorCode.XML_ERROR, `Multiple '${c.attrs['type']}' controllers with index '${indexOf(c)}'`);
    seen.add(key);
  }
}

/** Generic post-parse (virDomainControllerDefPostParse). */
export function postParseController(c: XmlElement): void {
  dropGeneratedAlias(c);
  const hole = c.children.find((x) => x.name === 'pcihole64');
  if (hole) {
    hole.text = String(parseMemoryKiB(hole.text.trim(), hole.attrs['unit'], './pcihole64'));
    hole.attrs = { unit: 'KiB' };
  }
  const driver = c.children.find((x) => x.name === 'driver');
  if (driver?.attrs['iothread'] !== undefined && !['virtio-scsi', 'virtio-transitional', 'virtio-non-transitional'].includes(c.attrs['model'] ?? '')) {
    throw virError(ErrorCode.XML_ERROR, "'iothread' attribute only supported for virtio scsi controllers");
  }
}
