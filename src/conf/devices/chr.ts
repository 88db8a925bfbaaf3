// Character devices: <serial>, <parallel>, <console>, <channel>. One schema
// serves all four (virDomainChrDefFormat); post-parse assigns target ports and
// types, and links the first console to the first serial port as libvirt does.

import { ErrorCode, virError } from '../../util/error.js';
import { cloneElement, element, type XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { UINT_MAX } from '../xml-props.js';
import { appendDevice, chardevChildren, devicesNamed, dropGeneratedAlias, ensureChild, firstChild, infoChildren, normalizeChardevSource, type DeviceContext } from './common.js';
import { isX86 } from '../machine-family.js';

export const CHR_KINDS = ['serial', 'parallel', 'console', 'channel'] as const;

export const chrSchema: ElementSchema = {
  attrs: ['type', 'tty'],
  children: {
    ...chardevChildren,
    target: { attrs: ['type', 'name', 'address', 'port', 'state'], children: { model: { attrs: ['name'] } } },
    ...infoChildren(),
  },
};

const MAX_ISA_SERIAL_PORTS = 4;

function targetOf(chr: XmlElement): XmlElement {
  return ensureChild(chr, 'target');
}

function portOf(chr: XmlElement): number {
  const p = firstChild(chr, 'target')?.attrs['port'];
  return p === undefined ? -1 : Number(p);
}

/** An explicit ISA serial port (this runs before the QEMU driver fills in default target types). */
function isIsaSerial(serial: XmlElement): boolean {
  return firstChild(serial, 'target')?.attrs['type'] === 'isa-serial';
}

/**
 * The ISA serial limits of virDomainChrIsaSerialDefPostParse: at most four
 * isa-serial devices, no port above 3, no port twice. Returns the ports in use.
 */
export function checkIsaSerialPorts(ctx: DeviceContext): Set<number> {
  const used = new Set<number>();
  devicesNamed(ctx, 'serial').filter(isIsaSerial).forEach((s, i) => {
    const port = portOf(s);
    if (i >= MAX_ISA_SERIAL_PORTS || port >= MAX_ISA_SERIAL_PORTS) {
      throw virError(ErrorCode.INTERNAL_ERROR, `Maximum supported number of ISA serial ports is '${MAX_ISA_SERIAL_PORTS}'`);
    }
    if (port !== -1) {
      if (used.has(port)) throw virError(ErrorCode.INTERNAL_ERROR, `target port '${port}' already allocated`);
      used.add(port);
    }
  });
  return used;
}

/** virDomainChrIsaSerialDefPostParse: checks and assigns ports of serials whose model is isa-serial. */
export function assignIsaSerialPorts(ctx: DeviceContext): void {
  const used = checkIsaSerialPorts(ctx);
  const serials = devicesNamed(ctx, 'serial').filter(isIsaSerial);
  for (const s of serials) {
    if (portOf(s) !== -1) continue;
    for (let j = 0; j < MAX_ISA_SERIAL_PORTS; j++) {
      if (!used.has(j)) {
        targetOf(s).attrs['port'] = String(j);
        used.add(j);
        break;
      }
    }
  }
}

/** virDomainChrDefParseTargetXML reads a serial/parallel/console port with virStrToLong_ui, which wraps negatives. */
function checkTargetPort(chr: XmlElement): void {
  const port = firstChild(chr, 'target')?.attrs['port'];
  if (port === undefined) return;
  const m = /^[ \t\n\r\f\v]*([+-]?)([0-9]+)$/.exec(port);
  if (!m || BigInt(m[2]!) > UINT_MAX) throw virError(ErrorCode.XML_ERROR, `Invalid port number: ${port}`);
}

/**
 * Ports as libvirt's parser sets them: the Nth console is port N whatever the
 * input says, a parallel port without one gets the next after the previous ones.
 */
export function parseChrPorts(ctx: DeviceContext): void {
  for (const kind of ['parallel', 'serial', 'console'] as const) devicesNamed(ctx, kind).forEach(checkTargetPort);
  devicesNamed(ctx, 'console').forEach((c, i) => {
    targetOf(c).attrs['port'] = String(i);
  });
  let maxport = -1;
  for (const p of devicesNamed(ctx, 'parallel')) {
    if (portOf(p) === -1) targetOf(p).attrs['port'] = String(maxport + 1);
    maxport = Math.max(maxport, portOf(p));
  }
  // Channel state is runtime information, not parsed for inactive definitions.
  for (const ch of devicesNamed(ctx, 'channel')) delete firstChild(ch, 'target')?.attrs['state'];
}

/** Generic post-parse (virDomainChrDefPostParse). */
export function postParseChr(chr: XmlElement, ctx: DeviceContext): void {
  dropGeneratedAlias(chr);
  if (chr.attrs['type'] === undefined) chr.attrs['type'] = 'pty';
  normalizeChardevSource(chr, chr.attrs['type']!);
  const target = targetOf(chr);
  if (chr.name === 'console' && target.attrs['type'] === undefined) target.attrs['type'] = 'serial';
  if (chr.name === 'serial' && target.attrs['type'] === 'isa-debug' && !isX86(ctx)) {
    throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'isa-debug serial type only valid on x86 architecture');
  }
  if (target.attrs['port'] === undefined && chr.name !== 'channel') {
    const max = Math.max(-1, ...devicesNamed(ctx, chr.name).map(portOf));
    target.attrs['port'] = String(max + 1);
  }
}

