// <panic>: schema (virDomainPanicDefFormat) and libvirt's one-per-model rule.

import { ErrorCode, virError } from '../../util/error.js';
import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { devicesNamed, dropGeneratedAlias, infoChildren, type DeviceContext } from './common.js';

export const panicSchema: ElementSchema = { attrs: ['model'], children: infoChildren() };

export function postParsePanic(panic: XmlElement): void {
  dropGeneratedAlias(panic);
}

/** virDomainDefRejectDuplicatePanics. */
export function rejectDuplicatePanics(ctx: DeviceContext): void {
  const seen = new Set<string>();
  for (const p of devicesNamed(ctx, 'panic')) {
    const model = p.attrs['model'] ?? 'default';
    if (seen.has(model)) throw virError(ErrorCode.XML_ERROR, `Multiple panic devices with model '${model}'`);
    seen.add(model);
  }
}
