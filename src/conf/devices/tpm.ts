// <tpm>: schema (virDomainTPMDefFormat) and the QEMU model/version defaults.

import type { XmlElement } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { dropGeneratedAlias, firstChild, infoChildren, isArmVirt, type DeviceContext } from './common.js';

export const tpmSchema: ElementSchema = {
  attrs: ['model'],
  children: {
    backend: {
      attrs: ['type', 'version', 'persistent_state'],
      children: {
        device: { attrs: ['path'] },
        encryption: { attrs: ['secret'] },
        active_pcr_banks: { children: { sha1: {}, sha256: {}, sha384: {}, sha512: {} } },
        source: { attrs: ['type', 'mode', 'path'] },
      },
    },
    ...infoChildren(),
  },
};

export function postParseTpm(tpm: XmlElement): void {
  dropGeneratedAlias(tpm);
}

/** qemuDomainTPMDefPostParse. */
export function qemuPostParseTpm(tpm: XmlElement, ctx: DeviceContext): void {
  tpm.attrs['model'] ??= ctx.arch.startsWith('ppc64') ? 'spapr-tpm' : 'tpm-tis';
  const backend = firstChild(tpm, 'backend');
  if (backend?.attrs['type'] === 'emulator' && backend.attrs['version'] === undefined) {
    const model = tpm.attrs['model'];
    backend.attrs['version'] = model === 'spapr-tpm' || model === 'tpm-crb' || isArmVirt(ctx) ? '2.0' : '1.2';
  }
  if (backend?.attrs['type'] === 'passthrough' && !backend.children.some((c) => c.name === 'device')) {
    backend.children.push({ name: 'device', attrs: { path: '/dev/tpm0' }, children: [], text: '', line: 0 });
  }
}