function sourceSignature(chr: XmlElement): string {
  const parts = chr.children.filter((c) => c.name === 'source' || c.name === 'protocol' || c.name === 'log');
  return JSON.stringify([chr.attrs['type'], parts.map((p) => [p.name, p.attrs])]);
}

/**
 * virDomainDefAddConsoleCompat: on HVM guests the first console of target
 * type serial is an alias of the first serial port (one is created from the
 * console when there is none), and a first serial port of a system/ISA kind
 * gets such a console. Returns the serial port that needs post-parse again.
 */
export function addConsoleCompat(ctx: DeviceContext): XmlElement | undefined {
  const consoles = devicesNamed(ctx, 'console');
  consoles.slice(1).forEach((c) => {
    if (firstChild(c, 'target')?.attrs['type'] === 'serial') {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'Only the first console can be a serial port');
    }
  });
  if (ctx.osType !== 'hvm') return undefined;
  const serials = devicesNamed(ctx, 'serial');
  const first = consoles[0];
  const firstType = first ? firstChild(first, 'target')?.attrs['type'] : undefined;
  if (first && (firstType === 'serial' || firstType === undefined)) {
    if (serials.length === 0) {
      const serial = cloneElement(first);
      serial.name = 'serial';
      serial.children = serial.children.filter((c) => c.name !== 'target');
      serial.children.push(element('target', { port: '0' }));
      const pos = ctx.devices.children.indexOf(first);
      ctx.devices.children.splice(pos, 1, consoleStub(serial));
      appendDevice(ctx, serial);
      return serial;
    }
    if (sourceSignature(serials[0]!) !== sourceSignature(first)) {
      ctx.devices.children.splice(ctx.devices.children.indexOf(first), 1, consoleStub(serials[0]!));
    }
    return undefined;
  }
  const serial = serials[0];
  if (serial) {
    const type = firstChild(serial, 'target')?.attrs['type'];
    if (type === undefined || ['isa-serial', 'spapr-vio-serial', 'system-serial', 'sclp-serial'].includes(type)) {
      const stub = consoleStub(serial);
      if (first) ctx.devices.children.splice(ctx.devices.children.indexOf(first), 0, stub);
      else appendDevice(ctx, stub);
    }
  }
  return undefined;
}

function consoleStub(serial: XmlElement): XmlElement {
  return element('console', { type: serial.attrs['type'] }, [element('target', { type: 'serial' })]);
}

/**
 * How libvirt formats consoles of an HVM guest: console N of target type
 * serial is printed as a copy of serial N (source, port, device info).
 */
export function mirrorSerialConsoles(ctx: DeviceContext): void {
  if (ctx.osType !== 'hvm') return;
  const serials = devicesNamed(ctx, 'serial');
  devicesNamed(ctx, 'console').forEach((console, n) => {
    const type = firstChild(console, 'target')?.attrs['type'];
    const serial = serials[n];
    if ((type !== 'serial' && type !== undefined) || !serial) return;
    const copy = cloneElement(serial);
    console.attrs = { ...copy.attrs };
    console.children = copy.children.map((c) => (c.name === 'target' ? element('target', { type: 'serial', port: c.attrs['port'] }) : c));
  });
}
