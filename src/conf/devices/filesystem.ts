// <filesystem>: schema (virDomainFSDefFormat) and the default access mode.

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { dropGeneratedAlias, firstChild, infoChildren, setDefault } from './common.js';

export const filesystemSchema: ElementSchema = {
  attrs: ['type', 'accessmode', 'model', 'multidevs', 'fmode', 'dmode'],
  children: {
    driver: { attrs: ['type', 'format', 'wrpolicy', 'queue', 'iommu', 'ats', 'packed', 'page_per_vq'] },
    binary: {
      attrs: ['path', 'xattr'],
      children: { cache: { attrs: ['mode'] }, sandbox: { attrs: ['mode'] }, lock: { attrs: ['posix', 'flock'] }, thread_pool: { attrs: ['size'] } },
    },
    idmap: { children: { uid: { attrs: ['start', 'target', 'count'] }, gid: { attrs: ['start', 'target', 'count'] } } },
    source: { attrs: ['dir', 'file', 'dev', 'name', 'usage', 'units', 'socket', 'pool', 'volume'] },
    target: { attrs: ['dir'] },
    readonly: {},
    space_hard_limit: { attrs: ['unit'], text: true },
    space_soft_limit: { attrs: ['unit'], text: true },
    ...infoChildren({ boot: true }),
  },
};

export function postParseFilesystem(fs: XmlElement): void {
  dropGeneratedAlias(fs);
  setDefault(fs, 'type', 'mount');
  // Creation modes are printed as four octal digits.
  for (const mode of ['fmode', 'dmode']) {
    const v = fs.attrs[mode];
    if (v !== undefined && /^[0-7]+$/.test(v)) fs.attrs[mode] = parseInt(v, 8).toString(8).padStart(4, '0');
  }
  const socket = firstChild(fs, 'source')?.attrs['socket'];
  if (socket === undefined) setDefault(fs, 'accessmode', 'passthrough');
}
