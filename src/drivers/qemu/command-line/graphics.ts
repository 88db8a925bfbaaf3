// Display and sound back ends: -audiodev, -vnc, -spice.
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import type { BuildContext } from './context.js';
import { props } from './context.js';

/** The id QEMU knows an <audio> backend by. */
export function audioId(audio: XmlElement): string {
  return `audio${audio.attrs.id ?? 1}`;
}

/** The audiodev a device uses: its own <audio id> reference, else the first backend. */
export function audioFor(ctx: BuildContext, device: XmlElement): string | undefined {
  const ref = child(device, 'audio')?.attrs.id;
  if (ref !== undefined) return `audio${ref}`;
  const first = ctx.view.deviceList('audio')[0];
  return first ? audioId(first) : undefined;
}

export function buildAudio(ctx: BuildContext): void {
  for (const audio of ctx.view.deviceList('audio')) {
    ctx.cmd.json('-audiodev', props(['id', audioId(audio)], ['driver', audio.attrs.type ?? 'none']));
  }
}

function listenOf(g: XmlElement): XmlElement | undefined {
  return child(g, 'listen');
}

function hostPart(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function vncOptions(ctx: BuildContext, g: XmlElement): string {
  const listen = listenOf(g);
  let out: string;
  if (listen?.attrs.type === 'socket') {
    const socket = listen.attrs.socket ?? `${ctx.runtime.libDir}/vnc.sock`;
    out = `vnc=unix:${escapeOptionValue(socket)}`;
  } else if (listen?.attrs.type === 'none') {
    out = 'none';
  } else {
    const port = Number(g.attrs.port ?? -1);
    const display = g.attrs.autoport === 'yes' || port < 5900 ? 0 : port - 5900;
    const address = listen?.attrs.address ?? g.attrs.listen ?? '127.0.0.1';
    out = `${hostPart(address)}:${display}`;
    if (g.attrs.websocket !== undefined) out += `,websocket=${g.attrs.websocket}`;
  }
  if (g.attrs.sharePolicy) out += `,share=${g.attrs.sharePolicy}`;
  if (g.attrs.passwd !== undefined) out += ',password=on';
  if (g.attrs.powerControl === 'yes') out += ',power-control=on';
  const audio = audioFor(ctx, g);
  if (audio) out += `,audiodev=${audio}`;
  return out;
}

function spiceOptions(ctx: BuildContext, g: XmlElement): string {
  const listen = listenOf(g);
  const parts: string[] = [];
  if (listen?.attrs.type === 'socket') {
    parts.push('unix', `addr=${escapeOptionValue(listen.attrs.socket ?? `${ctx.runtime.libDir}/spice.sock`)}`);
  } else {
    const port = Number(g.attrs.port ?? -1);
    const tlsPort = Number(g.attrs.tlsPort ?? -1);
    if (port > 0 || g.attrs.autoport === 'yes' || tlsPort <= 0) parts.push(`port=${port > 0 ? port : 0}`);
    if (tlsPort > 0) parts.push(`tls-port=${tlsPort}`);
    const address = listen?.attrs.address ?? g.attrs.listen;
    if (address) parts.push(`addr=${address}`);
  }
  if (g.attrs.passwd === undefined) parts.push('disable-ticketing=on');
  const image = child(g, 'image')?.attrs.compression;
  if (image) parts.push(`image-compression=${image}`);
  const gl = child(g, 'gl');
  if (gl?.attrs.enable === 'yes') {
    parts.push('gl=on');
    if (gl.attrs.rendernode) parts.push(`rendernode=${escapeOptionValue(gl.attrs.rendernode)}`);
  }
  parts.push('seamless-migration=on');
  return parts.join(',');
}

export function buildGraphics(ctx: BuildContext): void {
  for (const g of ctx.view.deviceList('graphics')) {
    if (g.attrs.type === 'vnc') ctx.cmd.add('-vnc', vncOptions(ctx, g));
    else if (g.attrs.type === 'spice') ctx.cmd.add('-spice', spiceOptions(ctx, g));
    else if (g.attrs.type === 'sdl') ctx.cmd.add('-display', 'sdl');
    else if (g.attrs.type === 'egl-headless') ctx.cmd.add('-display', 'egl-headless');
  }
}
