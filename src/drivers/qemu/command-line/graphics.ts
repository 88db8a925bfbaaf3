// Display and sound back ends: -audiodev, -vnc, -spice.
import type { XmlElement } from '../../../util/xml.js';
import { child } from '../../../util/xml.js';
import { escapeOptionValue } from '../../../util/qemu-option.js';
import type { BuildContext, JsonProps } from './context.js';
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

/** QEMU's audiodev driver names where they differ from libvirt's <audio type>. */
const AUDIO_DRIVERS: Record<string, string> = { pulseaudio: 'pa', file: 'wav' };

type Attr = [string, string, 'bool' | 'int' | 'str'];
/** Per-direction attributes: libvirt name, QEMU name, kind (qemuBuildAudioCommonProps and backend extras). */
const AUDIO_DIRECTION_ATTRS: Attr[] = [
  ['mixingEngine', 'mixing-engine', 'bool'], ['fixedSettings', 'fixed-settings', 'bool'], ['voices', 'voices', 'int'],
  ['bufferLength', 'buffer-length', 'int'],
];
const AUDIO_BACKEND_ATTRS: Record<string, Attr[]> = {
  alsa: [['dev', 'dev', 'str']],
  coreaudio: [['bufferCount', 'buffer-count', 'int']],
  jack: [['serverName', 'server-name', 'str'], ['clientName', 'client-name', 'str'], ['connectPorts', 'connect-ports', 'str'], ['exactName', 'exact-name', 'bool']],
  oss: [['dev', 'dev', 'str'], ['bufferCount', 'buffer-count', 'int'], ['tryPoll', 'try-poll', 'bool']],
  pulseaudio: [['name', 'name', 'str'], ['streamName', 'stream-name', 'str'], ['latency', 'latency', 'int']],
  sdl: [['bufferCount', 'buffer-count', 'int']],
};

function attrValue(v: string, kind: Attr[2]): string | number | boolean {
  if (kind === 'bool') return v === 'yes';
  return kind === 'int' ? Number(v) : v;
}

function audioDirection(type: string, el: XmlElement | undefined): JsonProps | undefined {
  if (!el) return undefined;
  const out: JsonProps = {};
  for (const [from, to, kind] of AUDIO_DIRECTION_ATTRS) if (el.attrs[from] !== undefined) out[to] = attrValue(el.attrs[from]!, kind);
  const settings = child(el, 'settings');
  if (settings) {
    if (settings.attrs.frequency !== undefined) out.frequency = Number(settings.attrs.frequency);
    if (settings.attrs.channels !== undefined) out.channels = Number(settings.attrs.channels);
    if (settings.attrs.format !== undefined) out.format = settings.attrs.format;
  }
  for (const [from, to, kind] of AUDIO_BACKEND_ATTRS[type] ?? []) if (el.attrs[from] !== undefined) out[to] = attrValue(el.attrs[from]!, kind);
  return Object.keys(out).length ? out : undefined;
}

export function buildAudio(ctx: BuildContext): void {
  for (const audio of ctx.view.deviceList('audio')) {
    const type = audio.attrs.type ?? 'none';
    const out = props(['id', audioId(audio)], ['driver', AUDIO_DRIVERS[type] ?? type],
      ['in', audioDirection(type, child(audio, 'input'))], ['out', audioDirection(type, child(audio, 'output'))]);
    if (audio.attrs.timerPeriod !== undefined) out['timer-period'] = Number(audio.attrs.timerPeriod);
    if (type === 'file' && audio.attrs.path !== undefined) out.path = audio.attrs.path;
    if ((type === 'pulseaudio' || type === 'jack') && audio.attrs.serverName !== undefined) out.server = audio.attrs.serverName;
    if (type === 'oss') {
      Object.assign(out, props(['try-mmap', audio.attrs.tryMMap !== undefined ? audio.attrs.tryMMap === 'yes' : undefined],
        ['exclusive', audio.attrs.exclusive !== undefined ? audio.attrs.exclusive === 'yes' : undefined],
        ['dsp-policy', audio.attrs.dspPolicy !== undefined ? Number(audio.attrs.dspPolicy) : undefined]));
    }
    if (type === 'sdl' && audio.attrs.driver !== undefined) ctx.cmd.setEnv('SDL_AUDIODRIVER', audio.attrs.driver);
    ctx.cmd.json('-audiodev', out);
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
    const display = port < 5900 ? 0 : port - 5900;
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
    if (port > 0 || tlsPort <= 0) parts.push(`port=${port > 0 ? port : 0}`);
    if (tlsPort > 0) parts.push(`tls-port=${tlsPort}`);
    // A listen of type address without one uses qemu.conf's spice_listen (127.0.0.1).
    const address = listen?.attrs.address ?? g.attrs.listen ?? (listen?.attrs.type === 'address' ? '127.0.0.1' : undefined);
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

function glOption(g: XmlElement): string {
  const gl = child(g, 'gl');
  if (gl?.attrs.enable === undefined) return '';
  let out = `,gl=${gl.attrs.enable === 'yes' ? 'on' : 'off'}`;
  if (gl.attrs.rendernode) out += `,rendernode=${escapeOptionValue(gl.attrs.rendernode)}`;
  return out;
}

function sdl(ctx: BuildContext, g: XmlElement): void {
  if (g.attrs.xauth) ctx.cmd.setEnv('XAUTHORITY', g.attrs.xauth);
  if (g.attrs.display) ctx.cmd.setEnv('DISPLAY', g.attrs.display);
  if (g.attrs.fullscreen === 'yes') ctx.cmd.add('-full-screen');
  const gl = child(g, 'gl')?.attrs.enable;
  ctx.cmd.add('-display', gl === undefined ? 'sdl' : `sdl,gl=${gl === 'yes' ? 'on' : 'off'}`);
}

/** D-Bus display: peer-to-peer, or on a bus (by default the domain's own socket in the state folder). */
function dbusOptions(ctx: BuildContext, g: XmlElement): string {
  let out = 'dbus';
  if (g.attrs.p2p === 'yes') out += ',p2p=on';
  else out += `,addr=${escapeOptionValue(g.attrs.address ?? `unix:path=${ctx.options.paths.stateDir}/dbus/${ctx.runtime.shortName}-dbus.sock`)}`;
  out += glOption(g);
  const audio = child(g, 'audio')?.attrs.id;
  if (audio !== undefined) out += `,audiodev=audio${audio}`;
  return out;
}

export function buildGraphics(ctx: BuildContext): void {
  for (const g of ctx.view.deviceList('graphics')) {
    if (g.attrs.type === 'vnc') ctx.cmd.add('-vnc', vncOptions(ctx, g));
    else if (g.attrs.type === 'spice') ctx.cmd.add('-spice', spiceOptions(ctx, g));
    else if (g.attrs.type === 'sdl') sdl(ctx, g);
    else if (g.attrs.type === 'dbus') ctx.cmd.add('-display', dbusOptions(ctx, g));
    else if (g.attrs.type === 'egl-headless') {
      const node = child(g, 'gl')?.attrs.rendernode;
      ctx.cmd.add('-display', node ? `egl-headless,rendernode=${escapeOptionValue(node)}` : 'egl-headless');
    }
  }
  const keymap = ctx.view.deviceList('graphics').find((g) => g.attrs.keymap !== undefined)?.attrs.keymap;
  if (keymap) ctx.cmd.add('-k', keymap);
}
