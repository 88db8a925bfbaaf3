// <watchdog>: schema (virDomainWatchdogDefFormat) and the default action.

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { propEnum } from '../xml-props.js';
import { dropGeneratedAlias, infoChildren, setDefault } from './common.js';

const WATCHDOG_MODELS = ['i6300esb', 'ib700', 'diag288', 'itco'] as const;
const WATCHDOG_ACTIONS = ['reset', 'shutdown', 'poweroff', 'pause', 'dump', 'none', 'inject-nmi'] as const;

export const watchdogSchema: ElementSchema = { attrs: ['model', 'action'], children: infoChildren() };

export function parseWatchdog(watchdog: XmlElement): void {
  propEnum(watchdog, 'model', WATCHDOG_MODELS, { required: true });
  propEnum(watchdog, 'action', WATCHDOG_ACTIONS);
}

export function postParseWatchdog(watchdog: XmlElement): void {
  dropGeneratedAlias(watchdog);
  setDefault(watchdog, 'action', 'reset');
}
