// <lease>: schema (virDomainLeaseDefFormat).

import type { ElementSchema } from '../schema.js';

export const leaseSchema: ElementSchema = {
  children: { lockspace: { text: true }, key: { text: true }, target: { attrs: ['path', 'offset'] } },
};
