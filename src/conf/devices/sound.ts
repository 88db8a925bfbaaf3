// <sound>: schema (virDomainSoundDefFormat).

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { propEnum } from '../xml-props.js';
import { dropGeneratedAlias, infoChildren } from './common.js';

const SOUND_MODELS = ['sb16', 'es1370', 'pcspk', 'ac97', 'ich6', 'ich9', 'usb', 'ich7'] as const;

export const soundSchema: ElementSchema = {
  attrs: ['model'],
  children: { codec: { attrs: ['type'] }, audio: { attrs: ['id'] }, ...infoChildren() },
};

export function parseSound(sound: XmlElement): void {
  propEnum(sound, 'model', SOUND_MODELS, { required: true });
}

export function postParseSound(sound: XmlElement): void {
  dropGeneratedAlias(sound);
}
