// <video>: schema (virDomainVideoDefFormat), the primary video first, and the
// memory/heads defaults of the generic post-parse.

import { ErrorCode, virError } from '../../util/error.js';
import { element, type XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { appendDevice, devicesNamed, dropGeneratedAlias, ensureChild, firstChild, infoChildren, type DeviceContext } from './common.js';

const VIDEO_TYPES = ['default', 'vga', 'cirrus', 'vmvga', 'xen', 'vbox', 'qxl', 'parallels', 'virtio', 'gop', 'none', 'bochs', 'ramfb'];

export const videoSchema: ElementSchema = {
  children: {
    driver: { attrs: ['iommu', 'ats', 'packed', 'page_per_vq', 'vgaconf', 'name'] },
    model: {
      attrs: ['type', 'ram', 'vram', 'vram64', 'vgamem', 'heads', 'primary'],
      children: { acceleration: { attrs: ['accel3d', 'accel2d', 'rendernode'] }, resolution: { attrs: ['x', 'y'] } },
    },
    ...infoChildren(),
  },
};

function modelOf(video: XmlElement): XmlElement {
  return ensureChild(video, 'model');
}

/** Parse-time checks; the primary video moves to the front (virDomainDefParseXML). */
export function parseVideos(ctx: DeviceContext): void {
  const videos = devicesNamed(ctx, 'video');
  for (const v of videos) {
    const type = firstChild(v, 'model')?.attrs['type'];
    if (type !== undefined && !VIDEO_TYPES.includes(type)) throw virError(ErrorCode.CONFIG_UNSUPPORTED, `unknown video model '${type}'`);
  }
  const primaries = videos.filter((v) => firstChild(v, 'model')?.attrs['primary'] === 'yes');
  const primary = primaries[primaries.length - 1];
  if (primary && primary !== videos[0]) {
    const list = ctx.devices.children;
    list.splice(list.indexOf(primary), 1);
    list.splice(list.indexOf(videos[0]!), 0, primary);
  }
}

/** virDomainDefAddImplicitVideo: graphics without a video get a default one. */
export function addImplicitVideo(ctx: DeviceContext): XmlElement | undefined {
  if (devicesNamed(ctx, 'graphics').length === 0 || devicesNamed(ctx, 'video').length > 0) return undefined;
  const video = element('video', {}, [element('model', { type: 'default' })]);
  appendDevice(ctx, video);
  return video;
}

/** virDomainVideoDefaultRAM for QEMU guests, in KiB. */
function defaultRam(type: string): number {
  if (type === 'vga' || type === 'cirrus' || type === 'vmvga' || type === 'bochs') return 16 * 1024;
  if (type === 'xen') return 4 * 1024;
  if (type === 'qxl') return 64 * 1024;
  return 0;
}

function roundUpPowerOfTwo(n: number): number {
  if (n <= 0) return 0;
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Generic post-parse (virDomainVideoDefPostParse). */
export function postParseVideo(video: XmlElement): void {
  dropGeneratedAlias(video);
  const model = modelOf(video);
  const type = model.attrs['type']!;
  if (model.attrs['primary'] !== 'yes') delete model.attrs['primary'];
  if (type === 'none') return;
  setSize(model, 'ram', type === 'qxl' && !Number(model.attrs['ram'] ?? 0) ? defaultRam(type) : Number(model.attrs['ram'] ?? 0));
  setSize(model, 'vram', Number(model.attrs['vram'] ?? 0) || defaultRam(type));
  if (model.attrs['heads'] === undefined) model.attrs['heads'] = '1';
}

function setSize(model: XmlElement, attr: string, kib: number): void {
  const rounded = roundUpPowerOfTwo(kib);
  if (rounded) model.attrs[attr] = String(rounded);
  else delete model.attrs[attr];
}

/**
 * virDomainDefPostParseVideo: a first video of type none keeps nothing but its
 * type (and user alias); otherwise the first video is the primary one.
 */
export function finishVideos(ctx: DeviceContext): XmlElement | undefined {
  const first = devicesNamed(ctx, 'video')[0];
  if (!first) return undefined;
  const model = modelOf(first);
  if (model.attrs['type'] === 'none') {
    first.children = first.children.filter((c) => c.name === 'alias');
    first.children.unshift(element('model', { type: 'none' }));
    return undefined;
  }
  model.attrs['primary'] = 'yes';
  return first;
}
