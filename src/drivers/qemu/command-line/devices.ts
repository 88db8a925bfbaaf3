// The remaining front ends: inputs, video, sound, watchdog, memory balloon,
// RNG, USB hubs and redirection.
import type { XmlElement } from '../../../util/xml.js';
import { child, childrenNamed } from '../../../util/xml.js';
import { virError, ErrorCode, ErrorDomain } from '../../../util/error.js';
import type { BuildContext, JsonProps } from './context.js';
import { props } from './context.js';
import { addAddressProps, addVirtioOptions, virtioModel } from './address.js';
import { audioFor } from './graphics.js';
import { addChardev } from './chardev.js';
import { hasDeviceType } from '../capabilities.js';
import { deviceAddressOf } from '../../../conf/device-address.js';

export function buildInputs(ctx: BuildContext): void {
  for (const input of ctx.view.deviceList('input')) {
    const bus = input.attrs.bus ?? 'ps2';
    const type = input.attrs.type ?? 'mouse';
    const id = ctx.view.alias(input);
    let out: JsonProps;
    if (type === 'evdev') {
      // Host input passthrough is a backend object, not a guest device.
      const source = child(input, 'source');
      ctx.cmd.json('-object', props(['qom-type', 'input-linux'], ['id', id], ['evdev', source?.attrs.dev ?? ''],
        ['grab_all', source?.attrs.grab === 'all' ? true : undefined], ['grab-toggle', source?.attrs.grabToggle],
        ['repeat', source?.attrs.repeat === 'on' ? true : source?.attrs.repeat === 'off' ? false : undefined]));
      continue;
    }
    if (bus === 'usb') {
      out = props(['driver', { mouse: 'usb-mouse', tablet: 'usb-tablet', keyboard: 'usb-kbd' }[type] ?? type], ['id', id]);
    } else if (bus === 'virtio') {
      const base = { mouse: 'virtio-mouse', tablet: 'virtio-tablet', keyboard: 'virtio-keyboard', passthrough: 'virtio-input-host' }[type] ?? type;
      out = props(['driver', virtioModel(input, base, input.attrs.model)]);
      addVirtioOptions(input, out);
      out.id = id;
      if (type === 'passthrough') out.evdev = child(input, 'source')?.attrs.evdev ?? '';
    } else {
      continue;
    }
    addAddressProps(ctx.view, input, out);
    ctx.cmd.json('-device', out);
  }
}

function videoDriver(ctx: BuildContext, video: XmlElement, primary: boolean): string | undefined {
  const model = child(video, 'model');
  switch (model?.attrs.type) {
    case 'vga': return 'VGA';
    case 'cirrus': return 'cirrus-vga';
    case 'vmvga': return 'vmware-svga';
    case 'qxl': return primary ? 'qxl-vga' : 'qxl';
    case 'bochs': return 'bochs-display';
    case 'ramfb': return 'ramfb';
    case 'virtio': {
      const accel = child(model, 'acceleration');
      const gl = accel?.attrs.accel3d === 'yes';
      if (primary && hasDeviceType(ctx.options.caps, gl ? 'virtio-vga-gl' : 'virtio-vga')) return gl ? 'virtio-vga-gl' : 'virtio-vga';
      return virtioModel(video, gl ? 'virtio-gpu-gl' : 'virtio-gpu', undefined);
    }
    case 'none': return undefined;
    default:
      throw virError(ErrorCode.CONFIG_UNSUPPORTED, `video type ${model?.attrs.type} is not supported with QEMU`, ErrorDomain.QEMU);
  }
}

export function buildVideos(ctx: BuildContext): void {
  ctx.view.deviceList('video').forEach((video, i) => {
    const model = child(video, 'model');
    const driver = videoDriver(ctx, video, i === 0);
    if (!driver) return;
    const out = props(['driver', driver]);
    if (model?.attrs.type === 'virtio') addVirtioOptions(video, out);
    out.id = ctx.view.alias(video);
    const kib = (k: string) => (model?.attrs[k] !== undefined ? Number(model.attrs[k]) : undefined);
    switch (model?.attrs.type) {
      case 'qxl':
        Object.assign(out, props(['max_outputs', kib('heads')], ['ram_size', mul(kib('ram'), 1024)], ['vram_size', mul(kib('vram'), 1024)],
          ['vram64_size_mb', kib('vram64') !== undefined ? Math.floor(kib('vram64')! / 1024) : 0], ['vgamem_mb', div(kib('vgamem'), 1024)]));
        addResolution(model, out);
        break;
      case 'virtio':
        Object.assign(out, props(['max_outputs', kib('heads')]));
        addResolution(model, out);
        break;
      case 'vga': case 'vmvga':
        Object.assign(out, props(['vgamem_mb', div(kib('vram'), 1024)]));
        break;
      case 'bochs':
        Object.assign(out, props(['vgamem', mul(kib('vram'), 1024)]));
        break;
      default:
        break;
    }
    addAddressProps(ctx.view, video, out);
    ctx.cmd.json('-device', out);
  });
}

