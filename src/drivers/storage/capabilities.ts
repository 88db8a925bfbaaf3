// virConnectGetStoragePoolCapabilities: every pool type libvirt knows, whether
// this driver runs it, and the source and volume formats it takes.
import { POOL_TYPES, poolSourceFormats, type PoolType } from '../../conf/storage-pool.js';
import { volumeFormats } from '../../conf/storage-vol.js';
import { element, formatXml, type XmlElement } from '../../util/xml.js';

/** Pool types with a backend in this driver. */
export const SUPPORTED_POOL_TYPES: ReadonlySet<PoolType> = new Set(['dir', 'fs', 'logical']);

function options(name: string, enumName: string, formats: readonly string[], defaultFormat: string, listed: boolean): XmlElement {
  return element(name, {}, [element('defaultFormat', { type: defaultFormat }), element('enum', { name: enumName }, listed ? formats.map((f) => element('value', {}, [], f)) : [])]);
}

export function storagePoolCapabilitiesXML(): string {
  const pools = POOL_TYPES.map((type) => {
    const supported = SUPPORTED_POOL_TYPES.has(type);
    const children: XmlElement[] = [];
    const sourceFormats = poolSourceFormats(type);
    if (sourceFormats) children.push(options('poolOptions', 'sourceFormatType', sourceFormats.names, sourceFormats.defaultFormat, supported));
    const volFormats = volumeFormats(type);
    if (volFormats) {
      // the file formats' table starts with "none", which volume XML does not accept
      const listed = volFormats[0] === 'none' ? volFormats : ['none', ...volFormats];
      children.push(options('volOptions', 'targetFormatType', listed, volFormats[0]!, supported));
    }
    return element('pool', { type, supported: supported ? 'yes' : 'no' }, children);
  });
  // libvirt prints an empty <pool> or <enum> as an open/close pair
  return formatXml(element('storagepoolCapabilities', {}, pools), 0, new Set(['pool', 'enum']));
}
