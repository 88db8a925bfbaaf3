// Character devices: the -chardev backend of serials, parallels, channels
// and consoles, and their -device front ends.
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import type { BuildContext, JsonProps } from './context.js';
import { props } from './context.js';
import { addAddressProps } from './address.js';
import { deviceAddressOf } from '../../../conf/device-address.js';

/** The -chardev option string for the source of `chr` (qemuBuildChardevStr). */
export function chardevString(ctx: BuildContext, chr: XmlElement, id: string): string {
  const type = chr.attrs.type ?? 'pty';
  const sources = chr.children.filter((c) => c.name === 'source');
  const source = sources[0];
  const path = (p: string | undefined) => escapeOptionValue(p ?? '');
  let out: string;
  switch (type) {
    case 'null': case 'vc': case 'pty': case 'stdio':
      out = `${type},id=${id}`;
      break;
    case 'dev':
      out = `${id.startsWith('charparallel') ? 'parallel' : 'serial'},id=${id},path=${path(source?.attrs.path)}`;
      break;
    case 'file':
      out = `file,id=${id},path=${path(source?.attrs.path)}`;
      if (source?.attrs.append) out += `,append=${source.attrs.append}`;
      break;
    case 'pipe':
      out = `pipe,id=${id},path=${path(source?.attrs.path)}`;
      break;
    case 'udp': {
      const connect = sources.find((s) => s.attrs.mode === 'connect') ?? {} as Partial<XmlElement>;
      const bind = sources.find((s) => s.attrs.mode === 'bind');
      const ca = connect.attrs ?? {};
      out = `udp,id=${id},host=${ca.host ?? ''},port=${ca.service ?? ''},localaddr=${bind?.attrs.host ?? ''},localport=${bind?.attrs.service ?? '0'}`;
      break;
    }
    case 'tcp': {
      out = `socket,id=${id},host=${source?.attrs.host ?? ''},port=${source?.attrs.service ?? ''}`;
      if (child(chr, 'protocol')?.attrs.type === 'telnet') out += ',telnet=on';
      if (source?.attrs.mode === 'bind') out += ',server=on,wait=off';
      out += reconnect(source);
      break;
    }
    case 'unix': {
      let socketPath = source?.attrs.path;
      // A virtio channel without a path gets one in the channel folder, and QEMU listens on it.
      const generated = socketPath === undefined && chr.name === 'channel' && child(chr, 'target')?.attrs.type === 'virtio';
      if (generated) {
        const target = child(chr, 'target');
        const addr = deviceAddressOf(chr);
        const port = addr?.type === 'virtio-serial' ? addr : { controller: 0, bus: 0, port: 0 };
        const two = (n: number) => String(n).padStart(2, '0');
        socketPath = `${ctx.runtime.channelTargetDir}/${target?.attrs.name ?? `vioser-${two(port.controller)}-${two(port.bus)}-${two(port.port)}.sock`}`;
      }
      out = `socket,id=${id},path=${path(socketPath)}`;
      if (source?.attrs.mode === 'bind' || generated) out += ',server=on,wait=off';
      out += reconnect(source);
      break;
    }
    case 'spicevmc':
      out = `spicevmc,id=${id},name=${chr.name === 'redirdev' ? 'usbredir' : chr.name === 'smartcard' ? 'smartcard' : 'vdagent'}`;
      break;
    case 'spiceport':
      out = `spiceport,id=${id},name=${source?.attrs.channel ?? ''}`;
      break;
    case 'qemu-vdagent': {
      out = `qemu-vdagent,id=${id},name=vdagent`;
      const clipboard = source ? child(source, 'clipboard')?.attrs.copypaste : undefined;
      if (clipboard) out += `,clipboard=${clipboard === 'yes' ? 'on' : 'off'}`;
      const mouse = source ? child(source, 'mouse')?.attrs.mode : undefined;
      if (mouse === 'client') out += ',mouse=on';
      else if (mouse === 'server') out += ',mouse=off';
      break;
    }
    case 'dbus':
      // USB redirection over D-Bus has a well-known channel name (libvirt fills it in post-parse).
      out = `dbus,id=${id},name=${source?.attrs.channel ?? (chr.name === 'redirdev' ? 'org.qemu.usbredir' : '')}`;
      break;
    default:
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported chardev '${type}'`, ErrorDomain.QEMU);
  }
  const log = child(chr, 'log');
  if (log?.attrs.file) {
    out += `,logfile=${path(log.attrs.file)}`;
    if (log.attrs.append) out += `,logappend=${log.attrs.append}`;
  }
  return out;
}

function reconnect(source: XmlElement | undefined): string {
  const r = source ? child(source, 'reconnect') : undefined;
  if (!r) return '';
  return r.attrs.enabled === 'yes' ? `,reconnect=${r.attrs.timeout ?? 0}` : ',reconnect=0';
}

export function addChardev(ctx: BuildContext, chr: XmlElement, id: string): void {
  ctx.cmd.add('-chardev', chardevString(ctx, chr, id));
}

function virtioSerialPortProps(ctx: BuildContext, chr: XmlElement): JsonProps {
  const alias = ctx.view.alias(chr);
  const out = props(['driver', chr.name === 'console' ? 'virtconsole' : 'virtserialport']);
  addAddressProps(ctx.view, chr, out);
  const targetName = child(chr, 'target')?.attrs.name;
  let name: string | undefined;
  if (chr.name === 'channel' && (chr.attrs.type === 'spicevmc' || targetName)) name = targetName ?? 'com.redhat.spice.0';
  return { ...out, ...props(['chardev', `char${alias}`], ['id', alias], ['name', name]) };
}

/** Serial ports that are part of the machine (pl011, 16550a) are wired with -serial. */
function isPlatformSerial(ctx: BuildContext, serial: XmlElement): boolean {
  const model = child(child(serial, 'target') ?? serial, 'model')?.attrs.name;
  if (model === 'pl011' || model === '16550a') return true;
  return ctx.view.family === 'virt' && child(serial, 'target')?.attrs.type === 'system-serial';
}

export function buildSerials(ctx: BuildContext): void {
  const hasSpice = ctx.view.deviceList('graphics').some((g) => g.attrs.type === 'spice');
  for (const serial of ctx.view.deviceList('serial')) {
    if (serial.attrs.type === 'spiceport' && !hasSpice) continue;
    const alias = ctx.view.alias(serial);
    addChardev(ctx, serial, `char${alias}`);
    if (isPlatformSerial(ctx, serial)) {
      ctx.cmd.add('-serial', `chardev:char${alias}`);
      continue;
    }
    const target = child(serial, 'target');
    const model = child(target ?? serial, 'model')?.attrs.name ?? 'isa-serial';
    const out = props(['driver', model], ['chardev', `char${alias}`], ['id', alias]);
    if (model === 'isa-serial' && target?.attrs.port !== undefined) out.index = Number(target.attrs.port);
    addAddressProps(ctx.view, serial, out);
    ctx.cmd.json('-device', out);
  }
}

export function buildParallels(ctx: BuildContext): void {
  for (const parallel of ctx.view.deviceList('parallel')) {
    const alias = ctx.view.alias(parallel);
    addChardev(ctx, parallel, `char${alias}`);
    ctx.cmd.json('-device', props(['driver', 'isa-parallel'], ['chardev', `char${alias}`], ['id', alias]));
  }
}

export function buildChannels(ctx: BuildContext): void {
  for (const channel of ctx.view.deviceList('channel')) {
    const alias = ctx.view.alias(channel);
    addChardev(ctx, channel, `char${alias}`);
    const target = child(channel, 'target');
    if (target?.attrs.type === 'guestfwd') {
      ctx.cmd.json('-netdev', props(['type', 'user'],
        ['guestfwd', [{ str: `tcp:${target.attrs.address ?? ''}:${Number(target.attrs.port ?? 0)}-chardev:char${alias}` }]], ['id', alias]));
    } else if (target?.attrs.type === 'virtio') {
      ctx.cmd.json('-device', virtioSerialPortProps(ctx, channel));
    }
  }
}

export function buildConsoles(ctx: BuildContext): void {
  for (const console of ctx.view.deviceList('console')) {
    const type = child(console, 'target')?.attrs.type ?? 'serial';
    if (type === 'serial') continue;
    const alias = ctx.view.alias(console);
    addChardev(ctx, console, `char${alias}`);
    if (type === 'virtio') ctx.cmd.json('-device', virtioSerialPortProps(ctx, console));
    else if (type === 'sclp' || type === 'sclplm') {
      ctx.cmd.json('-device', props(['driver', type === 'sclp' ? 'sclpconsole' : 'sclplmconsole'], ['chardev', `char${alias}`], ['id', alias]));
    } else {
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported console target type ${type}`, ErrorDomain.QEMU);
    }
  }
}