/** <resolution x y> of qxl and virtio display devices. */
function addResolution(model: XmlElement | undefined, out: JsonProps): void {
  const res = model ? child(model, 'resolution') : undefined;
  if (res?.attrs.x !== undefined) out.xres = Number(res.attrs.x);
  if (res?.attrs.y !== undefined) out.yres = Number(res.attrs.y);
}

function mul(v: number | undefined, f: number): number | undefined {
  return v === undefined ? undefined : v * f;
}
function div(v: number | undefined, f: number): number | undefined {
  return v === undefined || v === 0 ? undefined : Math.floor(v / f);
}

const SOUND_DRIVERS: Record<string, string> = {
  ich6: 'intel-hda', ich9: 'ich9-intel-hda', ac97: 'AC97', es1370: 'ES1370', sb16: 'sb16', usb: 'usb-audio', ich7: 'intel-hda',
};

export function buildSounds(ctx: BuildContext): void {
  for (const sound of ctx.view.deviceList('sound')) {
    const model = sound.attrs.model ?? '';
    if (model === 'pcspk') {
      ctx.cmd.add('-soundhw', 'pcspk');
      continue;
    }
    const id = ctx.view.alias(sound);
    const driver = SOUND_DRIVERS[model];
    if (!driver) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `sound card model '${model}' is not supported by qemu`, ErrorDomain.QEMU);
    const isHda = ['ich6', 'ich9', 'ich7'].includes(model);
    const out = props(['driver', driver], ['id', id]);
    if (!isHda) {
      const audio = audioFor(ctx, sound);
      if (audio) out.audiodev = audio;
    }
    addAddressProps(ctx.view, sound, out);
    ctx.cmd.json('-device', out);
    if (!isHda) continue;
    const codecs = childrenNamed(sound, 'codec');
    const list = codecs.length ? codecs.map((c) => c.attrs.type ?? 'duplex') : ['duplex'];
    list.forEach((codec, cad) => {
      ctx.cmd.json('-device', props(['driver', `hda-${codec}`], ['id', `${id}-codec${cad}`], ['bus', `${id}.0`], ['cad', cad], ['audiodev', audioFor(ctx, sound)]));
    });
  }
}

export function buildWatchdogs(ctx: BuildContext): void {
  for (const w of ctx.view.deviceList('watchdog')) {
    const out = props(['driver', w.attrs.model ?? 'i6300esb'], ['id', ctx.view.alias(w)]);
    addAddressProps(ctx.view, w, out);
    ctx.cmd.json('-device', out);
  }
  const first = ctx.view.deviceList('watchdog')[0];
  if (first) {
    const action = first.attrs.action ?? 'reset';
    ctx.cmd.add('-watchdog-action', action === 'dump' ? 'pause' : action);
  }
}

export function buildMemballoon(ctx: BuildContext): void {
  const balloon = ctx.view.deviceList('memballoon')[0];
  if (!balloon || balloon.attrs.model === 'none') return;
  const out = props(['driver', virtioModel(balloon, 'virtio-balloon', balloon.attrs.model === 'virtio' ? undefined : balloon.attrs.model)]);
  addVirtioOptions(balloon, out);
  out.id = ctx.view.alias(balloon);
  const tri = (v: string | undefined) => (v === 'on' ? true : v === 'off' ? false : undefined);
  Object.assign(out, props(['deflate-on-oom', tri(balloon.attrs.autodeflate)], ['free-page-reporting', tri(balloon.attrs.freePageReporting)]));
  addAddressProps(ctx.view, balloon, out);
  ctx.cmd.json('-device', out);
}

