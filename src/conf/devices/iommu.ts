// <iommu>: schema (virDomainIOMMUDefFormat).

import type { ElementSchema } from '../schema.js';
import { infoChildren } from './common.js';

export const iommuSchema: ElementSchema = {
  attrs: ['model'],
  children: { driver: { attrs: ['intremap', 'caching_mode', 'eim', 'iotlb', 'aw_bits'] }, ...infoChildren() },
};
