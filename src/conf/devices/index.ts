// Registry of device schemas for <devices> (domain-schema.ts puts them in
// libvirt's device order). Device modules (helper D2) own this file: add each
// new device schema here. Devices without a schema yet are kept verbatim.

import type { SchemaRef } from '../schema.js';
import { chrSchema } from './chr.js';
import { controllerSchema } from './controller.js';
import { diskSchema } from './disk.js';
import { interfaceSchema } from './interface.js';

const verbatim: SchemaRef = { any: true };

export const deviceSchemas: Readonly<Record<string, SchemaRef>> = {
  disk: diskSchema,
  controller: controllerSchema,
  lease: verbatim,
  filesystem: verbatim,
  interface: interfaceSchema,
  smartcard: verbatim,
  serial: chrSchema,
  parallel: chrSchema,
  console: chrSchema,
  channel: chrSchema,
  input: verbatim,
  tpm: verbatim,
  graphics: verbatim,
  sound: verbatim,
  audio: verbatim,
  video: verbatim,
  hostdev: verbatim,
  redirdev: verbatim,
  redirfilter: verbatim,
  hub: verbatim,
  watchdog: verbatim,
  memballoon: verbatim,
  rng: verbatim,
  nvram: verbatim,
  panic: verbatim,
  shmem: verbatim,
  memory: verbatim,
  iommu: verbatim,
  vsock: verbatim,
  crypto: verbatim,
};