export function buildRngs(ctx: BuildContext): void {
  for (const rng of ctx.view.deviceList('rng')) {
    const alias = ctx.view.alias(rng);
    const backend = child(rng, 'backend');
    const model = backend?.attrs.model ?? 'random';
    const objId = `obj${alias}`;
    if (model === 'random') {
      ctx.cmd.json('-object', props(['qom-type', 'rng-random'], ['id', objId], ['filename', backend?.text.trim() || '/dev/urandom']));
    } else if (model === 'builtin') {
      ctx.cmd.json('-object', props(['qom-type', 'rng-builtin'], ['id', objId]));
    } else if (model === 'egd' && backend) {
      addChardev(ctx, { ...backend, name: 'rng' }, `char${alias}`);
      ctx.cmd.json('-object', props(['qom-type', 'rng-egd'], ['id', objId], ['chardev', `char${alias}`]));
    }
    const out = props(['driver', virtioModel(rng, 'virtio-rng', rng.attrs.model === 'virtio' ? undefined : rng.attrs.model)]);
    addVirtioOptions(rng, out);
    const rate = child(rng, 'rate');
    Object.assign(out, props(['rng', objId], ['id', alias],
      ['max-bytes', rate?.attrs.bytes !== undefined ? Number(rate.attrs.bytes) : undefined],
      ['period', rate?.attrs.bytes !== undefined ? Number(rate.attrs.period ?? 1000) : undefined]));
    addAddressProps(ctx.view, rng, out);
    ctx.cmd.json('-device', out);
  }
}

export function buildHubs(ctx: BuildContext): void {
  for (const hub of ctx.view.deviceList('hub')) {
    const out = props(['driver', 'usb-hub'], ['id', ctx.view.alias(hub)]);
    addAddressProps(ctx.view, hub, out);
    ctx.cmd.json('-device', out);
  }
}

export function buildRedirdevs(ctx: BuildContext): void {
  for (const redir of ctx.view.deviceList('redirdev')) {
    const alias = ctx.view.alias(redir);
    addChardev(ctx, redir, `char${alias}`);
    const out = props(['driver', 'usb-redir'], ['chardev', `char${alias}`], ['id', alias]);
    const filter = ctx.view.deviceList('redirfilter')[0];
    if (filter) out.filter = redirFilter(filter);
    addAddressProps(ctx.view, redir, out);
    const boot = child(redir, 'boot')?.attrs.order;
    if (boot !== undefined) out.bootindex = Number(boot);
    ctx.cmd.json('-device', out);
  }
}

/** The first smartcard on its CCID controller (libvirt supports one). */
export function buildSmartcards(ctx: BuildContext): void {
  const card = ctx.view.deviceList('smartcard')[0];
  if (!card) return;
  const alias = ctx.view.alias(card);
  let out: JsonProps;
  switch (card.attrs.mode) {
    case 'host':
      out = props(['driver', 'ccid-card-emulated'], ['backend', 'nss-emulated']);
      break;
    case 'host-certificates': {
      const certs = childrenNamed(card, 'certificate').map((c) => c.text.trim());
      out = props(['driver', 'ccid-card-emulated'], ['backend', 'certificates'], ['cert1', certs[0]], ['cert2', certs[1]], ['cert3', certs[2]],
        ['db', child(card, 'database')?.text.trim() ?? '/etc/pki/nssdb']);
      break;
    }
    default:
      addChardev(ctx, card, `char${alias}`);
      out = props(['driver', 'ccid-card-passthru'], ['chardev', `char${alias}`]);
  }
  const addr = deviceAddressOf(card);
  const ctl = addr?.type === 'ccid' ? addr.controller : 0;
  const ccid = ctx.view.controller('ccid', ctl);
  Object.assign(out, props(['id', alias], ['bus', `${ccid ? ctx.view.alias(ccid) : `ccid${ctl}`}.0`]));
  ctx.cmd.json('-device', out);
}

/** usb-redir's filter string: class:vendor:product:version:allow per rule, -1 for "any". */
function redirFilter(filter: XmlElement): string {
  return childrenNamed(filter, 'usbdev').map((r) => {
    const field = (k: string) => r.attrs[k] ?? '-1';
    // version "1.10" is BCD 0x0110
    const version = r.attrs.version === undefined ? '-1' : `0x${r.attrs.version.split('.').map((p) => p.padStart(2, '0')).join('')}`;
    return `${field('class')}:${field('vendor')}:${field('product')}:${version}:${r.attrs.allow === 'yes' ? 1 : 0}`;
  }).join('|');
}
