// <nvram> (pSeries): schema (virDomainNVRAMDefFormat).

import type { ElementSchema } from '../schema.js';
import { infoChildren } from './common.js';

export const nvramSchema: ElementSchema = { children: infoChildren() };
